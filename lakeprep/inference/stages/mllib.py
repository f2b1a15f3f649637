"""MLlib's own stages (org.apache.spark.ml.feature), as their Scala ``transform`` computes.

Each follows MLlib 3.5's code: StringIndexerModel (input cast to string, handleInvalid),
OneHotEncoderModel (categorySizes, dropLast, keep), VectorAssembler (``Vectors.sparse(...)
.compressed``, NaN for a null input under keep), ImputerModel (surrogates, the result cast back
to the input's type) and Bucketizer (Java's ``Arrays.binarySearch`` over the splits).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakeprep.inference.columns import (
    FLOATING,
    INTEGRAL,
    Batch,
    Column,
    assembled,
    take_rows,
)
from lakeprep.inference.model_folder import SavedStage
from lakeprep.inference.sqlmath import cast_double_to
from lakeprep.inference.stages.base import Stage, put

ML = "org.apache.spark.ml.feature."
SMALL_BATCH = 64  # rows below which Python lookups beat pyarrow compute calls


def _cols(saved: SavedStage, single: str, multi: str) -> list[str]:
    value = saved.params.get(multi)
    if value:
        return list(value)
    one = saved.param(single)
    return [one] if one else []


class StringIndexerModel(Stage):
    """Label -> index by the fitted ``labelsArray``; null and unseen per handleInvalid."""

    def __init__(self, saved: SavedStage):
        inputs = _cols(saved, "inputCol", "inputCols")
        outputs = _cols(saved, "outputCol", "outputCols")
        super().__init__(saved, inputs, outputs)
        table = saved.data()
        if "labelsArray" in table.column_names:
            labels = table.column("labelsArray")[0].as_py()
        else:  # saved by Spark 2.x: one column of labels
            labels = [table.column("labels")[0].as_py()]
        self.indexes = [{label: float(i) for i, label in enumerate(ls)} for ls in labels]
        self.labels = [pa.array(ls, pa.string()) for ls in labels]
        self.policy = saved.param("handleInvalid", "error")

    def transform(self, batch: Batch) -> Batch:
        keep_rows = None
        outs: dict[str, Column] = {}
        for c, o, index in zip(self.reads, self.writes, self.indexes, strict=True):
            col = self.column(batch, c)
            strings = as_string(self, col, c)
            if len(col) < SMALL_BATCH:  # a dict beats arrow's per-call overhead
                known = np.array([s in index for s in strings], dtype=bool) & col.valid
                values = np.array([index.get(s, -1.0) for s in strings], np.float64)
            else:
                found = pc.index_in(pa.array(strings, pa.string()),
                                    value_set=self.labels[len(outs)])
                known = np.asarray(found.is_valid().to_numpy(zero_copy_only=False),
                                   bool) & col.valid
                values = np.asarray(found.fill_null(0).to_numpy(zero_copy_only=False),
                                    np.float64)
            values = np.where(known, values, float(len(index)))
            if self.policy == "error" and not known.all():
                bad = ~known
                first = int(bad.nonzero()[0][0])
                strings = np.asarray(strings, dtype=object)
                what = ("is null (StringIndexer encountered NULL value)" if not col.valid[first]
                        else f"has unseen label {strings[first]!r}")
                raise self.fail(c, bad, f"{what}; handleInvalid is 'error'")
            if self.policy == "skip":
                keep_rows = known if keep_rows is None else keep_rows & known
            outs[o] = Column.numeric("double", values)
        for o, col in outs.items():
            put(batch, o, col)
        return batch if keep_rows is None else take_rows(batch, keep_rows)


def as_string(stage: Stage, col: Column, name: str) -> np.ndarray:
    """Spark's ``cast(col as string)`` for the kinds whose text is unambiguous (None: null)."""
    if col.kind == "string":
        return np.where(col.valid, col.values, np.array(None))
    if col.kind in INTEGRAL:
        text = pc.cast(pa.array(col.values), pa.string()).to_numpy(zero_copy_only=False)
        return np.where(col.valid, text.astype(object), np.array(None))
    if col.kind == "boolean":
        return np.where(col.valid, np.where(col.values, "true", "false").astype(object),
                        np.array(None))
    raise stage.refuse(f"column {name!r} is {col.kind}: Spark indexes it by Java's text of the "
                       f"number, which the runtime does not reproduce; index a string or "
                       f"integer column")


