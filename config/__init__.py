"""Typed settings of a spywatcher stack: pydantic models whose defaults are the guide's values.

The loader (which needs the Pulumi SDK) is imported on first use, so that pure helpers such as
``config.base.parse_quantity`` stay cheap to import for the offline tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loader import ConfigError, ConfigProblem, load_settings, validate_settings
    from .stack import StackSettings

__all__ = ["ConfigError", "ConfigProblem", "StackSettings", "load_settings", "validate_settings"]


def __getattr__(name: str) -> Any:
    if name == "StackSettings":
        from .stack import StackSettings

        return StackSettings
    if name in __all__:
        from . import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'config' has no attribute {name!r}")
