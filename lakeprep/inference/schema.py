"""The input schema of a saved pipeline: which columns a record carries, with their Spark types.

Spark's output depends on input types (an imputed int column stays int, StringIndexer reads a
number as its string), so the runtime converts records to the types the pipeline was fitted on.
build-features writes them beside the model as ``input_schema.json``; the SparkML-serving schema
(``SAGEMAKER_SPARKML_SCHEMA``, or ``schema`` in a request) is read too.

>>> parse_schema('{"input": [{"name": "age", "type": "int"}], "output": {"name": "features"}}')
{'age': 'int'}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lakeprep.errors import InputError
from lakeprep.inference.columns import KINDS, kind_of

SCHEMA_FILE = "input_schema.json"


def schema_json(fields: Iterable[tuple[str, str]]) -> str:
    """The ``input_schema.json`` text for (column, Spark type name) pairs, in column order.

    >>> schema_json([("age", "int")])
    '{"input": [{"name": "age", "type": "int"}]}'
    """
    return json.dumps({"input": [{"name": n, "type": t} for n, t in fields]})


def parse_schema(text: str | dict[str, Any], source: str = "schema") -> dict[str, str]:
    """{column: runtime kind} from an input schema (lakeprep's or SparkML serving's JSON)."""
    try:
        doc = json.loads(text) if isinstance(text, str) else text
        fields = doc["input"]
        out = {}
        for f in fields:
            struct = f.get("struct", "basic")
            kind = "vector" if struct == "vector" else kind_of(str(f["type"]))
            if struct == "array" or kind not in KINDS:
                raise InputError(f"{source}: column {f['name']!r} has type {f['type']!r} "
                                 f"(struct {struct!r}); supported: {', '.join(KINDS)}")
            out[str(f["name"])] = kind
        return out
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{source}: not an input schema ({{\"input\": [{{\"name\": ..., "
                         f"\"type\": ...}}, ...]}}): {err}") from None
