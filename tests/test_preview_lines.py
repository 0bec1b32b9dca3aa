"""The preview's one-line summaries on hand-made objects: each field a reviewer reads, its default
when the field is absent (the API server's, or `?`/`None` where there is none), and the counts and
words of the plan's frame and its last line. The shipped stacks set most fields, so a summary's
handling of an absent or empty one was not reached by the stack-level tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.engine import Plan, Registration, Secret
from offline.preview import SUMMARIES, _alarm, format_plan, settings_of
from tests.conftest import registration


def k8s(inputs: dict[str, Any], name: str = "logical", protect: bool = False) -> Registration:
    return registration(f"kubernetes:x/v1:{inputs['kind']}", name, {"apiVersion": "x/v1", **inputs}, protect=protect)


def aws(type_: str, inputs: dict[str, Any], protect: bool = False) -> Registration:
    return registration(type_, "r", inputs, protect=protect)


# --- Workloads and Services ----------------------------------------------------------------------

DEPLOYMENT = {"spec": {"replicas": 3, "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                       "template": {"spec": {"containers": [{"image": "nginx:1.27"}]}}}}


def test_a_deployment_without_lifecycle_resources_or_grace_period_shows_the_defaults() -> None:
    """No preStop hook is 0 s; no terminationGracePeriodSeconds is the API server's 30 s
    (kubernetes pkg/apis/core/v1/defaults.go, SetDefaults_PodSpec: DefaultTerminationGracePeriodSeconds)."""
    assert SUMMARIES["Deployment"](DEPLOYMENT) == (
        "image=nginx:1.27 replicas=3 surge=25% unavailable=0 requests=None/None limits=None/None grace=30s "
        "preStop=0s")


def test_a_deployment_without_replicas_is_the_hpas_and_its_hook_and_grace_are_shown() -> None:
    container = {"image": "app:2", "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}
    deployment = {"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
                           "template": {"spec": {"containers": [container], "terminationGracePeriodSeconds": 45}}}}
    assert SUMMARIES["Deployment"](deployment) == (
        "image=app:2 replicas=HPA surge=1 unavailable=1 requests=100m/64Mi limits=None/128Mi grace=45s preStop=5s")


@pytest.mark.parametrize(("affinity", "shown"), [
    ({}, "LoadBalancer ports=443->8443"),
    ({"sessionAffinity": "None"}, "LoadBalancer ports=443->8443"),
    ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}}},
     "LoadBalancer ports=443->8443 affinity=ClientIP/600s"),
])
def test_a_services_client_ip_affinity_is_shown_only_when_set(affinity: dict[str, Any], shown: str) -> None:
    service = {"spec": {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": 8443}], **affinity}}
    assert SUMMARIES["Service"](service) == shown


@pytest.mark.parametrize(("spec", "shown"), [
    ({"maxUnavailable": 0}, "maxUnavailable=0"),  # no voluntary eviction at all: the line must say so
    ({"minAvailable": "50%", "unhealthyPodEvictionPolicy": "IfHealthyBudget"},
     "minAvailable=50% unhealthyPodEvictionPolicy=IfHealthyBudget"),
    ({"minAvailable": 0}, "minAvailable=0"),
])
def test_a_disruption_budget_shows_every_field_set_zero_included(spec: dict[str, Any], shown: str) -> None:
    assert SUMMARIES["PodDisruptionBudget"]({"spec": spec}) == shown


def test_an_ingress_shows_its_routes_and_the_nginx_annotations_a_reviewer_checks() -> None:
    ingress = {"metadata": {"annotations": {
        "nginx.ingress.kubernetes.io/affinity": "cookie",
        "nginx.ingress.kubernetes.io/session-cookie-max-age": "3600",
        "nginx.ingress.kubernetes.io/proxy-body-size": "8m",  # not one of those picked
        "nginx.ingress.kubernetes.io/load-balance": "ewma",
    }}, "spec": {"ingressClassName": "nginx", "rules": [
        {"host": "a.example", "http": {"paths": [{"path": "/api", "backend": {"service": {"name": "api"}}},
                                                  {"path": "/", "backend": {"service": {"name": "web"}}}]}}]}}
    assert SUMMARIES["Ingress"](ingress) == (
        "class=nginx a.example/api->api a.example/->web load-balance=ewma affinity=cookie session-cookie-max-age=3600")


def test_an_http_route_match_defaults_to_slash_and_a_backend_shows_only_a_weight_it_sets() -> None:
    route = {"spec": {"hostnames": ["a.example", "b.example"], "rules": [
        {"backendRefs": [{"name": "web"}]},
        {"matches": [{"path": {"value": "/api"}, "headers": [{"name": "x-canary", "value": "1"}]}],
         "backendRefs": [{"name": "api", "weight": 90}, {"name": "api-canary", "weight": 10}],
         "timeouts": {"request": "30s"},
         "sessionPersistence": {"sessionName": "sid", "absoluteTimeout": "1h"}},
    ]}}
    assert SUMMARIES["HTTPRoute"](route) == (
        "a.example,b.example /->web /api[x-canary=1]->api@90,api-canary@10 timeout=30s session=sid/1h")


def test_a_backend_policy_shows_retries_only_when_it_has_them() -> None:
    policy = {"spec": {"loadBalancer": {"type": "LeastRequest"},
                       "timeout": {"http": {"requestTimeout": "10s", "connectionIdleTimeout": "60s"}}}}
    assert SUMMARIES["BackendTrafficPolicy"](policy) == "lb=LeastRequest connectionIdleTimeout=60s requestTimeout=10s"
    policy["spec"]["retry"] = {"numRetries": 2, "retryOn": {"httpStatusCodes": [502, 503]}}
    assert SUMMARIES["BackendTrafficPolicy"](policy) == (
        "lb=LeastRequest retries=2x on=502,503 connectionIdleTimeout=60s requestTimeout=10s")


# --- ConfigMaps, Secrets, dashboards --------------------------------------------------------------

BOARD = {"title": "Spywatcher", "panels": [{"type": "row"}, {"type": "timeseries"}, {"type": "row"},
                                           {"type": "text"}]}


def test_a_grafana_dashboard_counts_its_panels_but_not_its_rows_and_names_the_sidecar_label() -> None:
    config_map = {"metadata": {"labels": {"grafana_dashboard": "1", "app": "x", "dashboard-folder": "ops"}},
                  "data": {"board.json": json.dumps(BOARD)}}
    assert SUMMARIES["ConfigMap"](config_map) == (
        'Grafana dashboard "Spywatcher": 2 panels, label grafana_dashboard=1,dashboard-folder=ops')


@pytest.mark.parametrize(("data", "shown"), [
    ({"a.json": json.dumps(BOARD), "b.json": json.dumps(BOARD)}, "keys=a.json,b.json"),  # two files: no dashboard
    ({"board.yaml": json.dumps(BOARD)}, "keys=board.yaml"),
    ({"board.json": "{not json"}, "keys=board.json"),
    ({"board.json": json.dumps({"title": "no panels"})}, "keys=board.json"),
    ({"board.json": json.dumps([BOARD])}, "keys=board.json"),
    ({}, "keys="),
    (None, "keys="),
])
def test_a_config_map_that_is_not_one_dashboard_lists_its_keys(data: Any, shown: str) -> None:
    assert SUMMARIES["ConfigMap"]({"metadata": {}, "data": data}) == shown


def test_a_secrets_keys_are_listed_unless_the_data_is_secret() -> None:
    assert SUMMARIES["Secret"]({"stringData": {"b": "2", "a": "1"}}) == "keys=a,b"
    assert SUMMARIES["Secret"]({"stringData": Secret({"a": "1"})}) == "keys=[secret]"


# --- settings_of: the object's name, providers, protect --------------------------------------------


def test_the_object_name_is_shown_only_when_it_differs_from_the_logical_name() -> None:
    namespace = {"kind": "Namespace", "metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted",
                                                              "pod-security.kubernetes.io/enforce-version": "v1.33"}}}
    assert settings_of(k8s({**namespace, "metadata": {**namespace["metadata"], "name": "web"}}, name="ns")) == (
        "web  psa=restricted@v1.33")
    assert settings_of(k8s({**namespace, "metadata": {**namespace["metadata"], "name": "ns"}}, name="ns")) == (
        "psa=restricted@v1.33")
    assert settings_of(k8s({"kind": "Unknown", "metadata": {"name": "other"}})) == "other"


def test_a_kubernetes_provider_shows_its_context_or_hides_its_kubeconfig() -> None:
    provider = aws("pulumi:providers:kubernetes", {"context": "prod", "cluster": "eks"})
    assert settings_of(provider) == "context=prod"
    assert settings_of(aws("pulumi:providers:kubernetes", {"kubeconfig": Secret("apiVersion: v1")})) == (
        "kubeconfig=[secret]")
    assert settings_of(aws("pulumi:providers:aws", {"region": "eu-west-1"})) == "region=eu-west-1"


def test_a_protected_aws_resource_says_so() -> None:
    topic = {"name": "alerts"}
    assert settings_of(aws("aws:sns/topic:Topic", topic, protect=True)) == "topic alerts protect"
    assert settings_of(aws("aws:sns/topic:Topic", topic)) == "topic alerts"


def test_a_release_without_controller_values_shows_its_deployment_replicas() -> None:
    release = aws("kubernetes:helm.sh/v3:Release", {"chart": "gateway-helm", "version": "1.5.0",
                                                    "values": {"deployment": {"replicas": 2}}})
    assert settings_of(release) == "chart=gateway-helm@1.5.0 replicas=2"
    bare = aws("kubernetes:helm.sh/v3:Release", {"chart": "adapter", "version": "5.0.0", "values": {}})
    assert settings_of(bare) == "chart=adapter@5.0.0 replicas=None"


# --- AWS resources ----------------------------------------------------------------------------------

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"


def test_a_load_balancer_shows_http2_and_idle_timeout_only_when_set() -> None:
    nlb = {"loadBalancerType": "network", "internal": False, "enableDeletionProtection": True,
           "enableCrossZoneLoadBalancing": True}
    assert settings_of(aws(LB, nlb)) == "network internal=False deletionProtection=True crossZone=True"
    alb = {**nlb, "loadBalancerType": "application", "enableHttp2": False, "idleTimeout": 120}
    assert settings_of(aws(LB, alb)) == (
        "application internal=False deletionProtection=True crossZone=True http2=False idle=120s")


def test_a_listener_shows_weights_only_for_a_forward_to_target_groups() -> None:
    forward = {"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
               "defaultActions": [{"type": "forward", "forward": {
                   "targetGroups": [{"weight": 100}], "stickiness": {"duration": 3600}}}]}
    assert settings_of(aws(LISTENER, forward)) == (
        "HTTPS:443 -> forward weights=100 sticky=3600s policy=ELBSecurityPolicy-TLS13-1-2-2021-06")
    redirect = {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "redirect", "forward": None}]}
    assert settings_of(aws(LISTENER, redirect)) == "HTTP:80 -> redirect"
    assert settings_of(aws(LISTENER, {"protocol": "TCP", "port": 80})) == "TCP:80 -> None"


def test_a_security_group_rule_shows_its_ipv4_or_else_its_ipv6_range() -> None:
    rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    assert settings_of(aws(rule, {"fromPort": 443, "cidrIpv4": "10.0.0.0/16"})) == "tcp:443 10.0.0.0/16"
    assert settings_of(aws(rule, {"fromPort": 443, "cidrIpv6": "::/0"})) == "tcp:443 ::/0"


@pytest.mark.parametrize(("body", "shown"), [
    ("", "ops: 0 widgets ()"),  # an empty body is no widgets, not an error
    (None, "ops: 0 widgets ()"),
    (json.dumps({"widgets": [{"properties": {"title": "5xx"}}, {"type": "text", "properties": {}}]}),
     "ops: 2 widgets (5xx, ?)"),
])
def test_a_cloudwatch_dashboard_counts_its_widgets_and_names_an_untitled_one(body: str | None, shown: str) -> None:
    assert settings_of(aws("aws:cloudwatch/dashboard:Dashboard", {"dashboardName": "ops", "dashboardBody": body})) == (
        shown)


def test_an_alarm_on_a_metric_math_expression_shows_it_and_its_metrics_period() -> None:
    alarm = {"name": "5xx", "comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": 5,
             "datapointsToAlarm": 2, "evaluationPeriods": 3, "treatMissingData": "notBreaching",
             "metricQueries": [{"id": "e", "expression": "100*m1/m2", "returnData": True},
                               {"id": "m1", "metric": {"period": 60}}]}
    assert _alarm(alarm) == "5xx: 100*m1/m2 >= 5 in 2 of 3 x 60s missing=notBreaching"
    no_metric = {**alarm, "metricQueries": [alarm["metricQueries"][0]]}
    assert _alarm(no_metric) == "5xx: 100*m1/m2 >= 5 in 2 of 3 x ?s missing=notBreaching"


def test_an_alarm_on_a_percentile_shows_the_extended_statistic() -> None:
    alarm = {"name": "p99", "metricName": "TargetResponseTime", "extendedStatistic": "p99", "statistic": None,
             "period": 60, "threshold": 1, "comparisonOperator": "LessThanOrEqualToThreshold",
             "datapointsToAlarm": 1, "evaluationPeriods": 1, "treatMissingData": "missing"}
    assert _alarm(alarm) == "p99: p99(TargetResponseTime) <= 1 in 1 of 1 x 60s missing=missing"
    assert _alarm({**alarm, "extendedStatistic": None, "statistic": "Maximum"}) == (
        "p99: Maximum(TargetResponseTime) <= 1 in 1 of 1 x 60s missing=missing")


# --- The plan's frame -------------------------------------------------------------------------------


def test_the_plan_counts_the_stack_resource_and_pads_the_namespace_column_to_its_title() -> None:
    topic = aws("aws:sns/topic:Topic", {"name": "alerts"})
    text = format_plan(Plan("s", [topic], {"url": "https://x"}, []))
    assert text.splitlines() == [
        "Previewing stack s offline (Pulumi SDK mocks: no engine, no cluster, no cloud)",
        "",
        "     Type" + " " * 20 + "Name" + " " * 10 + "Namespace  Key settings",
        " +   pulumi:pulumi:Stack     spywatcher-s",
        " +   └─ aws:sns/topic:Topic  r" + " " * 24 + "topic alerts",
        "",
        "Outputs:",
        "    url: https://x",
        "",
        "Resources:",
        "    + 2 to create",
    ]


# --- The last line: what the stack needs that it does not create -----------------------------------


def pointer(monkeypatch: pytest.MonkeyPatch, sections: list[str]) -> str:
    """The preview's last line for a stack whose prerequisites are one item per entry of ``sections``."""
    from offline import prerequisites, preview, render
    from offline.prerequisites import Prerequisite

    class Settings:
        def existing_objects(self) -> list[tuple[str, str, str]]:
            return []

    monkeypatch.setattr(render, "plan_settings", lambda plan: Settings())
    items = [Prerequisite(section, f"item {i}", "", ("x",)) for i, section in enumerate(sections)]
    monkeypatch.setattr(prerequisites, "prerequisites", lambda plan, existing: items)
    return preview.prerequisites_pointer(Plan("s", [], {}, []), "qa")


