from jobs.spark import get_spark, has_delta_classes


def test_session_is_utc_and_reused(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert get_spark("another") is spark


def test_delta_classes_probe_answers(spark):
    assert has_delta_classes(spark) in (True, False)
