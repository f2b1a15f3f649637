"""What every bench prints: the machine, Markdown tables, Spark jobs per step, peak memory."""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession


def machine(spark: SparkSession | None = None) -> str:
    """One line: cores, RAM, Python and Spark versions (and Spark's parallelism)."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    line = (f"machine: {os.cpu_count()} cores, {ram:.1f} GiB RAM, {platform.machine()}, "
            f"Python {platform.python_version()}")
    if spark is not None:
        line += (f", Spark {spark.version} master {spark.sparkContext.master} "
                 f"(parallelism {spark.sparkContext.defaultParallelism})")
    return line


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (numbers right-aligned by the renderer, formatted by the caller)."""
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def timed(spark: SparkSession, label: str, fn: Callable[[], Any]) -> tuple[float, int, Any]:
    """Wall seconds, Spark jobs started, and the result of ``fn()``."""
    sc = spark.sparkContext
    sc.setJobGroup(label, label)
    start = time.perf_counter()
    try:
        result = fn()
    finally:
        elapsed = time.perf_counter() - start
        sc.setLocalProperty("spark.jobGroup.id", None)
    return elapsed, len(sc.statusTracker().getJobIdsForGroup(label)), result


def jvm_peak_mib(spark: SparkSession) -> float:
    """The driver JVM's peak RSS since it started (VmHWM), MiB; 0 when /proc has none."""
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()  # type: ignore
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return 0.0
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def python_peak_mib() -> float:
    """This Python process's peak RSS since it started, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def goal(ratio: float, limit: float, higher_is_better: bool = False) -> str:
    """``'1.32x (goal <= 1.5x: met)'``."""
    met = ratio >= limit if higher_is_better else ratio <= limit
    sign = ">=" if higher_is_better else "<="
    return f"{ratio:.2f}x (goal {sign} {limit}x: {'met' if met else 'NOT met'})"


def job_breakdown(spark: SparkSession, group: str) -> list[tuple[int, str, float]]:
    """A job group's Spark jobs in start order: (id, call site, seconds from submit to end).

    Read from the driver's status store (kept with the UI off); a job still running or
    without times shows 0 s.
    """
    sc = spark.sparkContext
    store = sc._jsc.sc().statusStore()  # type: ignore[union-attr]
    out = []
    for job_id in sorted(sc.statusTracker().getJobIdsForGroup(group)):
        data = store.job(job_id)
        start, end = data.submissionTime(), data.completionTime()
        seconds = ((end.get().getTime() - start.get().getTime()) / 1000
                   if start.isDefined() and end.isDefined() else 0.0)
        out.append((job_id, str(data.name()), seconds))
    return out


def print_breakdown(spark: SparkSession, group: str, title: str) -> None:
    """Print :func:`job_breakdown` of ``group`` under ``title``, one line per job."""
    jobs = job_breakdown(spark, group)
    print(f"\n{title}: {len(jobs)} Spark job(s), {sum(s for _, _, s in jobs):.2f} s in jobs")
    for job_id, site, seconds in jobs:
        print(f"  job {job_id:>4}  {seconds:6.2f} s  {site}")


def jvm_cpu_seconds(spark: SparkSession) -> float:
    """CPU seconds (user + system) the driver JVM has used so far: in local mode the
    executors' too. Less sensitive than wall time to other work on a shared machine."""
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()  # type: ignore
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
