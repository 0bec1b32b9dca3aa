"""How a built object becomes a resource (components/k8s.py), and the order a workload's parts wait
in: the typed pulumi_kubernetes classes by kind, each stated here on its own, and the type tokens
the program really registers."""

from __future__ import annotations

import pytest

from components.k8s import _TYPED, image_version, labels, metadata
from offline.engine import Plan

# The built-in kinds the program registers, each with the pulumi_kubernetes class of its own: the
# typed class carries the kind's aliases and, for the core group, its type token (`core/v1`, where a
# CustomResource of apiVersion `v1` would be `kubernetes:v1:<Kind>`, a type no provider serves).
TYPED_KINDS = {
    ("v1", "Namespace"): ("pulumi_kubernetes.core.v1", "Namespace"),
    ("v1", "ConfigMap"): ("pulumi_kubernetes.core.v1", "ConfigMap"),
    ("v1", "Secret"): ("pulumi_kubernetes.core.v1", "Secret"),
    ("v1", "Service"): ("pulumi_kubernetes.core.v1", "Service"),
    ("v1", "ServiceAccount"): ("pulumi_kubernetes.core.v1", "ServiceAccount"),
    ("v1", "ResourceQuota"): ("pulumi_kubernetes.core.v1", "ResourceQuota"),
    ("v1", "LimitRange"): ("pulumi_kubernetes.core.v1", "LimitRange"),
    ("apps/v1", "Deployment"): ("pulumi_kubernetes.apps.v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("pulumi_kubernetes.autoscaling.v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"): ("pulumi_kubernetes.policy.v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"): ("pulumi_kubernetes.networking.v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("pulumi_kubernetes.networking.v1", "NetworkPolicy"),
    ("batch/v1", "Job"): ("pulumi_kubernetes.batch.v1", "Job"),
    ("batch/v1", "CronJob"): ("pulumi_kubernetes.batch.v1", "CronJob"),
    ("rbac.authorization.k8s.io/v1", "Role"): ("pulumi_kubernetes.rbac.v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("pulumi_kubernetes.rbac.v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("pulumi_kubernetes.rbac.v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("pulumi_kubernetes.rbac.v1", "ClusterRoleBinding"),
}


@pytest.fixture(scope="module")
def all_options(fixture_plans: dict[str, Plan]) -> Plan:
    return fixture_plans["all-options"]


def test_every_built_in_kind_has_its_typed_class() -> None:
    assert _TYPED == TYPED_KINDS


def test_each_object_is_registered_under_its_kinds_type_token(all_options: Plan) -> None:
    """Built-in kinds by their typed class (the core group as `core/v1`), custom resources as
    `kubernetes:<apiVersion>:<kind>`; every built-in kind above is in the plan at least once but
    Secret (the stack names existing ones)."""
    seen = set()
    for r in all_options:
        if not r.is_kubernetes_object:
            continue
        api_version, kind = r.inputs["apiVersion"], r.inputs["kind"]
        group_version = "core/v1" if api_version == "v1" else api_version
        assert r.type == f"kubernetes:{group_version}:{kind}", r.name
        seen.add((api_version, kind))
    assert set(TYPED_KINDS) - seen == {("v1", "Secret")}


@pytest.mark.parametrize("workload", ["backend", "frontend"])
def test_the_hpa_and_the_vpa_wait_for_their_deployment(all_options: Plan, workload: str) -> None:
    """Both name the Deployment as their target: created after it, never pointing at nothing."""
    deployment = all_options.get("kubernetes:apps/v1:Deployment", f"{workload}-deployment").urn
    hpa = all_options.get("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", f"{workload}-hpa")
    vpa = all_options.get("kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler", f"{workload}-vpa")
    assert deployment in hpa.depends_on
    assert deployment in vpa.depends_on


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("ghcr.io/x/backend:v1.2.3", "v1.2.3"),
        ("registry.example.com:5000/backend", None),  # the registry's port is not a tag
        ("registry.example.com:5000/team/backend:v2", "v2"),
        ("ghcr.io/x/backend:v3@sha256:" + "a" * 64, "v3"),
        ("ghcr.io/x/backend@sha256:" + "a" * 64, None),
    ],
)
def test_the_version_label_is_the_images_tag(image: str, version: str | None) -> None:
    assert image_version(image) == version


def test_a_long_tag_is_cut_to_a_label_value() -> None:
    """63 characters at most, then no `.`, `-` or `_` at either end (a tag may end in one)."""
    tag = "v" + "1" * 61 + "-rc"  # 65 characters: the first 63 end in `-`
    assert labels("backend", "i", tag)["app.kubernetes.io/version"] == "v" + "1" * 61
    assert "app.kubernetes.io/version" not in labels("backend", "i", "___")


def test_metadata_leaves_out_empty_extras_only() -> None:
    assert metadata("n", "ns", {"a": "b"}, annotations=None, finalizers=[]) == {
        "name": "n", "namespace": "ns", "labels": {"a": "b"},
    }
    assert metadata("n", None, {}, annotations={"k": "v"}) == {"name": "n", "labels": {}, "annotations": {"k": "v"}}
