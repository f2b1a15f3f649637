"""Where OpenLineage events go, from the ``lineage:`` section: a JSON-lines file (default
``<lake.system>/openlineage/events.jsonl``), one object per event on an object store, or HTTP.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openlineage.client.serde import Serde
from openlineage.client.transport import Transport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG

from lakeprep.config.sections import HttpTransportConf
from lakeprep.errors import ConfigError
from lakeprep.uris import is_remote, local_path

if TYPE_CHECKING:
    from lakeprep.config import Settings

log = logging.getLogger(__name__)

def transport_for(settings: Settings) -> Transport:
    """The transport ``lineage.transport`` configures."""
    t = settings.lineage.transport
    if isinstance(t, HttpTransportConf):
        auth: TokenProvider = TokenProvider({})
        if t.api_key_env:
            key = os.environ.get(t.api_key_env)
            if key:
                auth = ApiKeyTokenProvider({"api_key": key})
            else:
                log.warning("lineage: environment variable %s (lineage.transport.api_key_env) "
                            "is not set; events go to %s without an API key", t.api_key_env, t.url)
        retry = {**DEFAULT_RETRY_CONFIG, "total": t.retries, "connect": t.retries,
                 "read": t.retries}  # POST and 5xx stay retryable, as in the client's default
        return HttpTransport(HttpConfig(url=t.url, endpoint=t.endpoint, timeout=t.timeout,
                                        verify=t.verify, auth=auth, retry=retry))
    path = t.path
    if not path:
        if not settings.lake.system:
            raise ConfigError(f"{settings.where('lineage', 'transport')}: lineage.transport.path: "
                              f"not set, and lake.system is empty so there is no default "
                              f"(<lake.system>/openlineage/events.jsonl)")
        path = settings.system_table("openlineage") + "/events.jsonl"
    if is_remote(path):
        # object stores cannot append: one file per event in a folder next to the name
        return ObjectStoreTransport(path.removesuffix(".jsonl"))
    try:
        Path(local_path(path)).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        log.warning("lineage: cannot create the folder of %s (lineage.transport.path): %s; "
                    "events will not be written", path, e)
    return FileTransport(FileConfig(log_file_path=path, append=True))


class ObjectStoreTransport(Transport):
    """One JSON file per event under ``folder`` (``s3://``, ``s3a://``, local), written through
    the active Spark session's Hadoop FileSystem: object stores cannot append to a file.

    Example::

        ObjectStoreTransport("s3://bucket/lake/_lakeprep/openlineage/events")
    """

    kind = "file"

    def __init__(self, folder: str):
        self.folder = folder.rstrip("/")
        self._seq = itertools.count()

    def emit(self, event: Any) -> None:
        from pyspark.sql import SparkSession

        from lakeprep.storage import write_text

        spark = SparkSession.getActiveSession()
        if spark is None:
            raise RuntimeError(f"no active Spark session to write to {self.folder}")
        stamp = re.sub(r"[^0-9T]", "", event.eventTime[:26])  # to the microsecond
        name = f"{stamp}-{next(self._seq):04d}-{event.run.runId}-{event.eventType.value}.json"
        write_text(spark, f"{self.folder}/{name}", Serde.to_json(event) + "\n")
