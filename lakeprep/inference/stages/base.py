"""What every runtime stage is: the columns it reads and writes, and its transform."""

from __future__ import annotations

from lakeprep.errors import RecordError, UnsupportedAtInference
from lakeprep.inference.columns import NUMERIC, Batch, Column
from lakeprep.inference.model_folder import SavedStage


class Stage:
    """A fitted stage applied with numpy; ``reads``/``writes`` are column names."""

    def __init__(self, saved: SavedStage, reads: list[str], writes: list[str]):
        self.saved, self.uid, self.reads, self.writes = saved, saved.uid, reads, writes

    @property
    def name(self) -> str:
        """The stage as errors name it: class and uid."""
        return f"{self.saved.short_class} {self.uid}"

    def transform(self, batch: Batch) -> Batch:
        """The batch with this stage's columns written (Spark's ``withColumns``)."""
        raise NotImplementedError

    def column(self, batch: Batch, name: str, kinds: tuple[str, ...] = ()) -> Column:
        """Column ``name`` of the batch, of one of ``kinds`` (any when empty)."""
        col = batch.get(name)
        if col is None:
            raise RecordError(f"stage {self.name}: the records lack column {name!r}",
                              column=name)
        if kinds and col.kind not in kinds:
            raise RecordError(f"stage {self.name}: column {name!r} is {col.kind}, expected "
                              f"{' or '.join(kinds)}", column=name)
        return col

    def numeric(self, batch: Batch, name: str) -> Column:
        """A numeric input column (lakeprep's ``require_numeric``)."""
        return self.column(batch, name, NUMERIC)

    def fail(self, column: str, rows, what: str) -> RecordError:
        """The error for the first of ``rows`` (a boolean mask) whose value is invalid."""
        first = int(rows.nonzero()[0][0])
        return RecordError(f"record {first}: column {column!r}: {what} (stage {self.name})",
                           record=first, column=column)

    def refuse(self, why: str) -> UnsupportedAtInference:
        """The load-time error for a stage configured in a way the runtime does not support."""
        return UnsupportedAtInference(f"{self.saved.folder}: stage {self.name} is not "
                                      f"supported at inference: {why}")


def in_out(saved: SavedStage) -> tuple[list[str], list[str]]:
    """inputCols with outputCols, or the inputs themselves (lakeprep's replace-in-place)."""
    inputs = list(saved.param("inputCols") or [])
    outputs = list(saved.params.get("outputCols") or inputs)
    return inputs, outputs


def put(batch: Batch, name: str, column: Column) -> None:
    """Write ``column`` as ``name``: replaced in place when it exists, else appended."""
    batch[name] = column
