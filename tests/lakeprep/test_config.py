"""Configuration: layering, interpolation, validation, and errors that name file and key."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from jobs.cli import main
from lakeprep.config import load_settings
from lakeprep.errors import ConfigError

REPO_CONF = Path(__file__).resolve().parents[2] / "conf"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def conf(tmp_path):
    root = tmp_path / "conf"
    write(root / "base/lakeprep.yaml", """
        spark: {conf: {spark.sql.shuffle.partitions: 4, spark.sql.ansi.enabled: false}}
        lake:
          engine: auto
          layers: {raw: /data/raw, bronze: "${LAKE_ROOT:-/lake}/bronze"}
          system: /lake/_sys
        """)
    write(root / "base/catalog.yaml", """
        tables:
          raw_t:
            layer: raw
            source: {format: csv, path: "t/*.csv"}
            columns: [{name: id, type: string}, {name: ts, type: timestamp}]
          t:
            layer: bronze
            upstream: raw_t
            derive: {day: "to_date(ts)"}
            partition_by: [day]
            primary_key: [id]
        """)
    write(root / "local/lakeprep.yaml", """
        spark: {conf: {spark.sql.shuffle.partitions: 2}}
        lake: {engine: deltalake}
        """)
    (root / "emr").mkdir()
    return root


def test_env_overrides_base_key_by_key(conf):
    s = load_settings("local", conf, environ={})
    assert s.lake.engine == "deltalake"
    assert s.spark.conf == {"spark.sql.shuffle.partitions": "2", "spark.sql.ansi.enabled": "false"}
    assert s.table("t").location == "/lake/bronze/t"
    assert s.table("t").partition_by == ["day"]
    assert load_settings("emr", conf, environ={}).lake.engine == "auto"


def test_environment_variables_are_interpolated(conf):
    s = load_settings("local", conf, environ={"LAKE_ROOT": "s3://bucket/lake"})
    assert s.table("t").location == "s3://bucket/lake/bronze/t"


def test_conf_hash_changes_with_the_effective_config(conf):
    a = load_settings("local", conf, environ={}).conf_hash
    b = load_settings("local", conf, environ={"LAKE_ROOT": "/elsewhere"}).conf_hash
    assert a != b and a == load_settings("local", conf, environ={}).conf_hash


def test_unset_variable_names_file_and_key(conf):
    write(conf / "local/extra.yaml", "ingest: {pii_salt_env: '${NOPE}'}\n")
    with pytest.raises(ConfigError, match=r"local/extra.yaml: ingest.pii_salt_env: environment "
                                          r"variable NOPE is not set"):
        load_settings("local", conf, environ={})


def test_invalid_value_names_file_and_key(conf):
    write(conf / "local/lakeprep.yaml", "lake: {engine: spark-sql}\n")
    with pytest.raises(ConfigError, match=r"local/lakeprep.yaml: lake.engine: Input should be"):
        load_settings("local", conf, environ={})


def test_unknown_key_and_missing_column_are_reported(conf):
    write(conf / "local/catalog.yaml", "tables: {t: {partition_by: [nope]}}\n")
    with pytest.raises(ConfigError, match=r"catalog.yaml: tables.t.partition_by: column\(s\) "
                                          r"\['nope'\] not declared"):
        load_settings("local", conf, environ={})
    write(conf / "local/catalog.yaml", "tables: {t: {partition: [day]}}\n")
    with pytest.raises(ConfigError, match=r"local/catalog.yaml: tables.t.partition: unknown key"):
        load_settings("local", conf, environ={})


def test_same_top_level_key_in_two_files_of_one_folder(conf):
    write(conf / "base/more.yaml", "lake: {engine: auto}\n")
    with pytest.raises(ConfigError, match=r"more.yaml: lake: already defined in .*lakeprep.yaml"):
        load_settings("local", conf, environ={})


def test_bad_yaml_and_unknown_env(conf):
    write(conf / "local/broken.yaml", "lake: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: not valid YAML"):
        load_settings("local", conf, environ={})
    with pytest.raises(ConfigError, match=r"no such environment; environments: \['emr', 'local'\]"):
        load_settings("prod", conf, environ={})


def test_unknown_table_lists_the_known_ones(conf):
    s = load_settings("local", conf, environ={})
    with pytest.raises(ConfigError, match="no table named 'x'.*known tables: raw_t, t"):
        s.table("x")


def test_cli_config_error_exits_2_with_one_line(conf, capsys):
    write(conf / "local/lakeprep.yaml", "lake: {engine: spark-sql}\n")
    assert main(["tables", "--env", "local", "--conf-dir", str(conf)]) == 2
    err = capsys.readouterr().err
    assert "lake.engine" in err and "lakeprep.yaml" in err and "Traceback" not in err


@pytest.mark.parametrize("env", ["local", "emr", "glue"])
def test_shipped_configuration_is_valid(env):
    s = load_settings(env, REPO_CONF, environ={"LAKEPREP_BUCKET": "my-bucket",
                                                "LAKEPREP_DATA": "/tmp/lakeprep"})
    assert {"customers", "orders", "web_events", "taxi_trips"} <= set(s.tables)
    assert s.table("orders").partition_by == ["order_date"]
    if env != "local":
        assert s.table("orders").location == "s3://my-bucket/lake/bronze/orders"


def _conf_files() -> list[str]:
    root = Path(__file__).resolve().parents[2] / "conf"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.yaml"))


@pytest.mark.parametrize("relative", _conf_files())
def test_a_typo_in_any_conf_file_stops_loading_naming_the_file_and_key(tmp_path, relative):
    """Every section is a typed model checked at load: a misspelt key never passes silently."""
    import yaml

    src = Path(__file__).resolve().parents[2] / "conf"
    shutil.copytree(src, tmp_path / "conf")
    path = tmp_path / "conf" / relative
    data = yaml.safe_load(path.read_text()) or {}
    if relative.split("/")[1] == "quality":
        data["expectationz"] = []  # a suite file: its keys are the suite's
        key = "expectationz"
    else:
        section = next(iter(data))
        if isinstance(data[section], dict):
            data[section]["formts"] = 1
            key = f"{section}.formts"
        else:
            data["formts"] = 1
            key = "formts"
    path.write_text(yaml.safe_dump(data))
    env = relative.split("/")[0] if relative.split("/")[0] != "base" else "local"
    with pytest.raises(ConfigError) as err:
        load_settings(env, tmp_path / "conf", environ={"LAKEPREP_BUCKET": "b"})
    assert str(path) in str(err.value) and key in str(err.value), str(err.value)


def test_a_tables_gate_is_its_suite_and_its_policy():
    s = load_settings("local", environ={})
    declaration, source = s.suite_for("orders")
    assert source.endswith("base/quality/orders.yaml") and declaration is s.suites["orders"]
    assert s.suite_for("customer_features", "customer_features_export")[0] is \
        s.suites["customer_features_export"]
    assert s.suite_for("raw_orders") is None  # no suite declared: no gate
    assert s.may_quarantine("orders") and s.may_quarantine("taxi_trips")
    assert not s.may_quarantine("web_events")  # gated, but policy warn
    assert not s.may_quarantine("customer_features")  # policy fail


def test_ingest_writes_the_tables_with_a_raw_upstream():
    s = load_settings("local", environ={})
    assert [t.name for t in s.bronze_tables()] == [
        t.name for t in s.tables.values() if t.upstream]
    assert [t.upstream for t in s.bronze_tables(["orders", "customers"])] == [
        "raw_orders", "raw_customers"]
    with pytest.raises(ConfigError, match=r"^tables.customer_features: has no upstream raw "
                       r"table, so it cannot be ingested; ingestible tables: \['customers',"):
        s.bronze_tables(["customer_features"])


def test_an_export_points_at_the_named_sets_table_and_goes_under_the_exports_layer():
    s = load_settings("local", environ={"LAKEPREP_DATA": "/lake"})
    assert s.export_for(None) is s.export and s.export_for("customer") is s.export
    taxi = s.export_for("taxi_tips")
    fs = s.feature_sets("taxi_tips")["taxi_tips"]
    assert (taxi.source_table, taxi.label, taxi.entity) == (fs.table, fs.label_name,
                                                            fs.id_column)
    assert taxi.formats == s.export.formats  # the rest of the section holds for every set
    assert s.export_root(taxi, "r1") == "/lake/exports/taxi_tips_features/r1"
    given = taxi.model_copy(update={"output": "s3://b/out"})
    assert s.export_root(given, "r1") == "s3://b/out"
    no_layer = s.model_copy(update={"lake": s.lake.model_copy(update={"layers": {}})})
    with pytest.raises(ConfigError, match=r"export.output: not set and lake.layers.exports is "
                       r"not configured"):
        no_layer.export_root(taxi, "r1")
