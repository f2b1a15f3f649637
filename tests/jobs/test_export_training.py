"""export_training on a small two-version feature table: channels, manifest, exact rebuilds."""

from __future__ import annotations

import json
import shutil
import textwrap
from datetime import date
from pathlib import Path

import pytest
import yaml

from jobs import export_training, reproduce
from lakeprep.config import load_settings
from lakeprep.errors import ConfigError, InputError, UsageError
from lakeprep.runtime import JobContext
from lakeprep.sagemaker import read_manifest, write_manifest

REPO_CONF = Path(__file__).resolve().parents[2] / "conf"
FORMATS = ["csv", "libsvm", "recordio-protobuf", "parquet"]
NAMES = ["customer_no", "tenure", "spend_90d"]
SCHEMA = ("customer_id string, snapshot_date date, purchased_next_30d int, "
          "features array<double>")
CUSTOMERS = 120


def make_conf(root: Path, local_export: dict | None = None) -> Path:
    """The shipped conf/base/export.yaml, a test catalog and lake, ``local_export`` on top."""
    conf = root / "conf"
    shutil.rmtree(conf, ignore_errors=True)
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    shutil.copy(REPO_CONF / "base" / "export.yaml", conf / "base" / "export.yaml")
    tables = {name: {"layer": "features", "partition_by": ["snapshot_date"]}
              for name in ("customer_features", "bad_label", "bad_nan", "tiny", "no_meta")}
    (conf / "base/catalog.yaml").write_text(yaml.safe_dump({"tables": tables}))
    (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
        lake:
          engine: deltalake
          layers: {{features: {root}/features, exports: {root}/exports}}
          system: {root}/system
        """))
    export = {"formats": FORMATS, "rows_per_file": 40, **(local_export or {})}
    (conf / "local/export.yaml").write_text(yaml.safe_dump({"export": export}))
    return conf


def context(spark, root: Path, local_export: dict | None = None) -> JobContext:
    settings = load_settings("local", make_conf(root, local_export), environ={})
    return JobContext.start(settings, "export_training", spark=spark)


def snapshot_rows(day: date, customers: int = CUSTOMERS, label=None, nan_at=None):
    """One row per customer; feature 0 is the customer number, so files reveal the entity."""
    rows = []
    for i in range(customers):
        y = label(i) if label else int((i * 7 + day.month) % 5 == 0)
        x = [float(i), float(day.month * 10 + i % 13), round(i * 1.25 + day.month, 2)]
        if i == nan_at:
            x[2] = float("nan")
        rows.append((f"c{i:04d}", day, y, x))
    return rows


def append(ctx: JobContext, name: str, rows, schema: str = SCHEMA, with_meta: bool = True):
    meta = {"features": {"names": NAMES, "label": "purchased_next_30d",
                         "entity": "customer_id",
                         "pipeline_model": f"/models/{name}/pipeline-{len(rows)}"}}
    df = ctx.spark.createDataFrame(rows, schema)
    return ctx.table(name).append(df, ctx.commit_metadata(**(meta if with_meta else {})))


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    """Version 0 exported, then a second snapshot appended as version 1 (new data arrived)."""
    root = tmp_path_factory.mktemp("export_lake")
    ctx = context(spark, root)
    assert append(ctx, "customer_features", snapshot_rows(date(2026, 1, 1))).version == 0
    first = export_training.run(ctx)
    assert append(ctx, "customer_features", snapshot_rows(date(2026, 2, 1))).version == 1
    return root, ctx, first


def read_csv_channel(uri: str) -> list[list[float]]:
    return [[float(c) for c in line.split(",")]
            for f in sorted(Path(uri).iterdir()) for line in f.read_text().splitlines()]


def test_export_writes_every_channel_in_every_format_with_a_manifest(lake):
    root, ctx, report = lake
    m = read_manifest(report.manifest_uri)
    assert report.manifest_uri == f"{root}/exports/customer_features/{ctx.run_id}/manifest.json"
    assert set(m.channels) == {"train", "validation", "test"}
    for channel, formats in m.channels.items():
        assert list(formats) == FORMATS
        for fmt, files in formats.items():
            on_disk = sorted(p.name for p in Path(files.uri).iterdir())
            assert on_disk == sorted(files.files) and on_disk, (channel, fmt)
            assert files.uri == f"{report.output}/{channel}/{fmt}"
        rows = {f.rows for f in formats.values()}
        assert len(rows) == 1  # every format holds the same rows
        assert sum(formats["csv"].class_balance.values()) == formats["csv"].rows
    assert sum(f["csv"].rows for f in m.channels.values()) == CUSTOMERS
    assert report.rows == {c: f["csv"].rows for c, f in m.channels.items()}
    assert report.rows["train"] > 80
    assert m.feature_names == NAMES and m.label == "purchased_next_30d"
    assert [(s.name, s.version) for s in m.source_tables] == [("customer_features", 0)]
    assert m.pipeline_model_path == f"/models/customer_features/pipeline-{CUSTOMERS}"
    assert m.config_hash == ctx.settings.conf_hash and m.run_id == ctx.run_id
    assert m.split["method"] == "stratified" and m.split["entity_cols"] == ["customer_id"]
    assert m.split["seed"] == 42 and m.split["label_col"] == "purchased_next_30d"
    # rows_per_file: 40 rolls parts; CSV rows are label first, then the features
    assert all(f.rows <= 40 * len(f.files) for f in m.channels["train"].values())
    csv_rows = read_csv_channel(m.channels["test"]["csv"].uri)
    assert len(csv_rows) == m.channels["test"]["csv"].rows and all(len(r) == 4 for r in csv_rows)
    assert m.channels["test"]["csv"].class_balance == {
        "0": sum(r[0] == 0 for r in csv_rows), "1": sum(r[0] == 1 for r in csv_rows)}
    text = "\n".join(report.lines())
    assert "customer_features version 0: 120 rows" in text and report.manifest_uri in text
    assert f"train/parquet: {report.rows['train']} rows" in text


def test_latest_version_has_both_snapshots_and_no_customer_in_two_splits(spark, lake):
    root, _, _ = lake
    ctx = context(spark, root, {"formats": ["csv"], "split": {"method": "random", "seed": 7}})
    report = export_training.run(ctx)
    assert report.source_version == 1 and sum(report.rows.values()) == 2 * CUSTOMERS
    seen: dict[float, str] = {}
    for channel, formats in report.channels.items():
        assert list(formats) == ["csv"]
        for row in read_csv_channel(formats["csv"].uri):
            customer = row[1]  # feature 0 is the customer number
            assert seen.setdefault(customer, channel) == channel, f"customer {customer}"
    assert len(seen) == CUSTOMERS
    # a pinned version reads what it names, not the latest
    ctx0 = context(spark, root, {"formats": ["csv"], "output": str(root / "pinned")})
    pinned = export_training.run(ctx0, version=0)
    assert sum(pinned.rows.values()) == CUSTOMERS and pinned.output == str(root / "pinned")
    assert read_manifest(pinned.manifest_uri).source_tables[0].version == 0


def test_reproduce_after_new_data_is_identical_by_time_travel(spark, lake):
    root, _, first = lake
    ctx = context(spark, root)
    report = reproduce.reproduce(ctx, first.manifest_uri)
    assert report.identical, report.lines()
    assert report.source_version == 0 and not report.config_changed
    assert len(report.diffs) == 12
    assert {d.rows_rebuilt for d in report.diffs if d.channel == "train"} == {first.rows["train"]}
    assert report.rebuilt_at is None and not (root / "exports/_reproduce" / ctx.run_id).exists()
    assert report.lines()[1] == f"config hash {ctx.settings.conf_hash} unchanged"
    assert report.lines()[-1].startswith("IDENTICAL")


def copy_export(manifest_uri: str, dest: Path, formats: tuple[str, ...]):
    """Copy an export's ``formats`` and point a manifest at the copy, to damage it alone."""
    src = Path(manifest_uri).parent
    m = read_manifest(manifest_uri)
    channels = {}
    for c, fm in m.channels.items():
        channels[c] = {}
        for f in formats:
            shutil.copytree(fm[f].uri, dest / c / f)
            channels[c][f] = fm[f].model_copy(update={"uri": str(dest / c / f)})
    assert str(src) not in str(channels)
    return write_manifest(m.model_copy(update={"channels": channels}), str(dest))


def test_reproduce_reports_a_tampered_line_and_a_stray_file(spark, lake):
    root, _, first = lake
    uri = copy_export(first.manifest_uri, root / "tampered", ("csv", "parquet"))
    m = read_manifest(uri)
    csv = Path(m.channels["train"]["csv"].uri) / m.channels["train"]["csv"].files[0]
    lines = csv.read_text().splitlines(keepends=True)
    label, rest = lines[2].split(",", 1)
    lines[2] = f"{1 - int(label)},{rest}"  # flip one label
    # the same numbers in another float style (Python repr's, as earlier exports wrote) still match
    lines[3] = ",".join(repr(float(v)) for v in lines[3].split(",")) + "\n"
    csv.write_text("".join(lines))
    (Path(m.channels["test"]["parquet"].uri) / "notes.txt").write_text("stray")

    # Another file layout (one file per channel, no shuffle) changes the conf hash, not the rows.
    ctx = context(spark, root, {"shuffle": False, "rows_per_file": None, "num_files": 1})
    report = reproduce.reproduce(ctx, str(Path(uri).parent), into=str(root / "rebuild"))
    assert not report.identical and report.config_changed
    assert "config hash changed" in report.lines()[1]
    assert report.rebuilt_at == str(root / "rebuild")
    assert len(list((root / "rebuild/train/csv").iterdir())) == 1
    diffs = {(d.channel, d.fmt): d for d in report.diffs}
    train_csv = diffs[("train", "csv")]
    assert (train_csv.only_original, train_csv.only_rebuilt) == (1, 1)
    assert train_csv.rows_original == train_csv.rows_rebuilt == train_csv.rows_recorded
    assert any(lines[2].strip() in e and "only in the original" in e
               for e in train_csv.examples), train_csv.examples
    stray = diffs[("test", "parquet")]
    assert stray.unlisted_files == ["notes.txt"] and stray.only_original == 1
    assert sum(not d.identical for d in report.diffs) == 2  # the rest rebuilt row for row
    text = "\n".join(report.lines())
    assert "train/csv: DIFFERS" in text and "DIFFERENT: 2 of 6" in text


def test_bad_input_stops_the_export_before_any_file(spark, tmp_path):
    ctx = context(spark, tmp_path)
    append(ctx, "bad_label", [(r[0], r[1], str(r[2]), r[3])
                              for r in snapshot_rows(date(2026, 1, 1), 20)],
           schema=SCHEMA.replace("purchased_next_30d int", "purchased_next_30d string"))
    append(ctx, "bad_nan", snapshot_rows(date(2026, 1, 1), 30, nan_at=17))
    append(ctx, "tiny", snapshot_rows(date(2026, 1, 1), 2, label=lambda i: i % 2))
    append(ctx, "no_meta", snapshot_rows(date(2026, 1, 1), 5), with_meta=False)

    def export(**conf):
        return export_training.run(context(spark, tmp_path, conf))

    with pytest.raises(InputError, match=r"bad_label version 0.*label column "
                                         r"'purchased_next_30d' must be numeric, found string"):
        export(source_table="bad_label")
    with pytest.raises(InputError, match=r"NaN or \+-inf in 1 rows: index 2 \(spend_90d\)"):
        export(source_table="bad_nan")
    with pytest.raises(InputError, match=r"split\(s\) \['validation'\] got no rows|"
                                         r"split\(s\) \['validation', 'test'\] got no rows"):
        export(source_table="tiny")
    with pytest.raises(InputError, match="column 'churned' not found"):
        export(source_table="bad_nan", label="churned")
    with pytest.raises(InputError, match="no commit at or before version 0 carries 'features'"):
        export(source_table="no_meta")
    with pytest.raises(UsageError, match="version 5 does not exist; versions 0..0"):
        export_training.run(context(spark, tmp_path, {"source_table": "tiny"}), version=5)
    assert not (tmp_path / "exports").exists()


def test_config_errors_name_the_file_and_the_key(spark, tmp_path):
    local = str(tmp_path / "conf/local/export.yaml")
    base = str(tmp_path / "conf/base/export.yaml")
    cases = [
        ({"split": {"fractions": {"train": 0.7, "validation": 0.2, "test": 0.2}}},
         f"{local}: export.split.fractions: .*must sum to 1"),
        ({"formats": ["csv", "xml"]}, f"{local}: export.formats.1: Input should be 'csv'"),
        ({"shufle": True}, f"{local}: export.shufle: unknown key"),
        ({"split": {"method": "time", "time_col": None}}, f"{local}: export.split.time_col"),
        ({"rows_per_file": 0}, f"{local}: export.rows_per_file: .*greater than or equal to 1"),
        ({"source_table": "orders"}, f"{local}: export.source_table: no table named 'orders'"),
    ]
    for conf, message in cases:
        with pytest.raises(ConfigError, match=message):
            export_training.run(context(spark, tmp_path, conf))
    # a key only the base file sets is reported against the base file
    settings = load_settings("local", make_conf(tmp_path), environ={})
    assert settings.where("export", "split", "seed") == base
    assert settings.where("export", "formats") == local
    assert json.loads(json.dumps(settings.export.model_dump(
        mode="json")))["split"]["fractions"] == {"train": 0.8, "validation": 0.1, "test": 0.1}
