"""``lakeprep catalog register``: the lake's Delta tables in the Glue Data Catalog, by name.

Each table of the conf catalog that exists in the lake becomes a Glue table of
``deploy.database``: Delta (``table_type=DELTA``, so Athena reads it natively, and
``spark.sql.sources.provider=delta`` for Spark on Glue and EMR), its location, its partition
columns and the schema of its latest version, read from the Delta log. Registering again updates
what changed and leaves the rest: it is idempotent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from lakeprep.aws.clients import client
from lakeprep.aws.deploy import Request
from lakeprep.config import Settings

log = logging.getLogger(__name__)

_PRIMITIVE = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint",
              "timestamp_ntz": "timestamp"}


@dataclass
class CatalogPlan:
    database: str
    region: str | None
    requests: list[Request] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # tables with no Delta version yet

    def as_json(self) -> list[dict[str, Any]]:
        return [r.as_json() for r in self.requests]


def hive_type(t: Any) -> str:
    """The Glue/Hive type of a Delta schema type (as the Delta log's JSON writes it)."""
    if isinstance(t, str):
        return _PRIMITIVE.get(t, t)
    kind = t["type"]
    if kind == "array":
        return f"array<{hive_type(t['elementType'])}>"
    if kind == "map":
        return f"map<{hive_type(t['keyType'])},{hive_type(t['valueType'])}>"
    if kind == "struct":
        return "struct<" + ",".join(f"{f['name']}:{hive_type(f['type'])}"
                                    for f in t["fields"]) + ">"
    raise ValueError(f"unknown Delta type {t!r}")


def table_input(name: str, location: str, schema: dict[str, Any], partition_by: list[str],
                description: str | None) -> dict[str, Any]:
    """The Glue ``TableInput`` of a Delta table."""
    columns = {f["name"]: {"Name": f["name"], "Type": hive_type(f["type"])}
               for f in schema["fields"]}
    location = location.replace("s3a://", "s3://", 1)
    return {
        "Name": name,
        "Description": description or f"lakeprep table {name}",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"table_type": "DELTA", "classification": "delta", "EXTERNAL": "TRUE",
                       "spark.sql.sources.provider": "delta"},
        "PartitionKeys": [columns[c] for c in partition_by],
        "StorageDescriptor": {
            "Columns": [c for n, c in columns.items() if n not in partition_by],
            "Location": location,
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary":
                          "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                          "Parameters": {"path": location}},
        },
    }


def plan(settings: Settings) -> CatalogPlan:
    """The database and one table request per lake table with a Delta version."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    db = settings.deploy.database
    p = CatalogPlan(db, settings.deploy.region)
    p.requests.append(Request("glue", "create_database", {"DatabaseInput": {
        "Name": db, "Description": "lakeprep lake tables (Delta)"}}))
    options = settings.lake.storage_options or None
    for spec in settings.tables.values():
        if spec.layer == "raw":
            continue
        try:  # (not DeltaTable.is_deltatable: against moto server it never answers)
            table = DeltaTable(spec.location, storage_options=options)
        except TableNotFoundError:
            p.missing.append(spec.name)
            continue
        schema = json.loads(table.schema().to_json())
        p.requests.append(Request("glue", "create_table", {
            "DatabaseName": db,
            "TableInput": table_input(spec.name, spec.location, schema, spec.partition_by,
                                      spec.description)}))
    return p


def execute(p: CatalogPlan) -> list[str]:
    """Create what is missing, update what differs; one line per table saying which."""
    glue = client("glue", p.region)
    done = []
    for r in p.requests:
        if r.operation == "create_database":
            try:
                glue.get_database(Name=p.database)
                done.append(f"database {p.database}: exists")
            except glue.exceptions.EntityNotFoundException:
                glue.create_database(**r.params)
                done.append(f"database {p.database}: created")
            continue
        wanted = r.params["TableInput"]
        name = wanted["Name"]
        try:
            current = glue.get_table(DatabaseName=p.database, Name=name)["Table"]
        except glue.exceptions.EntityNotFoundException:
            glue.create_table(**r.params)
            done.append(f"table {p.database}.{name}: created")
            continue
        if all(current.get(k) == v for k, v in wanted.items()):
            done.append(f"table {p.database}.{name}: unchanged")
        else:
            glue.update_table(DatabaseName=p.database, TableInput=wanted)
            done.append(f"table {p.database}.{name}: updated")
    done += [f"table {name}: not in the lake yet (run its job, then register again)"
             for name in p.missing]
    return done
