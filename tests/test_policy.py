"""The CrossGuard policy pack, run on the inputs the program registers under the mocks: compliant
stacks pass, broken ones are reported with the rule's message."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

import pytest

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


def check(resources: list[Registration]) -> list[Violation]:
    """Every violation the pack reports for these registrations."""
    found: list[Violation] = []
    policy_resources = [
        PolicyResource(r.type, mask(r.inputs), r.urn, r.name, _options(r), None, None, [], {})
        for r in resources
        if r.custom
    ]
    for policy in POLICIES:

        def report(message: str, urn: str | None = None, policy_name: str = policy.name) -> None:
            found.append((policy_name, message))

        if isinstance(policy, ResourceValidationPolicy):
            for r in policy_resources:
                policy.validate(ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None), report)
        else:
            policy.validate(StackValidationArgs(policy_resources), report)
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


def test_the_stacks_comply(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        assert check(plan.resources) == []


def test_every_feature_on_complies() -> None:
    plan = run_stack(
        "production",
        {
            "canary": {"enabled": True, "image": "ghcr.io/x/backend:v2.1.0"},
            "backend": {"autoscaling": {"customMetrics": {"enabled": True}}},
            "monitoring": {"adapter": {"enabled": True}},
        },
    )
    assert check(plan.resources) == []


def _spec(r: Registration) -> dict[str, Any]:
    return r.inputs["spec"]


BROKEN: list[tuple[str, str, str, Callable[[Registration], None], str, str]] = [
    (
        "replicas under an HPA",
        "kubernetes:apps/v1:Deployment",
        "backend-deployment",
        lambda r: _spec(r).update(replicas=3),
        "hpa-deployments-without-replicas",
        "must not set spec.replicas",
    ),
    (
        "pods may be unavailable",
        "kubernetes:apps/v1:Deployment",
        "frontend-deployment",
        lambda r: _spec(r)["strategy"]["rollingUpdate"].update(maxUnavailable=1),
        "zero-downtime-rolling-update",
        "maxUnavailable: 0",
    ),
    (
        "no surge",
        "kubernetes:apps/v1:Deployment",
        "backend-deployment",
        lambda r: _spec(r)["strategy"]["rollingUpdate"].update(maxSurge="0%"),
        "zero-downtime-rolling-update",
        "maxSurge of at least 1",
    ),
    (
        "no startup probe",
        "kubernetes:apps/v1:Deployment",
        "frontend-deployment",
        lambda r: _spec(r)["template"]["spec"]["containers"][0].pop("startupProbe"),
        "readiness-liveness-startup-probes",
        "has no startupProbe",
    ),
    (
        "budget blocks drains",
        "kubernetes:policy/v1:PodDisruptionBudget",
        "backend-pdb",
        lambda r: _spec(r).update(minAvailable=2),
        "disruption-budget-allows-drain",
        "leaves no room for a node drain",
    ),
    (
        "root container",
        "kubernetes:batch/v1:Job",
        "migration-job",
        lambda r: _spec(r)["template"]["spec"]["containers"][0]["securityContext"].update(runAsNonRoot=False),
        "non-root-without-privilege-escalation",
        "must run as non-root",
    ),
    (
        "privilege escalation",
        "kubernetes:apps/v1:Deployment",
        "backend-deployment",
        lambda r: _spec(r)["template"]["spec"]["containers"][0]["securityContext"].update(
            allowPrivilegeEscalation=True
        ),
        "non-root-without-privilege-escalation",
        "allowPrivilegeEscalation: false",
    ),
    (
        "unprotected production load balancer",
        "aws:lb/loadBalancer:LoadBalancer",
        "edge",
        lambda r: setattr(r, "protect", False),
        "production-load-balancer-protected",
        "protected in Pulumi",
    ),
    (
        "controller not scoped",
        "kubernetes:helm.sh/v3:Release",
        "ingress",
        lambda r: r.inputs["values"]["rbac"].update(scope=False),
        "no-cluster-wide-secret-access",
        "read every Secret in the cluster",
    ),
    (
        "a ClusterRole that reads Secrets",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "ingress-clusterrole",
        lambda r: r.inputs["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}),
        "no-cluster-wide-secret-access",
        "grants reading Secrets in every namespace",
    ),
    (
        "controller namespace open",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "ingress-default-deny",
        lambda r: r.inputs["spec"].update(policyTypes=["Ingress"]),
        "namespaces-deny-by-default",
        "Namespace ingress-nginx has no default-deny NetworkPolicy",
    ),
    (
        "app namespace allows everything in",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "network-default-deny",
        lambda r: r.inputs["spec"].update(ingress=[{}]),
        "namespaces-deny-by-default",
        "Namespace spywatcher has no default-deny NetworkPolicy",
    ),
    (
        "no deletion protection",
        "aws:lb/loadBalancer:LoadBalancer",
        "edge",
        lambda r: r.inputs.update(enableDeletionProtection=False),
        "production-load-balancer-protected",
        "deletion protection",
    ),
]


@pytest.mark.parametrize(
    ("type_", "name", "change", "policy", "words"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_broken_resources_are_reported(
    plans: dict[str, Plan], type_: str, name: str, change: Callable[[Registration], None], policy: str, words: str
) -> None:
    violations = check(edited(plans["production"], type_, name, change))
    assert [p for p, _ in violations] == [policy], violations
    assert words in violations[0][1]


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
