"""A drift baseline learnt from training data: bins and expected proportions per feature.

In the spirit of SageMaker Model Monitor's baseline statistics: numeric features get bin edges
at quantiles (``bins`` equal-frequency bins) with the training share of each bin; categorical
features (strings, booleans) get the share of each of their ``max_categories`` most frequent
values, with every other value in an ``__other__`` bucket (which also catches values never seen
in training). Nulls (and NaN) have their own ``__missing__`` bucket in both kinds. The binning
and the PSI are lakeprep's one implementation (``lakeprep.stats.psi``), shared with the feature
library's ``DropUnstableFeatures``.

Example::

    baseline = DriftBaseline.fit(train_df, features=["fare", "payment_type"])
    DriftBaseline.from_dict(json.loads(json.dumps(baseline.to_dict()))) == baseline
    # -> True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame

from lakeprep.stats.psi import (
    MISSING_BUCKET,
    OTHER_BUCKET,
    bucket_counts,
    categorical_bucket,
    numeric_bucket,
    quantile_edges,
    top_categories,
)
from lakeprep.stats.types import CATEGORICAL_TYPES, NUMERIC_TYPES
from quality.errors import DriftConfigError, QualityInputError

log = logging.getLogger(f"lakeprep.{__name__}")

FORMAT_VERSION = 2
# version 1 named the missing-value bucket "__null__"; it is read back under the current name
_V1_MISSING = "__null__"


@dataclass(frozen=True)
class FeatureBaseline:
    """One feature's bins (``edges`` or ``categories``) and expected bucket proportions."""

    name: str
    kind: str  # "numeric" or "categorical"
    expected: dict[str, float]
    edges: list[float] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    data_type: str = ""

    def bucket(self, df: DataFrame) -> Column:
        """The bucket expression of this feature on ``df`` (same binning as at fit time)."""
        if self.kind == "numeric":
            return numeric_bucket(self.name, self.edges, df.schema[self.name].dataType)
        return categorical_bucket(self.name, self.categories, df.schema[self.name].dataType)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "data_type": self.data_type,
                               "expected": dict(self.expected)}
        if self.kind == "numeric":
            out["edges"] = list(self.edges)
        else:
            out["categories"] = list(self.categories)
        return out


@dataclass(frozen=True)
class DriftBaseline:
    """Per-feature baselines plus the training row count; JSON-serialisable via ``to_dict``."""

    features: dict[str, FeatureBaseline]
    row_count: int
    bins: int

    @classmethod
    def fit(cls, df: DataFrame, features: Sequence[str] | None = None, bins: int = 10,
            max_categories: int = 20, relative_error: float = 0.001) -> DriftBaseline:
        """Learn bins and proportions from ``df`` (default: every numeric/string/boolean column).

        Three Spark jobs in all: one ``approxQuantile`` for all numeric features, one ranking of
        category frequencies, one aggregation of all features' bucket counts.
        """
        if bins < 2:
            raise DriftConfigError(f"drift baseline: bins must be >= 2, found {bins}")
        kinds = _feature_kinds(df, features)
        numeric = [c for c, k in kinds.items() if k == "numeric"]
        categorical = [c for c, k in kinds.items() if k == "categorical"]
        edges = quantile_edges(df, numeric, bins, relative_error)
        cats = top_categories(df, categorical, max_categories)
        types = {c: df.schema[c].dataType.simpleString() for c in kinds}
        draft = {c: FeatureBaseline(c, "numeric", {}, edges=edges[c], data_type=types[c])
                 for c in numeric}
        draft.update({c: FeatureBaseline(c, "categorical", {}, categories=list(cats[c]),
                                         data_type=types[c]) for c in categorical})
        counts = bucket_counts(df, {c: f.bucket(df) for c, f in draft.items()})
        rows = sum(next(iter(counts.values())).values()) if counts else 0
        if rows == 0:
            raise QualityInputError("drift baseline: the training DataFrame has no rows")
        fitted = {c: FeatureBaseline(c, f.kind, _proportions(f, counts[c], rows), f.edges,
                                     f.categories, f.data_type) for c, f in draft.items()}
        log.info("drift baseline: %d rows, %d numeric and %d categorical features", rows,
                 len(numeric), len(categorical))
        return cls(features=fitted, row_count=rows, bins=bins)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``from_dict`` reads it back)."""
        return {"format_version": FORMAT_VERSION, "row_count": self.row_count, "bins": self.bins,
                "features": {n: f.to_dict() for n, f in self.features.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<baseline>") -> DriftBaseline:
        """Read what ``to_dict`` wrote; errors name ``source`` and the key."""
        try:
            version = data.get("format_version")
            if version not in (1, FORMAT_VERSION):
                raise DriftConfigError(f"{source}: format_version {FORMAT_VERSION} expected, "
                                       f"found {version!r}")
            features = {}
            for name, f in data["features"].items():
                if f["kind"] not in ("numeric", "categorical"):
                    raise DriftConfigError(f"{source}: features.{name}.kind must be numeric or "
                                           f"categorical, found {f['kind']!r}")
                expected = {(MISSING_BUCKET if version == 1 and k == _V1_MISSING else str(k)):
                            float(v) for k, v in f["expected"].items()}
                features[name] = FeatureBaseline(
                    name, f["kind"], expected,
                    edges=[float(e) for e in f.get("edges", [])],
                    categories=[str(c) for c in f.get("categories", [])],
                    data_type=f.get("data_type", ""))
            return cls(features=features, row_count=int(data["row_count"]),
                       bins=int(data["bins"]))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            if isinstance(exc, DriftConfigError):
                raise
            raise DriftConfigError(f"{source}: not a drift baseline ({type(exc).__name__}: "
                                   f"{exc}); expected keys format_version, row_count, bins, "
                                   "features") from None


def all_buckets(feature: FeatureBaseline) -> list[str]:
    """Every bucket label of a feature, including ``__missing__`` (and ``__other__``)."""
    if feature.kind == "numeric":
        return [str(i) for i in range(len(feature.edges) + 1)] + [MISSING_BUCKET]
    return list(feature.categories) + [OTHER_BUCKET, MISSING_BUCKET]


def _proportions(feature: FeatureBaseline, counts: dict[str, int], rows: int) -> dict[str, float]:
    return {b: counts.get(b, 0) / rows for b in all_buckets(feature)}


def _feature_kinds(df: DataFrame, features: Sequence[str] | None) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for f in df.schema.fields:
        if isinstance(f.dataType, NUMERIC_TYPES):
            kinds[f.name] = "numeric"
        elif isinstance(f.dataType, CATEGORICAL_TYPES):
            kinds[f.name] = "categorical"
    if features is None:
        return kinds
    missing = [c for c in features if c not in df.columns]
    if missing:
        raise DriftConfigError(f"drift baseline: feature(s) {missing} not in the DataFrame; "
                               f"available: {', '.join(df.columns)}")
    unsupported = {c: df.schema[c].dataType.simpleString() for c in features if c not in kinds}
    if unsupported:
        raise DriftConfigError(f"drift baseline: feature(s) {unsupported} have types drift cannot "
                               "bin; numeric, string and boolean features are supported")
    return {c: kinds[c] for c in features}