class OneHotEncoderModel(Stage):
    """Index -> one-hot sparse vector (MLlib's encoder udf: dropLast, handleInvalid keep)."""

    def __init__(self, saved: SavedStage):
        inputs = _cols(saved, "inputCol", "inputCols")
        outputs = _cols(saved, "outputCol", "outputCols")
        super().__init__(saved, inputs, outputs)
        self.sizes = [int(s) for s in saved.data().column("categorySizes")[0].as_py()]
        self.keep = saved.param("handleInvalid", "error") == "keep"
        drop_last = bool(saved.param("dropLast", True))
        # MLlib's getConfigedCategorySizes
        if drop_last and not self.keep:
            self.configured = [s - 1 for s in self.sizes]
        elif not drop_last and self.keep:
            self.configured = [s + 1 for s in self.sizes]
        else:
            self.configured = list(self.sizes)

    def transform(self, batch: Batch) -> Batch:
        for i, (c, o) in enumerate(zip(self.reads, self.writes, strict=True)):
            col = self.numeric(batch, c)
            label = col.as_double()
            original, size = self.sizes[i], self.configured[i]
            with np.errstate(invalid="ignore"):
                inside = (label >= 0) & (label < original)
            bad = ~inside & col.valid
            if bad.any() and not self.keep:
                first = float(label[bad.nonzero()[0][0]])
                what = (f"negative value {first}" if first < 0 else f"unseen value {first}")
                raise self.fail(c, bad, f"{what}; set handleInvalid to keep")
            index = np.where(inside, np.where(np.isnan(label), 0, label), original)
            index = index.astype(np.int64)  # Scala's idx.toInt truncates
            hot = col.valid & (index < size)
            values = np.zeros((len(col), size), np.float64)
            rows = np.flatnonzero(hot)
            values[rows, index[rows]] = 1.0
            active = values != 0.0
            put(batch, o, Column("vector", values, col.valid.copy(),
                                 np.ones(len(col), bool), active))
        return batch


