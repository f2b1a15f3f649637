"""``python -m lakeprep.inference serve [MODEL_DIR]``: the serving container's entry point.

The same as ``lakeprep serve``, without the rest of the CLI (whose other commands need Spark):
the serving image runs this. SageMaker starts a container as ``docker run IMAGE serve``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from lakeprep.errors import LakeprepError
from lakeprep.inference.pipeline import MODEL_DIR


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``serve`` (shared with ``lakeprep serve``)."""
    parser.add_argument("model_dir", nargs="?", default=MODEL_DIR,
                        help=f"the saved pipeline folder, local or s3:// (default {MODEL_DIR}, "
                             f"where SageMaker unpacks the model data)")
    parser.add_argument("--port", type=int, default=8080, help="default 8080 (SageMaker's)")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn worker processes (default: one per core)")
    parser.add_argument("--output-column", default=None,
                        help="the column to answer with (default $LAKEPREP_OUTPUT_COLUMN, else "
                             "the last column the pipeline writes)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakeprep.inference")
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_arguments(sub.add_parser("serve", help="serve the pipeline (SageMaker contract)"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from lakeprep.inference.serve import serve  # falcon and gunicorn: only to serve

    try:
        serve(args.model_dir, args.port, args.host, args.workers, args.output_column)
    except LakeprepError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
