"""Typed settings of a spywatcher stack: pydantic models whose defaults are the guide's values."""

from .loader import ConfigError, ConfigProblem, load_settings, validate_settings
from .stack import StackSettings

__all__ = ["ConfigError", "ConfigProblem", "StackSettings", "load_settings", "validate_settings"]
