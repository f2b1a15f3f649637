"""notebooks/quickstart.ipynb runs top to bottom (nbclient, a fresh kernel, a fresh lake)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEPREP_DATA", str(tmp_path / "lake"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(REPO / "notebooks" / "quickstart.ipynb", as_version=4)
    # the kernel is its own process with its own Spark session; it starts in the repo root
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = {i: cell.get("outputs", []) for i, cell in enumerate(nb.cells)
               if cell.cell_type == "code"}
    assert all(o.get("output_type") != "error" for out in outputs.values() for o in out)
    text = "".join(o.get("text", "") for out in outputs.values() for o in out)
    assert "saved and reloaded:" in text and "rows in 20 bins" in text
    images = [o for out in outputs.values() for o in out
              if "image/png" in (o.get("data") or {})]
    assert len(images) == 1  # the histogram
