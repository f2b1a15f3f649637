"""Every registered op chains after every column-producing op whose output it can read.

One small frame. Every op that writes columns runs once as a *producer* on the frame's own
columns (one pipeline, so one fit each); every op then runs once as a *consumer* reading the
outputs of every producer it can read (one stage, or one stage per column for single-column
ops), fitted on that shared, cached prefix. Pairing rule: a consumer reads a producer's output
column when the column's Spark type is one the consumer accepts (numeric, string, timestamp,
array<string>, vector) and its values are in the consumer's domain, measured on the produced
column (positive for ``log``, some spread for the ops that fit a scale, whole non-negative
numbers for ``one_hot_vector_encode``...): see ``Use.accepts``.

Each pair is also checked statically: ``check_feature_spec([producer, consumer])`` finds no
problem, i.e. the consumer's inputs follow from the producer's declaration. Declarations are
checked against the built stages: the columns a stage adds are exactly the ones its class
declares (``output_columns``), with patterns for names learnt at fit.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.linalg import VectorUDT
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.registry import output_columns
from features.spec import build_pipeline, check_feature_spec, load_operations

Stats = dict[str, float]
INF = float("inf")


@dataclass(frozen=True)
class Use:
    """How the test drives one op: the kind of column it reads and its params for columns."""

    kind: str  # num, str, ts, tokens, vec
    params: Callable[[list[str], str], dict[str, Any]]  # (input columns, output tag) -> params
    single: bool = False  # reads one column (inputCol): one stage per column
    domain: Callable[[Stats], bool] = lambda s: True  # the values it can fit on
    base: tuple[str, ...] = ()  # the frame's columns it reads as a producer (default: BASE)

    def accepts(self, kind: str, stats: Stats) -> bool:
        return kind == self.kind and self.domain(stats)


def spread(s: Stats) -> bool:
    return s["distinct"] >= 3


def positive(s: Stats) -> bool:
    return s["min"] > 0


def index(s: Stats) -> bool:
    return s["min"] >= 0 and s["whole"] == 1 and s["max"] < 50 and s["missing"] == 0


def outs(cols: list[str], tag: str) -> list[str]:
    return [f"{c}__{tag}" for c in cols]


def two(cols: list[str]) -> list[str]:
    return cols if len(cols) >= 2 else [*cols, "a"]


LABEL = {"labelCol": "label"}
USES: dict[str, Use] = {
    # creation
    "add_missing_indicator": Use("num", lambda c, t: {"inputCols": c, "suffix": f"_{t}"}),
    "categorical_cross": Use("str", lambda c, t: {"inputCols": [*c, "cat2"],
                                                  "outputCol": f"cross__{t}"}),
    "cyclical_features": Use("num", lambda c, t: {"inputCols": c},
                             domain=lambda s: s["max"] > 0),
    "datetime_features": Use("ts", lambda c, t: {"inputCols": c, "features": ["hour", "month"]}),
    # the lag of a timestamp is the one produced timestamp: datetime_features reads it
    "lag_features": Use("num", lambda c, t: {"inputCols": c, "entityCol": "cat1",
                                             "orderCol": "ts", "tieBreakerCol": "id"},
                        base=("a", "b", "ts")),
    "math_features": Use("num", lambda c, t: {"inputCols": two(c), "funcs": ["sum", "max"]}),
    "point_in_time_aggregates": Use(
        "num", lambda c, t: {"entityCol": "cat1", "timestampCol": "ts", "cutoff": "2026-02-01",
                             "windows": [20], "aggregations": {x: ["max"] for x in c},
                             "countPrefix": f"{t}_", "recencyCol": f"{t}_recency"}),
    "relative_features": Use("num", lambda c, t: {"inputCols": c, "referenceCols": ["b"],
                                                  "funcs": ["sub", "div"]}),
    # imputation
    "impute": Use("num", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)}),
    "impute_arbitrary": Use("num", lambda c, t: {"inputCols": c, "value": -1.0}),
    "impute_categorical": Use("str", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)}),
    "impute_end_tail": Use("num", lambda c, t: {"inputCols": c}, domain=spread),
    # encoding
    "count_frequency_encode": Use("str", lambda c, t: {"inputCols": c,
                                                       "outputCols": outs(c, t)}),
    "group_rare_labels": Use("str", lambda c, t: {"inputCols": c, "tol": 0.1}),
    "one_hot_encode": Use("str", lambda c, t: {"inputCols": c, "topK": 2}),
    "one_hot_vector_encode": Use("num", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)},
                                 domain=index, base=("idx",)),
    "ordinal_encode": Use("str", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)}),
    "string_index": Use("str", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)}),
    "target_encode": Use("str", lambda c, t: {"inputCols": c, "outputCols": outs(c, t),
                                              "rowKeyCol": "id", "folds": 2,
                                              "handleUnseen": "keep", **LABEL}),
    "woe_encode": Use("str", lambda c, t: {"inputCols": c, "outputCols": outs(c, t), **LABEL}),
    # outliers, discretisation, transformation
    "winsorize": Use("num", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)},
                     domain=spread),
    "trim_outliers": Use("num", lambda c, t: {"inputCols": c, "fold": 10.0}, domain=spread),
    "bucketize": Use("num", lambda c, t: {"inputCols": c, "outputCols": outs(c, t),
                                          "splitsArray": [[-INF, 0.0, INF]] * len(c),
                                          "handleInvalid": "keep"}),
    "equal_frequency_discretise": Use("num", lambda c, t: {
        "inputCols": c, "outputCols": outs(c, t), "numBuckets": 2, "handleInvalid": "keep"},
        domain=spread),
    "equal_width_discretise": Use("num", lambda c, t: {"inputCols": c, "outputCols": outs(c, t),
                                                       "bins": 3}, domain=spread),
    "log": Use("num", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)},
               domain=positive, base=("a",)),
    "log1p": Use("num", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)},
                 domain=lambda s: s["min"] >= 0),
    "power_transform": Use("num", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)},
                           domain=lambda s: spread(s) and s["max"] - s["min"] < 1e4),
    "standard_scale": Use("vec", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}"},
                          single=True),
    "min_max_scale": Use("vec", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}"},
                         single=True),
    "max_abs_scale": Use("vec", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}"},
                         single=True),
    "robust_scale": Use("vec", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}"},
                        single=True),
    # extraction
    "column_pca": Use("num", lambda c, t: {"inputCols": two(c), "outputCol": f"pc__{t}",
                                           "k": 1}, domain=spread),
    "pca": Use("vec", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}", "k": 1},
               single=True),
    "feature_hasher": Use("num", lambda c, t: {"inputCols": c, "outputCol": f"hash__{t}",
                                               "numFeatures": 8}),
    "interaction": Use("vec", lambda c, t: {"inputCols": [c[0], "a"],
                                            "outputCol": f"{c[0]}__{t}"}, single=True,
                       domain=lambda s: s["named"] == 1),  # it needs the slots' attributes
    "polynomial_expansion": Use("vec", lambda c, t: {"inputCol": c[0],
                                                     "outputCol": f"{c[0]}__{t}"}, single=True),
    "vector_assembler": Use("vec", lambda c, t: {"inputCols": c, "outputCol": f"vec__{t}"}),
    "tokenizer": Use("str", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}"},
                     single=True),
    "regex_tokenizer": Use("str", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}"},
                           single=True),
    "stop_words_remover": Use("tokens", lambda c, t: {"inputCols": c, "outputCols": outs(c, t)}),
    "ngram": Use("tokens", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}"},
                 single=True),
    "hashing_tf": Use("tokens", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}",
                                              "numFeatures": 8}, single=True),
    "count_vectorizer": Use("tokens", lambda c, t: {"inputCol": c[0],
                                                    "outputCol": f"{c[0]}__{t}"}, single=True),
    "idf": Use("vec", lambda c, t: {"inputCol": c[0], "outputCol": f"{c[0]}__{t}"},
               single=True),
    # selection: they write no column (they drop some), so they are consumers only
    "drop_constant": Use("num", lambda c, t: {"inputCols": c}),
    "drop_correlated": Use("num", lambda c, t: {"inputCols": c}),
    "drop_duplicates": Use("num", lambda c, t: {"inputCols": c}),
    "drop_low_variance": Use("num", lambda c, t: {"inputCols": c}),
    "drop_unstable": Use("num", lambda c, t: {"inputCols": c, "splitCol": "id"}),
    "select_univariate": Use("num", lambda c, t: {"inputCols": c, "k": 1, **LABEL}),
    "select_by_importance": Use("num", lambda c, t: {"inputCols": c, "k": 1, "numTrees": 3,
                                                     "maxDepth": 2, **LABEL}),
    "chi_sq_selector": Use("vec", lambda c, t: {"featuresCol": c[0], "outputCol": f"{c[0]}__{t}",
                                                "numTopFeatures": 1, **LABEL}, single=True),
    "univariate_feature_selector": Use(
        "vec", lambda c, t: {"featuresCol": c[0], "outputCol": f"{c[0]}__{t}",
                             "featureType": "continuous", "labelType": "categorical",
                             "selectionThreshold": 1, **LABEL}, single=True),
    "variance_threshold_selector": Use(
        "vec", lambda c, t: {"featuresCol": c[0], "outputCol": f"{c[0]}__{t}"}, single=True),
}
# what each kind of column is in the frame the producers read
BASE = {"num": ["a", "b"], "str": ["cat1", "cat2"], "ts": ["ts"], "tokens": ["words"],
        "vec": ["v"]}


BASE_COLUMNS = ("id", "ts", "a", "b", "cat1", "cat2", "text", "label", "idx", "words", "v")


def kind_of(data_type: T.DataType) -> str | None:
    if isinstance(data_type, T.NumericType):
        return "num"
    if isinstance(data_type, T.StringType):
        return "str"
    if isinstance(data_type, T.TimestampType | T.DateType):
        return "ts"
    if isinstance(data_type, T.ArrayType) and isinstance(data_type.elementType, T.StringType):
        return "tokens"
    if isinstance(data_type, VectorUDT):
        return "vec"
    return None


def producer_step(op: str) -> dict[str, Any]:
    use = USES[op]
    cols = list(use.base or BASE[use.kind])
    return step(op, cols[:1] if use.single else cols, "p")


def step(op: str, cols: list[str], tag: str) -> dict[str, Any]:
    return {"name": f"{op}__{tag}", "op": op, "params": USES[op].params(cols, f"{tag}_{op}")}


def matches(column: str, declared: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(column, d) for d in declared)


def check_declared(op: str, params: dict[str, Any], before: DataFrame, after: DataFrame) -> None:
    """The columns the built stage added are exactly those its class declares."""
    declared = output_columns(load_operations()[op], params)
    added = [c for c in after.columns if c not in before.columns]
    missing = [d for d in declared if "*" not in d and d not in after.columns]
    assert not missing, f"{op}: declared {missing} not written; wrote {added}"
    assert all(matches(c, declared) for c in added), f"{op}: wrote {added}, declared {declared}"
    for d in (d for d in declared if "*" in d):
        assert any(fnmatch.fnmatchcase(c, d) for c in after.columns), f"{op}: nothing like {d}"


@pytest.fixture(scope="module")
def base(spark) -> DataFrame:
    start = datetime(2026, 1, 1)
    rows = [(i, start + timedelta(hours=37 * i + i), 1.0 + (i * 7) % 11 + i / 10,
             float((i * 5) % 7), ["DE", "FR", "IT"][i % 3], ["x", "y"][i // 3 % 2],
             ["the quick fox", "a lazy dog", "quick dog"][i % 3], i % 2, float(i % 3))
            for i in range(24)]
    df = spark.createDataFrame(rows, "id long, ts timestamp, a double, b double, cat1 string, "
                                     "cat2 string, text string, label int, idx double")
    df = df.withColumn("words", F.split("text", " "))
    return VectorAssembler(inputCols=["a", "b"], outputCol="v").transform(df).cache()


def test_every_registered_op_has_a_use():
    assert sorted(USES) == sorted(load_operations())


@pytest.fixture(scope="module")
def produced(base):
    """Every column-producing op run on the frame's own columns: (wide frame, op -> outputs)."""
    ops = load_operations()
    steps, grain = [], []
    for op in USES:
        s = producer_step(op)
        if output_columns(ops[op], s["params"]):
            (grain if getattr(ops[op], "CHANGES_GRAIN", False) else steps).append(s)
    wide = build_pipeline({"steps": steps}, base).fit(base).transform(base)
    added = [c for c in wide.columns if c not in base.columns]
    declared = {s["op"]: output_columns(ops[s["op"]], s["params"]) for s in steps}
    exact = {c for names in declared.values() for c in names if "*" not in c}
    # names first; a pattern (one-hot's ``cat1_*``) claims only what no name does
    outputs = {op: [c for c in wide.columns if c in names or (
        c in added and c not in exact and matches(c, names))] for op, names in declared.items()}
    # the producers add exactly what they declare: every added column has one owner
    owners = [c for cols in outputs.values() for c in cols if c not in base.columns]
    assert sorted(owners) == sorted(added), (sorted(owners), sorted(added))
    for op, names in declared.items():
        for d in names:
            assert (d in wide.columns) if "*" not in d else outputs[op], (op, d)
    for s in grain:  # one row per entity: joined back on the entity to be read like the rest
        per_entity = build_pipeline({"steps": [s]}, base).fit(base).transform(base)
        check_declared(s["op"], s["params"], base.select(), per_entity)
        entity = s["params"]["entityCol"]
        outputs[s["op"]] = [c for c in per_entity.columns if c != entity]
        wide = wide.join(per_entity, entity, "left")
    wide = wide.coalesce(1).cache()  # one task per job: the frame is tiny
    numeric = [c for c in wide.columns if kind_of(wide.schema[c].dataType) == "num"]
    stats = _stats(wide, numeric)
    stats.update({c: {"named": float("attrs" in wide.schema[c].metadata.get("ml_attr", {}))}
                  for c in wide.columns if kind_of(wide.schema[c].dataType) == "vec"})
    kinds = {c: kind_of(wide.schema[c].dataType) for c in wide.columns}
    return wide, outputs, kinds, stats


