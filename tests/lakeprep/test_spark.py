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
