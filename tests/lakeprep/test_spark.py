from pathlib import Path

from lakeprep.spark import get_spark, has_delta_classes, jar_paths


def test_session_is_utc_and_reused(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert get_spark("another") is spark


def test_the_jars_make_fetched_are_on_the_test_session_classpath(spark):
    # `make jars` (jvm/pom.xml) puts delta-spark in jvm/jars; without it pip ships no Delta jars
    jars = jar_paths()
    assert has_delta_classes(spark) is bool(jars)
    if jars:
        assert any("delta-spark_2.12-3.3.2.jar" in j for j in jars)
        assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"


def test_no_jars_folder_means_no_jars(tmp_path):
    assert jar_paths(tmp_path) == []


def test_spark_logs_under_a_local_lake_else_in_a_temp_folder_never_under_spark_submit(
        tmp_path, monkeypatch):
    import tempfile

    import lakeprep.spark
    from lakeprep.config import load_settings
    from lakeprep.spark import log_under_lake

    monkeypatch.setattr(lakeprep.spark, "_log_option", None)  # this process's sessions: as found
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    local = load_settings("local", environ={"LAKEPREP_DATA": str(tmp_path)})
    path = log_under_lake(local)
    assert path is not None and path.parent == tmp_path / "_lakeprep" / "logs"
    assert path.name.startswith("spark-") and path.suffix == ".log"
    assert lakeprep.spark._log_option == (f"-Dlog4j2.configurationFile=file:"
                                          f"{path.with_suffix('.log4j2.properties')}")
    remote = load_settings("local", environ={"LAKEPREP_DATA": "s3://b/lake"})
    path = log_under_lake(remote)
    assert path is not None and path.parent == Path(tempfile.gettempdir()) / "lakeprep-logs"
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "40000")  # spark-submit's driver: it logs
    assert log_under_lake(local) is None
