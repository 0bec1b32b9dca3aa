"""The diff reports' formatting edges, compared with the exact output: a value at the width limit
and one past it, backticks inside a Markdown code block, list items addressed by their port, and
the notes. Every expected string is written out by hand from offline/report.py's documented format
(`+`/`-`/`~`, five spaces, the path, JSON values, `…` at 240 characters)."""

from __future__ import annotations

from typing import Any

import pytest

from offline.changes import MISSING, Change, diff_snapshots, diff_values, leaves
from offline.report import body, change_line, markdown, show, text
from offline.snapshot import Resource, Snapshot

OPTIONS = {"parent": "stack", "provider": "", "protect": False, "dependsOn": [], "customTimeouts": {},
           "deleteBeforeReplace": False, "ignoreChanges": [], "retainOnDelete": False}
CONFIG_MAP = "kubernetes:core/v1:ConfigMap::cfg"


def snap(inputs: Any, **options: Any) -> Snapshot:
    return Snapshot("s", {}, {CONFIG_MAP: Resource(CONFIG_MAP, {**OPTIONS, **options}, inputs)})


def test_a_value_of_exactly_240_characters_is_shown_whole() -> None:
    assert show("x" * 238) == '"' + "x" * 238 + '"'  # 240 characters with its quotes


def test_a_longer_value_is_cut_to_240_characters_ending_in_an_ellipsis() -> None:
    shown = show("x" * 239)  # 241 characters as JSON
    assert shown == '"' + "x" * 238 + "…"
    assert len(shown) == 240


def test_values_are_json_with_sorted_keys_and_unicode_kept() -> None:
    assert show({"b": 1, "a": [True, None]}) == '{"a": [true, null], "b": 1}'
    assert show("café → ok") == '"café → ok"'


def test_items_with_a_unique_port_are_addressed_by_it() -> None:
    old = {"ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}]}
    new = {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 8443, "protocol": "TCP"}]}
    assert diff_values(old, new) == [
        Change("ports[port=8443]", MISSING, {"port": 8443, "protocol": "TCP"}),
        Change("ports[port=80]", {"port": 80, "protocol": "TCP"}, MISSING),
    ]
    assert list(leaves(new)) == [("ports[port=443].port", 443), ("ports[port=443].protocol", "TCP"),
                                 ("ports[port=8443].port", 8443), ("ports[port=8443].protocol", "TCP")]


def test_the_first_unique_key_wins_in_the_documented_order() -> None:
    """name, key, topologyKey, type, port: `type` repeats here, so `port` addresses the items."""
    old = [{"type": "A", "port": 1, "v": 1}, {"type": "A", "port": 2, "v": 1}]
    new = [{"type": "A", "port": 1, "v": 1}, {"type": "A", "port": 2, "v": 2}]
    assert diff_values({"l": old}, {"l": new}) == [Change("l[port=2].v", 1, 2)]
    named = [{"name": "n", "type": "T", "port": 1}]
    assert diff_values({"l": named}, {"l": [{**named[0], "port": 2}]}) == [Change("l[name=n].port", 1, 2)]


def test_the_text_report_of_every_kind_of_change() -> None:
    old = snap({"data": {"keep": "1", "gone": "x", "long": "a"}}, protect=True)
    new = snap({"data": {"keep": "1", "new": "y", "long": "b" * 239}}, parent="other::p")
    deleted = diff_snapshots("gone", snap({"data": {}}, protect=True), None)
    assert text("base → head", [diff_snapshots("staging", old, new), deleted]) == "\n".join([
        "Offline plan diff: base → head",
        "",
        "stack staging: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged",
        f"~ {CONFIG_MAP}",
        "!     parent changed: the URN changes, so Pulumi replaces the resource unless it has an alias",
        '~     (options).parent: "stack" → "other::p"',
        "~     (options).protect: true → false",
        '-     data.gone: "x"',
        '~     data.long: "a" → "' + "b" * 238 + "…",
        '+     data.new: "y"',
        "",
        "stack gone: 0 to create, 0 to update, 0 to replace, 1 to delete, 0 unchanged; 1 step refused",
        "refused: `pulumi up` stops at these steps; do what each says first",
        f"!! - {CONFIG_MAP}: it is protected (`protect`): `pulumi up` refuses to delete it",
        "!!     what to do: turn protect off in a change of its own first "
        "(docs/traffic.md#replacing-the-load-balancer-or-target-group)",
        "changes:",
        f"- {CONFIG_MAP}",
        "",
    ])


def test_a_renamed_object_is_a_replacement_created_first() -> None:
    old = snap({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}})
    new = snap({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "n"}})
    diff = diff_snapshots("s", old, new)
    [change] = diff.resources
    assert (change.op, change.causes, change.delete_first) == (
        "replace", ("`metadata.name` forces it (pulumi-kubernetes: identity)",), False)
    assert body(diff) == [
        f"+- {CONFIG_MAP}",
        "!     replaced: `metadata.name` forces it (pulumi-kubernetes: identity)",
        "!     create-before-delete: the new object has another name or namespace, so it is created first",
        '~     metadata.name: "a" → "b"',
    ]


def test_a_replacement_deleted_first_says_what_is_missing_meanwhile() -> None:
    old = snap({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"K": "1"}})
    new = snap({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"K": "2"}})
    assert body(diff_snapshots("s", old, new)) == [
        f"+- {CONFIG_MAP}",
        "!     replaced: `data.K` forces it (pulumi-kubernetes: enableConfigMapMutable is off)",
        "!     delete-before-replace: pulumi-kubernetes deletes a named object first: the new one has the same "
        "name; meanwhile a pod that starts in between fails (CreateContainerConfigError) until the new one exists",
        '~     data.K: "1" → "2"',
    ]


