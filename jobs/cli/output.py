"""What a command shows: stdout (text through rich, or JSON lines) and stderr (errors, logs).

When stdout is not a terminal (CI, CloudWatch, a log file, ``| cat``), tables print at their
full width and log lines are plain text, so nothing is wrapped or cut. Every message prints
literally: text from errors, paths and user values is never read as rich markup.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

# rich wraps at 80 columns when it is not writing to a terminal; a log has no width to respect
LOG_WIDTH = 100_000


def console(stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=LOG_WIDTH,
                                                   soft_wrap=True)


class Output:
    """What a command shows on stdout: text (rich; full width when piped) or JSON lines, with
    ``quiet`` keeping only the lines marked essential (the result a script needs)."""

    def __init__(self, mode: str = "text", quiet: bool = False):
        self.console = console()
        self.configure(mode, quiet)

    def configure(self, mode: str = "text", quiet: bool = False) -> None:
        self.mode, self.quiet = mode, quiet

    @property
    def json(self) -> bool:
        return self.mode == "json"

    def line(self, text: str, essential: bool = False, style: str | None = None,
             **data: Any) -> None:
        """A message; in JSON mode ``{"message": text, **data}``."""
        if self.quiet and not essential:
            return
        if self.json:
            self._json({"message": text, **data})
        else:
            self.console.print(text, style=style, highlight=False, markup=False,
                               soft_wrap=True)

    def table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              essential: bool = True, kind: str | None = None) -> None:
        """A table; in JSON mode one object per row, ``{"table": kind or title, col: value}``."""
        if self.quiet and not essential:
            return
        if self.json:
            for row in rows:
                self._json({"table": kind or title, **dict(zip(headers, row, strict=True))})
            return
        t = Table(title=Text(title) if title else None, title_justify="left")
        for header in headers:
            t.add_column(Text(header))
        for row in rows:
            t.add_row(*[Text("" if v is None else f"{v:,}" if isinstance(v, int) and not
                             isinstance(v, bool) else str(v)) for v in row])
        self.console.print(t)

    def show(self, renderable: Any, data: Any, essential: bool = True) -> None:
        """A rich renderable (tree, table) in text mode, ``data`` as one JSON line otherwise."""
        if self.quiet and not essential:
            return
        if self.json:
            self._json(data)
        else:
            self.console.print(renderable)

    def document(self, obj: Any) -> None:
        """A JSON document (a dry-run's requests, IAM policies): indented text, or one line."""
        if self.json:
            self._json(obj)
        else:
            sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
            sys.stdout.flush()

    def _json(self, obj: Any) -> None:
        sys.stdout.write(json.dumps(obj, default=str) + "\n")
        sys.stdout.flush()


class Errors:
    """stderr: ``error: ...`` and ``skipped ...`` lines, the message printed literally."""

    def __init__(self) -> None:
        self.console = console(stderr=True)

    def print(self, label: str, message: str, style: str = "bold red") -> None:
        text = Text(f"{label}", style=style)
        text.append(f" {message}")
        self.console.print(text, highlight=False, soft_wrap=True)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record is emitted: a caller that swaps it after
    ``main`` set logging up (a notebook, a test harness) gets the records, never a closed file."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


# the command's stdout and stderr; `main` configures them per invocation
out = Output()
err = Errors()
