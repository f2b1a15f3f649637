"""lakeprep: Spark data-prep and feature engineering for ML on AWS.

The work lives in three packages: ``jobs`` (the PySpark jobs and their runtime), ``features``
(Spark ML stages and the declarative spec) and ``quality`` (Great Expectations suites, gates and
drift). This package only holds what all three share: the version and the error hierarchy.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lakeprep")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
