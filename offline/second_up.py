"""A second `pulumi up` with no change in between, offline: what it would change (nothing, or a
perpetual diff).

pulumi-kubernetes with server-side apply diffs the live object — what the API server stored —
pruned to the shape of the inputs, with the inputs sent again. The API server stores some values in
its own form (offline.apiserver.stored: canonical quantities, a Secret's `stringData` as `data`,
defaults), so a program that sends another form shows a change on every `up`; on a Job's pod
template that change forces a replacement, and the migration runs every time. This module builds
that second comparison from a render — every Kubernetes object stored, pruned to what was sent,
against what is sent — and runs `offline diff`'s own comparison on it (offline.changes), so
`make check` and `make diff` judge a change the same way. Helm releases and AWS resources are
compared by their providers on the inputs alone: nothing to model for them here.
"""

from __future__ import annotations

from collections.abc import Mapping

from .apiserver import provider_inputs, pruned, stored
from .changes import StackDiff, diff_snapshots
from .report import body
from .snapshot import Resource, Snapshot, snapshot_from_files

HELM_RELEASE = "kubernetes:helm.sh/v3:Release::"


def _is_object(resource: Resource) -> bool:
    inputs = resource.inputs
    return (resource.id.startswith("kubernetes:") and not resource.id.startswith(HELM_RELEASE)
            and isinstance(inputs, dict) and "apiVersion" in inputs and "kind" in inputs)


def second_up(files: Mapping[str, str]) -> StackDiff:
    """What a second `pulumi up` of this render would change: the stored objects, pruned to the
    inputs, against the inputs as the provider compares them."""
    first = snapshot_from_files(files)
    live: dict[str, Resource] = {}
    sent: dict[str, Resource] = {}
    for rid, resource in first.resources.items():
        if _is_object(resource):
            inputs = provider_inputs(resource.inputs)
            live[rid] = Resource(rid, resource.options, pruned(stored(resource.inputs), inputs), resource.type,
                                 resource.hints)
            sent[rid] = Resource(rid, resource.options, inputs, resource.type, resource.hints)
        else:
            live[rid] = sent[rid] = resource
    return diff_snapshots(first.stack, Snapshot(first.stack, first.settings, live),
                          Snapshot(first.stack, first.settings, sent))


def problems(files: Mapping[str, str]) -> list[str]:
    """A second `up`'s changes as problem lines (none when it changes nothing)."""
    diff = second_up(files)
    return [line for line in body(diff) if line.strip()] if diff.has_changes else []
