"""The policy pack's conditions at their edges, with exact messages, and its entry point run.

Each case edits one registration of a real plan and expects exactly the listed violations: the
accepted side of each edge too, so a condition inverted or widened fails here."""

from __future__ import annotations

import copy
import runpy
import sys
from collections.abc import Callable
from typing import Any

import pytest

from offline.engine import Plan, Registration
from tests.conftest import ROOT
from tests.test_policy import check, edited

sys.path.insert(0, str(ROOT / "policy"))
import spywatcher_policies

NON_ROOT = "non-root-without-privilege-escalation"
DRAIN = "disruption-budget-allows-drain"
ROLLING = "zero-downtime-rolling-update"
PROBES = "readiness-liveness-startup-probes"


def pod(r: Registration) -> dict[str, Any]:
    return r.inputs["spec"]["template"]["spec"]


def container(r: Registration) -> dict[str, Any]:
    return pod(r)["containers"][0]


def rolling(r: Registration) -> dict[str, Any]:
    return r.inputs["spec"]["strategy"]["rollingUpdate"]


SAFE_INIT = {"name": "init", "image": "busybox:1", "securityContext": {"allowPrivilegeEscalation": False}}

# (case, resource edited in production's plan, the edit, the exact violations)
CASES: list[tuple[str, str, Callable[[Registration], None], list[tuple[str, str]]]] = [
    ("uid 0 with runAsNonRoot", "backend-deployment", lambda r: container(r)["securityContext"].update(runAsUser=0),
     [(NON_ROOT, "Container backend of backend-deployment must run as non-root (runAsNonRoot: true).")]),
    ("uid 0 set on the pod", "backend-deployment", lambda r: (pod(r)["securityContext"].update(runAsUser=0),
                                                             container(r)["securityContext"].pop("runAsUser")),
     [(NON_ROOT, "Container backend of backend-deployment must run as non-root (runAsNonRoot: true).")]),
    ("uid 1 is not root", "backend-deployment", lambda r: container(r)["securityContext"].update(runAsUser=1), []),
    ("the container's runAsNonRoot wins over the pod's", "backend-deployment",
     lambda r: container(r)["securityContext"].update(runAsNonRoot=False),
     [(NON_ROOT, "Container backend of backend-deployment must run as non-root (runAsNonRoot: true).")]),
    ("runAsNonRoot from the pod alone", "backend-deployment",
     lambda r: container(r)["securityContext"].pop("runAsNonRoot"), []),
    ("an init container inherits the pod's non-root", "backend-deployment",
     lambda r: pod(r).update(initContainers=[SAFE_INIT]), []),
    ("a root init container", "backend-deployment",
     lambda r: pod(r).update(initContainers=[{**SAFE_INIT, "securityContext": {"allowPrivilegeEscalation": False,
                                                                               "runAsUser": 0}}]),
     [(NON_ROOT, "Container init of backend-deployment must run as non-root (runAsNonRoot: true).")]),
    ("an init container that may escalate", "backend-deployment",
     lambda r: pod(r).update(initContainers=[{"name": "init", "image": "busybox:1"}]),
     [(NON_ROOT, "Container init of backend-deployment must set allowPrivilegeEscalation: false.")]),
    ("a CronJob's pod", "backend-schedules-off-peak",
     lambda r: r.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["securityContext"].update(
         runAsUser=0),
     [(NON_ROOT, "Container kubectl of backend-schedules-off-peak must run as non-root (runAsNonRoot: true).")]),
    ("PDB maxUnavailable 0", "backend-pdb", lambda r: (r.inputs["spec"].pop("minAvailable"),
                                                       r.inputs["spec"].update(maxUnavailable=0)),
     [(DRAIN, "PodDisruptionBudget backend-pdb leaves no room for a node drain at spywatcher-backend's minimum scale "
              "of 2 (minAvailable must be below it, or maxUnavailable at least 1).")]),
    ("PDB maxUnavailable 0%", "backend-pdb", lambda r: (r.inputs["spec"].pop("minAvailable"),
                                                        r.inputs["spec"].update(maxUnavailable="0%")),
     [(DRAIN, "PodDisruptionBudget backend-pdb leaves no room for a node drain at spywatcher-backend's minimum scale "
              "of 2 (minAvailable must be below it, or maxUnavailable at least 1).")]),
    ("PDB maxUnavailable 1", "backend-pdb", lambda r: (r.inputs["spec"].pop("minAvailable"),
                                                       r.inputs["spec"].update(maxUnavailable=1)), []),
    ("PDB maxUnavailable 10% rounds up to a pod", "backend-pdb",
     lambda r: (r.inputs["spec"].pop("minAvailable"), r.inputs["spec"].update(maxUnavailable="10%")), []),
    ("PDB minAvailable at the HPA minimum", "backend-pdb", lambda r: r.inputs["spec"].update(minAvailable=2),
     [(DRAIN, "PodDisruptionBudget backend-pdb leaves no room for a node drain at spywatcher-backend's minimum scale "
              "of 2 (minAvailable must be below it, or maxUnavailable at least 1).")]),
    ("PDB minAvailable one below the HPA minimum", "backend-pdb", lambda r: r.inputs["spec"].update(minAvailable=1),
     []),
    ("PDB minAvailable as a percentage", "backend-pdb", lambda r: r.inputs["spec"].update(minAvailable="50%"),
     [(DRAIN, "PodDisruptionBudget backend-pdb leaves no room for a node drain at spywatcher-backend's minimum scale "
              "of 2 (minAvailable must be below it, or maxUnavailable at least 1).")]),
    ("maxSurge 1%", "backend-deployment", lambda r: rolling(r).update(maxSurge="1%"), []),
    ("maxSurge 0", "backend-deployment", lambda r: rolling(r).update(maxSurge=0),
     [(ROLLING, "Deployment backend-deployment must set maxSurge of at least 1, or a rollout with maxUnavailable 0 "
                "never starts.")]),
    ("maxUnavailable 0%", "backend-deployment", lambda r: rolling(r).update(maxUnavailable="0%"), []),
    ("maxUnavailable 1%", "backend-deployment", lambda r: rolling(r).update(maxUnavailable="1%"),
     [(ROLLING, "Deployment backend-deployment must set maxUnavailable: 0, so every pod stays available during a "
                "rollout.")]),
    ("Recreate", "backend-deployment", lambda r: r.inputs["spec"].update(strategy={"type": "Recreate"}),
     [(ROLLING, "Deployment backend-deployment must use the RollingUpdate strategy for zero-downtime rollouts.")]),
    ("two probes missing", "frontend-deployment",
     lambda r: (container(r).pop("readinessProbe"), container(r).pop("livenessProbe")),
     [(PROBES, "Container frontend of Deployment frontend-deployment has no readinessProbe, livenessProbe.")]),
]


