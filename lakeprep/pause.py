"""Named points in a job where a test can hold a real process: to start a second run while the
first holds a table, or to kill it exactly at a write or a commit.

Off unless ``LAKEPREP_PAUSE_AT`` names the point (comma-separated names). At such a point the
process creates ``$LAKEPREP_PAUSE_DIR/<name>.reached`` and waits until ``<name>.resume``
appears there (or is killed): the test synchronises on files, never on time.

>>> point("ingest.leased")  # a no-op in every normal run
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)


def point(name: str) -> None:
    """Pause here when ``LAKEPREP_PAUSE_AT`` names ``name``."""
    wanted = os.environ.get("LAKEPREP_PAUSE_AT")
    if not wanted or name not in wanted.split(","):
        return
    folder = Path(os.environ.get("LAKEPREP_PAUSE_DIR", "."))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.reached").write_text(str(os.getpid()))
    log.warning("paused at %s until %s appears", name, folder / f"{name}.resume")
    while not (folder / f"{name}.resume").exists():
        time.sleep(0.05)
