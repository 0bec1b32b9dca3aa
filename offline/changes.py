"""The diff model: what differs between two renders of a stack, and how that is computed.

:class:`Change` is one field (path, old, new; :data:`MISSING` on the side where it does not
exist), :class:`ResourceChange` a resource created, updated or deleted with its field changes and
reviewer notes, :class:`StackDiff` one stack's result. :func:`diff_snapshots` compares two
:class:`~offline.snapshot.Snapshot` objects; :func:`exit_code` turns results into the command's
exit code. `offline diff` (which finds the two sides) and `offline report` (which prints the
result) both build on this module, which imports neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .snapshot import Resource, Side, Snapshot

# --- Field changes -----------------------------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The value on the side of a change where the field does not exist."""

LIST_KEYS = ("name", "key", "topologyKey", "type", "port")
"""Fields that address list items, in order of preference, when unique on both sides."""

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


@dataclass(frozen=True)
class Change:
    """One field that differs: ``old`` is MISSING for an addition, ``new`` for a removal."""

    path: str
    old: Any = MISSING
    new: Any = MISSING

    @property
    def symbol(self) -> str:
        return "+" if self.old is MISSING else "-" if self.new is MISSING else "~"


def join(path: str, key: str) -> str:
    """``path.key``, or ``path["key"]`` when the key is not a plain identifier (labels, annotations)."""
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def list_key(*lists: list[Any]) -> str | None:
    """The field that addresses the items of every list: present in each item, a scalar, unique."""
    items = [item for values in lists for item in values]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in LIST_KEYS:
        if all(_unique_scalar(values, key) for values in lists):
            return key
    return None


def _unique_scalar(values: list[dict[str, Any]], key: str) -> bool:
    found = [item.get(key) for item in values]
    return all(isinstance(v, str | int) and not isinstance(v, bool) for v in found) and len(set(found)) == len(found)


def _same(old: Any, new: Any) -> bool:
    """Equal, telling true from 1 and 1 from "1" (Python's == does not)."""
    return json.dumps(old, sort_keys=True, default=str) == json.dumps(new, sort_keys=True, default=str)


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


def diff_values(old: Any, new: Any, path: str = "") -> list[Change]:
    """Every changed field between two values, addressed by path."""
    if _same(old, new):
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(set(old) | set(new), key=str):
            sub = join(path, str(key))
            changes += diff_values(old.get(key, MISSING), new.get(key, MISSING), sub)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        return _diff_lists(old, new, path)
    return [Change(path, old, new)]


