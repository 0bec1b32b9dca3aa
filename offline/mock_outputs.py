"""What a provider would compute for a resource or an invoke, as the offline mocks answer it.

Only the outputs the program reads are modelled; everything else echoes the inputs.
"""

from __future__ import annotations

from typing import Any


def computed_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {}


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    return {}
