from jobs.spark import get_spark, has_delta_classes


def test_session_is_utc_and_reused(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert get_spark("another") is spark


def test_delta_classes_probe_finds_no_delta_jars_in_the_test_session(spark):
    # the test session is started without delta-spark's Maven package (pip ships no jars)
    assert has_delta_classes(spark) is False