def test_a_stack_that_needs_nothing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pointer(monkeypatch, []) == "Before `pulumi up`, qa needs nothing that it does not create."


@pytest.mark.parametrize(("sections", "needs"), [
    (["Helm repository"], "1 chart repository"),
    (["Helm repository", "Helm repository"], "2 chart repositories"),
    (["AWS", "CRD", "AWS"], "1 CRD and 2 AWS permissions"),
    (["existing", "access", "controller", "namespace"],
     "1 namespace, 1 existing object, 1 controller and 1 cluster access entry"),
])
def test_the_last_line_counts_each_section_in_the_lists_order(monkeypatch: pytest.MonkeyPatch, sections: list[str],
                                                              needs: str) -> None:
    assert pointer(monkeypatch, sections) == (
        f"Before `pulumi up`, qa needs what it does not create: {needs} (`make prerequisites STACK=qa` lists them).")


def test_an_hpa_shows_each_metric_by_its_type_and_both_scaling_rules() -> None:
    rules = {"selectPolicy": "Max", "stabilizationWindowSeconds": 0,
             "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                          {"type": "Pods", "value": 4, "periodSeconds": 15}]}
    hpa = {"spec": {"minReplicas": 1, "maxReplicas": 3, "behavior": {"scaleUp": rules, "scaleDown": {
        "selectPolicy": "Disabled", "stabilizationWindowSeconds": 300, "policies": []}}, "metrics": [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 60}}},
        {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"averageValue": "50"}}}]}}
    assert SUMMARIES["HorizontalPodAutoscaler"](hpa) == (
        "replicas=1..3 cpu=60% rps=50/pod up=Max(100%/15s,4 pods/15s) window=0s down=Disabled() window=300s")


