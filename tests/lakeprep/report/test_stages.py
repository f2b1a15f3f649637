"""The stage runner: every stage's result lands in the record, failed or not; a lakeprep error
stops the run as StageFailed with the error's exit code; the listener sees each start and end."""

from __future__ import annotations

import pytest

from lakeprep.errors import GateFailed
from lakeprep.report.record import RunRecord, StageResult
from lakeprep.report.stages import StageFailed, run_stage


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, bool | None]] = []

    def stage_started(self, name: str, spark: object) -> None:
        self.events.append(("started", name, None))

    def stage_finished(self, result: StageResult) -> None:
        self.events.append(("finished", result.name, result.ok))


def record() -> RunRecord:
    return RunRecord("r1", "2026-05-01T00:00:00+00:00", "local")


def test_a_stage_fills_its_result_and_the_listener_sees_it():
    rec, seen = record(), Recorder()

    def ingest(r: StageResult) -> None:
        r.rows, r.lines = 12, ["orders: 12 rows"]

    run_stage(rec, "ingest", ingest, seen)
    (stage,) = rec.stages
    assert (stage.name, stage.ok, stage.rows, stage.lines) == ("ingest", True, 12,
                                                               ["orders: 12 rows"])
    assert stage.seconds >= 0 and rec.ok
    assert seen.events == [("started", "ingest", None), ("finished", "ingest", True)]


def test_a_lakeprep_error_stops_the_run_naming_the_stage_with_its_exit_code():
    rec, seen = record(), Recorder()

    def gate(r: StageResult) -> None:
        raise GateFailed("orders: 3 rows fail expect_column_values_to_not_be_null")

    with pytest.raises(StageFailed, match="demo stage 'ingest' failed: orders: 3 rows") as e:
        run_stage(rec, "ingest", gate, seen)
    assert e.value.stage == "ingest" and e.value.exit_code == GateFailed.exit_code == 5
    (stage,) = rec.stages
    assert not stage.ok and not rec.ok and stage.error is not None
    assert stage.error.startswith("orders: 3 rows")
    assert seen.events[-1] == ("finished", "ingest", False)


def test_any_other_error_is_recorded_and_raised_as_it_is():
    rec = record()

    def broken(r: StageResult) -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        run_stage(rec, "report", broken)
    assert rec.stages[0].error == "KeyError: 'x'" and not rec.ok
