"""Drift checks: a baseline from training data and the PSI of new batches against it."""

from quality.drift.baseline import DriftBaseline, FeatureBaseline
from quality.drift.psi import DriftReport, FeatureDrift, check_drift, psi

__all__ = ["DriftBaseline", "DriftReport", "FeatureBaseline", "FeatureDrift", "check_drift", "psi"]
