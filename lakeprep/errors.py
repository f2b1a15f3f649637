"""The one exception hierarchy. The CLI maps each class to an exit code.

Every message says what was expected, what was found and where (file, key, step, column),
so that a user never needs the stack trace to know what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake a static check found: the file, the key in it, and what is wrong.

    >>> str(Problem("conf/base/export.yaml", "export.split.seed", "Input should be an integer"))
    'conf/base/export.yaml: export.split.seed: Input should be an integer'
    """

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return ": ".join(p for p in (self.file, self.key, self.message) if p)


class LakeprepError(Exception):
    """Base of every error lakeprep raises on purpose."""

    exit_code = 1


class ConfigError(LakeprepError):
    """Configuration is missing or invalid (a conf file, a catalog entry, a spec, a suite).

    ``problems`` holds each mistake with its file and key when the raiser knew them (the conf
    loader does): ``lakeprep validate`` lists them as they are, never parsing the message.

    >>> e = ConfigError(problems=[Problem("conf/base/a.yaml", "a.b", "unknown key")])
    >>> str(e), e.problems[0].key
    ('conf/base/a.yaml: a.b: unknown key', 'a.b')
    """

    exit_code = 2

    def __init__(self, message: str = "", problems: Sequence[Problem] = ()):
        self.problems = list(problems)
        super().__init__(message or "; ".join(map(str, self.problems)))


class SuiteConfigError(ConfigError):
    """A quality suite names an unknown expectation, bad parameters or a missing column."""


class UsageError(LakeprepError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = 2


class InputError(LakeprepError):
    """Input data is missing or unusable (no such path, nothing to read, wrong column types)."""

    exit_code = 3


class SchemaDriftError(InputError):
    """A new batch's columns differ from the declared schema and the table's policy is `fail`."""


class LakeTableError(LakeprepError):
    """A Delta table could not be read or written as asked (no such version, commit conflict)."""

    exit_code = 4


class AwsError(LakeprepError):
    """An AWS service refused a request (its own error code and message, in one line)."""

    exit_code = 4


class GateFailed(LakeprepError):
    """A quality gate with policy `fail` stopped the job; the target table was not written."""

    exit_code = 5


class RecordError(InputError):
    """A record given to the inference runtime cannot be transformed: it names the record
    (its 0-based index in the batch) and the column; ``lakeprep serve`` answers it with a 400."""

    def __init__(self, message: str, record: int | None = None, column: str | None = None):
        super().__init__(message)
        self.record, self.column = record, column


class UnsupportedAtInference(ConfigError):
    """A saved pipeline holds a stage the Spark-free inference runtime does not implement."""