def section(report: str) -> str:
    """The one stack's <details> section of a Markdown report."""
    return "<details>" + report.split("<details>")[1].split("</details>")[0] + "</details>"


def test_markdown_fence_is_three_backticks_without_backticks_in_the_lines() -> None:
    diff = diff_snapshots("staging", snap({"data": {"v": "a"}}), snap({"data": {"v": "b"}}))
    assert section(markdown("t", [diff])) == "\n".join([
        "<details><summary><code>staging</code>: "
        "0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged</summary>",
        "",
        "```diff",
        f"~ {CONFIG_MAP}",
        '~     data.v: "a" → "b"',
        "```",
        "",
        "</details>",
    ])


def test_markdown_fence_is_longer_than_the_longest_run_of_backticks() -> None:
    diff = diff_snapshots("staging", snap({"data": {"v": "a"}}), snap({"data": {"v": "x ```` y ``"}}))
    assert section(markdown("t", [diff])) == "\n".join([
        "<details><summary><code>staging</code>: "
        "0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged</summary>",
        "",
        "`````diff",
        f"~ {CONFIG_MAP}",
        '~     data.v: "a" → "x ```` y ``"',
        "`````",
        "",
        "</details>",
    ])


def test_markdown_a_run_of_two_backticks_keeps_the_fence_at_three() -> None:
    diff = diff_snapshots("staging", snap({"data": {"v": "a"}}), snap({"data": {"v": "``"}}))
    assert section(markdown("t", [diff])).splitlines()[2:6] == [
        "```diff", f"~ {CONFIG_MAP}", '~     data.v: "a" → "``"', "```"]


def test_markdown_escapes_html_in_labels_and_title() -> None:
    diff = diff_snapshots("a<b>", snap({"data": {}}), snap({"data": {}}))
    report = markdown("x & <y>", [diff])
    assert report.splitlines()[3] == "<code>x &amp; &lt;y&gt;</code>"
    assert report.splitlines()[7] == "| <code>a&lt;b&gt;</code> | no changes | 0 | 0 | 0 | 0 | 1 | 0 |"
    assert section(report).splitlines()[:4] == [
        "<details><summary><code>a&lt;b&gt;</code>: no changes (1 resources)</summary>", "", "```text",
        "No changes."]


def test_rollouts_are_named_in_words_and_a_deployment_an_argo_rollout_reads_rolls_out_through_it() -> None:
    def deployment(image: str, checksum: str) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"},
                "spec": {"template": {"metadata": {"annotations": {"checksum/config": checksum}},
                                      "spec": {"containers": [{"name": "web", "image": image}]}}}}

    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web-canary",
                                                                                      "namespace": "app"},
               "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}}
    dep, roll = "kubernetes:apps/v1:Deployment::web", "kubernetes:argoproj.io/v1alpha1:Rollout::canary"

    def side(image: str, checksum: str, argo: bool) -> Snapshot:
        resources = {dep: Resource(dep, OPTIONS, deployment(image, checksum))}
        if argo:
            resources[roll] = Resource(roll, OPTIONS, rollout)
        return Snapshot("s", {}, resources)

    plain = diff_snapshots("s", side("ghcr.io/x/web:v1", "a" * 64, False), side("ghcr.io/x/web:v2", "b" * 64, False))
    assert plain.rollouts[0].rollout == (
        "Deployment app/web rolls out: its config changed; image of web v1 → v2")
    argo = diff_snapshots("s", side("ghcr.io/x/web:v1", "a" * 64, True), side("ghcr.io/x/web:v1", "b" * 64, True))
    assert argo.rollouts[0].rollout == (
        "Deployment app/web changes its pods, and Rollout app/web-canary rolls them out through its canary steps: "
        "its config changed")


@pytest.mark.parametrize(("rid", "kind"), [
    ("kubernetes:apps/v1:ReplicaSet::web", "ReplicaSet"),  # a pod template, but not a workload the diff rolls out
    ("kubernetes:argoproj.io/v1alpha1:Rollout::web", "Rollout"),
    ("spywatcher:index:Workload::web", "Deployment"),  # a component's inputs are not a Kubernetes object
])
def test_only_a_kubernetes_workload_whose_pod_template_changes_rolls_out(rid: str, kind: str) -> None:
    def side(image: str) -> Snapshot:
        inputs = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web", "namespace": "app"},
                  "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}
        return Snapshot("s", {}, {rid: Resource(rid, OPTIONS, inputs)})

    diff = diff_snapshots("s", side("ghcr.io/x/web:v1"), side("ghcr.io/x/web:v2"))
    assert [(c.op, c.resource.id) for c in diff.resources] == [("update", rid)]
    assert diff.rollouts == [] and diff.resources[0].rollout == ""


def test_a_config_checksum_is_said_in_words_not_as_its_hash() -> None:
    annotations = 'spec.template.metadata.annotations["checksum/config"]'
    helm = 'values.controller.podAnnotations["checksum/config"]'
    assert change_line(Change(annotations, "a" * 64, "b" * 64)) == (
        f"~     {annotations}: changed: the config its pods read changed, so they roll out")
    assert change_line(Change(helm, "a" * 64, "b" * 64)) == (
        f"~     {helm}: changed: the config its pods read changed, so they roll out")
    assert change_line(Change(annotations, MISSING, "b" * 64)) == (
        f"+     {annotations}: (a hash of the config its pods read)")
    assert change_line(Change(annotations, "a" * 64, MISSING)) == (
        f"-     {annotations}: (a hash of the config its pods read)")
    other = 'spec.template.metadata.annotations["checksum/other"]'
    assert change_line(Change(other, "a", "b")) == f'~     {other}: "a" → "b"'
