"""Personal data at ingest: columns marked ``pii: hash`` hashed with a salt that never comes from
conf (an environment variable, or a secret read at run time), ``pii: drop`` columns never land.
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.config import Settings, TableSpec
from lakeprep.errors import ConfigError

log = logging.getLogger(__name__)
DEV_SALT = "lakeprep-local-development-salt"


def protect(rows: DataFrame, raw: TableSpec, salt: str | None) -> DataFrame:
    """``rows`` with the ``pii: hash`` columns of ``raw`` hashed and its ``pii: drop`` ones
    dropped."""
    hashed = [c.name for c in raw.columns if c.pii == "hash"]
    if hashed:
        pii_hash = salted_sha256(salt or "")
        for name in hashed:
            rows = rows.withColumn(name, pii_hash(F.col(name)))
    return rows.drop(*[c.name for c in raw.columns if c.pii == "drop"])


def salted_sha256(salt: str) -> Any:
    """A Spark function: ``sha2(salt || value, 256)`` as a hex string, null for null.

    The same values as ``F.sha2(F.concat(F.lit(salt), col), 256)``, but the salt travels in
    the function's pickled closure, so it never appears in a Spark plan, an event log, or an
    error that prints one.
    """
    @F.pandas_udf("string")  # type: ignore[call-overload]
    def pii_hash(values: pd.Series) -> pd.Series:
        return values.map(lambda v: hashlib.sha256((salt + v).encode("utf-8")).hexdigest()
                          if isinstance(v, str) else None)

    return pii_hash


def salt_for(settings: Settings, specs: list[TableSpec]) -> str | None:
    """The salt of the ``pii: hash`` columns of ``specs``' raw tables (None when they have
    none): ``ingest.pii_salt_env``'s variable, else the secret ``ingest.pii_salt_secret`` names
    (read now, at run time), else locally a development salt with a warning."""
    needs = [c.name for s in specs for c in settings.table(s.upstream or s.name).columns
             if c.pii == "hash"]
    if not needs:
        return None
    var = settings.ingest.pii_salt_env
    salt = os.environ.get(var)
    if salt:
        return salt
    reference = settings.ingest.pii_salt_secret
    if reference:  # a job definition names the secret; its value is only read here, at run time
        from lakeprep.aws.secrets import read_secret

        return read_secret(reference, "ingest.pii_salt_secret", settings.deploy.region)
    if settings.env == "local":
        log.warning("%s is not set: hashing personal data (%s) with the local development "
                    "salt; set it for anything but a local trial", var, ", ".join(needs))
        return DEV_SALT
    raise ConfigError(f"ingest.pii_salt_env: environment variable {var} is not set and "
                      f"ingest.pii_salt_secret names no secret; the salt hashes personal data "
                      f"columns {needs} and never comes from conf")

