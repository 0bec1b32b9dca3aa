"""The diff model: what differs between two renders of a stack, and what `pulumi up` does about it.

:class:`Change` is one field (path, old, new; :data:`MISSING` on the side where it does not
exist), :class:`ResourceChange` a resource created, updated, replaced or deleted with its field
changes, what forces a replacement and in which order, the steps `pulumi up` refuses, a pod
template's rollout in words, and reviewer notes; :class:`StackDiff` one stack's result.
:func:`diff_snapshots` compares two :class:`~offline.snapshot.Snapshot` objects, with the
providers' and the engine's rules of :mod:`offline.replacement`; :func:`exit_code` turns results
into the command's exit code. `offline diff` (which finds the two sides) and `offline report`
(which prints the result) both build on this module, which imports neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from .replacement import Refusal, Step, analyse, deletion_refusals, node_of, nodes
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

Op = Literal["create", "update", "replace", "delete"]
OPS: tuple[Op, ...] = ("create", "update", "replace", "delete")
OPTIONS = "(options)"


@dataclass(frozen=True)
class ResourceChange:
    """A resource created, updated, replaced or deleted: its field changes, why it is replaced
    (``causes``) and in which order (``order``), what `pulumi up` refuses, the rollout its pod
    template starts (in words), and reviewer notes."""

    op: Op
    resource: Resource
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    order: str = ""
    refusals: tuple[Refusal, ...] = ()
    rollout: str = ""
    delete_first: bool = False


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

    @property
    def refused(self) -> list[tuple[ResourceChange, Refusal]]:
        """Every step `pulumi up` would refuse, with its resource."""
        return [(r, refusal) for r in self.resources for refusal in r.refusals]

    @property
    def rollouts(self) -> list[ResourceChange]:
        """The workloads whose pod template changes (a rollout, or a Job run again)."""
        return [r for r in self.resources if r.rollout]


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


def _deleted(resource: Resource, steps: bool) -> ResourceChange:
    refusals = tuple(deletion_refusals(node_of(resource))) if steps else ()
    notes = (ROLLOUT_DELETED,) if _kind(resource) == "Rollout" else ()
    return ResourceChange("delete", resource, (), notes, refusals=refusals)


def _updated(old: Resource, new: Resource, step: Step | None,
             rollouts: Mapping[tuple[str, str], str]) -> ResourceChange | None:
    changes = diff_values(old.options, new.options, OPTIONS) + diff_values(old.inputs, new.inputs)
    if not changes and step is None:
        return None
    notes = []
    if f"{OPTIONS}.parent" in {c.path for c in changes}:
        notes.append("parent changed: the URN changes, so Pulumi replaces the resource unless it has an alias")
    if _kind(new) == "Rollout" and any(c.path.startswith("spec.strategy") for c in changes):
        notes.append(ROLLOUT_STRATEGY)
    if step is not None:
        forcing = {c.path for c in step.causes}
        notes += [f"{path} reads {source}, which is replaced: its new value is known once that exists"
                  for path, source in step.unknown if path not in forcing]
    op: Op = "replace" if step is not None and step.replaced else "update"
    change = ResourceChange(op, new, tuple(changes), tuple(notes))
    if step is None:
        return replace(change, rollout=describe_rollout(change, old, rollouts))
    return replace(change, causes=tuple(str(c) for c in step.causes), order=step.order, refusals=step.refusals,
                   delete_first=step.delete_first, rollout=describe_rollout(change, old, rollouts))


def diff_snapshots(label: str, old: Snapshot | None, new: Snapshot | None, steps: bool = True) -> StackDiff:
    """The diff of two renders of a stack (None: the stack does not exist on that side). With
    ``steps``, what `pulumi up` does to each resource (replacements, refusals) comes from
    offline.replacement; two different stacks are compared without (they share no resources)."""
    before = old.resources if old else {}
    after = new.resources if new else {}
    found = analyse(nodes(old), nodes(new)) if old and new and steps else {}
    rollouts = workload_refs(new)
    changes: list[ResourceChange] = []
    unchanged = 0
    for rid in sorted(set(before) | set(after)):
        if rid not in before:
            changes.append(_created(after[rid]))
        elif rid not in after:
            changes.append(_deleted(before[rid], steps))
        elif (updated := _updated(before[rid], after[rid], found.get(rid), rollouts)) is not None:
            changes.append(updated)
        else:
            unchanged += 1
    settings = diff_values(old.settings if old else {}, new.settings if new else {})
    return StackDiff(label, tuple(changes), tuple(settings), unchanged)


# --- Rollouts, in words --------------------------------------------------------------------------

# Kinds whose pod template (spec.template) starts new pods when it changes.
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
TEMPLATE = "spec.template."
_CONTAINER = re.compile(r"^spec\.template\.spec\.(?:initContainers|containers)\[name=([^\]]+)\]\.(\w+)")
VERSION_LABEL = 'spec.template.metadata.labels["app.kubernetes.io/version"]'


def _image_change(old: str, new: str) -> str:
    before, after = str(old).rsplit(":", 1), str(new).rsplit(":", 1)
    if len(before) == len(after) == 2 and before[0] == after[0]:
        return f"{before[1]} → {after[1]}"
    return f"{old} → {new}"


def rollout_reasons(changes: tuple[Change, ...]) -> list[str]:
    """What a pod template's field changes mean, in words (the config checksum, an image, …)."""
    reasons: list[str] = []

    def add(text: str) -> None:
        if text not in reasons:
            reasons.append(text)

    for change in changes:
        path = change.path
        if not path.startswith(TEMPLATE) or path == VERSION_LABEL:
            continue
        if path == 'spec.template.metadata.annotations["checksum/config"]':
            add("its config changed" if change.old is not MISSING else "its config is now tracked")
        elif (match := _CONTAINER.match(path)) is not None:
            container, field = match.groups()
            if field == "image":
                add(f"image of {container} {_image_change(change.old, change.new)}")
            elif field in ("env", "envFrom"):
                add(f"environment of {container} changed")
            else:
                add(f"{field} of {container} changed")
        elif path.startswith("spec.template.metadata."):
            add("pod labels or annotations changed")
        else:
            rest = path.removeprefix("spec.template.spec.").removeprefix(TEMPLATE)
            add(f"{re.split(r'[.[]', rest)[0]} changed")
    return reasons


