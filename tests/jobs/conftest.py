"""One small demo run shared by the demo and report tests (a whole pipeline is minutes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_CUSTOMERS = 30


@pytest.fixture(scope="session")
def demo_run(spark, tmp_path_factory):
    """``run_demo`` on a fresh lake of a few customers: (lake root, settings, run record)."""
    from jobs.demo import run_demo
    from lakeprep.config import load_settings

    root = tmp_path_factory.mktemp("demo_lake")
    previous = os.environ.get("LAKEPREP_DATA")
    os.environ["LAKEPREP_DATA"] = str(root)
    try:
        settings = load_settings("local", REPO / "conf")
    finally:
        if previous is None:
            os.environ.pop("LAKEPREP_DATA")
        else:
            os.environ["LAKEPREP_DATA"] = previous
    rec = run_demo(settings, customers=DEMO_CUSTOMERS, spark=spark)
    return root, settings, rec
