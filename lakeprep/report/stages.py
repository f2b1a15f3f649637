"""Named stages run one after another into a run record: each timed, its result (rows, lines,
error) kept in the record, a listener told when it starts and ends; a stage that fails stops the
run with :class:`StageFailed` naming it. The demo (``jobs.demo``) runs its stages through it.

>>> rec = RunRecord("r1", "2026-05-01T00:00:00+00:00", "local")
>>> run_stage(rec, "count", lambda r: setattr(r, "rows", 3))
>>> [(s.name, s.ok, s.rows) for s in rec.stages]
[('count', True, 3)]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from pyspark.sql import SparkSession

from lakeprep.errors import LakeprepError
from lakeprep.report.record import RunRecord, StageResult

log = logging.getLogger(__name__)


class StageFailed(LakeprepError):
    """A stage failed; the exit code is that of the error that stopped it."""

    def __init__(self, stage: str, cause: LakeprepError):
        super().__init__(f"demo stage {stage!r} failed: {cause}")
        self.stage, self.cause = stage, cause
        self.exit_code = cause.exit_code


class Listener(Protocol):
    """What a display implements to follow the stages (the CLI draws a progress display)."""

    def stage_started(self, name: str, spark: SparkSession | None) -> None: ...

    def stage_finished(self, result: StageResult) -> None: ...


class QuietListener:
    """The listener of stages nobody watches (a notebook, a test): a log line each."""

    def stage_started(self, name: str, spark: SparkSession | None) -> None:
        log.info("demo stage %s", name)

    def stage_finished(self, result: StageResult) -> None:
        log.info("demo stage %s: %.1f s", result.name, result.seconds)


def run_stage(rec: RunRecord, name: str, fn: Callable[[StageResult], None],
              listener: Listener | None = None, spark: SparkSession | None = None) -> None:
    """Run ``fn`` as the stage ``name`` of ``rec``: ``fn`` fills the stage's result, which is
    appended to ``rec.stages`` whether it succeeds or not (so a saved record shows how far the
    run got). A ``LakeprepError`` becomes :class:`StageFailed`; any other error is recorded
    and raised as it is. ``spark`` is the session the listener follows."""
    listener = listener or QuietListener()
    result = StageResult(name)
    listener.stage_started(name, spark)
    t0 = time.perf_counter()
    try:
        fn(result)
    except LakeprepError as e:
        result.ok, result.error = False, str(e)
        raise StageFailed(name, e) from e
    except Exception as e:
        result.ok, result.error = False, f"{type(e).__name__}: {e}"
        raise
    finally:
        result.seconds = round(time.perf_counter() - t0, 2)
        rec.stages.append(result)
        if not result.ok:
            rec.ok = False
        listener.stage_finished(result)