def _diff_lists(old: list[Any], new: list[Any], path: str) -> list[Change]:
    key = list_key(old, new)
    if key is not None:
        before = {item[key]: item for item in old}
        after = {item[key]: item for item in new}
        order = [k for k in after] + [k for k in before if k not in after]
        return [c for k in order for c in diff_values(before.get(k, MISSING), after.get(k, MISSING),
                                                       f"{path}[{key}={k}]")]
    if not any(_is_container(item) for item in [*old, *new]):
        return [Change(path, old, new)]  # a list of plain values reads best whole
    changes = []
    for index in range(max(len(old), len(new))):
        before = old[index] if index < len(old) else MISSING
        after = new[index] if index < len(new) else MISSING
        changes += diff_values(before, after, f"{path}[{index}]")
    return changes


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a value with its path (empty dicts and lists of plain values are leaves)."""
    if isinstance(value, dict) and value:
        for key in sorted(value, key=str):
            yield from leaves(value[key], join(path, str(key)))
    elif isinstance(value, list) and any(_is_container(item) for item in value):
        key = list_key(value)
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{key}={item[key]}]" if key else f"{path}[{index}]")
    else:
        yield path, value


# --- Resource and stack changes ----------------------------------------------------------------

Op = Literal["create", "update", "delete"]
OPTIONS = "(options)"


@dataclass(frozen=True)
class ResourceChange:
    """A resource created, updated or deleted, with its field changes and reviewer notes."""

    op: Op
    resource: Resource
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackDiff:
    """One stack's diff, or why there is none (``status`` unavailable: the base could not be
    rendered; error: the new side could not be rendered)."""

    label: str
    resources: tuple[ResourceChange, ...] = ()
    settings: tuple[Change, ...] = ()
    unchanged: int = 0
    status: Literal["compared", "unavailable", "error"] = "compared"
    message: str = ""

    def count(self, op: Op) -> int:
        return sum(1 for r in self.resources if r.op == op)

    @property
    def has_changes(self) -> bool:
        return bool(self.resources or self.settings)


def _created(resource: Resource) -> ResourceChange:
    shown = {k: v for k, v in resource.options.items() if v}
    changes = [Change(path, MISSING, v) for path, v in leaves(shown, OPTIONS)] if shown else []
    if resource.inputs is not None:
        changes += [Change(path, MISSING, v) for path, v in leaves(resource.inputs)]
    return ResourceChange("create", resource, tuple(changes))


def _kind(resource: Resource) -> Any:
    return resource.inputs.get("kind") if isinstance(resource.inputs, dict) else None


# Argo Rollouts (argoproj/argo-rollouts v1.9.1): a deleted Rollout takes its ReplicaSets and pods with
# it, while the Deployment it ran stays at the 0 replicas the controller set; a changed strategy resets
# a rollout in progress to its first step (rollout/canary.go, the step hash).
ROLLOUT_DELETED = ("Rollout deleted: its pods go with it and the Deployment it ran is at 0 replicas (an HPA does "
                   "not scale it up from 0): scale the Deployment up first, docs/progressive-delivery.md"
                   "#turning-rollouts-off")
ROLLOUT_STRATEGY = ("Rollout strategy changed: the next rollout uses it; a canary in progress starts its steps "
                    "again")


def _deleted(resource: Resource) -> ResourceChange:
    notes = ("protected: `pulumi up` refuses to delete it until protect is turned off",) \
        if resource.options.get("protect") else ()
    if _kind(resource) == "Rollout":
        notes = (*notes, ROLLOUT_DELETED)
    return ResourceChange("delete", resource, (), notes)


def _updated(old: Resource, new: Resource) -> ResourceChange | None:
    changes = diff_values(old.options, new.options, OPTIONS) + diff_values(old.inputs, new.inputs)
    if not changes:
        return None
    paths = {c.path for c in changes}
    notes = []
    if f"{OPTIONS}.parent" in paths:
        notes.append("parent changed: the URN changes, so Pulumi replaces the resource unless it has an alias")
    if paths & {"metadata.name", "metadata.namespace"}:
        notes.append("name or namespace changed: Kubernetes sees a new object, Pulumi replaces it")
    if _kind(new) == "Rollout" and any(p.startswith("spec.strategy") for p in paths):
        notes.append(ROLLOUT_STRATEGY)
    return ResourceChange("update", new, tuple(changes), tuple(notes))


def diff_snapshots(label: str, old: Snapshot | None, new: Snapshot | None) -> StackDiff:
    """The diff of two renders of a stack (None: the stack does not exist on that side)."""
    before = old.resources if old else {}
    after = new.resources if new else {}
    changes: list[ResourceChange] = []
    unchanged = 0
    for rid in sorted(set(before) | set(after)):
        if rid not in before:
            changes.append(_created(after[rid]))
        elif rid not in after:
            changes.append(_deleted(before[rid]))
        elif (updated := _updated(before[rid], after[rid])) is not None:
            changes.append(updated)
        else:
            unchanged += 1
    settings = diff_values(old.settings if old else {}, new.settings if new else {})
    return StackDiff(label, tuple(changes), tuple(settings), unchanged)


def compare(label: str, old: Side, new: Side, old_is_base: bool = True) -> StackDiff:
    """The diff of two sides; a side that could not be rendered makes the stack unavailable (the
    base) or an error (the side under review, or either side when comparing two stacks)."""
    if isinstance(new, str):
        return StackDiff(label, status="error", message=new)
    if isinstance(old, str):
        return StackDiff(label, status="unavailable" if old_is_base else "error", message=old)
    return diff_snapshots(label, old, new)


def exit_code(diffs: list[StackDiff]) -> int:
    """0 no changes, 1 an error, 2 changes (or a stack that could not be compared)."""
    if any(d.status == "error" for d in diffs):
        return 1
    return 2 if any(d.has_changes or d.status == "unavailable" for d in diffs) else 0
