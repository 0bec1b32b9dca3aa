"""What Helm does with a release's values, for tests of charts we do not render ourselves.

The chart defaults come from ``shared/upstream/charts`` beside the repository (real upstream files,
see its SOURCES.md); they are read from there, never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# SPYWATCHER_UPSTREAM, else `shared/upstream` beside the clone (CI, /work/main), else the one of
# the machine's shared folder (a worktree under /work/wt).
CANDIDATES = [
    *([Path(os.environ["SPYWATCHER_UPSTREAM"])] if os.environ.get("SPYWATCHER_UPSTREAM") else []),
    ROOT.parent / "shared" / "upstream",
    Path("/work/shared/upstream"),
]
# The first that exists (the last candidate when none does: tests that read it then skip or fail).
UPSTREAM = next((c for c in CANDIDATES if c.is_dir()), CANDIDATES[-1])


def chart_values(chart: str, version: str) -> dict[str, Any]:
    """The chart's own values.yaml. Skips when no upstream copy is on this machine, except under
    CI=true, where shared/ is always laid beside the clone."""
    name = f"{chart}-{version}-values.yaml"
    for folder in CANDIDATES:
        path = folder / "charts" / name
        if path.is_file():
            return dict(yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    message = f"no upstream chart values {name} in {', '.join(map(str, CANDIDATES))} (see SOURCES.md)"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message)
    pytest.skip(message)


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
