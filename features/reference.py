"""The op reference (docs/ops.md), generated from the registry: every op's Params and contract.

``render_ops_markdown()`` is a pure function of the registered stage classes and the tables
below; a test checks that docs/ops.md equals its output, so the docs cannot drift from the code.

The contract every op meets (lakeprep's, MLlib's ops included):

- Missing means null, or NaN in a float/double column, everywhere (imputers, indicators,
  encoders, statistics); +-inf is a value (ignored by fit statistics, which use finite values).
- A column that cannot be fitted (no finite value, empty input, no spread where the op needs
  spread, statistics that overflow near +-1.8e308) raises at fit time, naming the stage and the
  column; through ``build_pipeline`` the error also names the spec step and op.
- Finite input gives finite output unless the op's note says otherwise.

>>> "winsorize" in render_ops_markdown()
True
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

from pyspark.ml import Estimator
from pyspark.ml.param import Param

from features.base import param_notes, param_rules
from features.persistence import FittedModel
from features.registry import standard_output_columns
from features.spec import load_operations
from lakeprep.inference.stages import support

# What each op does with missing (null/NaN) and unseen values, and where it differs from its
# nearest scikit-learn / feature-engine / scipy counterpart. For lakeprep's own stages the class
# docstring says it too; for MLlib stages registered as they are this is their documentation.
CONTRACT: dict[str, tuple[str, str]] = {
    # op: (null / NaN / unseen behaviour, reference and convention)
    "add_missing_indicator": ("1 for null and NaN, else 0; +-inf are values.",
                              "feature-engine AddMissingIndicator (exact)."),
    "bucketize": ("MLlib Bucketizer: handleInvalid error/skip/keep for NaN; null stays null "
                  "(MLlib; a documented exception).",
                  "numpy.digitize with right=False: [a, b) intervals (exact)."),
    "categorical_cross": ("null in any input gives null.", "no reference: pandas string concat "
                          "(property: equals '|'.join of the values)."),
    "chi_sq_selector": ("rows with a null label or vector are left out; a constant slot has no "
                        "statistic and is never selected.",
                        "ranked by statistic like sklearn SelectKBest/SelectPercentile; test is "
                        "scipy chi2_contingency per slot (sklearn's chi2 takes counts)."),
    "column_pca": ("rows with any non-finite input are left out of the fit and get a null "
                   "vector; <2 complete rows, overflow or no variance raise.",
                   "sklearn PCA up to sign; MLlib does not centre the projection (outputs "
                   "differ from sklearn by a constant per component)."),
    "count_frequency_encode": ("missing is not a category (null out); unseen per handleUnseen.",
                               "feature-engine CountFrequencyEncoder (exact)."),
    "count_vectorizer": ("MLlib: a null token array fails the job (documented exception; "
                         "tokenize with lakeprep's tokenizers, which give null for null text, and "
                         "filter nulls first).", "sklearn CountVectorizer vocabulary by frequency "
                         "(ties broken differently)."),
    "cyclical_features": ("null/NaN give null/NaN; period must be positive and finite.",
                          "feature-engine CyclicalFeatures (exact)."),
    "datetime_features": ("null or unparsable gives null.",
                          "feature-engine DatetimeFeatures (exact on the parts it shares)."),
    "drop_constant": ("missingValues include: null/NaN a value of its own; ignore: not counted.",
                      "feature-engine DropConstantFeatures (exact)."),
    "drop_correlated": ("pairwise-complete rows (null, NaN, +-inf missing); constant columns "
                        "have no correlation; values near the float limits are rescaled first.",
                        "feature-engine DropCorrelatedFeatures on the same column order "
                        "(feature-engine sorts by name); pandas corr to 1e-9."),
    "drop_duplicates": ("null equals null (as pandas equals).",
                        "feature-engine DropDuplicateFeatures (exact)."),
    "drop_low_variance": ("null/NaN ignored; population variance (ddof=0).",
                          "sklearn VarianceThreshold (exact)."),
    "drop_unstable": ("null and NaN form a __missing__ bucket; unseen categories __other__.",
                      "feature-engine DropHighPSIFeatures, quantile bins approximate."),
    "equal_frequency_discretise": ("MLlib QuantileDiscretizer: handleInvalid for NaN; null stays "
                                   "null (MLlib; documented exception).",
                                   "pandas qcut with approximate quantiles (rank bounds)."),
    "equal_width_discretise": ("null and NaN: handleInvalid keep (extra bucket `bins`), skip, "
                               "error; no finite value raises.",
                               "feature-engine EqualWidthDiscretiser; [a, b) vs its (a, b]."),
    "feature_hasher": ("MLlib: null values are skipped (no slot set).",
                       "no reference with the same hash (property: one slot per row, count = "
                       "number of non-null inputs)."),
    "group_rare_labels": ("missing is not a category (null out); unseen become the rare label "
                          "with handleUnseen keep.", "feature-engine RareLabelEncoder (exact)."),
    "hashing_tf": ("MLlib: a null array fails the job (documented exception: filter first).",
                   "no reference with the same hash (property: term counts sum to tokens)."),
    "idf": ("MLlib: null vectors fail the job (documented exception).",
            "sklearn TfidfTransformer(smooth_idf=True, norm=None) idf: log((n+1)/(df+1))."),
    "impute": ("MLlib Imputer: null and NaN (missingValue) are missing; an all-missing column "
               "raises at fit.", "sklearn SimpleImputer mean/median (median approximate)."),
    "impute_arbitrary": ("null and NaN filled; +-inf kept.",
                         "feature-engine ArbitraryNumberImputer (exact)."),
    "impute_categorical": ("null and NaN filled; all-missing column raises with strategy "
                           "frequent.", "feature-engine CategoricalImputer (exact)."),
    "impute_end_tail": ("null and NaN filled; statistics over finite values; no finite value or "
                        "overflow raises.", "feature-engine EndTailImputer (gaussian ddof=1)."),
    "interaction": ("MLlib: null input fails the job (documented exception).",
                    "sklearn PolynomialFeatures(interaction_only) products (exact)."),
    "lag_features": ("null values lag as null; the first k rows of a series get null.",
                     "pandas groupby().shift(k) (exact)."),
    "log": ("null/NaN pass through; x + offset <= 0 per handleOutOfDomain (error or null).",
            "numpy log/log2/log10 (exact)."),
    "log1p": ("null/NaN pass through; x <= -1 per handleOutOfDomain.", "numpy log1p (exact)."),
    "math_features": ("null in any input gives null for sum/prod/mean (unlike pandas' skipna).",
                      "feature-engine MathFeatures on complete rows (std ddof=1)."),
    "max_abs_scale": ("vectors carry no nulls; NaN propagates; non-finite max |x| raises.",
                      "sklearn MaxAbsScaler (exact)."),
    "min_max_scale": ("vectors carry no nulls; NaN propagates; non-finite min/max/range raises.",
                      "sklearn MinMaxScaler (exact); a constant slot maps to (min+max)/2."),
    "ngram": ("MLlib: a null array fails the job (documented exception).",
              "no reference (property: n-grams of adjacent tokens joined by a space)."),
    "one_hot_encode": ("missing is not a category (null indicators); unseen per handleUnseen.",
                       "feature-engine OneHotEncoder (exact)."),
    "one_hot_vector_encode": ("MLlib: null index fails; handleInvalid keep for unseen indices.",
                              "sklearn OneHotEncoder(drop='last') by default (dropLast)."),
    "ordinal_encode": ("missing is not a category (null out); unseen per handleUnseen.",
                       "sklearn OrdinalEncoder (arbitrary), feature-engine OrdinalEncoder."),
    "pca": ("MLlib: null vectors fail; NaN propagates (documented exception: use column_pca).",
            "sklearn PCA up to sign, without centring."),
    "point_in_time_aggregates": ("null values are skipped by the aggregates (count counts rows).",
                                 "pandas groupby window aggregates (exact)."),
    "polynomial_expansion": ("MLlib: NaN propagates, null vectors fail (documented exception).",
                             "sklearn PolynomialFeatures(include_bias=False), other order."),
    "power_transform": ("fit over finite values; null/NaN pass through; Box-Cox of x <= 0 per "
                        "handleOutOfDomain; constant column or non-finite transform raises.",
                        "sklearn PowerTransformer lambdas within 1e-5 (scipy's brent)."),
    "regex_tokenizer": ("null text gives a null array.",
                        "MLlib RegexTokenizer tokens (exact); sklearn CountVectorizer "
                        "token_pattern for gaps=False."),
    "relative_features": ("null in an input or reference gives null; division by 0 gives null.",
                          "feature-engine RelativeFeatures (exact; it gives inf for x/0)."),
    "robust_scale": ("vectors carry no nulls; a zero quantile range scales by 1 (sklearn).",
                     "sklearn RobustScaler with approximate quantiles; withCentering off by "
                     "default."),
    "select_by_importance": ("null features are not allowed by the forest (impute first).",
                             "no exact reference (property: importances sum to 1, top-k kept)."),
    "select_univariate": ("nulls left out per column; constant columns rank last.",
                          "sklearn f_classif / scipy chi2_contingency (exact statistics)."),
    "standard_scale": ("vectors carry no nulls; NaN propagates; non-finite mean/std raises.",
                       "sklearn StandardScaler with ddof=1 (MLlib's sample std: differs by "
                       "sqrt(n/(n-1))); withMean off by default; zero std gives 0.0."),
    "stop_words_remover": ("MLlib: a null array gives null.",
                           "sklearn ENGLISH_STOP_WORDS differ from MLlib's list."),
    "string_index": ("MLlib StringIndexer: handleInvalid error/skip/keep for null and unseen.",
                     "sklearn OrdinalEncoder with frequencyDesc order (stringOrderType)."),
    "target_encode": ("missing is not a category (null out); unseen get the prior with keep.",
                      "sklearn TargetEncoder (cross-fitted, exact with same folds)."),
    "tokenizer": ("null text gives a null array.", "MLlib Tokenizer tokens (exact)."),
    "trim_outliers": ("rows with null/NaN kept; +-inf dropped.",
                      "feature-engine OutlierTrimmer (MAD constant 0.6744897501960817)."),
    "univariate_feature_selector": ("rows with a null label or vector are left out; a constant "
                                    "slot has no statistic.",
                                    "sklearn SelectKBest/SelectPercentile/SelectFpr/SelectFdr/"
                                    "SelectFwe with f_classif / f_regression (same choice)."),
    "variance_threshold_selector": ("MLlib: NaN propagates into the variance (documented "
                                    "exception).", "sklearn VarianceThreshold with ddof=1."),
    "vector_assembler": ("handleInvalid error (default), skip or keep for null/NaN.",
                         "numpy column_stack (exact)."),
    "winsorize": ("fit over finite values; null/NaN pass through; +-inf capped; overflow raises.",
                  "feature-engine Winsorizer (gaussian ddof=0, MAD 0.6744897501960817)."),
    "woe_encode": ("missing is not a category (null out); unseen give 0 with keep.",
                   "feature-engine WoEEncoder (exact with smoothing 0)."),
}

# Edge cases per family, as the parity suite checks them (tests/features/test_parity.py).
EDGE_CASES: dict[str, list[tuple[str, str]]] = {
    "numeric estimators (impute_end_tail, winsorize, trim_outliers, power_transform, "
    "equal_width_discretise, column_pca, drop_correlated)": [
        ("all-null column", "FeatureInputError at fit naming stage, step and column"),
        ("empty frame", "FeatureInputError at fit"),
        ("single value", "bounds/edges collapse on the value; power_transform and column_pca "
                         "raise (no spread)"),
        ("NaN vs null", "the same: both missing"),
        ("+-inf", "ignored by fit statistics; capped/bucketed at transform"),
        ("values near +-1e308", "FeatureInputError naming the overflowing statistic "
                                "(drop_correlated and equal_width_discretise rescale and work)"),
    ],
    "vector scalers (standard_scale, min_max_scale, max_abs_scale, robust_scale)": [
        ("empty frame", "FeatureInputError (non-finite fitted statistics)"),
        ("single value / zero spread", "robust_scale: scale 1; standard_scale: 0.0; min_max: "
                                       "(min+max)/2"),
        ("values near +-1e308", "min_max_scale and standard_scale raise"),
    ],
    "encoders (ordinal, count/frequency, one-hot, target, WoE, rare labels)": [
        ("null and NaN", "missing, never a category: null out"),
        ("unseen category", "handleUnseen: error (default), keep (documented value), null"),
        ("all-null column", "no category learnt; every row maps to null"),
    ],
    "selectors": [
        ("empty frame", "FeatureInputError"),
        ("p-values below 1e-16", "ranked by statistic: same choice as scikit-learn"),
        ("k larger than the input width", "FeatureSpecError when the spec is built"),
    ],
    "text (tokenizer, regex_tokenizer)": [
        ("null text", "null token array (MLlib: NullPointerException)"),
    ],
}


def _writes(cls: type) -> str:
    """The columns a stage writes: its ``output_columns`` declaration, described."""
    declare = cls.output_columns  # type: ignore[attr-defined]  # every registered stage has it
    if getattr(declare, "__func__", None) is standard_output_columns:
        params = {n for n in dir(cls) if isinstance(getattr(cls, n, None), Param)}
        single = (f"`outputCol` (default: pyspark's `<uid>__output`, declared as "
                  f"`{cls.__name__}_*__output`)")
        if {"outputCol", "outputCols"} <= params:
            return f"`outputCols` (one per `inputCols`), or {single}"
        if "outputCol" in params:
            return single
        if "outputCols" in params:
            return "`outputCols` (one per `inputCols`)"
        if cls.__module__.startswith("features.selection"):
            return "no column; drops the columns it selects out (known after fit)"
        return "no column"
    return (inspect.getdoc(declare) or "").splitlines()[0].rstrip(".")


def fitted_model_class(cls: type) -> type[FittedModel] | None:
    """The lakeprep model an estimator's fit returns (its ``_fit`` annotation), or None."""
    fit = getattr(cls, "_fit", None)
    if fit is None or cls.__module__.startswith("pyspark"):
        return None
    model = typing.get_type_hints(fit).get("return")
    return model if isinstance(model, type) and issubclass(model, FittedModel) else None


