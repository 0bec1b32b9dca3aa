"""Kubernetes quantities as the HPA controller reads them."""

from __future__ import annotations

import math

from config.base import parse_quantity

__all__ = ["milli_value", "parse_quantity"]


def milli_value(text: str | int | float) -> int:
    """``resource.Quantity.MilliValue()``: the value in thousandths, rounded up, as the controller uses it."""
    return math.ceil(parse_quantity(text) * 1000)
