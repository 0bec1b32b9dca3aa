"""offline/rollout_rules.py on the inputs where a rule has two parts or an edge, each on a copy of a real
plan (production with `rollouts.enabled`): a flag given without its value, a Rollout without a
workloadRef or Services, a replica count of 0, objects in another namespace, a selector that is
empty or reaches a label only the pod template has, the canary Ingress name's 253 characters, the
canary annotation's value, the same path on another host, an argument valued from the pod."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from offline.engine import Plan, Registration, run_stack
from offline.rollout_rules import check_rollouts, nginx_classes
from tests.test_rollout_rules import NS, ROLLOUT, _set, _why, edited


@pytest.fixture(scope="module")
def production() -> Plan:
    return run_stack("production", {"rollouts": {"enabled": True}})


def test_the_class_flag_given_last_without_a_value_adds_none() -> None:
    assert nginx_classes(["--nginx-ingress-classes"]) == ("nginx",)
    assert nginx_classes(["--nginx-ingress-classes=a", "--nginx-ingress-classes"]) == ("a",)


def test_without_the_controller_release_in_the_stack_the_ingress_class_is_not_judged(production: Plan) -> None:
    """The controller installed elsewhere: its classes are unknown here, so no class is called wrong."""
    plan = edited(production, "Ingress", "spywatcher-api", _set("spec.ingressClassName", "internal-nginx"))
    plan.resources = [r for r in plan.resources if not (r.type == "kubernetes:helm.sh/v3:Release"
                                                          and r.inputs.get("chart") == "argo-rollouts")]
    assert check_rollouts(plan) == []


def test_a_rollout_with_zero_replicas_still_fights_the_hpa(production: Plan) -> None:
    assert check_rollouts(edited(production, "Rollout", "spywatcher-backend", _set("spec.replicas", 0))) == [
        f"{ROLLOUT} sets spec.replicas: the HPA owns it through the scale subresource ({_why('replicas')})"
    ]


def _inline(r: Registration) -> None:
    """The Rollout with its own pod template and no Services, no traffic routing, no steps."""
    del r.inputs["spec"]["workloadRef"]
    r.inputs["spec"]["template"] = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": []}}
    r.inputs["spec"]["strategy"] = {"canary": {"steps": [{"setWeight": 10}]}}


def test_a_rollout_without_a_workload_ref_or_services_is_checked_for_nothing_it_lacks(production: Plan) -> None:
    plan = edited(production, "Rollout", "spywatcher-backend", _inline)
    # The HPA still scales the Rollout by name: nothing else is reported.
    assert check_rollouts(plan) == []


def test_an_hpa_in_another_namespace_is_not_this_rollouts(production: Plan) -> None:
    def elsewhere(r: Registration) -> None:
        r.inputs["metadata"]["namespace"] = "other"
        r.inputs["spec"]["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": "spywatcher-backend"}

    assert check_rollouts(edited(production, "HorizontalPodAutoscaler", "spywatcher-backend-hpa", elsewhere)) == []


def test_a_service_ignoring_all_of_spec_leaves_the_selector_to_the_controller(production: Plan) -> None:
    def ignore_spec(r: Registration) -> None:
        r.ignore_changes = ("spec",)

    assert check_rollouts(edited(production, "Service", "spywatcher-backend-canary", ignore_spec)) == []


def test_a_service_selecting_a_label_only_the_pod_template_has_selects_the_pods(production: Plan) -> None:
    """The pods carry the template's labels, not only the Deployment selector's."""
    template_only = {"app.kubernetes.io/version": "v2.0.0", "app.kubernetes.io/component": "backend"}
    plan = edited(production, "Service", "spywatcher-backend-canary", _set("spec.selector", template_only))
    assert check_rollouts(plan) == []
    plan = edited(production, "Service", "spywatcher-backend-canary",
                  _set("spec.selector", {"app.kubernetes.io/version": "v1"}))
    assert check_rollouts(plan) == [
        f"Service {NS}/spywatcher-backend-canary does not select the pods of {ROLLOUT} "
        f"({production.k8s('Deployment', 'spywatcher-backend', NS)['spec']['template']['metadata']['labels']})"
    ]


def test_a_budget_with_an_empty_selector_counts_every_pod_and_one_without_counts_none(production: Plan) -> None:
    """policy/v1 PodDisruptionBudgetSpec.selector: "A null selector selects no pods. An empty selector
    ({}) also selects all pods" of the namespace, the canary's included."""
    counts_canary = (f"PodDisruptionBudget {NS}/spywatcher-backend-pdb counts {ROLLOUT}'s canary pods: a drain "
                     "could leave only canary pods; select its stable labels {'spywatcher.io/track': 'stable'} "
                     f"({_why('stable')})")
    empty = edited(production, "PodDisruptionBudget", "spywatcher-backend-pdb", _set("spec.selector", {}))
    assert check_rollouts(empty) == [counts_canary]
    expressions = edited(production, "PodDisruptionBudget", "spywatcher-backend-pdb", _set("spec.selector", {
        "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["backend"]}]}))
    assert check_rollouts(expressions) == [counts_canary]

    def no_selector(r: Registration) -> None:
        del r.inputs["spec"]["selector"]

    assert check_rollouts(edited(production, "PodDisruptionBudget", "spywatcher-backend-pdb", no_selector)) == []


def test_without_stable_labels_every_selector_of_the_pods_is_reported(production: Plan) -> None:
    def no_stable_metadata(r: Registration) -> None:
        del r.inputs["spec"]["strategy"]["canary"]["stableMetadata"]

    problems = check_rollouts(edited(production, "Rollout", "spywatcher-backend", no_stable_metadata))
    assert [p.split(":")[0] for p in problems] == [
        f"Service {NS}/spywatcher-backend-socketio is a route's and selects {ROLLOUT}'s pods without its stable "
        "labels {}",
        f"PodDisruptionBudget {NS}/spywatcher-backend-pdb counts {ROLLOUT}'s canary pods"]


def _ingress_named(name: str) -> Any:
    def change(r: Registration) -> None:
        r.inputs["metadata"]["name"] = name
    return change


@pytest.mark.parametrize(("length", "too_long"), [(253, False), (254, True)])
def test_the_canary_ingress_name_may_have_253_characters(production: Plan, length: int, too_long: bool) -> None:
    # "<rollout>-<stableIngress>-canary": 18 + 1 + n + 7 characters.
    name = "a" * (length - 26)
    plan = edited(production, "Ingress", "spywatcher-api", _ingress_named(name))
    plan = edited(plan, "Rollout", "spywatcher-backend", _set("spec.strategy.canary.trafficRouting.nginx.stableIngress",
                                                                name))
    canary = f"spywatcher-backend-{name}-canary"
    assert len(canary) == length
    expected = [f"{ROLLOUT}: its canary Ingress name {canary!r} is longer than 253 characters"] if too_long else []
    assert [p for p in check_rollouts(plan) if "canary Ingress name" in p] == expected


def _canary_of_api(production: Plan, annotation: str, namespace: str = NS, host: str | None = None) -> Plan:
    def canary(r: Registration) -> None:
        r.inputs["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/canary": annotation}
        r.inputs["metadata"]["namespace"] = namespace
        rules = copy.deepcopy(production.k8s("Ingress", "spywatcher-api", NS)["spec"]["rules"])
        if host is not None:
            for rule in rules:
                rule["host"] = host
        r.inputs["spec"]["rules"] = rules

    return edited(production, "Ingress", "spywatcher-frontend", canary)


def test_a_second_canary_is_one_of_the_same_host_and_path_in_the_same_namespace_marked_true(
    production: Plan,
) -> None:
    second = f"Ingress {NS}/spywatcher-frontend is a second canary of Ingress {NS}/spywatcher-api's paths"
    assert any(p.startswith(second) for p in check_rollouts(_canary_of_api(production, "true")))
    for plan in (_canary_of_api(production, "false"), _canary_of_api(production, "true", namespace="other"),
                 _canary_of_api(production, "true", host="www.example.com")):
        assert not any("second canary" in p for p in check_rollouts(plan))


def test_an_argument_valued_from_the_pod_needs_no_value_from_the_step(production: Plan) -> None:
    args = [{"name": "canary-hash"}, {"name": "service", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "window", "value": "5m"}]
    plan = edited(production, "AnalysisTemplate", "spywatcher-backend-canary", _set("spec.args", args))
    assert check_rollouts(plan) == []
