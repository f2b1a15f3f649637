"""One pass over a channel's rows: counts, class balance and the checks SageMaker needs.

SageMaker's built-in algorithms reject NaN and infinities and expect one vector width, so a
channel is checked before any byte is written: a bad channel leaves no partial output.

Example::

    profile = profile_channel(df, "features", "label")
    check_profile(profile, "features", "label")
    profile.class_balance("auto")
    # -> {'0': 812, '1': 188}
"""

from __future__ import annotations

import functools
import pickle
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.errors import InputError
from lakeprep.sagemaker.batches import VectorBatch
from lakeprep.sagemaker.formats import fmt_float
from lakeprep.stats.types import NUMERIC_TYPES

Task = Literal["auto", "classification", "regression"]
# Beyond this many distinct labels (or any fractional one) "auto" treats the label as a target
# for regression and reports no class balance.
MAX_CLASSES = 200
_MAX_TRACKED = 1000  # bound on what a partition ships back (distinct widths, bad indices)


@dataclass
class ChannelProfile:
    """What one pass learned about a channel; partitions' profiles merge with `merge`."""

    rows: int = 0
    widths: Counter = field(default_factory=Counter)
    nonfinite: Counter = field(default_factory=Counter)  # feature index -> rows
    nonfinite_rows: int = 0
    null_features: int = 0
    null_labels: int = 0
    nonfinite_labels: int = 0
    labels: Counter | None = field(default_factory=Counter)  # None once not a class label

    def merge(self, other: ChannelProfile) -> ChannelProfile:
        """Combine two partitions' profiles (associative, so Spark may reduce in any order)."""
        labels = None
        if self.labels is not None and other.labels is not None:
            labels = self.labels + other.labels
            if len(labels) > MAX_CLASSES:
                labels = None
        return ChannelProfile(
            rows=self.rows + other.rows,
            widths=_bounded(self.widths + other.widths),
            nonfinite=_bounded(self.nonfinite + other.nonfinite),
            nonfinite_rows=self.nonfinite_rows + other.nonfinite_rows,
            null_features=self.null_features + other.null_features,
            null_labels=self.null_labels + other.null_labels,
            nonfinite_labels=self.nonfinite_labels + other.nonfinite_labels,
            labels=labels,
        )

    @property
    def width(self) -> int | None:
        """The vector width when every row has the same one."""
        return next(iter(self.widths)) if len(self.widths) == 1 else None

    def class_balance(self, task: Task = "auto") -> dict[str, int] | None:
        """Rows per label value (``"1"``, ``"0"``, ...) for a classification label, else None."""
        if task == "regression":
            return None
        if self.labels is None:
            if task == "classification":
                raise InputError(
                    f"task='classification' but the label has fractional values or more than "
                    f"{MAX_CLASSES} distinct values; use task='regression' or fix the label")
            return None
        return {fmt_float(k): n for k, n in sorted(self.labels.items())}


def _bounded(counter: Counter) -> Counter:
    if len(counter) <= _MAX_TRACKED:
        return counter
    return Counter(dict(counter.most_common(_MAX_TRACKED)))


def _profile_batch(p: ChannelProfile, b: VectorBatch, labels: Counter | None
                   ) -> Counter | None:
    """Add one Arrow batch to ``p`` (vectorised); returns the class-label counts so far."""
    p.rows += len(b)
    p.null_labels += int(b.null_labels.sum())
    finite = np.isfinite(b.labels)
    p.nonfinite_labels += int((~finite & ~b.null_labels).sum())
    if labels is not None:
        ok = b.labels[finite]
        if not np.all(ok == np.floor(ok)):
            labels = None
        else:
            values, counts = np.unique(ok, return_counts=True)
            labels.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
            labels = labels if len(labels) <= MAX_CLASSES else None
    p.null_features += int(b.null_vectors.sum())
    sizes, counts = np.unique(b.sizes[~b.null_vectors], return_counts=True)
    p.widths.update(dict(zip(sizes.tolist(), counts.tolist(), strict=True)))
    lo, hi = int(b.value_offsets[0]), int(b.value_offsets[-1])
    bad = lo + np.flatnonzero(~np.isfinite(b.values[lo:hi]))
    if bad.size:
        rows = np.searchsorted(b.value_offsets, bad, side="right") - 1
        within = bad - b.value_offsets[rows]
        index = within.copy()  # a dense row's position is its feature index
        sparse = b.sparse[rows]
        index[sparse] = b.indices[b.index_offsets[rows[sparse]] + within[sparse]]
        p.nonfinite_rows += len(np.unique(rows))
        p.nonfinite.update(index.tolist())
    return labels


