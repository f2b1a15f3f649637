"""How the CLI draws a job's results: reconcile lines, gate tables, the demo's progress and
summary. Everything goes through :mod:`jobs.cli.output`, so ``--quiet`` and ``--output json``
hold for all of it."""

from __future__ import annotations

from typing import Any

from jobs.cli.output import Output, out


def show_ingest(reports: Any) -> int:
    from dataclasses import asdict

    for r in reports:
        ok = r.reconciles or not r.files_new
        out.line(r.line(), essential=True, style="green" if ok else "bold red",
                 **{k: v for k, v in asdict(r).items() if k != "files"}, reconciles=ok)
        if not out.json:  # JSON lines carry them in `problems`
            for line in r.problem_lines():
                out.line(f"  set aside: {line}")
    return 0 if all(r.reconciles or not r.files_new for r in reports) else 1


def show_lines(report: Any) -> int:
    for line in report.lines():
        out.line(line, essential=True)
    return 0


def print_gates(ctx: Any) -> None:
    from quality.summary import EXPECTATION_COLUMNS, expectation_rows

    for table, outcome in ctx.gates:
        counts = ", ".join(f"{k} {v:,}" for k, v in outcome.counts.items())
        title = (f"quality gate {table}: {outcome.verdict.value} (policy "
                 f"{outcome.policy.value}{'; ' + counts if counts else ''})")
        out.table(title, EXPECTATION_COLUMNS, expectation_rows(outcome.report),
                  essential=not outcome.report.success, kind=f"gate {table}")


def show_summary(rec: Any) -> None:
    out.table(f"demo {rec.run_id}: stages", ["stage", "seconds", "rows", "job run", "result"],
              [[s.name, f"{s.seconds:.1f}", s.rows, s.run_id or "", "ok" if s.ok else "FAILED"]
               for s in rec.stages], essential=False, kind="stage")
    out.table(f"demo {rec.run_id}: tables",
              ["table", "rows read", "written", "quarantined", "duplicates", "version",
               "rows in table", "rows in quarantine table", "gate"],
              [[t.table, t.rows_read, t.written, t.quarantined, t.duplicates, t.version,
                t.rows_in_table, t.quarantine_rows, t.gate or "-"] for t in rec.tables],
              kind="table")


class DemoDisplay:
    """The demo's progress: a rich live display per stage (stage, elapsed, Spark jobs, stages
    and tasks from the status tracker) on a terminal; a plain line per stage otherwise."""

    def __init__(self, output: Output, spark: Any):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from jobs.demo import STAGES

        self.out, self.spark = output, spark
        self.poller: Any = None
        self.live = output.console.is_terminal and not output.quiet and not output.json
        # stage names and Spark's job descriptions print literally (no markup read in them)
        self.progress = Progress(SpinnerColumn(),
                                 TextColumn("{task.description}", style="bold", markup=False),
                                 BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[spark]}", markup=False),
                                 console=output.console, transient=False)
        self.overall = self.progress.add_task("pipeline", total=len(STAGES), spark="")
        self.task: Any = None
        if self.live:
            self.progress.start()

    def stage_started(self, name: str, spark: Any) -> None:
        from lakeprep.progress import SparkPoller

        if not self.live:
            self.out.line(f"stage {name} ...", stage=name, event="started")
            return
        self.task = self.progress.add_task(name, total=None, spark="")
        self.poller = SparkPoller(spark, self._spark_update).__enter__()

    def _spark_update(self, status: Any) -> None:
        if self.task is not None:
            self.progress.update(self.task, total=status.tasks_total or None,
                                 completed=status.tasks_done,
                                 spark=status.describe() or f"{status.jobs_finished} Spark "
                                 f"job(s) done")

    def stage_finished(self, result: Any) -> None:
        if self.poller is not None:
            self.poller.__exit__(None, None, None)
            self.poller = None
        rows = f" · {result.rows:,} rows" if result.rows is not None else ""
        mark = "ok" if result.ok else "FAILED"
        if not self.live:
            self.out.line(f"stage {result.name} {mark} in {result.seconds:.1f} s{rows}",
                          stage=result.name, event="finished", ok=result.ok,
                          seconds=result.seconds, rows=result.rows)
            for line in result.lines:
                self.out.line(f"  {line}", stage=result.name)
            return
        self.progress.update(self.task, total=1, completed=1,
                             description=f"{result.name} {mark}{rows}", spark="")
        self.progress.advance(self.overall)
        for line in result.lines:
            self.progress.console.print(f"  {line}", highlight=False, markup=False,
                                        soft_wrap=True)

    def close(self) -> None:
        if self.poller is not None:
            self.poller.__exit__(None, None, None)
        if self.live:
            self.progress.stop()

