"""The spec's op names: one class per op; the same class defined again (its module run a second
time) takes its own place, as when pytest collects one stage module's doctests on its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.ml import Transformer

from features.errors import FeatureSpecError
from features.registry import _STAGES, register

REPO = Path(__file__).resolve().parents[2]


def _stage_class() -> type:
    class ScaleBy(Transformer):
        """A stand-in stage, defined anew at each call like a module run again."""

    return ScaleBy


def test_a_class_defined_again_replaces_itself_and_another_class_is_refused(monkeypatch):
    monkeypatch.setitem(_STAGES, "scale_by_test", _stage_class())
    again = _stage_class()
    assert register("scale_by_test")(again) is again and _STAGES["scale_by_test"] is again

    class Other(Transformer):
        pass

    with pytest.raises(FeatureSpecError, match="operation 'scale_by_test' registered twice"):
        register("scale_by_test")(Other)


def test_one_stage_modules_doctests_collect_alone():
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "--co", "-p", "no:randomly",
                           "-p", "no:cacheprovider", "features/outliers/winsorizer.py"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 test collected" in done.stdout
