"""The command line of a core install: without the `inference` extra (falcon, gunicorn), as on
a cluster whose Python has the wheel and its requirements only, every command still parses and
runs; `serve` alone says what to install."""

from __future__ import annotations

import sys

import pytest

from jobs import cli


@pytest.fixture
def without_inference_extra(monkeypatch):
    for name in [m for m in sys.modules if m.startswith("lakeprep.inference")]:
        monkeypatch.delitem(sys.modules, name)  # imported again, as in a fresh process
    for extra in ("falcon", "gunicorn"):
        monkeypatch.setitem(sys.modules, extra, None)  # `import falcon` raises ImportError


def test_the_job_commands_parse_without_the_inference_extra(without_inference_extra):
    args = cli.build_parser().parse_args(["run", "build-features", "--set", "customer"])
    assert (args.command, args.job, args.feature_set) == ("run", "build-features", "customer")


def test_serve_without_the_inference_extra_names_it(without_inference_extra, capsys):
    assert cli.main(["serve", "/tmp/model", "--port", "9000"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "pip install 'lakeprep[inference]'" in lines[0], lines
    assert "falcon" in lines[0]
