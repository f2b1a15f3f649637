"""Two sets of SageMaker channels compared record for record: every channel and format as a
multiset of records (independent of file order and names), read and decoded by the executors so
that only 16-byte record hashes are shuffled. ``lakeprep reproduce`` compares an export with its
rebuild; the cluster twins compare a cloud run's channels with a local run's.

Example::

    [d.line() for d in compare_channels(spark, original, rebuilt)]
    # -> ['  train/csv: identical (80 rows)', ...]
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from lakeprep.errors import LakeprepError
from lakeprep.frames import cache
from lakeprep.sagemaker.manifest import ChannelFiles
from lakeprep.sagemaker.recordio import decode_record, iter_frames
from lakeprep.storage import list_relative, resolve

# decoding -------------------------------------------------------------------------
TEXT_FORMATS = ("csv", "libsvm")


def decode_records(fmt: str, data: bytes, where: str) -> list[bytes]:
    """A channel file's records as bytes: text lines (with their newline), RecordIO payloads,
    or Parquet rows (a hash of the column names, then the row's float64 values).

    >>> decode_records("csv", b"1,0.5\\n0,2\\n", "x.csv")
    [b'1,0.5\\n', b'0,2\\n']
    """
    if fmt in TEXT_FORMATS:
        lines = data.split(b"\n")
        tail = lines.pop()
        return [line + b"\n" for line in lines] + ([tail] if tail else [])
    if fmt == "recordio-protobuf":
        return list(iter_frames(data, where))
    table = pq.read_table(pa.BufferReader(data))
    tag = hashlib.blake2b("\x1f".join(table.column_names).encode(), digest_size=8).digest()
    if table.num_rows == 0:
        return []
    matrix = np.column_stack([c.to_numpy().astype("<f8") for c in table.columns])
    return [tag + row.tobytes() for row in matrix]


def record_key(fmt: str, record: bytes) -> bytes:
    """What two records share when they hold the same row: for CSV and LibSVM the numbers the
    text spells (float64 bytes), so that text written in another float style (an export made
    before a formatting change) still matches; for the binary formats the record itself.

    >>> record_key("csv", b"1,1e-05\\n") == record_key("csv", b"1,0.00001\\n")
    True
    >>> record_key("libsvm", b"0 2:1.0e+10\\n") == record_key("libsvm", b"0 2:10000000000\\n")
    True
    """
    if fmt not in TEXT_FORMATS:
        return record
    try:
        if fmt == "csv":
            return b"c" + np.array(record.split(b","), dtype=np.float64).tobytes()
        label, *pairs = record.split()
        entries = [p.split(b":", 1) for p in pairs]
        numbers = [label] + [i for i, _ in entries] + [v for _, v in entries]
        return b"s" + np.array(numbers, dtype=np.float64).tobytes()
    except ValueError:  # not numbers: compared as written (and shown as a difference)
        return record


def render_record(fmt: str, record: bytes, width: int = 160) -> str:
    """A record as a person reads it (a line, or label and leading values)."""
    if fmt in TEXT_FORMATS:
        text = record.decode(errors="replace").rstrip("\n")
    elif fmt == "recordio-protobuf":
        rec = decode_record(record)
        label = rec["label"].get("values", {}).get("values", [])
        feats = rec["features"].get("values", {})
        text = f"label {label} features {feats.get('values', [])} keys {feats.get('keys', [])}"
    else:
        values = np.frombuffer(record[8:], dtype="<f8").tolist()
        text = f"label {values[0]} features {values[1:]}"
    return text if len(text) <= width else text[:width - 3] + "..."


def _file_records(task: tuple) -> Iterator[tuple]:
    """Executor side: one file -> (side, channel, format, record hash, file, position)."""
    side, channel, fmt, fs, root, name = task
    path = f"{root}/{name}"
    try:
        with fs.open_input_stream(path) as src:
            records = decode_records(fmt, src.read(), path)
    except (LakeprepError, OSError, pa.ArrowException) as exc:
        records = [f"<unreadable {fmt} file: {exc}>".encode()]
    for pos, rec in enumerate(records):
        key = hashlib.blake2b(record_key(fmt, rec), digest_size=16).digest()
        yield side, channel, fmt, key, name, pos


# comparing ------------------------------------------------------------------------
ORIGINAL, REBUILT = "original", "rebuilt"


@dataclass
class ChannelDiff:
    """One channel in one format, original files against the rebuild."""

    channel: str
    fmt: str
    rows_recorded: int | None  # the manifest's count (None: not in the manifest)
    rows_original: int = 0  # records in the files under the original prefix
    rows_rebuilt: int = 0
    only_original: int = 0  # records (with multiplicity) the rebuild does not have
    only_rebuilt: int = 0
    missing_files: list[str] = field(default_factory=list)  # in the manifest, not in storage
    unlisted_files: list[str] = field(default_factory=list)  # in storage, not in the manifest
    examples: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return (self.only_original == 0 and self.only_rebuilt == 0 and not self.missing_files
                and not self.unlisted_files and self.rows_recorded == self.rows_original
                == self.rows_rebuilt)

    def line(self) -> str:
        head = f"{self.channel}/{self.fmt}"
        if self.identical:
            return f"  {head}: identical ({self.rows_original:,} rows)"
        parts = [f"manifest {self.rows_recorded if self.rows_recorded is not None else '-'}, "
                 f"files {self.rows_original:,}, rebuilt {self.rows_rebuilt:,} rows"]
        if self.only_original or self.only_rebuilt:
            parts.append(f"{self.only_original:,} row(s) only in the original files, "
                         f"{self.only_rebuilt:,} only in the rebuild")
        if self.missing_files:
            parts.append(f"file(s) in the manifest but missing: {self.missing_files[:5]}")
        if self.unlisted_files:
            parts.append(f"file(s) not in the manifest (SageMaker would read them): "
                         f"{self.unlisted_files[:5]}")
        return f"  {head}: DIFFERS: " + "; ".join(parts)


def _channel_tasks(side: str, channels: dict[str, dict[str, ChannelFiles]]
                   ) -> tuple[list[tuple], dict[tuple[str, str], list[str]]]:
    tasks, listed = [], {}
    for channel, formats in channels.items():
        for fmt, files in formats.items():
            fs, root = resolve(files.uri)
            names = list_relative(fs, root)
            listed[(channel, fmt)] = names
            tasks += [(side, channel, fmt, fs, root, n) for n in names]
    return tasks, listed


def compare_channels(spark: SparkSession, original: dict[str, dict[str, ChannelFiles]],
                     rebuilt: dict[str, dict[str, ChannelFiles]], examples: int = 3
                     ) -> list[ChannelDiff]:
    """Compare every channel and format as multisets of records, in one Spark job.

    Files are read and decoded by the executors; only 16-byte record hashes are shuffled.
    Every file under an original channel prefix counts, as SageMaker would read it.
    """
    tasks_o, listed_o = _channel_tasks(ORIGINAL, original)
    tasks_r, _ = _channel_tasks(REBUILT, rebuilt)
    tasks = tasks_o + tasks_r
    keys = list(dict.fromkeys((c, f) for side in (original, rebuilt) for c, fm in side.items()
                              for f in fm))  # the manifest's order
    diffs = {}
    for channel, fmt in keys:
        recorded = original.get(channel, {}).get(fmt)
        found = set(listed_o.get((channel, fmt), []))
        listed = set(recorded.files) if recorded else set()
        diffs[(channel, fmt)] = ChannelDiff(
            channel, fmt, recorded.rows if recorded else None,
            missing_files=sorted(listed - found),
            unlisted_files=sorted(found - listed) if recorded else [])
    if not tasks:
        return list(diffs.values())
    schema = ("side string, channel string, fmt string, key binary, file string, pos int")
    slices = max(1, min(len(tasks), spark.sparkContext.defaultParallelism * 4))
    records = spark.createDataFrame(
        spark.sparkContext.parallelize(tasks, slices).flatMap(_file_records), schema)
    is_o, is_r = F.col("side") == ORIGINAL, F.col("side") == REBUILT
    counts = cache(records.groupBy("channel", "fmt", "key").agg(
        F.sum(is_o.cast("int")).alias("o"), F.sum(is_r.cast("int")).alias("r"),
        F.min(F.when(is_o, F.struct("file", "pos"))).alias("o_at"),
        F.min(F.when(is_r, F.struct("file", "pos"))).alias("r_at"),
    ))
    try:
        summary = counts.groupBy("channel", "fmt").agg(
            F.sum("o").alias("o"), F.sum("r").alias("r"),
            F.sum(F.greatest(F.col("o") - F.col("r"), F.lit(0))).alias("only_o"),
            F.sum(F.greatest(F.col("r") - F.col("o"), F.lit(0))).alias("only_r")).collect()
        for row in summary:
            d = diffs[(row.channel, row.fmt)]
            d.rows_original, d.rows_rebuilt = int(row.o), int(row.r)
            d.only_original, d.only_rebuilt = int(row.only_o), int(row.only_r)
        if any(d.only_original or d.only_rebuilt for d in diffs.values()):
            w = Window.partitionBy("channel", "fmt").orderBy("o_at", "r_at")
            rows = (counts.where(F.col("o") != F.col("r"))
                    .withColumn("n", F.row_number().over(w)).where(F.col("n") <= examples)
                    .collect())
            for row in rows:
                diffs[(row.channel, row.fmt)].examples.append(
                    _example(row, original, rebuilt))
    finally:
        counts.unpersist()
    return list(diffs.values())


def _example(row, original, rebuilt) -> str:
    """Read the one file that holds a differing record and show the record."""
    side, at, channels = ((ORIGINAL, row.o_at, original) if row.o > row.r
                          else (REBUILT, row.r_at, rebuilt))
    files = channels[row.channel][row.fmt]
    fs, root = resolve(files.uri)
    path = f"{root}/{at.file}"
    try:
        with fs.open_input_stream(path) as src:
            record = decode_records(row.fmt, src.read(), path)[at.pos]
        text = render_record(row.fmt, record)
    except (LakeprepError, OSError, pa.ArrowException, IndexError) as exc:
        text = f"<unreadable: {exc}>"
    times = abs(row.o - row.r)
    return f"only in the {side} ({times}x) {at.file} record {at.pos}: {text}"


@dataclass
class ReproduceReport:
    """Whether an export's channels rebuild row for row; ``lines()`` is what the CLI prints."""

    manifest_uri: str
    export_run_id: str
    source_table: str
    source_version: int
    config_hash_recorded: str
    config_hash_now: str
    rebuilt_at: str | None  # None when the temporary rebuild was deleted
    diffs: list[ChannelDiff]

    @property
    def identical(self) -> bool:
        return bool(self.diffs) and all(d.identical for d in self.diffs)

    @property
    def config_changed(self) -> bool:
        return self.config_hash_recorded != self.config_hash_now

    def lines(self) -> list[str]:
        out = [f"reproduce export {self.export_run_id} ({self.manifest_uri}) from "
               f"{self.source_table} version {self.source_version}"]
        if self.config_changed:
            out.append(f"config hash changed since the export: {self.config_hash_recorded} -> "
                       f"{self.config_hash_now} (split, label and formats come from the "
                       f"manifest; features column and file layout from the current conf)")
        else:
            out.append(f"config hash {self.config_hash_now} unchanged")
        for d in self.diffs:
            out.append(d.line())
            out += [f"      {e}" for e in d.examples]
        if self.rebuilt_at:
            out.append(f"rebuild kept at {self.rebuilt_at}")
        bad = sum(not d.identical for d in self.diffs)
        out.append("IDENTICAL: every channel and format rebuilt row for row" if self.identical
                   else f"DIFFERENT: {bad} of {len(self.diffs)} channel format(s) differ")
        return out
