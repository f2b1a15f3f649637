"""Progress of long work: Spark's own job and stage progress, polled from the status tracker.

Spark's console progress bar is off (it mixes with lakeprep's output and fills log files); this
module reads the same numbers from ``SparkContext.statusTracker()`` on a daemon thread and hands
them to a callback, which a CLI turns into a progress display.

Example::

    with SparkPoller(spark, on_update=print):
        df.count()
    # -> SparkStatus(jobs=1, stage='count at ...', tasks_done=1, tasks_total=2, ...)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SparkStatus:
    """What Spark is doing now: active jobs, the busiest active stage and its tasks."""

    jobs: int = 0
    stages: int = 0
    stage: str = ""
    tasks_done: int = 0
    tasks_total: int = 0
    jobs_finished: int = 0  # jobs seen completing since the poller started

    def describe(self) -> str:
        """``"job 3 · stage count at x.py:10 · tasks 5/8"``, or ``""`` when Spark is idle."""
        if not self.jobs:
            return ""
        return (f"{self.jobs} Spark job(s) · {self.stage} · tasks "
                f"{self.tasks_done}/{self.tasks_total}")


def spark_status(spark: SparkSession, seen: set[int] | None = None) -> SparkStatus:
    """One reading of the status tracker (no Spark job is started to read it)."""
    tracker = spark.sparkContext.statusTracker()
    jobs = tracker.getActiveJobsIds()
    stages = [s for s in (tracker.getStageInfo(i) for i in tracker.getActiveStageIds()) if s]
    finished = 0
    if seen is not None:
        seen.update(jobs)
        finished = sum(1 for j in list(seen) if j not in jobs)
    if not stages:
        return SparkStatus(jobs=len(jobs), jobs_finished=finished)
    busiest = max(stages, key=lambda s: s.numTasks)
    name = busiest.name.split(" at ")[0] if busiest.name else f"stage {busiest.stageId}"
    return SparkStatus(jobs=len(jobs), stages=len(stages), stage=name,
                       tasks_done=sum(s.numCompletedTasks for s in stages),
                       tasks_total=sum(s.numTasks for s in stages), jobs_finished=finished)


class SparkPoller:
    """Poll :func:`spark_status` every ``interval`` seconds on a daemon thread and pass each
    reading to ``on_update``; a context manager (the thread stops on exit)."""

    def __init__(self, spark: SparkSession, on_update: Callable[[SparkStatus], None],
                 interval: float = 0.5):
        self.spark, self.on_update, self.interval = spark, on_update, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: set[int] = set()

    def __enter__(self) -> SparkPoller:
        self._thread = threading.Thread(target=self._loop, name="lakeprep-spark-progress",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        # Event.wait is the poll interval: no busy loop, and exit is immediate on stop
        while not self._stop.wait(self.interval):
            try:
                self.on_update(spark_status(self.spark, self._seen))
            except Exception as e:  # noqa: BLE001 - progress must never break the work
                log.debug("spark progress: %s", e)
                if self.spark.sparkContext._jsc is None:  # session stopped
                    return
