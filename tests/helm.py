"""What Helm does with a release's values, for tests of charts we do not render ourselves.

The chart defaults come from ``/work/shared/upstream/charts`` (real upstream files, see its
SOURCES.md); they are read from there, never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

UPSTREAM = Path(os.environ.get("SPYWATCHER_UPSTREAM", "/work/shared/upstream"))


def chart_values(chart: str, version: str) -> dict[str, Any]:
    """The chart's own values.yaml; the test skips when the upstream copy is not on this machine."""
    path = UPSTREAM / "charts" / f"{chart}-{version}-values.yaml"
    if not path.is_file():
        pytest.skip(f"{path} is not on this machine (upstream chart values, see SOURCES.md)")
    return dict(yaml.safe_load(path.read_text()))


def _merge(base: dict[str, Any], override: dict[str, Any], delete_nulls: bool) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if value is None and delete_nulls:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, delete_nulls)
        else:
            merged[key] = value
    return merged


def user_values(release_inputs: dict[str, Any]) -> dict[str, Any]:
    """The values the Pulumi provider hands Helm: each `valueYamlFiles` document in order, then
    `values` over them, nulls kept (pulumi-kubernetes >= 4.30, pull request #4293)."""
    merged: dict[str, Any] = {}
    for asset in release_inputs.get("valueYamlFiles", []):
        merged = _merge(merged, yaml.safe_load(asset["stringAsset"]) or {}, delete_nulls=False)
    return _merge(merged, release_inputs.get("values", {}), delete_nulls=False)


def coalesce(defaults: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of user values over the chart's: maps merge key by key, a user `null`
    deletes the chart's default ("Deleting a default key" in the Helm docs)."""
    return _merge(defaults, user, delete_nulls=True)
