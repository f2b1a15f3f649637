"""What an ingest (or a replay of a quarantine) did to one table, with the counts that must add
up: ``rows read = inserted + updated + quarantined + duplicates``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lakeprep.ingest.problems import ProblemSummary


@dataclass
class IngestReport:
    """What one table's ingest did; ``reconciles`` checks that no row went missing."""

    table: str
    files_new: int = 0
    files_seen: int = 0
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    quarantined: int = 0
    duplicates_in_batch: int = 0
    duplicates_existing: int = 0
    version: int | None = None
    quarantine_version: int | None = None
    extra_columns: list[str] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    no_input: str | None = None  # the default run found no file at this source pattern
    skipped: list[str] = field(default_factory=list)  # files next to the inputs, not matched
    debris_removed: int = 0  # data files a killed run staged and never committed
    # why the batch's rejected rows were set aside, grouped (ProblemSummary.to_dict())
    problems: dict[str, Any] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.rows_read == (self.rows_inserted + self.rows_updated + self.quarantined
                                  + self.duplicates_in_batch + self.duplicates_existing)

    @property
    def duplicates(self) -> int:
        return self.duplicates_in_batch + self.duplicates_existing

    @property
    def mark(self) -> str:
        return "reconciled" if self.reconciles else "DOES NOT RECONCILE"

    def counts_before_write(self) -> dict[str, int]:
        """The counts known before the commit; its ``operation_metrics`` (inserted, updated)
        and ``gate.counts`` (quarantined by the gate) hold the rest."""
        d = asdict(self)
        return {k: d[k] for k in ("files_new", "files_seen", "rows_read", "quarantined",
                                  "duplicates_in_batch")}

    def problem_lines(self) -> list[str]:
        """The grouped reasons of the rows this run set aside, largest group first."""
        return ProblemSummary.from_dict(self.problems).lines()

    def line(self) -> str:
        if self.no_input:
            return (f"{self.table}: no input files match {self.no_input} yet; nothing to "
                    f"ingest (name the table with --table to make that an error)")
        skipped = ""
        if self.skipped:
            names = ", ".join(p.rsplit("/", 1)[-1] for p in self.skipped[:3])
            skipped = (f"; skipped {len(self.skipped)} file(s) the source path does not match "
                       f"({names}{', ...' if len(self.skipped) > 3 else ''})")
        if not self.files_new:
            return (f"{self.table}: no new files ({self.files_seen} already ingested); "
                    f"version {self.version} unchanged{skipped}")
        return (f"{self.table}: read {self.rows_read:,} = inserted {self.rows_inserted:,} + "
                f"updated {self.rows_updated:,} + quarantined {self.quarantined:,} + "
                f"duplicates {self.duplicates:,} ({self.mark}); {self.files_new} new file(s); "
                f"version {self.version}{skipped}")


@dataclass
class ReplayReport(IngestReport):
    """What one replay of a table's quarantine did: ``rows_read`` records replayed =
    promoted (inserted + updated) + still quarantined + duplicates."""

    file: str | None = None  # only the records of this file were replayed

    def line(self) -> str:
        where = f" of {self.file}" if self.file else ""
        if not self.rows_read:
            return (f"{self.table}: nothing quarantined{where} to replay; version "
                    f"{self.version} unchanged")
        return (f"{self.table}: replayed {self.rows_read:,}{where} = promoted "
                f"{self.rows_inserted + self.rows_updated:,} (inserted {self.rows_inserted:,}, "
                f"updated {self.rows_updated:,}) + still quarantined {self.quarantined:,} + "
                f"duplicates {self.duplicates:,} ({self.mark}); version {self.version}, "
                f"quarantine version {self.quarantine_version}")
