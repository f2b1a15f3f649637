"""The declarative feature spec: a dict of steps, validated and turned into a pyspark.ml Pipeline.

>>> spec = {"steps": [{"name": "assemble", "op": "vector_assembler",
...                    "params": {"inputCols": ["a", "b"], "outputCol": "features"}}]}
>>> df = spark.createDataFrame([(1.0, 2.0)], ["a", "b"])
>>> pipeline = build_pipeline(spec, ["a", "b"], source="features.yaml")
>>> model = pipeline.fit(df)
>>> feature_names(model, model.transform(df))
['a', 'b']

Everything is checked before any Spark job runs: the operation is registered, every parameter is
one of the stage's Params with a valid value, and every input column exists in the input or is
written by an earlier step (what each stage class declares with ``output_columns(params)``, so
``datetime_features`` -> ``cyclical_features`` -> ``relative_features`` chains). All problems are
reported together, each naming the source, the step and the valid choices;
:func:`check_feature_spec` returns them without starting a JVM (``lakeprep validate``).
"""

from __future__ import annotations

import fnmatch
import importlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from py4j.protocol import Py4JJavaError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pyspark.errors.exceptions.captured import CapturedException, IllegalArgumentException
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.linalg import VectorUDT
from pyspark.ml.param import Param, Params
from pyspark.ml.wrapper import JavaParams
from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

from features.base import check_params, merged_over_mro, param_rules
from features.errors import FeatureInputError, FeatureSpecError
from features.fused import fit_stages
from features.registry import OUTPUT_PARAMS, as_list, operations, output_columns, stage_class
from lakeprep.errors import LakeprepError, Problem

log = logging.getLogger(f"lakeprep.{__name__}")

FAMILIES = ("features.creation", "features.imputation", "features.encoding",
            "features.outliers", "features.discretisation", "features.transformation",
            "features.extraction", "features.selection")
# Params named *Col(s) that a feature stage writes or only names, rather than reads.
NOT_INPUTS = frozenset({"predictionCol", "probabilityCol", "rawPredictionCol", "varianceCol",
                        "leafCol", "recencyCol"})


class StepSpec(BaseModel):
    """One step: a unique ``name``, a registered ``op`` and the stage's ``params``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    op: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class FitSpec(BaseModel):
    """How the pipeline is fitted: ``fused`` (default) shares passes between stages."""

    model_config = ConfigDict(extra="forbid")

    fused: bool = True


class FeatureSpec(BaseModel):
    """The whole spec: the steps in order, and how to fit them (``fit: {fused: false}``)."""

    model_config = ConfigDict(extra="forbid")

    steps: list[StepSpec] = Field(min_length=1)
    fit: FitSpec = Field(default_factory=FitSpec)

    @field_validator("steps")
    @classmethod
    def _unique_names(cls, steps: list[StepSpec]) -> list[StepSpec]:
        names = [s.name for s in steps]
        repeated = [n for i, n in enumerate(names) if n in names[:i]]
        if repeated:
            raise ValueError(f"step names must be unique; repeated: {sorted(set(repeated))}")
        return steps


def load_operations() -> dict[str, type]:
    """Import the feature families that exist, so that their stages register; return the ops."""
    for family in FAMILIES:
        try:
            importlib.import_module(family)
        except ModuleNotFoundError as err:
            if err.name != family:  # a family that exists but fails to import is a real error
                raise
            log.debug("feature family %s not installed", family)
    return operations()


def param_names(cls: type) -> list[str]:
    """The names of a stage class's Params, read from the class (no JVM object is created)."""
    return sorted(n for n in dir(cls) if isinstance(getattr(cls, n, None), Param))


def _columns(columns: Iterable[str] | StructType | DataFrame) -> list[str]:
    if isinstance(columns, DataFrame):
        return list(columns.columns)  # from the plan's schema; runs no job
    if isinstance(columns, StructType):
        return list(columns.fieldNames())
    return list(columns)


def _value(stage: Params, name: str) -> Any:
    return stage.getOrDefault(name) if stage.hasParam(name) and stage.isDefined(name) else None