def _param_rows(cls: type) -> list[str]:
    rules, notes = param_rules(cls), param_notes(cls)
    # the keyword defaults of __init__ (pyspark.ml's idiom): no instance, so no JVM, is needed
    signature = inspect.signature(cls).parameters
    rows = []
    for name in sorted(n for n in dir(cls) if isinstance(getattr(cls, n, None), Param)):
        param = getattr(cls, name)
        default: Any = signature[name].default if name in signature else None
        shown = "" if default in (None, inspect.Parameter.empty) else f"`{default!r}`"
        converter = getattr(param.typeConverter, "__name__", "")
        kind = converter.replace("to", "", 1) if converter.startswith("to") else "any"
        rule = f" Valid: {rules[name]}." if name in rules else ""
        doc = " ".join(notes.get(name, param.doc).split()).replace("|", "\\|").rstrip(".")
        rows.append(f"| `{name}` | {kind} | {shown} | {doc}.{rule} |")
    return rows


def saved_class(cls: type) -> str:
    """The class name a fitted stage of ``cls`` is saved under (what the inference runtime
    reads): MLlib's Scala model class, or lakeprep's ``<Stage>Model`` for an estimator."""
    if hasattr(cls, "MLLIB_MODEL"):  # a lakeprep fit that returns MLlib's own Model
        return f"org.apache.spark.ml.feature.{cls.MLLIB_MODEL}"
    if not cls.__module__.startswith("pyspark"):
        mllib = next((c for c in cls.__mro__[1:] if c.__module__.startswith("pyspark.ml.feature")),
                     None)
        if mllib is None:
            model = "Model" if issubclass(cls, Estimator) else ""
            return f"{cls.__module__}.{cls.__name__}{model}"
        cls = mllib  # an MLlib stage with lakeprep's fit checks saves MLlib's model
    if cls.__name__ == "QuantileDiscretizer":
        return "org.apache.spark.ml.feature.Bucketizer"
    model = "Model" if issubclass(cls, Estimator) else ""
    return f"org.apache.spark.ml.feature.{cls.__name__}{model}"


