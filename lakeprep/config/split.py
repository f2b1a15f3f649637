"""How an export splits its rows (``export.split`` in conf, ``split`` in a manifest): a pure
model, owned by the conf, which the SageMaker channel writers apply (``lakeprep.sagemaker``).

>>> SplitSpec(method="stratified", label_col="label").fractions["train"]
0.8
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lakeprep.errors import ConfigError


class SplitSpec(BaseModel):
    """How to split: method, ordered fractions (summing to 1), seed and the columns involved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["random", "stratified", "time"] = "random"
    fractions: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    seed: int = 42
    label_col: str | None = None
    time_col: str | None = None
    cut_points: list[datetime | date | float] | None = None
    entity_cols: list[str] | None = None
    key_cols: list[str] | None = None  # row identity for random/stratified; default: all columns

    @classmethod
    def from_config(cls, data: dict, where: str = "split") -> SplitSpec:
        """Validate a config mapping; raise `ConfigError` naming ``where`` and the bad keys."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            keys = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(spec)'}: {e['msg']}"
                             for e in exc.errors())
            raise ConfigError(f"{where}: invalid split spec: {keys}") from exc

    @field_validator("fractions")
    @classmethod
    def _fractions(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("at least one split is needed")
        bad = {k: v for k, v in value.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"fractions must be within [0, 1], found {bad}")
        if abs(sum(value.values()) - 1.0) > 1e-9:
            raise ValueError(f"fractions must sum to 1, found {sum(value.values())} in {value}")
        return value

    @model_validator(mode="after")
    def _columns(self) -> SplitSpec:
        if self.method == "stratified" and not self.label_col:
            raise ValueError("method 'stratified' needs label_col")
        if self.method == "time" and not self.time_col:
            raise ValueError("method 'time' needs time_col")
        if self.cut_points is not None:
            if self.method != "time":
                raise ValueError("cut_points only apply to method 'time'")
            if len(self.cut_points) != len(self.fractions) - 1:
                raise ValueError(f"{len(self.fractions)} splits need {len(self.fractions) - 1} "
                                 f"cut points, found {len(self.cut_points)}")
            if list(self.cut_points) != sorted(self.cut_points):
                raise ValueError(f"cut_points must ascend, found {self.cut_points}")
        return self