def input_columns(cls: type, params: Mapping[str, Any]) -> list[str]:
    """The columns a step reads, from its params alone (no stage is instantiated).

    Every given ``*Col(s)`` param that is not an output; of the defaults only ``featuresCol``
    (MLlib's ``"features"``), since a default like ``labelCol="label"`` may be unused.
    """
    inputs = []
    for name in param_names(cls):
        if name in OUTPUT_PARAMS or name in NOT_INPUTS:
            continue
        if name.endswith("Col") or name.endswith("Cols") or name == "referenceCols":
            if name in params:
                inputs += as_list(params[name])
            elif name == "featuresCol":
                inputs.append("features")
    return inputs


def _io_columns(stage: Params) -> tuple[list[str], list[str]]:
    """The columns a built stage reads and writes: its class's declarations over its set Params
    (an unset output param counts with its default, MLlib's uid-based name)."""
    params = {p.name: stage.getOrDefault(p) for p in stage.params if stage.isSet(p)}
    if not any(p in params for p in OUTPUT_PARAMS):
        params.update({p: stage.getOrDefault(p) for p in OUTPUT_PARAMS
                       if stage.hasParam(p) and stage.hasDefault(p)})
    cls = type(stage)
    return input_columns(cls, params), output_columns(cls, params)


def _found(column: str, known: set[str]) -> bool:
    # a declared pattern (one-hot's ``country_*``) stands for the names its fit will choose
    return column in known or any("*" in k and fnmatch.fnmatchcase(column, k) for k in known)


def check_feature_spec(spec: dict[str, Any],
                       input_columns: Iterable[str] | StructType | DataFrame,
                       source: str = "<spec>", key: str = "") -> list[Problem]:
    """Every problem of ``spec`` over ``input_columns``, statically: no stage of MLlib's (so no JVM)
    is instantiated, no Spark job runs.

    Checks the spec's shape, each step's op, its parameter names, its values (the Params'
    typeConverters, ``PARAM_RULES`` and lakeprep stages' own cross-param checks) and the column
    flow: each step may read the input columns and what earlier steps declare they write
    (``output_columns``). ``source`` is the file, ``key`` the spec's key in it.

    >>> check_feature_spec({"steps": [{"name": "s", "op": "nope"}]}, ["a"], "f.yaml")
    ... # doctest: +ELLIPSIS
    [Problem(file='f.yaml', key="step 's' (#1)", message="unknown operation 'nope'; valid ...")]
    """
    return _check(spec, input_columns, source, key, build=False)[0]


def _check(spec: dict[str, Any], columns: Iterable[str] | StructType | DataFrame, source: str,
           key: str, build: bool) -> tuple[list[Problem], list[Any]]:
    """The problems of ``spec``; with ``build``, also the stages (MLlib's checked in the JVM)."""
    try:
        parsed = FeatureSpec.model_validate(spec)
    except ValidationError as err:
        return [Problem(source, key, f"invalid feature spec: {_location(e)}: {e['msg']}")
                for e in err.errors()], []
    ops = load_operations()
    known = set(_columns(columns))
    problems: list[Problem] = []
    stages: list[Any] = []
    prefix = f"{key} " if key else ""
    for i, step in enumerate(parsed.steps, start=1):
        where = f"{prefix}step {step.name!r} (#{i}, op {step.op!r})"
        if step.op not in ops:
            problems.append(Problem(source, f"{prefix}step {step.name!r} (#{i})",
                                    f"unknown operation {step.op!r}; valid operations: "
                                    f"{', '.join(sorted(ops))}"))
            # so that later steps do not report its outputs as missing
            known.update(c for p in OUTPUT_PARAMS for c in as_list(step.params.get(p)))
            continue
        cls = stage_class(step.op)
        problem = _param_problem(cls, step.params)
        stage = None
        if problem is None and build:
            stage, problem = _build(cls, step.params)
        try:
            outputs = output_columns(cls, step.params)
        except (TypeError, ValueError, AttributeError):
            outputs = [c for p in OUTPUT_PARAMS for c in as_list(step.params.get(p))]
        if problem is not None:
            problems.append(Problem(source, where, problem))
            known.update(outputs)
            continue
        missing = [c for c in input_columns(cls, step.params) if not _found(c, known)]
        if missing:
            problems.append(Problem(source, where, f"column(s) {missing} not found; available "
                                                   f"at this step: {', '.join(sorted(known))}"))
        known = set(outputs) if getattr(cls, "CHANGES_GRAIN", False) else known | set(outputs)
        if stage is not None:
            stages.append(stage)
    return problems, stages


