"""Helpers for the feature tests: small Spark DataFrames brought back in a stable order."""

def column(df, name, order="id"):
    """A column of a small Spark DataFrame as a list, ordered by ``order``."""
    return [r[0] for r in df.orderBy(order).select(name).collect()]


def rows(df, order="id"):
    """A small Spark DataFrame as pandas (one job), ordered by ``order``."""
    return df.orderBy(order).toPandas()
