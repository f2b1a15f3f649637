"""Population stability index of a batch against a drift baseline, with a verdict per feature.

PSI (``lakeprep.stats.psi``, shared with features' ``DropUnstableFeatures``) = sum over buckets
of (actual - expected) * ln(actual / expected), with both shares floored at ``epsilon``
(default 1e-4) so that an empty bucket on either side gives a large but finite
term instead of infinity. Usual reading: < 0.1 stable, 0.1-0.25 moderate shift (``warn``),
>= 0.25 significant shift (``fail``).

Example::

    report = check_drift(new_df, baseline, warn=0.1, fail=0.25)
    report.verdict, report.features["fare"].psi
    # -> ('pass', 0.013)
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from pyspark.sql import DataFrame

from lakeprep.stats.psi import EPSILON as DEFAULT_EPSILON
from lakeprep.stats.psi import bucket_counts, psi
from quality.drift.baseline import DriftBaseline, all_buckets
from quality.errors import DriftConfigError, QualityInputError

log = logging.getLogger(f"lakeprep.{__name__}")

_SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's PSI, verdict, and the buckets' expected and actual shares."""

    feature: str
    kind: str
    psi: float
    verdict: str
    expected: dict[str, float]
    actual: dict[str, float]


@dataclass(frozen=True)
class DriftReport:
    """PSI per feature and an overall verdict (the worst feature's): pass, warn or fail."""

    verdict: str
    features: dict[str, FeatureDrift]
    row_count: int
    warn_threshold: float
    fail_threshold: float
    epsilon: float

    @property
    def drifted(self) -> list[str]:
        """Features whose verdict is warn or fail, worst first."""
        bad = [f for f in self.features.values() if f.verdict != "pass"]
        return [f.feature for f in sorted(bad, key=lambda f: -f.psi)]

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of the report."""
        out = asdict(self)
        out["drifted"] = self.drifted
        return out

    def summary(self) -> dict[str, Any]:
        """The verdict, the drifted features and every feature's PSI (4 decimals), as a commit's
        metadata or a job's report keeps them."""
        return {"verdict": self.verdict,
                "drifted": [{"feature": name, "psi": round(self.features[name].psi, 4),
                             "verdict": self.features[name].verdict} for name in self.drifted],
                "psi": {name: round(f.psi, 4) for name, f in self.features.items()}}


def check_drift(df: DataFrame, baseline: DriftBaseline, warn: float = 0.1, fail: float = 0.25,
                epsilon: float = DEFAULT_EPSILON) -> DriftReport:
    """Compare ``df`` with ``baseline``: one aggregation counts every feature's buckets."""
    if not 0 <= warn <= fail:
        raise DriftConfigError(f"drift thresholds: 0 <= warn <= fail expected, found warn={warn}, "
                               f"fail={fail}")
    if not 0 < epsilon < 0.01:
        raise DriftConfigError(f"drift epsilon: a small positive share expected (e.g. 1e-4), "
                               f"found {epsilon}")
    missing = [c for c in baseline.features if c not in df.columns]
    if missing:
        raise QualityInputError(f"drift check: baseline feature(s) {missing} not in the batch; "
                                f"batch columns: {', '.join(df.columns)}")
    counts = bucket_counts(df, {c: f.bucket(df) for c, f in baseline.features.items()})
    rows = sum(next(iter(counts.values())).values()) if counts else 0
    if rows == 0:
        raise QualityInputError("drift check: the batch has no rows")
    results: dict[str, FeatureDrift] = {}
    for name, feature in baseline.features.items():
        actual = {b: counts[name].get(b, 0) / rows for b in all_buckets(feature)}
        value = psi(feature.expected, actual, epsilon)
        verdict = "fail" if value >= fail else "warn" if value >= warn else "pass"
        results[name] = FeatureDrift(name, feature.kind, value, verdict, dict(feature.expected),
                                     actual)
    overall = max((f.verdict for f in results.values()), key=_SEVERITY.__getitem__,
                  default="pass")
    report = DriftReport(overall, results, rows, warn, fail, epsilon)
    log.log(logging.WARNING if overall != "pass" else logging.INFO,
            "drift check on %d rows: %s (drifted: %s)", rows, overall, report.drifted)
    return report