def render_ops_markdown() -> str:
    """The whole op reference as Markdown (the content of docs/ops.md)."""
    ops = load_operations()
    out = ["# Feature ops", "",
           "Generated by `features.reference.render_ops_markdown()` (`lakeprep ops`); do not "
           "edit by hand.", "",
           "Every op is a `pyspark.ml` stage named in the feature spec by `op:`. The contract:",
           "missing means null, or NaN in a float column, everywhere; a column that cannot be "
           "fitted (no finite value, empty input, no spread where needed, statistics that "
           "overflow near +-1.8e308) raises at fit time naming the op, the spec step and the "
           "column; finite input gives finite output unless noted; parameter values are checked "
           "when the spec is built (exit 2).", "",
           "| op | stage | null / NaN / unseen | reference and convention | at inference "
           "(`lakeprep serve`, no Spark) |",
           "|---|---|---|---|---|"]
    for op, cls in sorted(ops.items()):
        missing, reference = CONTRACT.get(op, ("(undocumented)", "(undocumented)"))
        out.append(f"| `{op}` | `{cls.__module__}.{cls.__name__}` | {missing} | {reference} | "
                   f"{support(saved_class(cls))}. |")
    out += ["", "## Edge cases", ""]
    for family, cases in EDGE_CASES.items():
        out += [f"### {family}", "", "| case | behaviour |", "|---|---|"]
        out += [f"| {case} | {what} |" for case, what in cases]
        out.append("")
    out += ["## Ops", ""]
    for op, cls in sorted(ops.items()):
        out += _op_section(op, cls)
    return "\n".join(out).rstrip() + "\n"


