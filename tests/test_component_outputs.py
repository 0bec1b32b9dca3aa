"""What each component registers as its outputs (Pulumi keeps them with it in the stack's state, and
`pulumi stack export` shows them): every key, and its value read off what the component registered."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Plan, Registration

# Every component type and the output keys it registers, stated here on their own.
KEYS: dict[str, set[str]] = {
    "spywatcher:platform:Platform": {"namespace", "loadBalancerDnsName"},
    "spywatcher:namespace:NamespaceBaseline": {"name"},
    "spywatcher:workload:Workload": {"deploymentName", "hpaName", "serviceName"},
    "spywatcher:workload:WorkloadConfig": set(),
    "spywatcher:migration:Migration": {"jobName"},
    "spywatcher:ingress:IngressController": {"namespace"},
    # and gatewayTargetGroupArn while Envoy Gateway has a target group (see below)
    "spywatcher:loadbalancer:LoadBalancer": {"dnsName", "zoneId", "targetGroupArn"},
    "spywatcher:routes:Routes": {"hosts"},
    "spywatcher:gateway:Gateway": {"namespace", "serviceName"},
    "spywatcher:cloudwatch:CloudWatch": {"dashboardName", "topicArn"},
    "spywatcher:dashboards:GrafanaDashboard": set(),
    "spywatcher:network:NetworkPolicies": set(),
    "spywatcher:schedules:ScaleSchedules": set(),
    "spywatcher:canary:Canary": set(),
    "spywatcher:monitoring:Monitoring": set(),
}


@pytest.fixture(params=["staging", "production", "all-options"])
def stack_plan(request: pytest.FixtureRequest, plans: dict[str, Plan], fixture_plans: dict[str, Plan]) -> Plan:
    return {**plans, **fixture_plans}[str(request.param)]


def _components(plan: Plan, type_: str) -> list[Registration]:
    return [r for r in plan if r.type == type_]


def _child(plan: Plan, parent: Registration, type_: str) -> dict[str, Any]:
    found = [r for r in plan if r.parent == parent.urn and r.type == type_]
    assert len(found) == 1, (parent.name, type_, [r.name for r in found])
    return found[0].inputs


def test_every_component_registers_exactly_its_output_keys(stack_plan: Plan) -> None:
    components = [r for r in stack_plan if r.type.startswith("spywatcher:")]
    assert {r.type for r in components} <= set(KEYS)
    envoy = [r for r in stack_plan if r.type == "aws:lb/targetGroup:TargetGroup" and r.name == "edge-envoy"]
    assert {r.urn: set(stack_plan.component_outputs.get(r.urn, {})) for r in components} == {
        r.urn: KEYS[r.type] | ({"gatewayTargetGroupArn"} if envoy and r.name == "edge" else set())
        for r in components}


def test_each_workload_names_its_deployment_autoscaler_and_service(stack_plan: Plan) -> None:
    workloads = _components(stack_plan, "spywatcher:workload:Workload")
    assert sorted(w.name for w in workloads) == ["backend", "frontend"]
    for workload in workloads:
        names = {key: _child(stack_plan, workload, type_)["metadata"]["name"] for key, type_ in (
            ("deploymentName", "kubernetes:apps/v1:Deployment"),
            ("hpaName", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"),
            ("serviceName", "kubernetes:core/v1:Service"))}
        assert stack_plan.component_outputs[workload.urn] == names
        assert names == {"deploymentName": f"spywatcher-{workload.name}", "hpaName": f"spywatcher-{workload.name}-hpa",
                         "serviceName": f"spywatcher-{workload.name}"}


def test_the_edge_outputs_its_load_balancer_and_each_target_group(stack_plan: Plan) -> None:
    (edge,) = _components(stack_plan, "spywatcher:loadbalancer:LoadBalancer")
    outputs = stack_plan.component_outputs[edge.urn]
    assert outputs["targetGroupArn"].split(":")[-1].startswith("targetgroup/edge-nginx-")
    if "gatewayTargetGroupArn" in outputs:
        assert outputs["gatewayTargetGroupArn"].split(":")[-1].startswith("targetgroup/edge-envoy-")
    assert outputs["dnsName"].endswith(".elb.us-east-1.amazonaws.com") and outputs["zoneId"].startswith("Z")
    (platform,) = _components(stack_plan, "spywatcher:platform:Platform")
    namespace = _child(stack_plan, _components(stack_plan, "spywatcher:namespace:NamespaceBaseline")[0],
                       "kubernetes:core/v1:Namespace")["metadata"]["name"]
    assert stack_plan.component_outputs[platform.urn] == {"namespace": namespace,
                                                           "loadBalancerDnsName": outputs["dnsName"]}


def test_cloudwatch_routes_gateway_and_controller_output_what_they_registered(stack_plan: Plan) -> None:
    (cloudwatch,) = _components(stack_plan, "spywatcher:cloudwatch:CloudWatch")
    outputs = stack_plan.component_outputs[cloudwatch.urn]
    assert outputs["dashboardName"] == _child(stack_plan, cloudwatch, "aws:cloudwatch/dashboard:Dashboard")[
        "dashboardName"]
    topic = _child(stack_plan, cloudwatch, "aws:sns/topic:Topic")["name"]
    assert outputs["topicArn"] == f"arn:aws:sns:us-east-1:111122223333:{topic}"
    (routes,) = _components(stack_plan, "spywatcher:routes:Routes")
    hosts = stack_plan.settings.routing.hosts
    assert stack_plan.component_outputs[routes.urn] == {"hosts": sorted([hosts["frontend"], hosts["api"]])}
    for type_, expected in (("spywatcher:gateway:Gateway", {"namespace": "spywatcher-gateway",
                                                             "serviceName": "spywatcher-gateway"}),
                            ("spywatcher:ingress:IngressController", {"namespace": "ingress-nginx"})):
        for component in _components(stack_plan, type_):
            assert stack_plan.component_outputs[component.urn] == expected, type_
