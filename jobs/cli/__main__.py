"""``python -m jobs.cli`` and ``spark-submit jobs/cli/__main__.py``: the CLI as a script (what
``lakeprep package`` ships as ``cli.py`` for spark-submit, EMR and Glue)."""

import sys

from jobs.cli import main

if __name__ == "__main__":
    sys.exit(main())
