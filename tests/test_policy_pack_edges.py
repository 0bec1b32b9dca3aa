"""The policy pack's rules on inputs the shipped stacks never produce, called directly: a field left to
its Kubernetes or chart default, every kind of object with a pod template, an annotation or a value
that is set but says no, an object in another namespace, a chart pulled from an OCI registry. The
expected defaults are stated from the upstream that sets them (named beside each case)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "policy"))
import spywatcher_policies as pack

PRODUCTION = "urn:pulumi:production::spywatcher::kubernetes:helm.sh/v3:Release::x"


def resource_check(validate: Callable[..., None], type_: str, props: dict[str, Any], name: str = "x",
                   urn: str = PRODUCTION) -> list[str]:
    """The messages a resource policy reports for one resource's inputs."""
    found: list[str] = []
    args = SimpleNamespace(resource_type=type_, props=props, name=name, urn=urn, opts=SimpleNamespace(protect=True))
    validate(args, lambda message, urn=None: found.append(message))
    return found


def stack_check(validate: Callable[..., None], resources: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """The messages a stack policy reports for (type, name, outputs) resources."""
    found: list[str] = []
    args = SimpleNamespace(resources=[SimpleNamespace(resource_type=t, name=n, urn=f"urn:{n}", props=p)
                                      for t, n, p in resources])
    validate(args, lambda message, urn=None: found.append(message))
    return found


# --- Deployments -------------------------------------------------------------------------------------


def test_a_strategy_without_a_type_is_a_rolling_update() -> None:
    """apps/v1 defaults DeploymentStrategy.type to RollingUpdate (k8s.io/api apps/v1 types.go)."""
    rolling = {"spec": {"strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}}}
    assert resource_check(pack._rolling_update, pack.DEPLOYMENT, rolling, "web") == []


def test_a_deployment_left_to_the_default_25_percent_is_reported_twice() -> None:
    """No strategy at all: the API server's 25 % unavailable, and no surge the pack can see."""
    assert resource_check(pack._rolling_update, pack.DEPLOYMENT, {"spec": {}}, "web") == [
        "Deployment web must set maxUnavailable: 0, so every pod stays available during a rollout.",
        "Deployment web must set maxSurge of at least 1, or a rollout with maxUnavailable 0 never starts.",
    ]


@pytest.mark.parametrize("annotation", ["false", "yes", ""])
def test_only_the_fixed_replicas_annotation_true_allows_replicas(annotation: str) -> None:
    props = {"metadata": {"annotations": {pack.FIXED_REPLICAS: annotation}}, "spec": {"replicas": 2}}
    assert resource_check(pack._no_replicas_unless_fixed, pack.DEPLOYMENT, props, "web") == [
        "Deployment web sets spec.replicas: a Deployment scaled by an HPA must not (`pulumi up` would reset the "
        "autoscaler's choice); one with a fixed count says so with the annotation spywatcher.io/fixed-replicas: "
        '"true".'
    ]
    fixed = {"metadata": {"annotations": {pack.FIXED_REPLICAS: "true"}}, "spec": {"replicas": 2}}
    assert resource_check(pack._no_replicas_unless_fixed, pack.DEPLOYMENT, fixed, "web") == []


# --- Every pod template (k8s.io/api: apps/v1, batch/v1, core/v1; argoproj.io/v1alpha1 Rollout) ---------

ROOT_POD = {"securityContext": {"runAsNonRoot": True},
            "containers": [{"name": "app", "securityContext": {"runAsUser": 0, "allowPrivilegeEscalation": False}}]}


@pytest.mark.parametrize(("type_", "wrap"), [
    ("kubernetes:apps/v1:Deployment", lambda pod: {"spec": {"template": {"spec": pod}}}),
    ("kubernetes:apps/v1:StatefulSet", lambda pod: {"spec": {"template": {"spec": pod}}}),
    ("kubernetes:apps/v1:DaemonSet", lambda pod: {"spec": {"template": {"spec": pod}}}),
    ("kubernetes:apps/v1:ReplicaSet", lambda pod: {"spec": {"template": {"spec": pod}}}),
    ("kubernetes:batch/v1:Job", lambda pod: {"spec": {"template": {"spec": pod}}}),
    ("kubernetes:batch/v1:CronJob", lambda pod: {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}}),
    ("kubernetes:core/v1:Pod", lambda pod: {"spec": pod}),
    ("kubernetes:argoproj.io/v1alpha1:Rollout", lambda pod: {"spec": {"template": {"spec": pod}}}),
])
def test_every_kind_with_a_pod_template_runs_as_non_root(type_: str, wrap: Callable[[Any], dict[str, Any]]) -> None:
    assert resource_check(pack._non_root, type_, wrap(ROOT_POD), "w") == [
        "Container app of w must run as non-root (runAsNonRoot: true)."]


def test_a_rollout_that_runs_a_deployments_pods_has_no_template_to_check() -> None:
    workload_ref = {"spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}}
    assert resource_check(pack._non_root, pack.ROLLOUT, workload_ref, "w") == []


# --- Disruption budgets ------------------------------------------------------------------------------


def test_an_hpa_without_min_replicas_keeps_one_pod() -> None:
    """autoscaling/v2 HorizontalPodAutoscalerSpec.minReplicas defaults to 1 (k8s.io/api)."""
    hpa = SimpleNamespace(resource_type=pack.HPA, props={
        "metadata": {"namespace": "apps", "name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5}})
    assert pack._hpa_targets(SimpleNamespace(resources=[hpa])) == {("apps", "web"): 1}  # type: ignore[arg-type]


def test_a_budget_in_another_namespace_does_not_cover_a_deployment() -> None:
    """A PodDisruptionBudget selects pods of its own namespace only (policy/v1)."""
    labels = {"app": "web"}
    deployment = (pack.DEPLOYMENT, "web", {"metadata": {"namespace": "apps", "name": "web"},
                                           "spec": {"replicas": 3, "template": {"metadata": {"labels": labels}}}})
    budget = (pack.PDB, "web-pdb", {"metadata": {"namespace": "other", "name": "web"},
                                    "spec": {"selector": {"matchLabels": labels}, "maxUnavailable": 1}})
    assert stack_check(pack._drainable_budget, [deployment, budget]) == ["Deployment web has no PodDisruptionBudget."]
    same = (pack.PDB, "web-pdb", {**budget[2], "metadata": {"namespace": "apps", "name": "web"}})
    assert stack_check(pack._drainable_budget, [deployment, same]) == []


# --- Helm releases -----------------------------------------------------------------------------------

RELEASE = "kubernetes:helm.sh/v3:Release"


def test_argo_rollouts_left_to_its_chart_default_installs_cluster_wide() -> None:
    """argo-rollouts' chart defaults clusterInstall to true (argoproj/argo-helm charts/argo-rollouts values.yaml)."""
    message = ("argo-rollouts release r must set clusterInstall: false: otherwise the chart's ClusterRole lets the "
               "controller read every Secret in the cluster.")
    for values in ({}, {"clusterInstall": True}, None):
        assert resource_check(pack._no_cluster_wide_secrets, RELEASE, {"chart": "argo-rollouts", "values": values},
                              "r") == [message]
    scoped = {"chart": "argo-rollouts", "values": {"clusterInstall": False}}
    assert resource_check(pack._no_cluster_wide_secrets, RELEASE, scoped, "r") == []


GATEWAY_WATCH = ("gateway-helm release g must set config.envoyGateway.provider.kubernetes.watch to {type: Namespaces, "
                 "namespaces: [...]}: otherwise the chart's ClusterRoles let the Envoy Gateway controller read every "
                 "Secret and write Deployments, ServiceAccounts and Services in every namespace.")


def _watch(watch: Any, chart: str = "oci://docker.io/envoyproxy/gateway-helm") -> dict[str, Any]:
    return {"chart": chart, "values": {"config": {"envoyGateway": {"provider": {"kubernetes": {"watch": watch}}}}}}


@pytest.mark.parametrize(("watch", "reported"), [
    ({"type": "Namespaces", "namespaces": ["apps"]}, False),
    ({"type": "Namespaces", "namespaces": []}, True),  # no namespace listed: the chart falls back to ClusterRoles
    ({"type": "Namespaces"}, True),
    ({"type": "NamespaceSelector", "namespaceSelector": {"matchLabels": {"a": "b"}}}, True),
    (None, True),
])
def test_gateway_helm_from_an_oci_registry_must_watch_listed_namespaces(watch: Any, reported: bool) -> None:
    assert resource_check(pack._no_cluster_wide_secrets, RELEASE, _watch(watch), "g") == (
        [GATEWAY_WATCH] if reported else [])


def _images(rate_limit: bool, **images: str) -> dict[str, Any]:
    config: dict[str, Any] = {"envoyGateway": {"rateLimit": {"backend": {"type": "Redis"}}}} if rate_limit else {}
    return {"chart": "oci://docker.io/envoyproxy/gateway-helm",
            "values": {"config": config, "global": {"images": {k: {"image": v} for k, v in images.items()}}}}


SHA256 = "@sha256:" + "a" * 64
PINNED = {"envoyGateway": f"docker.io/envoyproxy/gateway:v1.9.0{SHA256}",
          "envoyProxy": f"docker.io/envoyproxy/envoy:distroless-v1.36.2{SHA256}"}


def test_with_a_rate_limit_the_ratelimit_image_is_pinned_too() -> None:
    assert resource_check(pack._production_images_pinned, RELEASE, _images(False, **PINNED), "g") == []
    assert resource_check(pack._production_images_pinned, RELEASE, _images(True, **PINNED), "g") == [
        "gateway-helm release g must pin global.images.ratelimit.image by digest in production "
        "(`repo:tag@sha256:<digest>`; gateway.images in the stack config), not the chart tag."]
    ratelimit = f"docker.io/envoyproxy/ratelimit:17b1956c{SHA256}"
    assert resource_check(pack._production_images_pinned, RELEASE, _images(True, **PINNED, ratelimit=ratelimit),
                          "g") == []


@pytest.mark.parametrize(("image", "pinned"), [
    (f"docker.io/envoyproxy/gateway:v1.9.0{SHA256}", True),
    ("docker.io/envoyproxy/gateway:v1.9.0@sha512:" + "b" * 128, True),  # config/base.py DigestImage takes both
    ("docker.io/envoyproxy/gateway:v1.9.0", False),
    ("docker.io/envoyproxy/gateway:v1.9.0@md5:0123", False),
    ("docker.io/envoyproxy/gateway@v1.9.0", False),
])
def test_a_digest_pin_is_sha256_or_sha512(image: str, pinned: bool) -> None:
    found = resource_check(pack._production_images_pinned, RELEASE, _images(False, **{**PINNED, "envoyGateway": image}),
                           "g")
    assert found == ([] if pinned else [
        "gateway-helm release g must pin global.images.envoyGateway.image by digest in production "
        f"(`repo:tag@sha256:<digest>`; gateway.images in the stack config), not {image}."])


@pytest.mark.parametrize(("image", "pinned"), [
    ("docker.io/envoyproxy/gateway:v1.9.0@sha256:abc", False),  # a digest is all of its hex digits
    ("docker.io/envoyproxy/gateway:v1.9.0@sha256:" + "A" * 64, False),  # lower-case hex only (OCI image spec)
    (f"docker.io/envoyproxy/gateway:v1.9.0{SHA256}x", False),
])
def test_a_digest_pin_is_a_whole_digest(image: str, pinned: bool) -> None:
    found = resource_check(pack._production_images_pinned, RELEASE, _images(False, **{**PINNED, "envoyGateway": image}),
                           "g")
    assert found == ([] if pinned else [
        "gateway-helm release g must pin global.images.envoyGateway.image by digest in production "
        f"(`repo:tag@sha256:<digest>`; gateway.images in the stack config), not {image}."])


@pytest.mark.parametrize("probe", [None, {}])
def test_a_null_or_empty_probe_is_no_probe(probe: Any) -> None:
    container = {"name": "app", "readinessProbe": probe, "livenessProbe": {"httpGet": {"path": "/", "port": 80}},
                 "startupProbe": {"httpGet": {"path": "/", "port": 80}}}
    props = {"spec": {"template": {"spec": {"containers": [container]}}}}
    assert resource_check(pack._probes, pack.DEPLOYMENT, props, "web") == [
        "Container app of Deployment web has no readinessProbe."]


def test_a_fixed_deployment_without_an_hpa_is_no_conflict() -> None:
    metadata = {"namespace": "apps", "name": "web", "annotations": {pack.FIXED_REPLICAS: "true"}}
    fixed = (pack.DEPLOYMENT, "web", {"metadata": metadata, "spec": {"replicas": 2}})
    assert stack_check(pack._hpa_scales_no_fixed_deployment, [fixed]) == []
    hpa = (pack.HPA, "web-hpa", {"metadata": {"namespace": "apps", "name": "web"},
                                 "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2}})
    assert stack_check(pack._hpa_scales_no_fixed_deployment, [fixed, hpa]) == [
        "Deployment web is scaled by an HPA but is marked spywatcher.io/fixed-replicas: its spec.replicas would fight "
        "the autoscaler on every `pulumi up`."]
