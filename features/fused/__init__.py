"""The fused fit: a spec pipeline's estimators fitted level by level, each level in one shared pass.

Five parts, one module each; only the driver's :func:`fit_stages` is called from outside
(``features.spec``), the rest is its machinery:

- :mod:`~features.fused.planner`: which stages depend on which (the columns they read and
  write) and so which level each is fitted at;
- :mod:`~features.fused.executor`: the statistics the fits of a level ask for, recorded and
  computed together (one ``agg`` job for every global aggregate, one shuffle for every value
  count, one grouped aggregation per label);
- :mod:`~features.fused.mllib_fits`: MLlib's estimators fitted from those shared statistics,
  their usual Model built through its JVM constructor;
- :mod:`~features.fused.derived`: moment stages after an imputer, fitted in the imputer's pass
  from statistics derived in closed form;
- :mod:`~features.fused.driver`: the loop over levels and rounds, the fit report, the cache.

lakeprep's own estimators ask for their statistics through :func:`features.base.aggregate`,
:func:`~features.base.aggregate_by` and :func:`features.encoding.base.category_stats`; while a
level is planned those three answer from the shared passes (``features.base.STATS_PROVIDER``):
a fit that asks for a statistic not computed yet stops, the level's requests run together, and
the fits run again with the answers, round after round until every fit is done (a stage whose
second statistic depends on its first, like the MAD, takes two rounds). The fitted result is a
plain ``PipelineModel``, saved and loaded as ``Pipeline.fit``'s.

Example::

    model = build_pipeline(spec, df).fit(df)
    str(model.fit_report)
    # 'fit: 11 stages in 3 levels, 5 passes over the input, 12 Spark jobs (fused)'
"""

from features.fused.driver import FitReport, costly_to_recompute, fit_stages
from features.fused.mllib_fits import fused_fits
from features.fused.planner import ALL, plan_levels

__all__ = ["ALL", "FitReport", "costly_to_recompute", "fit_stages", "fused_fits", "plan_levels"]