@pytest.mark.parametrize(("name", "change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_policy_edges(plans: dict[str, Plan], name: str, change: Callable[[Registration], None],
                      expected: list[tuple[str, str]]) -> None:
    [registration] = [r for r in plans["production"] if r.name == name]
    assert check(edited(plans["production"], registration.type, name, change)) == expected


def test_the_cases_cover_every_resource_they_name(plans: dict[str, Plan]) -> None:
    names = {r.name for r in plans["production"]}
    assert len(CASES) == 22
    assert {c[1] for c in CASES} <= names


def test_an_hpa_without_min_replicas_counts_as_one(plans: dict[str, Plan]) -> None:
    """Kubernetes defaults minReplicas to 1; a budget of minAvailable 1 then blocks every drain."""
    resources = edited(plans["production"], "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "backend-hpa",
                       lambda r: r.inputs["spec"].pop("minReplicas"))
    assert check(resources) == [
        (DRAIN, "PodDisruptionBudget backend-pdb leaves no room for a node drain at spywatcher-backend's minimum scale "
                "of 1 (minAvailable must be below it, or maxUnavailable at least 1).")]


@pytest.mark.parametrize(("urn", "stack"), [
    ("urn:pulumi:production::spywatcher::aws:lb/loadBalancer:LoadBalancer::edge", "production"),
    ("urn:pulumi:staging::spywatcher::spywatcher:platform:Platform$aws:lb/loadBalancer:LoadBalancer::edge", "staging"),
    ("production::spywatcher::x", ""),
    ("", ""),
])
def test_stack_of_reads_the_urn(urn: str, stack: str) -> None:
    assert spywatcher_policies.stack_of(urn) == stack


def test_the_entry_point_builds_a_mandatory_pack_of_every_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pulumi preview --policy-pack policy` runs policy/__main__.py; run it with the pack recorded."""
    import pulumi_policy

    made: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: made.append(kwargs))
    runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    assert made == [{"name": "spywatcher", "enforcement_level": pulumi_policy.EnforcementLevel.MANDATORY,
                     "policies": spywatcher_policies.POLICIES}]
    assert [p.name for p in spywatcher_policies.POLICIES] == [
        "hpa-deployments-without-replicas", "hpa-targets-not-fixed", "zero-downtime-rolling-update",
        "readiness-liveness-startup-probes", "rollout-zero-downtime-canary", "hpa-scales-the-rollout",
        "disruption-budget-allows-drain", NON_ROOT,
        "production-load-balancer-protected", "no-cluster-wide-secret-access", "production-images-pinned",
        "namespaces-deny-by-default"]


@pytest.mark.parametrize(("min_available", "expected"), [
    (2, []),
    (3, [(DRAIN, "PodDisruptionBudget backend-pdb leaves no room for a node drain at spywatcher-backend's minimum "
                 "scale of 3 (minAvailable must be below it, or maxUnavailable at least 1).")]),
])
def test_without_an_hpa_the_minimum_scale_is_the_deployments_replicas(plans: dict[str, Plan], min_available: int,
                                                                       expected: list[tuple[str, str]]) -> None:
    """A fixed-size Deployment (no HPA, spec.replicas 3, as the canary): its budget is measured against 3."""
    def fixed(r: Registration) -> None:
        r.inputs["spec"]["replicas"] = 3
        r.inputs["metadata"].setdefault("annotations", {})["spywatcher.io/fixed-replicas"] = "true"

    resources = [r for r in edited(plans["production"], "kubernetes:apps/v1:Deployment", "backend-deployment", fixed)
                 if r.name != "backend-hpa"]
    resources = [copy.deepcopy(r) if r.name == "backend-pdb" else r for r in resources]
    [budget] = [r for r in resources if r.name == "backend-pdb"]
    budget.inputs["spec"]["minAvailable"] = min_available
    assert check(resources) == expected
