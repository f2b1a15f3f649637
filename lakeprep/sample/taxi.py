"""The NYC taxi samples in a raw layer: the three shipped months, plus a fourth batch in the
TLC's own header names, so the worked example shows per-file column mapping on real data."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

from pyspark.sql import SparkSession

from lakeprep.config import Settings
from lakeprep.errors import LakeprepError
from lakeprep.storage import glob_files, write_text
from lakeprep.uris import join_uri

# The TLC's own header names (its files since 2019), in the order of the samples' columns
TLC_HEADER = ("VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,"
              "RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,"
              "extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,"
              "congestion_surcharge")
MARCH = "yellow_tripdata_sample_2019-03.csv"
APRIL = "yellow_tripdata_sample_2019-04.csv"


def copy_taxi_samples(spark: SparkSession, raw: str, source: Path) -> list[str]:
    """Write the CSV files of ``source`` and the TLC-header batch under ``<raw>/nyc_taxi`` (a
    local folder or ``s3://``); the paths written."""
    dest = join_uri(raw, "nyc_taxi")
    written = []
    for f in sorted(source.glob("*.csv")):
        written.append(join_uri(dest, f.name))
        write_text(spark, written[-1], f.read_text(encoding="utf-8"))
    march = source / MARCH
    if march.exists():
        written.append(join_uri(dest, APRIL))
        write_text(spark, written[-1], tlc_header_batch(march.read_text(encoding="utf-8")))
    return written


def tlc_header_batch(march: str) -> str:
    """A fourth taxi batch in the TLC's header generation, derived deterministically from the
    March sample's text: the same rows under the TLC's header names, their pickup and dropoff
    times 31 days later (so they are new trips, not duplicates); a time that does not parse is
    kept as it is, so the sample's defects stay defects.

    >>> tlc_header_batch("vendor_id,pickup,dropoff\\n1,2019-03-31 23:00:00,bad\\n").splitlines()[1]
    '1,2019-05-01 23:00:00,bad'
    """
    def later(value: str) -> str:
        try:
            t = datetime.strptime(value, "%Y-%m-%d %H:%M:%S") + timedelta(days=31)
        except ValueError:
            return value
        return t.strftime("%Y-%m-%d %H:%M:%S")

    rows = csv.reader(io.StringIO(march, newline=""))
    next(rows)  # the snake_case header: replaced by the TLC's
    out = io.StringIO()
    out.write(TLC_HEADER + "\n")
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if len(row) > 2:
            row[1], row[2] = later(row[1]), later(row[2])
        writer.writerow(row)
    return out.getvalue()


def taxi_landed(spark: SparkSession, settings: Settings) -> bool:
    """Whether the catalog has ``taxi_trips`` and its raw files have landed (the demo ingests
    the taxi trips only then)."""
    if "taxi_trips" not in settings.tables:
        return False
    spec = settings.table(settings.table("taxi_trips").upstream or "taxi_trips")
    try:
        return bool(glob_files(spark, settings.source_pattern(spec)))
    except LakeprepError:
        return False