def _stats(df: DataFrame, numeric: list[str]) -> dict[str, Stats]:
    exprs = []
    for c in numeric:
        x = F.when(~F.isnan(F.col(c).cast("double")), F.col(c).cast("double"))
        exprs += [F.min(x).alias(f"{c}/min"), F.max(x).alias(f"{c}/max"),
                  F.count_distinct(x).alias(f"{c}/distinct"),
                  F.min((x == F.floor(x)).cast("int")).alias(f"{c}/whole"),
                  F.count_if(x.isNull()).alias(f"{c}/missing")]
    row = df.agg(*exprs).first().asDict()  # one job for every column's stats
    return {c: {k: float("nan") if row[f"{c}/{k}"] is None else float(row[f"{c}/{k}"])
                for k in ("min", "max", "distinct", "whole", "missing")} for c in numeric}


def _readable(op: str, columns: list[str], kinds, stats) -> list[str]:
    use = USES[op]
    return [c for c in columns if kinds[c] == use.kind and use.accepts(kinds[c], stats.get(c, {}))]


def test_every_producer_has_consumers_and_pairs_check_statically(base, produced):
    wide, outputs, kinds, stats = produced
    ops = load_operations()
    pairs = 0
    for producer, columns in outputs.items():
        consumers = [op for op in USES if _readable(op, columns, kinds, stats)]
        assert consumers, f"no op reads what {producer} writes: {columns}"
        p = producer_step(producer)
        for op in consumers:
            cols = _readable(op, columns, kinds, stats)
            spec = {"steps": [p, step(op, cols[:1] if USES[op].single else cols, "c")]}
            if getattr(ops[producer], "CHANGES_GRAIN", False):
                spec["steps"][1]["params"] = _regrain(spec["steps"][1]["params"],
                                                      p["params"]["entityCol"], columns[1])
            assert check_feature_spec(spec, base.columns, "t.yaml") == [], spec
            pairs += 1
    assert pairs > 200


