"""manifest.json: what an export wrote, so training jobs and audits can find and trust it.

>>> m = Manifest(run_id="r1", label="label", feature_names=["a", "b"], config_hash="abc",
...              channels={"train": {"csv": ChannelFiles(uri="s3://b/r1/train/csv",
...                        content_type="text/csv", rows=2, files=["part-00000-0000.csv"])}})
>>> Manifest.from_json(m.to_json()) == m
True
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lakeprep.errors import InputError
from lakeprep.sagemaker.formats import FORMATS
from lakeprep.storage import resolve
from lakeprep.uris import join_uri

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1


class ChannelFiles(BaseModel):
    """One channel in one format: where, as what content type, how many rows, which files."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str
    content_type: str
    rows: int = Field(ge=0)
    files: list[str]  # relative to ``uri``
    bytes: int = Field(default=0, ge=0)
    class_balance: dict[str, int] | None = None  # label value -> rows, for classification


class SourceTable(BaseModel):
    """A Delta table the export read, pinned to the version it read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(ge=0)
    uri: str | None = None


class Manifest(BaseModel):
    """The manifest of one export run (written as manifest.json next to the channels)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    label: str
    feature_names: list[str]  # in vector order: index i of every file is feature_names[i]
    channels: dict[str, dict[str, ChannelFiles]]  # channel name -> format -> files
    source_tables: list[SourceTable] = Field(default_factory=list)
    pipeline_model_path: str | None = None
    config_hash: str
    split: dict[str, Any] | None = None  # how the rows were split (method, fractions, seed)

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("created_at must carry a time zone (UTC)")
        return value

    @model_validator(mode="after")
    def _formats_known(self) -> Manifest:
        for channel, formats in self.channels.items():
            for fmt, files in formats.items():
                if fmt not in FORMATS:
                    raise ValueError(f"channels.{channel}: unknown format {fmt!r}; "
                                     f"expected one of {sorted(FORMATS)}")
                if files.content_type != FORMATS[fmt].content_type:
                    raise ValueError(f"channels.{channel}.{fmt}: content_type "
                                     f"{files.content_type!r} should be "
                                     f"{FORMATS[fmt].content_type!r}")
        return self

    def to_json(self) -> str:
        """Serialize to indented JSON (datetimes in ISO 8601)."""
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "manifest") -> Manifest:
        """Parse and validate; raise `InputError` naming the file and the bad keys."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            keys = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InputError(f"{where}: invalid manifest: {keys}") from exc


def manifest_uri(location: str) -> str:
    """``s3://b/run`` -> ``s3://b/run/manifest.json``; a ``.json`` URI is kept as it is."""
    return location if location.endswith(".json") else join_uri(location, MANIFEST_NAME)


def write_manifest(manifest: Manifest, location: str, filesystem=None) -> str:
    """Write ``manifest`` to ``location`` (a folder or a .json URI); return the file's URI."""
    uri = manifest_uri(location)
    fs, path = resolve(uri, filesystem)
    target = path
    if fs.type_name == "local":
        # written beside and renamed: a run killed mid-write leaves no partial manifest.json,
        # which would make an incomplete export look complete (an S3 PUT is atomic already)
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        path = f"{path}.{uuid.uuid4().hex}.tmp"
    with fs.open_output_stream(path) as out:
        out.write(manifest.to_json().encode())
    if path != target:
        fs.move(path, target)
    return uri


def read_manifest(location: str, filesystem=None) -> Manifest:
    """Read and validate a manifest from a folder or a .json URI."""
    uri = manifest_uri(location)
    fs, path = resolve(uri, filesystem)
    try:
        with fs.open_input_stream(path) as src:
            text = src.read()
    except (FileNotFoundError, OSError) as exc:
        raise InputError(f"no manifest at {uri}: {exc}") from exc
    try:
        json.loads(text)
    except ValueError as exc:
        raise InputError(f"{uri}: not JSON ({exc})") from exc
    return Manifest.from_json(text, where=uri)
