"""The declarative feature spec: a dict of steps, validated and turned into a pyspark.ml Pipeline.

>>> spec = {"steps": [{"name": "assemble", "op": "vector_assembler",
...                    "params": {"inputCols": ["a", "b"], "outputCol": "features"}}]}
>>> pipeline = build_pipeline(spec, ["a", "b"], source="features.yaml")  # doctest: +SKIP
>>> model = pipeline.fit(df)  # doctest: +SKIP
>>> feature_names(model, model.transform(df))  # doctest: +SKIP
['a', 'b']

Everything is checked before any Spark job runs: the operation is registered, every parameter is
one of the stage's Params, and every input column exists in the input (or is produced by an
earlier step, through its ``outputCol``/``outputCols``). All problems are reported together, each
naming the source, the step and the valid choices.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Iterator
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

from features.base import check_params
from features.errors import FeatureInputError, FeatureSpecError
from features.fused import fit_stages
from features.registry import operations, stage_class
from lakeprep.errors import LakeprepError

log = logging.getLogger(f"lakeprep.{__name__}")

FAMILIES = ("features.creation", "features.imputation", "features.encoding",
            "features.outliers", "features.discretisation", "features.transformation",
            "features.extraction", "features.selection")
OUTPUT_PARAMS = ("outputCol", "outputCols")
DEFAULT_INPUTS = frozenset({"inputCol", "inputCols", "featuresCol"})
# Params named *Col(s) that a feature stage writes or only names, rather than reads.
NOT_INPUTS = frozenset({"predictionCol", "probabilityCol", "rawPredictionCol", "varianceCol",
                        "leafCol"})


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


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _value(stage: Params, name: str) -> Any:
    return stage.getOrDefault(name) if stage.hasParam(name) and stage.isDefined(name) else None


def _io_columns(stage: Params) -> tuple[list[str], list[str]]:
    """The columns a stage reads and writes, from its Params.

    Outputs: the set ``outputCol(s)``, else their defaults (MLlib names one after the uid), plus
    what a stage names itself through ``declared_outputs()`` (e.g. ``<col>_na`` indicators).
    Inputs: every set ``*Col(s)`` param; of the defaults only the data inputs (``inputCol(s)``,
    ``featuresCol``), since a default like ``labelCol="label"`` may be unused by the settings.
    """
    inputs, outputs = [], []
    if hasattr(stage, "declared_outputs"):
        outputs += list(stage.declared_outputs())
    outputs_set = any(stage.hasParam(p) and stage.isSet(p) for p in OUTPUT_PARAMS)
    for param in stage.params:
        name = param.name
        if name in OUTPUT_PARAMS:
            if stage.isSet(name) or not outputs_set:
                outputs += _as_list(_value(stage, name))
        elif (name.endswith("Col") or name.endswith("Cols")) and name not in NOT_INPUTS:
            if stage.isSet(name) or name in DEFAULT_INPUTS:
                inputs += _as_list(_value(stage, name))
    return inputs, outputs


def build_pipeline(spec: dict[str, Any], input_columns: Iterable[str] | StructType | DataFrame,
                   source: str = "<spec>", fused: bool | None = None) -> Pipeline:
    """Validate ``spec`` against the registry and the input columns; return an unfitted Pipeline.

    ``input_columns`` is a list of names, a schema or the input DataFrame itself. Raises
    :class:`FeatureSpecError` naming ``source``, the step and the valid choices. The pipeline
    fits fused (:mod:`features.fused`) unless ``fused=False`` or the spec says
    ``fit: {fused: false}`` (the argument wins over the spec).

    >>> build_pipeline({"steps": [{"name": "s", "op": "nope"}]}, ["a"])  # doctest: +SKIP
    Traceback (most recent call last):
    FeatureSpecError: features.yaml: step 's' (#1): unknown operation 'nope'; valid ...
    """
    try:
        parsed = FeatureSpec.model_validate(spec)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'spec'}: {e['msg']}"
                             for e in err.errors())
        raise FeatureSpecError(f"{source}: invalid feature spec: {problems}") from None
    ops = load_operations()
    available = _columns(input_columns)
    known = set(available)
    errors: list[str] = []
    stages = []
    for i, step in enumerate(parsed.steps, start=1):
        where = f"{source}: step {step.name!r} (#{i}, op {step.op!r})"
        declared = [c for p in OUTPUT_PARAMS for c in _as_list(step.params.get(p))]
        if step.op not in ops:
            errors.append(f"{source}: step {step.name!r} (#{i}): unknown operation {step.op!r}; "
                          f"valid operations: {', '.join(sorted(ops))}")
            known.update(declared)  # so later steps do not report its outputs as missing
            continue
        cls = stage_class(step.op)
        valid = param_names(cls)
        unknown = sorted(set(step.params) - set(valid))
        if unknown:
            errors.append(f"{where}: unknown parameter(s) {unknown}; valid parameters of "
                          f"{cls.__name__}: {', '.join(valid)}")
            known.update(declared)
            continue
        try:
            stage = cls(**step.params)
            check_params(stage)
            if isinstance(stage, JavaParams):
                # MLlib's own validators (e.g. MinMaxScaler's min < max) run in the JVM setters
                stage._transfer_params_to_java()
        except FeatureSpecError as err:
            errors.append(f"{where}: {err}")
            known.update(declared)
            continue
        except (TypeError, ValueError, IllegalArgumentException) as err:
            errors.append(f"{where}: invalid parameter value: {_first_line(err)}")
            known.update(declared)
            continue
        inputs, outputs = _io_columns(stage)
        missing = [c for c in inputs if c not in known]
        if missing:
            errors.append(f"{where}: column(s) {missing} not found; available at this step: "
                          f"{', '.join(sorted(known))}")
        known.update(outputs)
        stages.append(stage)
    if errors:
        raise FeatureSpecError("\n".join(errors))
    log.info("%s: built a pipeline of %d stages", source, len(stages))
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

    >>> feature_names(model, model.transform(df))  # doctest: +SKIP
    ['amount_sum_90d', 'country_idx', ...]
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
