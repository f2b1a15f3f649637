"""``lakeprep serve``: the fitted pipeline as a SageMaker inference container (no JVM).

SageMaker's container contract: GET ``/ping`` answers 200 once the model is loaded, POST
``/invocations`` transforms the records of the body. Bodies: ``text/csv`` (the input schema's
columns in order, no header), ``application/jsonlines`` (one object per record) and the
SparkML-serving ``application/json``. Answers: ``text/csv`` (the output column, what a
following XGBoost or Linear Learner container reads) or ``application/jsonlines``, per the
Accept header, else ``$SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``, else CSV. A bad record is a 400
naming the record and the column; nothing answers with a traceback.

Falcon (a small, dependency-free WSGI framework made for data-plane APIs) under gunicorn
(prefork workers, one per core: the numpy work is CPU-bound), as SageMaker's own framework
containers serve with gunicorn.

For example, ``make_app(load("/opt/ml/model"))`` is the WSGI app ``serve`` runs.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import falcon
import pyarrow as pa

from lakeprep.errors import InputError, LakeprepError, RecordError
from lakeprep.inference.columns import batch_rows
from lakeprep.inference.formats import (
    parse_jsonlines,
    parse_sparkml_json,
    read_csv,
    to_csv,
    to_jsonlines,
)
from lakeprep.inference.pipeline import MODEL_DIR, SCHEMA_ENV, InferencePipeline, load
from lakeprep.inference.schema import parse_schema

log = logging.getLogger(__name__)
CSV, JSONLINES, JSON = "text/csv", "application/jsonlines", "application/json"
ACCEPT_ENV = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
OUTPUT_ENV = "LAKEPREP_OUTPUT_COLUMN"


def default_output(pipeline: InferencePipeline) -> str:
    """The column an endpoint answers with: ``$LAKEPREP_OUTPUT_COLUMN``, else the pipeline's
    last written column (the assembled vector of lakeprep's feature sets)."""
    return os.environ.get(OUTPUT_ENV) or pipeline.outputs[-1]


def _media(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


class Ping:
    """GET /ping: 200 once the model is loaded (it is, before the app exists)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = JSON
        resp.text = json.dumps({"status": "ok"})


class Invocations:
    """POST /invocations: records in, the output column out."""

    def __init__(self, pipeline: InferencePipeline, output: str):
        self.pipeline, self.output = pipeline, output

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        accept = self._accept(req)
        body = req.bounded_stream.read().decode("utf-8")
        schema = self.pipeline.schema
        content = _media(req.content_type) or CSV
        if content == CSV:
            if schema is None:
                raise RecordError(f"CSV needs an input schema (input_schema.json beside the "
                                  f"model or ${SCHEMA_ENV})")
            records = read_csv(body, schema)
        elif content in (JSONLINES, "application/x-jsonlines", "application/json-lines"):
            records = parse_jsonlines(body)
        elif content == JSON:
            given, records = parse_sparkml_json(body)
            if given is not None:
                schema = parse_schema(given, "the request's schema")
        else:
            raise falcon.HTTPUnsupportedMediaType(
                description=f"Content-Type {content!r}: send {CSV}, {JSONLINES} or {JSON}")
        count = records.num_rows if isinstance(records, pa.Table) else len(records)
        if not count:
            raise RecordError("the request has no record")
        batch = self.pipeline.transform_batch(records, schema)
        if batch_rows(batch) != count:
            raise RecordError(f"the pipeline dropped {count - batch_rows(batch)} of {count} "
                              f"records (a stage with handleInvalid 'skip'); an endpoint "
                              f"answers every record")
        column = batch[self.output]
        resp.content_type = accept
        resp.text = to_csv(column) if accept == CSV else to_jsonlines(column, self.output)

    @staticmethod
    def _accept(req: falcon.Request) -> str:
        wanted = [_media(a) for a in (req.accept or "").split(",") if a.strip()]
        wanted = [a for a in wanted if a not in ("*/*", "")] or [
            _media(os.environ.get(ACCEPT_ENV)) or CSV]
        for a in wanted:
            if a in (CSV, JSONLINES):
                return a
            if a in ("application/x-jsonlines", "application/json-lines", JSON):
                return JSONLINES
        raise falcon.HTTPNotAcceptable(description=f"Accept {req.accept!r}: this container "
                                                   f"answers {CSV} or {JSONLINES}")


def _bad_request(req: Any, resp: Any, err: Exception, params: Any) -> None:
    where = {k: v for k, v in (("record", getattr(err, "record", None)),
                               ("column", getattr(err, "column", None))) if v is not None}
    headers = {"X-Lakeprep-" + k.title(): str(v) for k, v in where.items()}
    raise falcon.HTTPBadRequest(title="bad input", description=str(err), headers=headers)


def _internal(req: Any, resp: Any, err: Exception, params: Any) -> None:
    if isinstance(err, falcon.HTTPError):
        raise err
    log.exception("invocation failed")  # the trace goes to the log, never to the client
    raise falcon.HTTPInternalServerError(title="internal error",
                                         description=f"{type(err).__name__}: see the log")


def _json_error(req: Any, resp: Any, err: falcon.HTTPError) -> None:
    # always JSON, whatever the Accept header asked for (falcon's default would send nothing
    # to a client that accepts only CSV or JSON lines)
    resp.content_type = JSON
    resp.text = json.dumps(err.to_dict())


def make_app(pipeline: InferencePipeline, output: str | None = None) -> falcon.App:
    """The WSGI app of the container for a loaded pipeline."""
    name = output or default_output(pipeline)
    if name not in pipeline.outputs and name not in pipeline.required:
        raise InputError(f"{pipeline.uri}: no column {name!r} to answer with; the pipeline "
                         f"writes {pipeline.outputs}")
    app = falcon.App()
    app.set_error_serializer(_json_error)
    app.add_error_handler(Exception, _internal)
    app.add_error_handler(LakeprepError, _bad_request)
    app.add_route("/ping", Ping())
    app.add_route("/invocations", Invocations(pipeline, name))
    return app


def serve(model_dir: str = MODEL_DIR, port: int = 8080, host: str = "0.0.0.0",
          workers: int | None = None, output: str | None = None) -> None:
    """Load the model once, then serve it with gunicorn (workers fork from the loaded app)."""
    from gunicorn.app.base import BaseApplication

    app = make_app(load(model_dir), output)
    options = {"bind": f"{host}:{port}", "workers": workers or os.cpu_count() or 1,
               "timeout": 60, "preload_app": True, "accesslog": None}

    class _Server(BaseApplication):  # gunicorn's documented custom-application hook
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> falcon.App:
            return app

    log.info("serving %s on %s:%d with %d workers", model_dir, host, port, options["workers"])
    _Server().run()