def _location(err: Any) -> str:
    return ".".join(str(x) for x in err["loc"]) or "spec"


def _param_problem(cls: type, params: Mapping[str, Any]) -> str | None:
    """What is wrong with a step's params (names, types, rules), or None; no JVM is used."""
    valid = param_names(cls)
    renamed = merged_over_mro(cls, "RENAMED_PARAMS")
    former = sorted(p for p in params if p in renamed and p not in valid)
    if former:
        return "; ".join(f"parameter {p!r} of {cls.__name__} is called {renamed[p]!r} now: "
                         "rename it in the spec" for p in former)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        return (f"unknown parameter(s) {unknown}; valid parameters of {cls.__name__}: "
                f"{', '.join(valid)}")
    try:
        if not issubclass(cls, JavaParams):
            # a Python stage is cheap to build: its own cross-param hook runs too
            stage: Any = cls(**params)
            check_params(stage)
            return None
        converted = {n: getattr(cls, n).typeConverter(v) for n, v in params.items()}
        for name, rule in param_rules(cls).items():
            if converted.get(name) is not None:
                rule.check(cls.__name__, name, converted[name])
    except FeatureSpecError as err:
        return str(err)
    except (TypeError, ValueError) as err:
        return f"invalid parameter value: {_first_line(err)}"
    return None


def _build(cls: type, params: Mapping[str, Any]) -> tuple[Params | None, str | None]:
    """The stage; MLlib's own validators (e.g. MinMaxScaler's min < max) run in its JVM setters."""
    try:
        stage = cls(**params)
        if isinstance(stage, JavaParams):
            stage._transfer_params_to_java()
        return stage, None
    except FeatureSpecError as err:
        return None, str(err)
    except (TypeError, ValueError, IllegalArgumentException) as err:
        return None, f"invalid parameter value: {_first_line(err)}"


