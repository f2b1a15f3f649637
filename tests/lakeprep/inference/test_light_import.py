"""The inference runtime and its server import no Spark: the serving image has none."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["lakeprep.inference", "lakeprep.inference.serve",
                                    "lakeprep.inference.__main__"])
def test_import_pulls_no_pyspark(module):
    code = (f"import {module}, sys; bad = [m for m in sys.modules "
            f"if m.startswith(('pyspark', 'py4j', 'features', 'jobs'))]; "
            f"assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
