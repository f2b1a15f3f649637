"""Errors of the quality package."""

from lakeprep.errors import ConfigError, InputError, SuiteConfigError

__all__ = ["DriftConfigError", "QualityInputError", "SuiteConfigError"]


class DriftConfigError(ConfigError):
    """A drift baseline or threshold is invalid, or names features the batch does not have."""


class QualityInputError(InputError):
    """A DataFrame given to a quality function cannot be checked as asked (e.g. empty baseline)."""