def build_pipeline(spec: dict[str, Any], input_columns: Iterable[str] | StructType | DataFrame,
                   source: str = "<spec>", fused: bool | None = None) -> Pipeline:
    """Validate ``spec`` against the registry and the input columns; return an unfitted Pipeline.

    ``input_columns`` is a list of names, a schema or the input DataFrame itself. Raises
    :class:`FeatureSpecError` naming ``source``, the step and the valid choices (every problem
    :func:`check_feature_spec` finds, plus MLlib's own checks of its values). The pipeline
    fits fused (:mod:`features.fused`) unless ``fused=False`` or the spec says
    ``fit: {fused: false}`` (the argument wins over the spec).

    >>> build_pipeline({"steps": [{"name": "s", "op": "nope"}]}, ["a"],
    ...                source="features.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    features.errors.FeatureSpecError: features.yaml: step 's' (#1): unknown operation 'nope'; ...
    """
    problems, stages = _check(spec, input_columns, source, "", build=True)
    if problems:
        if problems[0].message.startswith("invalid feature spec: "):
            # the spec's shape: one line, as pydantic reports it
            raise FeatureSpecError(f"{source}: invalid feature spec: " + "; ".join(
                p.message.removeprefix("invalid feature spec: ") for p in problems))
        raise FeatureSpecError("\n".join(str(p) for p in problems))
    log.info("%s: built a pipeline of %d stages", source, len(stages))
    parsed = FeatureSpec.model_validate(spec)
    pipeline = SpecPipeline(stages=stages)
    pipeline.fused = parsed.fit.fused if fused is None else fused
    pipeline.steps = {s.uid: f"{source}: step {p.name!r} (#{i}, op {p.op!r})"
                      for i, (s, p) in enumerate(zip(stages, parsed.steps, strict=True), start=1)}
    return pipeline


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "desc", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class SpecPipeline(Pipeline):
    """A Pipeline fitted fused, whose fit errors name the spec step (source, name, position, op).

    The fitted model is a plain ``PipelineModel`` (with ``fit_report``: stages, levels, passes,
    Spark jobs); ``fused = False`` fits stage after stage as ``Pipeline`` does. A lakeprep error
    raised by a stage gets the step prefixed, and a JVM error of an MLlib stage becomes a
    FeatureInputError naming the step, so no stack trace is needed to know which step failed.
    """

    steps: dict[str, str] = {}
    fused: bool = True

    def _where(self, stage: Params) -> str:
        return self.steps.get(stage.uid, type(stage).__name__)

    @contextmanager
    def _step_errors(self, stage: Params) -> Iterator[None]:
        where = self._where(stage)
        try:
            yield
        except LakeprepError as err:
            if str(err).startswith(where):
                raise
            raise type(err)(f"{where}: {err}") from err
        except (CapturedException, Py4JJavaError) as err:
            raise FeatureInputError(f"{where}: {type(stage).__name__} failed: "
                                    f"{_first_line(err)}") from err

    def _fit(self, dataset: DataFrame) -> PipelineModel:
        return fit_stages(self.getStages(), dataset, io=_io_columns, guard=self._step_errors,
                          name=self._where, fused=self.fused)


def step_names(spec: dict[str, Any]) -> list[str]:
    """The step names in order (stage i of the built Pipeline is step i)."""
    return [s["name"] for s in FeatureSpec.model_validate(spec).model_dump()["steps"]]


def feature_names(model: PipelineModel, output: DataFrame) -> list[str]:
    """Names of the final vector's features in vector order, for the SageMaker manifest.

    The last stage must write one vector column (``outputCol``: VectorAssembler and the like);
    the names come from that column's ML attributes. Slots without a name get ``<col>_<i>``.

    >>> spec = {"steps": [
    ...     {"name": "index", "op": "string_index",
    ...      "params": {"inputCol": "country", "outputCol": "country_idx"}},
    ...     {"name": "assemble", "op": "vector_assembler",
    ...      "params": {"inputCols": ["amount", "country_idx"], "outputCol": "features"}}]}
    >>> df = spark.createDataFrame([(3.0, "DE"), (4.0, "FR")], ["amount", "country"])
    >>> model = build_pipeline(spec, df.columns).fit(df)
    >>> feature_names(model, model.transform(df))
    ['amount', 'country_idx']
    """
    if not model.stages:
        raise FeatureSpecError("feature_names: the pipeline model has no stages")
    last = model.stages[-1]
    column = _value(last, "outputCol")
    if column is None:
        raise FeatureSpecError(f"feature_names: the last stage {type(last).__name__} has no "
                               f"outputCol; end the spec with a vector_assembler step")
    if column not in output.columns:
        raise FeatureSpecError(f"feature_names: column {column!r} of the last stage is not in "
                               f"the output ({', '.join(output.columns)})")
    field = output.schema[column]
    if not isinstance(field.dataType, VectorUDT):
        raise FeatureSpecError(f"feature_names: the last stage's column {column!r} is "
                               f"{field.dataType.simpleString()}, not a vector")
    attr = field.metadata.get("ml_attr", {})
    by_index: dict[int, str] = {}
    for group in attr.get("attrs", {}).values():
        for a in group:
            by_index[int(a["idx"])] = a.get("name", f"{column}_{a['idx']}")
    size = int(attr.get("num_attrs", len(by_index)))
    if not size:
        raise FeatureSpecError(f"feature_names: column {column!r} carries no ML attributes to "
                               f"name its features; assemble named columns in the last step")
    return [by_index.get(i, f"{column}_{i}") for i in range(size)]
