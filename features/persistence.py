"""How lakeprep's stages persist: Params in ``metadata/``, fitted values as Parquet in ``data/``.

The layout is MLlib's (``StringIndexerModel``, ``ImputerModel``): ``<path>/metadata/`` holds one
JSON line (class, uid, sparkVersion, paramMap, defaultParamMap), and a fitted model's
``<path>/data/`` holds its fitted values as one Parquet table, written with the session's
DataFrame writer. Each model class declares the table's schema in ``DATA_SCHEMA`` (Spark DDL,
repeated in its docstring and in ``docs/ops.md``) and the metadata names it again under
``dataSchema``, so a reader without Spark (``lakeprep.inference``: json and pyarrow) knows the
layout from the folder alone. The tables hold plain strings, numbers and arrays of them: no
pickles, no Spark-only types.

Folders saved before the fitted values moved to Parquet (they were JSON Params in the metadata,
with no ``data/`` folder) still load: the reader takes those former Params out of the metadata
(``FORMER_PARAMS``) and turns them into the model's rows (``FittedModel.rows_from_params``);
Params renamed since (``RENAMED_PARAMS``) are read under their new name.

Example::

    model.write().overwrite().save("s3://bucket/models/encoder")
    OrdinalEncoderModel.load("s3://bucket/models/encoder").encoder_dict_
    # {'segment': {'gold': 0, 'silver': 1}}; data/ holds the row
    # {'column': 'segment', 'categories': ['gold', 'silver'], 'codes': [0, 1]}
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from pyspark.ml import Model, PipelineModel
from pyspark.ml.param import Params
from pyspark.ml.util import (
    DefaultParamsReader,
    DefaultParamsWritable,
    DefaultParamsWriter,
    MLReadable,
    MLReader,
    MLWritable,
    MLWriter,
)

from features.base import merged_over_mro

DATA = "data"  # the model data folder under a stage's path, as MLlib's
SCHEMA_KEY = "dataSchema"  # metadata key: the data table's DDL; absent in the former layout

DataRow = dict[str, Any]  # one row of a model's data table, by field name


class StageReadable(MLReadable[Any]):
    """``load`` through :class:`StageReader`: reads the current and the former layout."""

    # Params that a former version of the stage saved and this one no longer declares (each a
    # fitted value, now model data): {name: what it held}. Merged over the bases.
    FORMER_PARAMS: ClassVar[dict[str, str]] = {}
    # Params renamed since a former version: {former name: current name}. Merged over the bases.
    RENAMED_PARAMS: ClassVar[dict[str, str]] = {}

    @classmethod
    def read(cls) -> StageReader:
        """A reader of folders saved by this or a former version of lakeprep."""
        return StageReader(cls)


class StageWritable(DefaultParamsWritable):
    """An Estimator or Transformer: its Params are everything it saves (``metadata/`` only)."""


class FittedModel(Model, StageReadable, MLWritable):
    """The one base of lakeprep's fitted models: Params in ``metadata/``, fitted rows in ``data/``.

    A model holds its fitted values as the rows of its data table (``DATA_SCHEMA``, one dict per
    row) and derives every view (``encoder_dict_``, ``right_tail_caps_``...) from them, so what
    is saved is exactly what the transform uses. Its output schema depends only on its Params
    and rows, never on the batch.
    """

    DATA_SCHEMA: ClassVar[str] = ""  # Spark DDL of the rows, e.g. "column STRING, value DOUBLE"

    def __init__(self) -> None:
        super().__init__()
        self._rows: tuple[DataRow, ...] = ()

    @classmethod
    def with_rows(cls, rows: Iterable[Mapping[str, Any]]) -> Any:
        """A model of this class holding ``rows`` (dicts keyed by the DATA_SCHEMA's fields)."""
        model = cls()
        model._rows = tuple(dict(r) for r in rows)
        return model

    @property
    def data_rows(self) -> list[DataRow]:
        """The fitted rows (copies), as saved under ``data/``."""
        return [dict(r) for r in self._rows]

    def rows_by_column(self) -> dict[str, DataRow]:
        """The rows keyed by their ``column`` field (models with one row per input column)."""
        return {r["column"]: r for r in self._rows}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        """The rows of a model saved in the former layout, from its metadata's params.

        ``params`` holds every param of the former metadata (defaults, then values set),
        under its former name. Each model class with ``FORMER_PARAMS`` overrides this.
        """
        raise NotImplementedError(f"{cls.__name__} has no former layout to read")

    def write(self) -> MLWriter:
        """A writer of ``metadata/`` (Params) and ``data/`` (the fitted rows as Parquet)."""
        return ModelDataWriter(self)


class ModelDataWriter(MLWriter):
    """Saves a FittedModel as MLlib saves its models: metadata JSON, then the data as Parquet."""

    def __init__(self, instance: FittedModel) -> None:
        super().__init__()
        self.instance = instance

    def saveImpl(self, path: str) -> None:
        schema = type(self.instance).DATA_SCHEMA
        DefaultParamsWriter.saveMetadata(self.instance, path, self.sc,
                                         extraMetadata={SCHEMA_KEY: schema})
        # one small file, like MLlib's model data (the rows are per column or per category)
        data = self.sparkSession.createDataFrame(list(self.instance._rows), schema)
        data.coalesce(1).write.parquet(os.path.join(path, DATA))


class StageReader(MLReader[Any]):
    """Loads a lakeprep stage saved in the current layout or the former one (see module doc)."""

    def __init__(self, cls: type) -> None:
        super().__init__()
        self.cls = cls

    def load(self, path: str) -> Any:
        metadata = DefaultParamsReader.loadMetadata(path, self.sc)
        module, _, name = metadata["class"].rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        instance = cls()
        instance._resetUid(metadata["uid"])
        former = take_former_params(cls, instance, metadata)
        DefaultParamsReader.getAndSetParams(instance, metadata)
        if isinstance(instance, FittedModel):
            if SCHEMA_KEY in metadata:
                table = self.sparkSession.read.parquet(os.path.join(path, DATA))
                rows = [r.asDict(recursive=True) for r in table.collect()]  # model data: small
            else:
                rows = cls.rows_from_params(former)
            instance._rows = tuple(rows)
        return instance


def take_former_params(cls: type, instance: Params, metadata: dict[str, Any]) -> dict[str, Any]:
    """Rename renamed params in ``metadata``, take out those the stage no longer declares.

    Returns every param of the metadata under its former name (defaults overridden by the
    values set), for :meth:`FittedModel.rows_from_params`.
    """
    former = merged_over_mro(cls, "FORMER_PARAMS")
    renamed = merged_over_mro(cls, "RENAMED_PARAMS")
    found: dict[str, Any] = {}
    for key in ("defaultParamMap", "paramMap"):
        params = metadata.get(key, {})
        found.update(params)
        for name in list(params):
            if name in renamed and not instance.hasParam(name):
                params[renamed[name]] = params.pop(name)
            elif name in former and not instance.hasParam(name):
                del params[name]
    return found


def load_for_inference(path: str) -> PipelineModel:
    """A saved pipeline, with out-of-fold encoders switched to their full-data encodings (at
    inference every row is new: no row's own label may be held out)."""
    model = PipelineModel.load(path)
    for stage in model.stages:
        if hasattr(stage, "setOutOfFold"):
            stage.setOutOfFold(False)
    return model
