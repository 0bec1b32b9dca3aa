"""The CrossGuard policy pack, run as the engine runs it: resource policies on the inputs the
program registers, stack policies on the outputs a real cluster returns (offline.apiserver: the
API server's defaults and the HPA's replica count in them). Compliant stacks pass, broken ones are
reported with the rule's message."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

import pytest

from offline.apiserver import live, live_objects
from offline.engine import Plan, Registration, mask, run_stack
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "policy"))
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from spywatcher_policies import POLICIES, stack_of

Violation = tuple[str, str]  # (policy name, message)


def _options(r: Registration) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=r.protect,
        ignore_changes=list(r.ignore_changes),
        delete_before_replace=r.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=r.parent or None,
    )


def outputs(resources: list[Registration]) -> dict[str, dict[str, Any]]:
    """URN -> what the engine hands a stack policy: a Kubernetes object as the API server stores it
    (scaled by the HPAs among ``resources``), anything else as registered."""
    objects = [mask(r.inputs) for r in resources if r.is_kubernetes_object]
    hpas = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    return {r.urn: live(mask(r.inputs), hpas) if r.is_kubernetes_object else mask(r.inputs) for r in resources}


def check(resources: list[Registration]) -> list[Violation]:
    """Every violation the pack reports for these registrations."""
    found: list[Violation] = []
    custom = [r for r in resources if r.custom]
    live_props = outputs(custom)
    inputs = [PolicyResource(r.type, mask(r.inputs), r.urn, r.name, _options(r), None, None, [], {}) for r in custom]
    stack = [PolicyResource(r.type, live_props[r.urn], r.urn, r.name, _options(r), None, None, [], {}) for r in custom]
    for policy in POLICIES:

        def report(message: str, urn: str | None = None, policy_name: str = policy.name) -> None:
            found.append((policy_name, message))

        if isinstance(policy, ResourceValidationPolicy):
            for r in inputs:
                policy.validate(ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None), report)
        else:
            policy.validate(StackValidationArgs(stack), report)
    return found


def edited(plan: Plan, type_: str, name: str, change: Callable[[Registration], None]) -> list[Registration]:
    """The plan's registrations with one of them changed."""
    resources = []
    for r in plan:
        if r.type == type_ and r.name == name:
            r = copy.deepcopy(r)
            change(r)
        resources.append(r)
    return resources


def test_the_stacks_comply(plans: dict[str, Plan], fixture_plans: dict[str, Plan]) -> None:
    """The shipped stacks and the test stacks (all-options runs both data planes at 50/50)."""
    every = {**plans, **fixture_plans}
    assert sorted(every) == ["all-options", "production", "rollouts", "staging"]
    for stack, plan in every.items():
        assert check(plan.resources) == [], stack


def test_every_feature_on_complies() -> None:
    plan = run_stack(
        "production",
        {
            "canary": {"enabled": True, "image": f"ghcr.io/x/backend:v2.1.0@sha256:{'3' * 64}"},
            "backend": {"autoscaling": {"customMetrics": {"enabled": True}}},
            "monitoring": {"adapter": {"enabled": True}},
        },
    )
    assert check(plan.resources) == []


def _spec(r: Registration) -> dict[str, Any]:
    return r.inputs["spec"]


def _mark_fixed(r: Registration) -> None:
    r.inputs["metadata"].setdefault("annotations", {})["spywatcher.io/fixed-replicas"] = "true"


