"""The test stack with every optional part switched on (tests/stacks/Pulumi.all-options.yaml):
rendered, schema-checked and asserted on, so a combination no environment uses still works."""

from __future__ import annotations

from typing import Any

import pytest

from config.stackfile import fixture_names
from offline.engine import Plan, run_stack
from tests.helm import chart_values, coalesce, user_values
from tests.upstream import schema_problems

NAMESPACE = "spywatcher-all"


@pytest.fixture(scope="module")
def plan(fixture_plans: dict[str, Plan]) -> Plan:
    return fixture_plans["all-options"]


def test_the_test_stack_is_found() -> None:
    assert fixture_names() == ["all-options", "rollouts"]


def test_every_optional_part_is_on(plan: Plan) -> None:
    kinds = {o["kind"] for o in plan.k8s_objects()}
    assert kinds == {
        "BackendTrafficPolicy", "ClientTrafficPolicy", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "CronJob",
        "Deployment", "EnvoyProxy", "Gateway", "GatewayClass", "HorizontalPodAutoscaler", "HTTPRoute", "Ingress",
        "Job", "LimitRange", "Namespace", "NetworkPolicy", "PodDisruptionBudget", "PrometheusRule", "ResourceQuota",
        "Role", "RoleBinding", "Service", "ServiceAccount", "ServiceMonitor", "TargetGroupBinding",
        "VerticalPodAutoscaler",
    }
    assert sorted(r.name for r in plan.of_type("kubernetes:helm.sh/v3:Release")) == [
        "gateway", "ingress", "monitoring-adapter"]
    plan.k8s("Deployment", "spywatcher-backend-canary", NAMESPACE)
    plan.k8s("Ingress", "spywatcher-api-canary", NAMESPACE)
    hpa = plan.k8s("HorizontalPodAutoscaler", "spywatcher-backend-hpa", NAMESPACE)
    assert {m["type"] for m in hpa["spec"]["metrics"]} == {"Resource", "Pods"}
    assert len(plan.of_type("aws:route53/record:Record")) == 2
    assert len(plan.of_type("aws:lb/listenerCertificate:ListenerCertificate")) == 1
    # Four per data plane's target group (both run), and the load balancer's own 5xx.
    assert len(plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")) == 9
    assert len(plan.of_type("aws:cloudwatch/dashboard:Dashboard")) == 1
    plan.k8s("ConfigMap", "spywatcher-all-options-dashboard", "monitoring")


def test_every_object_is_schema_valid(plan: Plan) -> None:
    assert schema_problems(plan.k8s_objects()) == []


def adapter_pdb(release: dict[str, Any]) -> dict[str, Any] | None:
    """The PodDisruptionBudget spec prometheus-adapter 5.3.0 renders (templates/pdb.yaml: each of
    minAvailable, maxUnavailable and unhealthyPodEvictionPolicy is written when it is truthy), from
    the chart's values.yaml with the release's values merged over them as Helm merges them."""
    values = coalesce(chart_values("prometheus-adapter", release["version"]), user_values(release))
    budget = values["podDisruptionBudget"]
    if not budget.get("enabled"):
        return None
    return {k: budget[k] for k in ("minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy") if budget.get(k)}


def test_adapter_pdb_sets_exactly_one_budget_field(plan: Plan) -> None:
    release = plan.get("kubernetes:helm.sh/v3:Release", "monitoring-adapter").inputs
    assert (release["chart"], release["version"]) == ("prometheus-adapter", "5.3.0")
    assert adapter_pdb(release) == {"minAvailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow"}


def test_the_pdb_check_catches_the_old_values(plan: Plan) -> None:
    """The values the program used to pass: `minAvailable` inline, merged over the chart's
    `maxUnavailable: 1`, rendered both, which the API server rejects."""
    release = dict(plan.get("kubernetes:helm.sh/v3:Release", "monitoring-adapter").inputs)
    release.pop("valueYamlFiles")
    release["values"] = {**release["values"], "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}
    assert adapter_pdb(release) == {"minAvailable": 1, "maxUnavailable": 1}


def test_inline_none_never_reaches_helm() -> None:
    """Why the null travels in a YAML document: the Python SDK drops `None` from `values`."""
    plan = run_stack("all-options", {"monitoring": {"adapter": {"replicas": 1}}})
    release = plan.get("kubernetes:helm.sh/v3:Release", "monitoring-adapter").inputs
    assert "podDisruptionBudget" not in release["values"]
    assert adapter_pdb(release) is None, "one adapter replica: no PDB that would block every drain"


def test_the_component_tree_is_exact(plan: Plan) -> None:
    """Every component's type token, name and parent: the URNs a real stack's state is keyed by
    (a changed token or name would replace everything under it)."""
    assert [(r.type, r.name, r.parent.rsplit("::", 1)[-1]) for r in plan if not r.custom] == [
        ("spywatcher:platform:Platform", "spywatcher", "spywatcher-all-options"),
        ("spywatcher:namespace:NamespaceBaseline", "app", "spywatcher"),
        ("spywatcher:network:NetworkPolicies", "network", "spywatcher"),
        ("spywatcher:workload:WorkloadConfig", "backend", "spywatcher"),
        ("spywatcher:workload:WorkloadConfig", "frontend", "spywatcher"),
        ("spywatcher:migration:Migration", "migration", "spywatcher"),
        ("spywatcher:workload:Workload", "backend", "spywatcher"),
        ("spywatcher:workload:Workload", "frontend", "spywatcher"),
        ("spywatcher:schedules:ScaleSchedules", "backend-schedules", "spywatcher"),
        ("spywatcher:schedules:ScaleSchedules", "frontend-schedules", "spywatcher"),
        ("spywatcher:loadbalancer:LoadBalancer", "edge", "spywatcher"),
        ("spywatcher:ingress:IngressController", "ingress", "spywatcher"),
        ("spywatcher:routes:Routes", "routes", "spywatcher"),
        ("spywatcher:canary:Canary", "canary", "spywatcher"),
        ("spywatcher:gateway:Gateway", "gateway", "spywatcher"),
        ("spywatcher:monitoring:Monitoring", "monitoring", "spywatcher"),
        ("spywatcher:dashboards:GrafanaDashboard", "dashboard", "spywatcher"),
        ("spywatcher:cloudwatch:CloudWatch", "cloudwatch", "spywatcher"),
    ]


def test_every_custom_resource_is_a_child_of_the_component_that_made_it(plans: dict[str, Plan],
                                                                      fixture_plans: dict[str, Plan]) -> None:
    """A resource registered without its component as parent sits at the stack's root: its URN (and
    so a real stack's state) changes, and the component no longer groups it in a preview."""
    for stack, plan in {**plans, **fixture_plans}.items():
        components = {r.urn for r in plan if not r.custom}
        orphans = [(r.type, r.name) for r in plan if r.custom and r.parent not in components]
        assert orphans == [], f"{stack}: {orphans}"
