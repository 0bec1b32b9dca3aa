"""The policy pack's Rollout rules on edge inputs (policy/spywatcher_policies.py): an int-or-percent at
0 and at its smallest allowing value, `replicas: 0`, an analysis run in the background instead of as
a step, a workloadRef to something else than a Deployment, a budget that selects the stable track."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from offline.engine import Plan, Registration, run_stack
from tests.test_policy import check, edited

ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
SURGE = ("rollout-zero-downtime-canary",
         "Rollout rollouts-backend must set maxSurge of at least 1, or a rollout with maxUnavailable 0 never starts.")
UNAVAILABLE = ("rollout-zero-downtime-canary",
               "Rollout rollouts-backend must set maxUnavailable: 0, so every pod stays available during a rollout.")


@pytest.fixture(scope="module")
def production() -> Plan:
    return run_stack("production", {"rollouts": {"enabled": True}})


def _canary(change: dict[str, Any]) -> Callable[[Registration], None]:
    return lambda r: r.inputs["spec"]["strategy"]["canary"].update(change)


@pytest.mark.parametrize(("change", "expected"), [
    ({"maxSurge": "0%"}, [SURGE]),
    ({"maxSurge": "1%"}, []),  # a percentage rounds up: one pod
    ({"maxSurge": 1}, []),
    ({"maxUnavailable": "0%"}, []),
    ({"maxUnavailable": "1%"}, [UNAVAILABLE]),
    ({"maxUnavailable": 1}, [UNAVAILABLE]),
    # an analysis in the background judges the canary as a step would
    ({"steps": [{"setWeight": 10}], "analysis": {"templates": [{"templateName": "spywatcher-backend-canary"}]}}, []),
])
def test_the_canarys_surge_unavailability_and_analysis_at_their_edges(
    production: Plan, change: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert check(edited(production, ROLLOUT, "rollouts-backend", _canary(change))) == expected


def test_replicas_0_is_set_replicas(production: Plan) -> None:
    assert check(edited(production, ROLLOUT, "rollouts-backend", lambda r: r.inputs["spec"].update(replicas=0))) == [
        ("rollout-zero-downtime-canary",
         "Rollout rollouts-backend sets spec.replicas: its HPA owns the count (`pulumi up` would reset it).")]


def test_only_a_rollout_whose_workload_ref_is_the_deployment_runs_its_pods(production: Plan) -> None:
    """An HPA on a Deployment is wrong only when a Rollout runs that Deployment's pods (workloadRef
    kind Deployment); a Rollout referring to a ReplicaSet of the same name does not."""
    changes: dict[tuple[str, str], Callable[[Registration], None]] = {
        ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "backend-hpa"): lambda r: r.inputs["spec"].update(
            scaleTargetRef={"apiVersion": "apps/v1", "kind": "Deployment", "name": "spywatcher-backend"}),
        (ROLLOUT, "rollouts-backend"): lambda r: r.inputs["spec"]["workloadRef"].update(kind="ReplicaSet"),
    }
    assert check(_with(production, changes)) == []


def _with(plan: Plan, changes: dict[tuple[str, str], Callable[[Registration], None]]) -> list[Registration]:
    """The plan's registrations, each one named in ``changes`` (by type and name) changed."""
    resources = []
    for r in plan.resources:
        change = changes.get((r.type, r.name))
        if change is not None:
            r = copy.deepcopy(r)
            change(r)
        resources.append(r)
    return resources


def test_a_budget_selecting_the_stable_track_counts_the_rollouts_stable_pods(production: Plan) -> None:
    """The Rollout's pods carry its stableMetadata labels besides the Deployment template's: a budget
    that selects `spywatcher.io/track: stable` covers them even when the template does not say it."""
    untracked = ("kubernetes:apps/v1:Deployment", "backend-deployment")
    changes: dict[tuple[str, str], Callable[[Registration], None]] = {
        untracked: lambda r: r.inputs["spec"]["template"]["metadata"]["labels"].pop("spywatcher.io/track"),
    }
    assert check(_with(production, changes)) == []
    changes[(ROLLOUT, "rollouts-backend")] = lambda r: r.inputs["spec"]["strategy"]["canary"].pop("stableMetadata")
    assert check(_with(production, changes)) == [
        ("disruption-budget-allows-drain", "Deployment backend-deployment has no PodDisruptionBudget.")]