class VectorAssembler(Stage):
    """Columns -> one vector, as ``VectorAssembler.assemble``: zeros dropped, then compressed."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, list(saved.param("inputCols") or []),
                         [saved.param("outputCol")])
        self.policy = saved.param("handleInvalid", "error")

    def transform(self, batch: Batch) -> Batch:
        cols = [self.column(batch, c) for c in self.reads]
        if self.policy == "skip":  # Dataset.na.drop(inputCols): null, or NaN in a number
            drop = np.zeros(len(cols[0]) if cols else 0, bool)
            for col in cols:
                drop |= ~col.valid
                if col.kind in FLOATING:
                    drop |= np.isnan(col.values)
            if drop.any():
                batch = take_rows(batch, ~drop)
                cols = [batch[c] for c in self.reads]
        parts = []
        for name, col in zip(self.reads, cols, strict=True):
            if col.kind == "vector":
                if self.policy == "error" and not col.valid.all():
                    raise self.fail(name, ~col.valid, "is null; handleInvalid is 'error'")
                part = np.where(col.valid[:, None], col.values, np.nan)
                parts.append(part)
                continue
            if col.kind not in (*FLOATING, *INTEGRAL, "boolean", "decimal"):
                raise self.fail(name, np.ones(len(col), bool),
                                f"is {col.kind}; VectorAssembler reads numbers and vectors")
            values = col.as_double()
            if self.policy == "error":
                if not col.valid.all():
                    raise self.fail(name, ~col.valid, "is null; handleInvalid is 'error'")
                if np.isnan(values).any():
                    raise self.fail(name, np.isnan(values), "is NaN; handleInvalid is 'error'")
            parts.append(np.where(col.valid, values, np.nan)[:, None])
        rows = len(cols[0]) if cols else 0
        matrix = np.hstack(parts) if parts else np.zeros((rows, 0))
        put(batch, self.writes[0], assembled(matrix, np.ones(rows, bool)))
        return batch


class ImputerModel(Stage):
    """Null and missingValue (NaN by default) -> the fitted surrogate, cast to the input type."""

    def __init__(self, saved: SavedStage):
        inputs = _cols(saved, "inputCol", "inputCols")
        outputs = _cols(saved, "outputCol", "outputCols")
        super().__init__(saved, inputs, outputs)
        row = saved.data().to_pylist()[0]
        self.surrogates = [float(row[c]) for c in inputs]
        self.missing_value = float(saved.param("missingValue", float("nan")))

    def transform(self, batch: Batch) -> Batch:
        for c, o, surrogate in zip(self.reads, self.writes, self.surrogates, strict=True):
            col = self.numeric(batch, c)
            x = col.as_double()
            if np.isnan(self.missing_value):  # Spark SQL: NaN = NaN is true
                hit = np.isnan(x)
            else:
                hit = x == self.missing_value
            filled = np.where(~col.valid | hit, surrogate, x)
            put(batch, o, cast_double_to(filled, np.ones(len(col), bool), col.kind))
        return batch


class Bucketizer(Stage):
    """Value -> bucket index over ``splits`` (also QuantileDiscretizer's fitted model)."""

    def __init__(self, saved: SavedStage):
        if saved.params.get("splitsArray"):
            inputs, outputs = list(saved.param("inputCols")), list(saved.param("outputCols"))
            splits = [np.array(s, np.float64) for s in saved.param("splitsArray")]
        else:
            inputs, outputs = [saved.param("inputCol")], [saved.param("outputCol")]
            splits = [np.array(saved.param("splits"), np.float64)]
        super().__init__(saved, inputs, outputs)
        self.splits = splits
        self.policy = saved.param("handleInvalid", "error")

    def transform(self, batch: Batch) -> Batch:
        keep_rows = None
        outs = {}
        for c, o, splits in zip(self.reads, self.writes, self.splits, strict=True):
            col = self.numeric(batch, c)
            x = col.as_double()
            nan = np.isnan(x) & col.valid
            if nan.any() and self.policy == "error":
                raise self.fail(c, nan, "is NaN; Bucketizer's handleInvalid is 'error'")
            # java.util.Arrays.binarySearch: an exact hit is its split's bucket, else the
            # interval below the insertion point; the last split closes the last bucket
            pos = np.searchsorted(splits, x, side="left")
            exact = (pos < len(splits)) & (splits[np.minimum(pos, len(splits) - 1)] == x)
            bucket = np.where(exact, pos, pos - 1).astype(np.float64)
            bucket = np.where(x == splits[-1], len(splits) - 2, bucket)
            out_of_range = col.valid & ~nan & ((x < splits[0]) | (x > splits[-1]))
            if out_of_range.any():
                value = x[out_of_range.nonzero()[0][0]]
                raise self.fail(c, out_of_range, f"value {value} is out of the Bucketizer's "
                                f"bounds [{splits[0]}, {splits[-1]}]")
            bucket = np.where(nan, float(len(splits) - 1), bucket)
            if self.policy == "skip":
                keep_rows = ~nan if keep_rows is None else keep_rows & ~nan
            outs[o] = Column("double", bucket, col.valid.copy())
        for o, column in outs.items():
            put(batch, o, column)
        return batch if keep_rows is None else take_rows(batch, keep_rows)


STAGES = {
    ML + "StringIndexerModel": StringIndexerModel,
    ML + "OneHotEncoderModel": OneHotEncoderModel,
    ML + "VectorAssembler": VectorAssembler,
    ML + "ImputerModel": ImputerModel,
    ML + "Bucketizer": Bucketizer,
}
