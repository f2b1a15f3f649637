"""The fitted feature pipeline without Spark: numpy/pyarrow with Spark's outputs to the bit.

``load(MODEL_DIR).transform(records)`` reads the pipeline build-features saved (Spark ML's
metadata JSON and Parquet model data, local or ``s3://``) and applies every stage as Spark
does; a stage it does not implement is refused at load, naming the stage. No JVM, no pyspark.

For example (``records``: a pandas DataFrame, a pyarrow Table or a list of dicts)::

    from lakeprep.inference import load
    features = load("lakeprep-data/features/models/taxi_tips_features/RUN").transform(records)
"""

from lakeprep.inference.pipeline import InferencePipeline, SparseVector, load

__all__ = ["InferencePipeline", "SparseVector", "load"]