def _profile_batches(batches: Iterable[pa.RecordBatch]) -> Iterable[pa.RecordBatch]:
    """mapInArrow body: one partition's ``(label, features)`` batches -> one pickled profile."""
    p = ChannelProfile()
    labels: Counter | None = Counter()
    for batch in batches:
        labels = _profile_batch(p, VectorBatch.from_arrow(batch.column(0), batch.column(1)),
                                labels)
    p.labels = labels
    p.widths = _bounded(p.widths)
    p.nonfinite = _bounded(p.nonfinite)
    yield pa.RecordBatch.from_pydict({"profile": [pickle.dumps(p)]},
                                     schema=pa.schema([("profile", pa.binary())]))


def require_channel_columns(df: DataFrame, features_col: str, label_col: str | None) -> None:
    """Raise `InputError` unless ``features_col`` is an ML vector and ``label_col`` (if any)
    is numeric."""
    for name in filter(None, (features_col, label_col)):
        if name not in df.columns:
            raise InputError(f"SageMaker channel: column '{name}' not found; "
                             f"available: {sorted(df.columns)}")
    ftype = df.schema[features_col].dataType
    if not isinstance(ftype, VectorUDT):
        raise InputError(
            f"SageMaker channel: features column '{features_col}' must be a Spark ML vector, "
            f"found {ftype.simpleString()}; assemble it with VectorAssembler first")
    if label_col is None:
        return
    ltype = df.schema[label_col].dataType
    if not isinstance(ltype, NUMERIC_TYPES):
        raise InputError(
            f"SageMaker channel: label column '{label_col}' must be numeric, found "
            f"{ltype.simpleString()}; cast it (booleans: cast to int) or index it with "
            f"StringIndexer")


def profile_channel(df: DataFrame, features_col: str = "features",
                    label_col: str | None = "label") -> ChannelProfile:
    """Count rows, labels, vector widths and non-finite entries in one Spark job (Arrow
    batches, vectorised; one small profile per partition comes back). Without ``label_col``
    only the vectors are profiled (the build's gate on the assembled features)."""
    require_channel_columns(df, features_col, label_col)
    label = F.lit(None) if label_col is None else F.col(label_col)
    rows = df.select(label.cast("double").alias("label"),
                     F.col(features_col).alias("features"))
    profiles = rows.mapInArrow(_profile_batches, "profile binary").collect()
    return functools.reduce(ChannelProfile.merge, (pickle.loads(r.profile) for r in profiles),
                            ChannelProfile())


def check_profile(profile: ChannelProfile, features_col: str, label_col: str,
                  feature_names: Sequence[str] | None = None, where: str = "channel") -> None:
    """Raise `InputError` naming what SageMaker would reject: empty, nulls, NaN/inf, widths."""
    if profile.rows == 0:
        raise InputError(f"{where}: no rows to write; check the split fractions and the filter "
                         f"that produced this channel")
    problems = []
    if profile.null_labels or profile.nonfinite_labels:
        problems.append(f"label '{label_col}' is null in {profile.null_labels} and NaN/inf in "
                        f"{profile.nonfinite_labels} of {profile.rows} rows")
    if profile.null_features:
        problems.append(f"features '{features_col}' is null in {profile.null_features} rows")
    if profile.nonfinite_rows:
        def name(i: int) -> str:
            if feature_names is not None and i < len(feature_names):
                return f"{i} ({feature_names[i]})"
            return str(i)
        worst = ", ".join(f"index {name(i)} in {n} rows"
                          for i, n in sorted(profile.nonfinite.most_common(20)))
        problems.append(
            f"features '{features_col}' hold NaN or +-inf in {profile.nonfinite_rows} rows: "
            f"{worst}; SageMaker's built-in algorithms reject them: impute or drop them first")
    if len(profile.widths) > 1:
        widths = ", ".join(f"{w} ({n} rows)" for w, n in sorted(profile.widths.items()))
        problems.append(f"features '{features_col}' vectors differ in width: {widths}; "
                        f"every row needs the same width")
    if (feature_names is not None and profile.width is not None
            and profile.width != len(feature_names)):
        problems.append(f"{len(feature_names)} feature names given, but vectors have "
                        f"{profile.width} entries")
    if problems:
        raise InputError(f"{where}: " + "; ".join(problems))
