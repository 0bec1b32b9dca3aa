"""offline.changes where a mutation sample found it unpinned: how a key is addressed (a `-` keeps
it a plain identifier; true/false never address list items), which options a create shows, and the
rollout in words for each kind of pod template change, a Helm release's image, a Job renamed or
not, a Rollout's strategy; and the exit code of a stack that could not be compared."""

from __future__ import annotations

from typing import Any

from offline.changes import (
    EXIT_CHANGES,
    EXIT_ERROR,
    MISSING,
    ROLLOUT_STRATEGY,
    Change,
    ResourceChange,
    compare,
    describe_rollout,
    diff_snapshots,
    diff_values,
    exit_code,
    rollout_reasons,
    workload_refs,
)
from offline.snapshot import Resource, Snapshot

TEMPLATE = "spec.template."


def test_a_key_with_a_dash_is_a_plain_path_step_and_one_with_a_dot_or_slash_is_quoted() -> None:
    assert diff_values({"a": {"max-age": 1}}, {"a": {"max-age": 2}}) == [Change("a.max-age", 1, 2)]
    assert diff_values({"a": {"app.kubernetes.io/name": "x"}}, {"a": {"app.kubernetes.io/name": "y"}}) == [
        Change('a["app.kubernetes.io/name"]', "x", "y")]


def test_true_and_false_do_not_address_list_items() -> None:
    old = [{"name": True, "v": 1}, {"name": False, "v": 1}]
    new = [{"name": True, "v": 1}, {"name": False, "v": 2}]
    assert diff_values({"l": old}, {"l": new}) == [Change("l[1].v", 1, 2)]


def test_a_create_shows_only_the_options_that_are_set() -> None:
    resource = Resource("kubernetes:core/v1:ConfigMap::c", {"parent": "p", "protect": False, "dependsOn": [],
                                                            "deleteBeforeReplace": True}, {"data": {"k": "v"}})
    diff = diff_snapshots("s", Snapshot("s", {}, {}), Snapshot("s", {}, {resource.id: resource}))
    assert [(c.path, c.new) for c in diff.resources[0].changes] == [
        ("(options).deleteBeforeReplace", True), ("(options).parent", "p"), ("data.k", "v")]


def test_each_kind_of_pod_template_change_in_words() -> None:
    changes = (
        Change(TEMPLATE + 'metadata.annotations["checksum/config"]', MISSING, "a" * 64),
        Change(TEMPLATE + 'metadata.labels["app.kubernetes.io/version"]', "1", "2"),  # follows the image
        Change(TEMPLATE + "spec.containers[name=web].envFrom", [], [{"secretRef": {"name": "s"}}]),
        Change(TEMPLATE + "spec.containers[name=web].image", "ghcr.io/a/web:v1", "docker.io/b/web:v2"),
        Change(TEMPLATE + "spec.initContainers[name=migrate].image", "ghcr.io/a/m:v1", "ghcr.io/a/m:v2"),
        Change(TEMPLATE + "spec.containers[name=web].resources.limits.cpu", "1", "2"),
        Change(TEMPLATE + 'metadata.labels["team"]', "a", "b"),
        Change(TEMPLATE + "spec.terminationGracePeriodSeconds", 30, 60),
        Change("spec.replicas", 2, 3),  # not the pod template
    )
    assert rollout_reasons(changes) == [
        "its config is now tracked",
        "environment of web changed",
        "image of web ghcr.io/a/web:v1 → docker.io/b/web:v2",
        "image of migrate v1 → v2",
        "resources of web changed",
        "pod labels or annotations changed",
        "terminationGracePeriodSeconds changed",
    ]
    assert rollout_reasons((Change(TEMPLATE + 'metadata.annotations["checksum/config"]', "a", "b"),)) == [
        "its config changed"]


def workload(kind: str, name: str, old_name: str | None = None, changes: tuple[Change, ...] = ()
             ) -> tuple[ResourceChange, Resource]:
    rid = f"kubernetes:apps/v1:{kind}::{name}"
    new = Resource(rid, {}, {"kind": kind, "metadata": {"name": name, "namespace": "app"}})
    old = Resource(rid, {}, {"kind": kind, "metadata": {"name": old_name or name, "namespace": "app"}})
    return ResourceChange("update", new, changes or (Change(TEMPLATE + "spec.containers[name=c].image", "x:1",
                                                             "x:2"),)), old


def test_a_job_runs_again_and_says_which_job_it_replaces_only_when_renamed() -> None:
    assert describe_rollout(*workload("Job", "migrate-v2", "migrate-v1")) == (
        "Job app/migrate-v2 runs again (in place of migrate-v1): image of c 1 → 2")
    assert describe_rollout(*workload("Job", "migrate")) == "Job app/migrate runs again: image of c 1 → 2"


def test_only_a_deployment_rolls_out_through_the_rollout_that_reads_it() -> None:
    rollouts = {("app", "web"): "web-canary"}
    assert describe_rollout(*workload("StatefulSet", "web"), rollouts) == (
        "StatefulSet app/web rolls out: image of c 1 → 2")
    assert describe_rollout(*workload("Deployment", "web"), rollouts) == (
        "Deployment app/web changes its pods, and Rollout app/web-canary rolls them out through its canary steps: "
        "image of c 1 → 2")


def rollout(ref: dict[str, Any], strategy: dict[str, Any] | None = None) -> Resource:
    rid = "kubernetes:argoproj.io/v1alpha1:Rollout::r"
    return Resource(rid, {}, {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                              "metadata": {"name": "r", "namespace": "app"},
                              "spec": {"workloadRef": ref, "strategy": strategy or {}}})


def test_a_rollout_reads_only_a_deployment_it_names() -> None:
    def refs(ref: dict[str, Any]) -> dict[tuple[str, str], str]:
        r = rollout(ref)
        return workload_refs(Snapshot("s", {}, {r.id: r}))

    assert refs({"kind": "Deployment", "name": "web"}) == {("app", "web"): "r"}
    assert refs({"kind": "ReplicaSet", "name": "web"}) == {}


def test_any_strategy_change_of_a_rollout_is_noted() -> None:
    old, new = rollout({}, {"blueGreen": {"activeService": "a"}}), rollout({}, {"blueGreen": {"activeService": "b"}})
    diff = diff_snapshots("s", Snapshot("s", {}, {old.id: old}), Snapshot("s", {}, {new.id: new}))
    assert diff.resources[0].notes == (ROLLOUT_STRATEGY,)


def test_a_helm_releases_image_values_roll_its_pods() -> None:
    rid = "kubernetes:helm.sh/v3:Release::ingress"
    change = ResourceChange("update", Resource(rid, {}, {"name": "ingress-nginx", "namespace": "ingress"}), (
        Change("values.controller.image.tag", "v1.12.0", "v1.13.0"),
        Change("values.controller.imagePullPolicy", "IfNotPresent", "Always"),  # not an image
        Change("values.controller.image", "a", "b"),
    ))
    assert describe_rollout(change, change.resource) == (
        "Helm release ingress/ingress-nginx rolls out: controller.image.tag: v1.12.0 → v1.13.0; "
        "controller.image: a → b")


def test_a_base_that_cannot_be_rendered_is_not_compared_and_still_exits_with_changes() -> None:
    side = Snapshot("s", {}, {})
    unavailable = compare("s", "the base failed", side)
    assert unavailable.status == "unavailable" and exit_code([unavailable]) == EXIT_CHANGES
    between_stacks = compare("s", "the other stack failed", side, old_is_base=False)
    assert between_stacks.status == "error" and exit_code([between_stacks]) == EXIT_ERROR