def test_quota_limit_range_gateway_and_envoy_proxy_lines() -> None:
    assert SUMMARIES["ResourceQuota"]({"spec": {"hard": {"pods": "20", "limits.cpu": "8"}}}) == "limits.cpu=8 pods=20"
    limits = {"spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                                   "max": {"memory": "1Gi"}}]}}
    assert SUMMARIES["LimitRange"](limits) == "default=500m/256Mi max=None/1Gi"
    gateway = {"spec": {"listeners": [{"name": "http", "protocol": "HTTP", "port": 80},
                                      {"name": "https", "protocol": "HTTPS", "port": 443}]}}
    assert SUMMARIES["Gateway"](gateway) == "http=HTTP:80 https=HTTPS:443"
    proxy = {"spec": {"provider": {"kubernetes": {"envoyService": {"name": "edge", "type": "ClusterIP"}}}}}
    assert SUMMARIES["EnvoyProxy"](proxy) == "service=edge/ClusterIP replicas=None..None drain=None..None"
    proxy["spec"]["provider"]["kubernetes"]["envoyHpa"] = {"minReplicas": 2, "maxReplicas": 5}
    proxy["spec"]["shutdown"] = {"minDrainDuration": "5s", "drainTimeout": "60s"}
    assert SUMMARIES["EnvoyProxy"](proxy) == "service=edge/ClusterIP replicas=2..5 drain=5s..60s"
    assert SUMMARIES["ClientTrafficPolicy"]({"spec": {}}) == "healthCheck=None"
    binding = {"spec": {"serviceRef": {"name": "web", "port": 80}}}
    assert SUMMARIES["TargetGroupBinding"](binding) == "service=web:80 targetType=None"