HELM_RELEASE = "kubernetes:helm.sh/v3:Release::"


def release_rollout(change: ResourceChange) -> str:
    """A Helm release whose values change what its pods run: a config checksum in the pods'
    annotations, or an image. Other values may roll pods too: `helm template` (the chart-templates
    job) shows which."""
    reasons = []
    for c in change.changes:
        if not c.path.startswith("values."):
            continue
        if c.path.endswith('podAnnotations["checksum/config"]'):
            reasons.append(f"{c.path[len('values.'):].split('.')[0]} pods: their config changed")
        elif re.search(r"\.image(\.|$)", c.path):
            reasons.append(f"{c.path[len('values.'):]}: {c.old} → {c.new}")
    if not reasons:
        return ""
    inputs = change.resource.inputs
    return f"Helm release {inputs.get('namespace')}/{inputs.get('name')} rolls out: {'; '.join(dict.fromkeys(reasons))}"


def workload_refs(snapshot: Snapshot | None) -> dict[tuple[str, str], str]:
    """(namespace, Deployment) -> the Argo Rollout that runs its pod template (`spec.workloadRef`)."""
    found = {}
    for resource in (snapshot.resources.values() if snapshot else ()):
        inputs = resource.inputs
        if _kind(resource) != "Rollout" or not isinstance(inputs, dict):
            continue
        ref = (inputs.get("spec") or {}).get("workloadRef") or {}
        meta = inputs.get("metadata") or {}
        if ref.get("kind") == "Deployment":
            found[(str(meta.get("namespace", "")), str(ref.get("name")))] = str(meta.get("name"))
    return found


def describe_rollout(change: ResourceChange, old: Resource,
                     rollouts: Mapping[tuple[str, str], str] | None = None) -> str:
    """A workload whose pod template changes, named with what starts its new pods; else ''. A
    Deployment an Argo Rollout reads (``rollouts``) rolls out through that Rollout's canary steps."""
    inputs = change.resource.inputs
    if change.resource.id.startswith(HELM_RELEASE) and isinstance(inputs, dict):
        return release_rollout(change)
    kind = inputs.get("kind") if isinstance(inputs, dict) else None
    if kind not in WORKLOADS or not change.resource.id.startswith("kubernetes:"):
        return ""
    reasons = rollout_reasons(change.changes)
    if not reasons:
        return ""
    meta = inputs.get("metadata") or {}
    name = f"{kind} {meta.get('namespace', '')}/{meta.get('name', '')}"
    key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
    rollout = (rollouts or {}).get(key) if kind == "Deployment" else None
    if rollout is not None:
        return (f"{name} changes its pods, and Rollout {meta.get('namespace', '')}/{rollout} rolls them out through "
                f"its canary steps: {'; '.join(reasons)}")
    if kind != "Job":
        return f"{name} rolls out: {'; '.join(reasons)}"
    old_name = ((old.inputs or {}).get("metadata") or {}).get("name")
    instead = f" (in place of {old_name})" if old_name and old_name != meta.get("name") else ""
    return f"{name} runs again{instead}: {'; '.join(reasons)}"


def compare(label: str, old: Side, new: Side, old_is_base: bool = True) -> StackDiff:
    """The diff of two sides; a side that could not be rendered makes the stack unavailable (the
    base) or an error (the side under review, or either side when comparing two stacks)."""
    if isinstance(new, str):
        return StackDiff(label, status="error", message=new)
    if isinstance(old, str):
        return StackDiff(label, status="unavailable" if old_is_base else "error", message=old)
    return diff_snapshots(label, old, new, steps=old_is_base)


EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED = 0, 1, 2, 3


def exit_code(diffs: list[StackDiff]) -> int:
    """0 no changes, 1 an error, 2 changes (or a stack that could not be compared), 3 changes of
    which `pulumi up` would refuse at least one step."""
    if any(d.status == "error" for d in diffs):
        return EXIT_ERROR
    if any(d.refused for d in diffs):
        return EXIT_REFUSED
    return EXIT_CHANGES if any(d.has_changes or d.status == "unavailable" for d in diffs) else EXIT_NO_CHANGES
