"""Sample data: the seeded retail sample generator (``generate``), the real NYC taxi samples
shipped inside the package (``data/nyc_taxi``, with their source and licence in its README) and
their copy into a raw layer (``taxi``). Imported by the CLI, the demo, the tests and the benches.

>>> sorted(p.name for p in taxi_samples())[:1]
['yellow_tripdata_sample_2019-01.csv']
"""

from __future__ import annotations

from pathlib import Path

TAXI_DIR = Path(__file__).resolve().parent / "data" / "nyc_taxi"


def taxi_samples() -> list[Path]:
    """The NYC taxi sample CSV files shipped with lakeprep (2019-01..03, 10,000 trips each)."""
    return sorted(TAXI_DIR.glob("*.csv"))
