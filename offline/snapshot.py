"""A render read back: the resources of one stack, keyed by id, for `offline diff`.

A render is the folder `offline render` writes (``summary.yaml`` plus one file per resource), or
the same files still in memory. Either way it becomes a :class:`Snapshot`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUMMARY = "summary.yaml"  # a render's index: the stack, its settings and every resource
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)


class SnapshotError(Exception):
    """The folder is not a render this diff can read."""


@dataclass(frozen=True)
class Resource:
    """One resource of a render (``id`` is ``<type>::<name>``): its options and, for a custom
    resource, its file's content (None for a component)."""

    id: str
    options: dict[str, Any]
    inputs: Any
    type: str = ""
    # Beside the options, for offline.replacement: `reads` (input path -> resource ids it reads) and
    # `deleteBeforeReplaceSet`; absent from renders written before they existed.
    hints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """One stack's render."""

    stack: str
    settings: dict[str, Any]  # stack-level values: kubernetesVersion, outputs
    resources: dict[str, Resource]


Side = Snapshot | None | str
"""One side of a stack's diff: its snapshot, None when the stack does not exist there (nothing to
compare with: every resource is new or gone), or why it could not be rendered."""


def snapshot_from_files(files: Mapping[str, str]) -> Snapshot:
    """A snapshot from a render's files (path relative to the stack folder -> text)."""
    try:
        summary = _load(files[SUMMARY])
        resources = {}
        for entry in summary["resources"]:
            file = entry.get("file")
            inputs = _load(files[file]) if file else None
            hints = {k: entry[k] for k in ("reads", "deleteBeforeReplaceSet") if k in entry}
            resources[entry["id"]] = Resource(entry["id"], dict(entry.get("options") or {}), inputs,
                                              str(entry.get("type") or ""), hints)
        settings = {k: v for k, v in summary.items() if k not in ("stack", "resources")}
        return Snapshot(str(summary["stack"]), settings, resources)
    except (KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise SnapshotError(f"malformed render ({type(exc).__name__}: {exc})") from None


def load_snapshot(folder: Path) -> Snapshot:
    """The snapshot of a render folder (``<out>/<stack>``)."""
    if not (folder / SUMMARY).is_file():
        raise SnapshotError(f"{folder} is not a render: no {SUMMARY}")
    files = {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
        for path in folder.rglob("*.yaml")
    }
    return snapshot_from_files(files)


def load_renders(folder: Path) -> dict[str, Snapshot]:
    """Every stack's snapshot under ``folder``: the folder itself when it is one stack's render,
    else each sub-folder that is one (e.g. ``build/render``)."""
    if (folder / SUMMARY).is_file():
        found = load_snapshot(folder)
        return {found.stack: found}
    renders = {}
    for sub in sorted(p for p in folder.iterdir() if (p / SUMMARY).is_file()) if folder.is_dir() else []:
        found = load_snapshot(sub)
        renders[found.stack] = found
    if not renders:
        raise SnapshotError(f"{folder} holds no render (no {SUMMARY} in it or its sub-folders)")
    return renders
