"""Errors of the quality package."""

from lakeprep.errors import ConfigError, InputError


class SuiteConfigError(ConfigError):
    """A suite declaration names an unknown expectation, bad parameters or a missing column."""


class DriftConfigError(ConfigError):
    """A drift baseline or threshold is invalid, or names features the batch does not have."""


class QualityInputError(InputError):
    """A DataFrame given to a quality function cannot be checked as asked (e.g. empty baseline)."""
