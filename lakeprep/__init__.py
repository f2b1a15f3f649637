"""lakeprep: Spark data-prep and feature engineering for ML on AWS.

This package is the runtime everything shares: errors, configuration, the Spark session, the run
context, the one storage layer, the lake engines, ingest's readers, lineage, SageMaker I/O,
reports, statistics, AWS, and the inference runtime. It imports nothing of ``jobs``,
``features`` or ``quality``; they import it (``features`` and ``quality`` only its pure modules).
See docs/architecture.md.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lakeprep")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