BROKEN: list[tuple[str, str, str, Callable[[Registration], None], str, str]] = [
    (
        "replicas under an HPA",
        "kubernetes:apps/v1:Deployment",
        "backend-deployment",
        lambda r: _spec(r).update(replicas=3),
        "hpa-deployments-without-replicas",
        "Deployment backend-deployment sets spec.replicas: a Deployment scaled by an HPA must not (`pulumi "
        "up` would reset the autoscaler's choice); one with a fixed count says so with the annotation "
        'spywatcher.io/fixed-replicas: "true".',
    ),
    (
        "an autoscaled Deployment marked fixed",
        "kubernetes:apps/v1:Deployment",
        "backend-deployment",
        lambda r: (_spec(r).update(replicas=3), _mark_fixed(r)),
        "hpa-targets-not-fixed",
        "Deployment backend-deployment is scaled by an HPA but is marked spywatcher.io/fixed-replicas: its "
        "spec.replicas would fight the autoscaler on every `pulumi up`.",
    ),
    (
        "pods may be unavailable",
        "kubernetes:apps/v1:Deployment",
        "frontend-deployment",
        lambda r: _spec(r)["strategy"]["rollingUpdate"].update(maxUnavailable=1),
        "zero-downtime-rolling-update",
        "Deployment frontend-deployment must set maxUnavailable: 0, so every pod stays available during a "
        "rollout.",
    ),
    (
        "no surge",
        "kubernetes:apps/v1:Deployment",
        "backend-deployment",
        lambda r: _spec(r)["strategy"]["rollingUpdate"].update(maxSurge="0%"),
        "zero-downtime-rolling-update",
        "Deployment backend-deployment must set maxSurge of at least 1, or a rollout with maxUnavailable 0 "
        "never starts.",
    ),
    (
        "no startup probe",
        "kubernetes:apps/v1:Deployment",
        "frontend-deployment",
        lambda r: _spec(r)["template"]["spec"]["containers"][0].pop("startupProbe"),
        "readiness-liveness-startup-probes",
        "Container frontend of Deployment frontend-deployment has no startupProbe.",
    ),
    (
        "budget blocks drains",
        "kubernetes:policy/v1:PodDisruptionBudget",
        "backend-pdb",
        lambda r: _spec(r).update(minAvailable=2),
        "disruption-budget-allows-drain",
        "PodDisruptionBudget backend-pdb leaves no room for a node drain at spywatcher-backend's minimum "
        "scale of 2 (minAvailable must be below it, or maxUnavailable at least 1).",
    ),
    (
        "root container",
        "kubernetes:batch/v1:Job",
        "migration-job",
        lambda r: _spec(r)["template"]["spec"]["containers"][0]["securityContext"].update(runAsNonRoot=False),
        "non-root-without-privilege-escalation",
        "Container migrate of migration-job must run as non-root (runAsNonRoot: true).",
    ),
    (
        "privilege escalation",
        "kubernetes:apps/v1:Deployment",
        "backend-deployment",
        lambda r: _spec(r)["template"]["spec"]["containers"][0]["securityContext"].update(
            allowPrivilegeEscalation=True
        ),
        "non-root-without-privilege-escalation",
        "Container backend of backend-deployment must set allowPrivilegeEscalation: false.",
    ),
    (
        "unprotected production load balancer",
        "aws:lb/loadBalancer:LoadBalancer",
        "edge",
        lambda r: setattr(r, "protect", False),
        "production-load-balancer-protected",
        "Production load balancer edge must be protected in Pulumi (`protect`).",
    ),
    (
        "controller not scoped",
        "kubernetes:helm.sh/v3:Release",
        "ingress",
        lambda r: r.inputs["values"]["rbac"].update(scope=False),
        "no-cluster-wide-secret-access",
        "ingress-nginx release ingress must set controller.scope.enabled and rbac.scope: otherwise the "
        "chart's ClusterRole lets the controller read every Secret in the cluster, and it serves Ingresses "
        "from every namespace.",
    ),
    (
        "a ClusterRole that reads Secrets",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "ingress-clusterrole",
        lambda r: r.inputs["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}),
        "no-cluster-wide-secret-access",
        "ClusterRole ingress-clusterrole grants reading Secrets in every namespace; use a Role per namespace.",
    ),
    (
        "controller namespace open",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "ingress-default-deny",
        lambda r: r.inputs["spec"].update(policyTypes=["Ingress"]),
        "namespaces-deny-by-default",
        "Namespace ingress-nginx has no default-deny NetworkPolicy (every pod, Ingress and Egress, no rules):"
        " its pods are reachable from, and reach, the whole cluster.",
    ),
    (
        "app namespace allows everything in",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "network-default-deny",
        lambda r: r.inputs["spec"].update(ingress=[{}]),
        "namespaces-deny-by-default",
        "Namespace spywatcher has no default-deny NetworkPolicy (every pod, Ingress and Egress, no rules): "
        "its pods are reachable from, and reach, the whole cluster.",
    ),
    (
        "no deletion protection",
        "aws:lb/loadBalancer:LoadBalancer",
        "edge",
        lambda r: r.inputs.update(enableDeletionProtection=False),
        "production-load-balancer-protected",
        "Production load balancer edge must have deletion protection enabled.",
    ),
]


@pytest.mark.parametrize(
    ("type_", "name", "change", "policy", "message"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_broken_resources_are_reported(
    plans: dict[str, Plan], type_: str, name: str, change: Callable[[Registration], None], policy: str, message: str
) -> None:
    assert check(edited(plans["production"], type_, name, change)) == [(policy, message)]


def test_a_deployment_without_a_budget_is_reported(plans: dict[str, Plan]) -> None:
    resources = [r for r in plans["staging"] if r.name != "frontend-pdb"]
    assert check(resources) == [
        ("disruption-budget-allows-drain", "Deployment frontend-deployment has no PodDisruptionBudget.")
    ]


def test_staging_may_leave_its_load_balancer_unprotected(plans: dict[str, Plan]) -> None:
    [balancer] = plans["staging"].of_type("aws:lb/loadBalancer:LoadBalancer")
    assert balancer.protect is False and stack_of(balancer.urn) == "staging"
    assert check(plans["staging"].resources) == []


def test_policy_pack_files() -> None:
    import yaml

    pack = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python"
    requirements = (ROOT / "policy" / "requirements.txt").read_text()
    assert "pulumi-policy==1.21.0" in requirements
    assert "PolicyPack(" in (ROOT / "policy" / "__main__.py").read_text()


def test_stack_policies_see_the_live_objects(plans: dict[str, Plan]) -> None:
    """What the first real preview after `up` hands a stack policy: every Deployment has
    spec.replicas (the HPA's count), so no stack policy may read "the program set it" from there."""
    production = plans["production"]
    objects = live_objects(production.k8s_objects())
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    assert deployments["spywatcher-backend"]["spec"]["replicas"] == 2  # the HPA's minimum
    assert deployments["spywatcher-frontend"]["spec"]["replicas"] == 2
    assert deployments["spywatcher-backend"]["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert "replicas" not in production.k8s("Deployment", "spywatcher-backend")["spec"]  # the input
    assert check(production.resources) == []


def test_the_fixed_replicas_annotation_is_the_programs() -> None:
    from spywatcher_policies import FIXED_REPLICAS as POLICY_KEY

    from components.k8s import FIXED_REPLICAS

    assert FIXED_REPLICAS == POLICY_KEY == "spywatcher.io/fixed-replicas"


def test_the_canary_has_a_fixed_count_and_says_so() -> None:
    image = f"ghcr.io/x/backend:v2.1.0@sha256:{'3' * 64}"  # a test digest
    plan = run_stack("production", {"canary": {"enabled": True, "image": image}})
    canary = plan.k8s("Deployment", "spywatcher-backend-canary")
    assert canary["spec"]["replicas"] == 1
    assert canary["metadata"]["annotations"] == {"spywatcher.io/fixed-replicas": "true"}
    assert "annotations" not in plan.k8s("Deployment", "spywatcher-backend")["metadata"]
    assert check(plan.resources) == []
