"""Reading a saved Spark ML pipeline without Spark: its metadata JSON and Parquet model data.

A pipeline folder (``PipelineModel.save``) holds ``metadata/part-00000`` (one JSON line: class,
sparkVersion, uid, paramMap, defaultParamMap; a pipeline's ``stageUids``) and one folder per
stage under ``stages/`` (``<index>_<uid>``, zero-padded by Scala's writer), each with its own
metadata and, for MLlib models, Parquet files under ``data/``. Local paths, ``file://`` and
``s3://`` (through ``pyarrow.fs``; ``AWS_ENDPOINT_URL`` points it at another endpoint).

For example, ``read_stages("lakeprep-data/features/models/customer_features/RUN")[0].cls`` is
``'features.imputation.missing_indicator.MissingIndicator'``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from lakeprep.errors import InputError

PIPELINE_CLASSES = ("pyspark.ml.pipeline.PipelineModel", "org.apache.spark.ml.PipelineModel")


@dataclass
class SavedStage:
    """One fitted stage as saved: where, its class and uid, its params (defaults merged)."""

    folder: str
    cls: str
    uid: str
    params: dict[str, Any]
    spark_version: str
    filesystem: pafs.FileSystem = field(repr=False)

    def param(self, name: str, default: Any = None) -> Any:
        """A param's value (set, else its saved default, else ``default``)."""
        return self.params.get(name, default)

    def data(self) -> pa.Table:
        """The stage's model data (``data/*.parquet``), read with pyarrow."""
        path = f"{self.folder}/data"
        files = _files(self.filesystem, path, ".parquet")
        if not files:
            raise InputError(f"{self.folder}: stage {self.uid} ({self.cls}) has no model data "
                             f"under data/ (an incomplete copy of the model folder?)")
        return pa.concat_tables(pq.read_table(f, filesystem=self.filesystem) for f in files)

    def rows(self, former: str) -> list[dict[str, Any]] | None:
        """lakeprep's fitted rows (``data/``, one dict per row), or None for a folder saved
        before they moved from the metadata's ``former`` Param to Parquet (read it instead)."""
        if former in self.params and not _files(self.filesystem, f"{self.folder}/data",
                                                 ".parquet"):
            return None
        return self.data().to_pylist()

    @property
    def short_class(self) -> str:
        """The class name without its module (``StringIndexerModel``)."""
        return self.cls.rsplit(".", 1)[-1]


def filesystem_of(uri: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and path of a local path, ``file://``, ``s3://`` or ``s3a://`` URI."""
    if uri.startswith(("s3://", "s3a://", "s3n://")):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        s3 = pafs.S3FileSystem(endpoint_override=endpoint, region=region) if endpoint or region \
            else pafs.S3FileSystem()
        return s3, uri.split("://", 1)[1].rstrip("/")
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    return pafs.LocalFileSystem(), os.path.abspath(uri).rstrip("/")


def _files(fs: pafs.FileSystem, folder: str, suffix: str = "") -> list[str]:
    infos = fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
    return sorted(i.path for i in infos if i.type == pafs.FileType.File
                  and not i.base_name.startswith(("_", ".")) and i.base_name.endswith(suffix))


def read_metadata(fs: pafs.FileSystem, folder: str) -> dict[str, Any]:
    """The JSON of ``<folder>/metadata`` (Spark's DefaultParamsWriter: one line, part-00000)."""
    files = _files(fs, f"{folder}/metadata")
    if not files:
        raise InputError(f"{folder}: no metadata/part-00000; not a saved Spark ML stage or "
                         f"pipeline folder (or an incomplete copy)")
    with fs.open_input_stream(files[0]) as stream:
        text = stream.read().decode("utf-8").strip()
    try:
        return dict(json.loads(text.splitlines()[0]))
    except (ValueError, IndexError):
        raise InputError(f"{files[0]}: the stage metadata is not JSON") from None


def _saved(fs: pafs.FileSystem, folder: str, meta: dict[str, Any]) -> SavedStage:
    params = {**meta.get("defaultParamMap", {}), **meta.get("paramMap", {})}
    return SavedStage(folder, str(meta.get("class", "")), str(meta.get("uid", "")), params,
                      str(meta.get("sparkVersion", "")), fs)


def read_stages(uri: str) -> list[SavedStage]:
    """Every stage of the saved pipeline at ``uri``, in order (nested pipelines flattened)."""
    fs, root = filesystem_of(uri)
    if fs.get_file_info(root).type != pafs.FileType.Directory:
        raise InputError(f"{uri}: no such model folder")
    return _pipeline_stages(fs, root, read_metadata(fs, root))


def _pipeline_stages(fs: pafs.FileSystem, folder: str, meta: dict[str, Any]) -> list[SavedStage]:
    if meta.get("class") not in PIPELINE_CLASSES:
        return [_saved(fs, folder, meta)]
    version = str(meta.get("sparkVersion", ""))
    if not version.startswith("3."):
        raise InputError(f"{folder}: saved by Spark {version or '(unknown)'}; the inference "
                         f"runtime reads pipelines saved by Spark 3.x (lakeprep runs 3.5)")
    uids = list(meta.get("paramMap", {}).get("stageUids", []))
    subfolders = {i.base_name: i.path for i in fs.get_file_info(
        pafs.FileSelector(f"{folder}/stages", allow_not_found=True))}
    stages: list[SavedStage] = []
    for index, uid in enumerate(uids):
        matches = [p for name, p in subfolders.items()
                   if name.endswith(f"_{uid}") and name.split("_", 1)[0].isdigit()
                   and int(name.split("_", 1)[0]) == index]
        if not matches:
            raise InputError(f"{folder}: stage {index} ({uid}) has no folder under stages/ "
                             f"(expected stages/{index}_{uid}); the model folder is incomplete")
        stages += _pipeline_stages(fs, matches[0], read_metadata(fs, matches[0]))
    return stages


def read_text(uri: str) -> str | None:
    """A small text file beside a model (``input_schema.json``), or None when absent."""
    fs, path = filesystem_of(uri)
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as stream:
        return stream.read().decode("utf-8")
