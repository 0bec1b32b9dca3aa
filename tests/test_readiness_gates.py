"""offline.readiness on hand-made plans: which bindings ask for the gate (target type `ip`, a namespace
labelled `elbv2.k8s.aws/pod-readiness-gate-inject: enabled`) and which pods a Service selects (an
empty selector selects none: Kubernetes manages no endpoints for a Service without one)."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Plan, Registration
from offline.readiness import readiness_gate_order
from tests.conftest import registration

NS = "web"


def obj(type_: str, name: str, inputs: dict[str, Any]) -> Registration:
    return registration(type_, name, inputs, urn=f"urn:pulumi:s::p::{type_}::{name}")


def plan(*, gate: str = "enabled", target_type: str | None = "ip", selector: dict[str, str] | None = None,
         pod_labels: dict[str, str] | None = None) -> tuple[Plan, dict[str, set[str]]]:
    """A namespace, a Service, a binding to it and a Deployment; nothing waits for anything."""
    namespace = obj("kubernetes:core/v1:Namespace", "ns", {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": NS, "labels": {"elbv2.k8s.aws/pod-readiness-gate-inject": gate}}})
    service = obj("kubernetes:core/v1:Service", "svc", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "app", "namespace": NS},
        "spec": {"selector": {"app": "web"} if selector is None else selector, "ports": [{"port": 80}]}})
    spec: dict[str, Any] = {"serviceRef": {"name": "app", "port": 80}}
    if target_type is not None:
        spec["targetType"] = target_type
    binding = obj("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "tgb", {
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
        "metadata": {"name": "app", "namespace": NS}, "spec": spec})
    deployment = obj("kubernetes:apps/v1:Deployment", "deploy", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": NS},
        "spec": {"template": {"metadata": {"labels": {"app": "web"} if pod_labels is None else pod_labels}}}})
    resources = [namespace, service, binding, deployment]
    order: dict[str, set[str]] = {r.urn: set() for r in resources}
    order[binding.urn] = {service.urn}
    return Plan(stack="s", resources=resources, outputs={}, logs=[]), order


UNGATED = ("Deployment web/app creates pods TargetGroupBinding web/app targets without waiting for it: its first "
           "pods get no target-health readiness gate (aws-load-balancer-controller #2982)")


def test_a_deployment_the_service_selects_must_wait_for_an_ip_binding() -> None:
    assert readiness_gate_order(*plan()) == [UNGATED]


@pytest.mark.parametrize("change", [
    {"target_type": "instance"},  # the webhook gates only pods of `ip` bindings
    {"target_type": None},
    {"gate": "disabled"},  # only the value `enabled` turns the webhook on for a namespace
    {"selector": {}},  # a Service without a selector selects no pods
    {"pod_labels": {"app": "api"}},
    {"pod_labels": {}},
])
def test_no_gate_asked_or_no_pods_selected_is_no_problem(change: dict[str, Any]) -> None:
    assert readiness_gate_order(*plan(**change)) == []


def test_a_selector_matches_only_when_every_label_does() -> None:
    assert readiness_gate_order(*plan(selector={"app": "web", "tier": "front"})) == []
    assert readiness_gate_order(*plan(selector={"app": "web"}, pod_labels={"app": "web", "tier": "x"})) == [UNGATED]


def test_the_pods_must_wait_for_the_binding_itself_not_only_its_service() -> None:
    test_plan, order = plan()
    service, binding, deployment = (r.urn for r in test_plan.resources[1:])
    order[deployment] = {service}
    assert readiness_gate_order(test_plan, order) == [UNGATED]
    order[deployment] = {binding, service}
    assert readiness_gate_order(test_plan, order) == []
