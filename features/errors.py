"""Errors of the feature library."""

from lakeprep.errors import ConfigError, InputError


class FeatureSpecError(ConfigError):
    """The feature spec names an unknown operation, parameter or column."""


class FeatureInputError(InputError):
    """A stage was given columns it cannot work on (missing, wrong type)."""
