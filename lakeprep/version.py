"""What code a run used: the package version and, when known, the git commit."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

import lakeprep


@cache
def code_version() -> dict[str, str | None]:
    """The package version and, when known, the git commit the code was built from."""
    commit = os.environ.get("LAKEPREP_GIT_COMMIT")
    if commit is None:
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                capture_output=True, text=True, timeout=5, check=True).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            commit = None
    return {"package": lakeprep.__version__, "git_commit": commit}