def render_op_markdown(op: str) -> str:
    """One op's section of the reference (what ``lakeprep ops OP`` prints)."""
    ops = load_operations()
    if op not in ops:
        from features.errors import FeatureSpecError

        raise FeatureSpecError(f"unknown op {op!r}; ops: {', '.join(sorted(ops))}")
    missing, reference = CONTRACT.get(op, ("(undocumented)", "(undocumented)"))
    lines = _op_section(op, ops[op])
    lines[4:4] = [f"Null / NaN / unseen: {missing}", "", f"Reference: {reference}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _op_section(op: str, cls: type) -> list[str]:
    doc = inspect.getdoc(cls) or ""
    summary = doc.split("\n\n")[0].replace("\n", " ")
    out = [f"### `{op}`", "", f"`{cls.__module__}.{cls.__name__}`: {summary}", "",
           f"Writes: {_writes(cls)}.", ""]
    model = fitted_model_class(cls)
    if model is not None:
        out += [f"Fitted model data (`data/`, Parquet, `{model.__name__}`): "
                f"`{model.DATA_SCHEMA}`.", ""]
    if not cls.__module__.startswith("pyspark"):
        body = doc.split("\n\n")[1:]
        prose = [p.replace("\n", " ") for p in body if not p.lstrip().startswith(">>>")]
        out += [*prose, ""] if prose else []
    return [*out, "| param | type | default | meaning |", "|---|---|---|---|", *_param_rows(cls),
            ""]
