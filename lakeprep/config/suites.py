"""The shape of a quality suite as written in conf YAML, validated with pydantic.

A suite file names the catalog table it validates and lists expectations, each a one-key mapping
from a Great Expectations 1.x expectation name to its parameters::

    table: orders                 # the catalog table it validates
    name: orders_bronze           # optional; the GE suite name (default: the table name)
    expectations:
      - expect_table_row_count_to_be_between: {min_value: 1}
      - expect_column_values_to_not_be_null: {column: order_id}
      - expect_column_values_to_be_between: {column: amount, min_value: 0, mostly: 0.99}
      - expect_compound_columns_to_be_unique: {column_list: [customer_id, order_ts]}

Parameters are GE's own (``column``, ``min_value``, ``mostly``, ``meta``, ``notes``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lakeprep.errors import SuiteConfigError


class ExpectationDeclaration(BaseModel):
    """One expectation: its GE name (``type``) and its parameters (``kwargs``).

    >>> ExpectationDeclaration.from_item({"expect_column_values_to_not_be_null": {"column": "id"}})
    ExpectationDeclaration(type='expect_column_values_to_not_be_null', kwargs={'column': 'id'})
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_item(cls, item: Any) -> ExpectationDeclaration:
        """Parse the YAML form ``{expect_name: {param: value}}`` (or ``{type:, kwargs:}``)."""
        if isinstance(item, ExpectationDeclaration):
            return item
        if isinstance(item, Mapping) and set(item) == {"type", "kwargs"}:
            return cls(type=item["type"], kwargs=dict(item["kwargs"] or {}))
        if isinstance(item, str):
            return cls(type=item)
        if not isinstance(item, Mapping) or len(item) != 1:
            raise ValueError(
                "each expectation must be a one-key mapping {expect_name: {param: value}}, "
                f"found {item!r}"
            )
        (name, params), = item.items()
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise ValueError(f"parameters of {name!r} must be a mapping, found {params!r}")
        return cls(type=str(name), kwargs=dict(params))

    def to_item(self) -> dict[str, dict[str, Any]]:
        """Return the YAML form ``{expect_name: {param: value}}``."""
        return {self.type: dict(self.kwargs)}

    def label(self) -> str:
        """A short human name: the type and its column(s), e.g. ``expect_..._be_null(order_id)``."""
        cols = self.columns()
        return f"{self.type}({', '.join(cols)})" if cols else self.type

    def columns(self) -> list[str]:
        """The column names this expectation reads, in declaration order."""
        out: list[str] = []
        for key in ("column", "column_A", "column_B"):
            if isinstance(self.kwargs.get(key), str):
                out.append(self.kwargs[key])
        if isinstance(self.kwargs.get("column_list"), list):
            out.extend(str(v) for v in self.kwargs["column_list"])
        return out


class SuiteDeclaration(BaseModel):
    """A quality suite as declared in conf YAML; see the module docstring for the shape.

    >>> decl = SuiteDeclaration.from_mapping(
    ...     {"table": "orders", "expectations": [{"expect_table_row_count_to_be_between":
    ...                                            {"min_value": 1}}]}, source="orders.yml")
    >>> decl.suite_name, decl.expectations[0].type
    ('orders', 'expect_table_row_count_to_be_between')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: str = Field(min_length=1)
    name: str | None = None
    expectations: list[ExpectationDeclaration] = Field(min_length=1)
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("expectations", mode="before")
    @classmethod
    def _parse_items(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError(f"expectations must be a list, found {type(value).__name__}")
        return [ExpectationDeclaration.from_item(item) for item in value]

    @property
    def suite_name(self) -> str:
        """The GE suite name: ``name`` if given, else the table name."""
        return self.name or self.table

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<suite>") -> SuiteDeclaration:
        """Validate a parsed YAML mapping; errors name ``source`` and the offending key."""
        if isinstance(data, SuiteDeclaration):
            return data
        if not isinstance(data, Mapping):
            raise SuiteConfigError(
                f"{source}: a suite must be a mapping with keys table, expectations "
                f"(optional name, meta); found {type(data).__name__}"
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
                for err in exc.errors()
            )
            raise SuiteConfigError(
                f"{source}: invalid suite declaration: {problems}. Expected keys: table (str), "
                "expectations (list of {expect_name: {param: value}}), optional name, meta"
            ) from None

    def to_mapping(self) -> dict[str, Any]:
        """Return the YAML form (what ``from_mapping`` reads)."""
        out: dict[str, Any] = {"table": self.table}
        if self.name:
            out["name"] = self.name
        out["expectations"] = [e.to_item() for e in self.expectations]
        if self.meta:
            out["meta"] = dict(self.meta)
        return out