_SHARES: dict[int, dict[str, list[str]]] = {}


def _share(produced) -> dict[str, list[str]]:
    """Which produced columns each single-column op reads when fitted.

    A single-column op is one stage per column, and ten vector ops times seventeen vector
    producers is minutes of fitting; so each produced column goes to the accepting single-column
    op that has the fewest so far: every column is still read by one of them, every such op reads
    at least one column, and every (producer, consumer) pair is checked statically above.
    """
    if id(produced) not in _SHARES:
        wide, outputs, kinds, stats = produced
        columns = sorted({c for cols in outputs.values() for c in cols} - set(BASE_COLUMNS))
        single = [op for op in sorted(USES) if USES[op].single]
        share: dict[str, list[str]] = {op: [] for op in single}
        for c in columns:
            takers = [op for op in single if c in _readable(op, [c], kinds, stats)]
            if takers:
                share[min(takers, key=lambda op: len(share[op]))].append(c)
        for op in single:
            share[op] = share[op] or _readable(op, columns, kinds, stats)[:1]
        _SHARES[id(produced)] = share
    return _SHARES[id(produced)]


def _regrain(params: dict[str, Any], entity: str, value: str) -> dict[str, Any]:
    """A consumer's params after a grain change: the frame's columns are gone, so its strings
    read the entity and everything else reads one aggregate."""
    swap = {c: entity if c.startswith("cat") else value for c in BASE_COLUMNS}
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, str) and v in swap:
            out[k] = swap[v]
        elif isinstance(v, list) and k != "splitsArray":
            out[k] = list(dict.fromkeys(swap.get(x, x) for x in v))
        else:
            out[k] = v
    return out


@pytest.mark.parametrize("op", sorted(USES))
def test_op_reads_every_producer_output_it_accepts(produced, op):
    wide, outputs, kinds, stats = produced
    # what in-place producers rewrote keeps the frame's name: consumers read the new names only
    columns = sorted({c for cols in outputs.values() for c in cols} - set(BASE_COLUMNS))
    readable = _readable(op, columns, kinds, stats)
    assert readable, f"{op} reads no produced column"
    use = USES[op]
    groups = [[c] for c in _share(produced)[op]] if use.single else [readable]
    steps = [step(op, g, f"c{i}") for i, g in enumerate(groups)]
    model = build_pipeline({"steps": steps}, wide).fit(wide)
    for s, stage in zip(steps, model.stages, strict=True):
        # each stage against the columns before it: it adds exactly what it declares
        grain = getattr(load_operations()[op], "CHANGES_GRAIN", False)
        check_declared(op, s["params"], wide.select() if grain else wide, stage.transform(wide))
