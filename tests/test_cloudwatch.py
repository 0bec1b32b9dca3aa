"""CloudWatch: the load balancer's dashboard and alarms, asserted on the registered resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.engine import DELETE, Plan, run_stack
from offline.mock_outputs import computed_outputs
from offline.preview import format_plan
from tests.conftest import behind_nlb, config_error, problem_for

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOPIC = "aws:sns/topic:Topic"
RUNBOOKS = "https://github.com/subculture-collective/spywatcher/blob/main/docs/runbooks"
# What each alarm's description says after the stack's name, with the default thresholds.
DESCRIPTIONS = {
    "UnhealthyTargets-nginx": " (nginx target group): a target (ingress-nginx controller pod) failed its health "
                              "checks in 3 of 3 periods of 60 s.",
    "HealthyTargetsLow-nginx": " (nginx target group): fewer healthy targets than ingress-nginx's minimum of 2 "
                               "replicas.",
    "Target5xxRate-nginx": " (nginx target group): 5xx answered by its targets above 1 % of its requests over 300 s "
                           "(periods with fewer than 100 requests count as 0).",
    "TargetResponseTimeHigh-nginx": " (nginx target group): p95 target response time above 1000 ms in 5 of 5 "
                                    "periods of 60 s.",
    "UnhealthyTargets-envoy": " (envoy target group): a target (Envoy proxy pod) failed its health checks in 3 of 3 "
                              "periods of 60 s.",
    "HealthyTargetsLow-envoy": " (envoy target group): fewer healthy targets than the Envoy proxies' minimum of 2 "
                               "replicas.",
    "Target5xxRate-envoy": " (envoy target group): 5xx answered by its targets above 1 % of its requests over 300 s "
                           "(periods with fewer than 100 requests count as 0).",
    "TargetResponseTimeHigh-envoy": " (envoy target group): p95 target response time above 1000 ms in 5 of 5 "
                                    "periods of 60 s.",
    "LoadBalancer5xxRate": ": 5xx answered by the load balancer itself above 1 % of requests over 300 s (periods "
                           "with fewer than 100 requests count as 0).",
}
NAMESPACE = {"production": "spywatcher", "staging": "spywatcher-staging"}
NGINX_TG = "targetgroup/edge-nginx-ff983e1/ff983e1ae7346409"
ENVOY_TG = "targetgroup/edge-envoy-b1220f7/b1220f7d14caf82d"


def suffixes(plan: Plan, group_name: str = "edge-nginx") -> tuple[str, str]:
    """The arn_suffix outputs the provider computes for the stack's load balancer and a target group."""
    balancer = plan.get("aws:lb/loadBalancer:LoadBalancer", "edge")
    group = plan.get("aws:lb/targetGroup:TargetGroup", group_name)
    return (
        computed_outputs(balancer.type, balancer.name, balancer.inputs)["arnSuffix"],
        computed_outputs(group.type, group.name, group.inputs)["arnSuffix"],
    )


def alarms(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.name.removeprefix("cloudwatch-"): r.inputs for r in plan.of_type(ALARM)}


@pytest.fixture(scope="module")
def nlb() -> Plan:
    return run_stack("production", behind_nlb())


def pick(alarm: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: alarm.get(k) for k in keys}


KEYS = ("namespace", "metricName", "dimensions", "statistic", "extendedStatistic", "period", "comparisonOperator",
        "threshold", "evaluationPeriods", "datapointsToAlarm", "treatMissingData")


def target_alarms(lb: str, tg: str, plane: str) -> dict[str, dict[str, Any]]:
    """The per-target-group alarms of one data plane, with the default thresholds."""
    both = {"LoadBalancer": lb, "TargetGroup": tg}
    common = {"namespace": "AWS/ApplicationELB", "dimensions": both, "comparisonOperator": "GreaterThanThreshold"}
    return {
        f"UnhealthyTargets-{plane}": {
            **common, "metricName": "UnHealthyHostCount", "statistic": "Maximum", "extendedStatistic": None,
            "period": 60, "threshold": 0, "evaluationPeriods": 3, "datapointsToAlarm": 3,
            "treatMissingData": "notBreaching",
        },
        f"HealthyTargetsLow-{plane}": {
            **common, "metricName": "HealthyHostCount", "statistic": "Minimum", "extendedStatistic": None,
            "comparisonOperator": "LessThanThreshold", "period": 60, "threshold": 2,  # the plane's minReplicas
            "evaluationPeriods": 3, "datapointsToAlarm": 3, "treatMissingData": "breaching",
        },
        f"TargetResponseTimeHigh-{plane}": {
            **common, "metricName": "TargetResponseTime", "statistic": None, "extendedStatistic": "p95",
            "period": 60, "threshold": 1, "evaluationPeriods": 5, "datapointsToAlarm": 5,
            "treatMissingData": "notBreaching",
        },
    }


def ratio_queries(lb: str, tg: str | None, plane: str | None) -> list[dict[str, Any]]:
    """A 5xx-rate alarm's metric math: of the load balancer's own 5xx, or of one target group's."""
    dimensions = {"LoadBalancer": lb} if tg is None else {"LoadBalancer": lb, "TargetGroup": tg}
    errors = "HTTPCode_ELB_5XX_Count" if tg is None else "HTTPCode_Target_5XX_Count"
    label = "Load balancer 5xx, percent of requests" if plane is None else f"Target 5xx ({plane}), percent of requests"
    return [
        {"id": "errors", "returnData": False, "metric": {"namespace": "AWS/ApplicationELB", "metricName": errors,
                                                          "dimensions": dimensions, "stat": "Sum", "period": 300}},
        {"id": "requests", "returnData": False, "metric": {"namespace": "AWS/ApplicationELB", "metricName":
         "RequestCount", "dimensions": dimensions, "stat": "Sum", "period": 300}},
        {"id": "rate", "expression": "IF(requests >= 100, 100 * FILL(errors, 0) / requests, 0)",
         "label": label, "returnData": True},
    ]


RATE_WINDOW = {"threshold": 1, "evaluationPeriods": 1, "datapointsToAlarm": 1, "treatMissingData": "notBreaching",
               "comparisonOperator": "GreaterThanThreshold"}


@pytest.mark.parametrize(("stack", "planes"), [("production", {"nginx": NGINX_TG}),
                                               ("staging", {"nginx": NGINX_TG, "envoy": ENVOY_TG})])
def test_alb_alarms_per_target_group(plans: dict[str, Plan], stack: str, planes: dict[str, str]) -> None:
    """Every per-target alarm once per data plane's target group (staging runs both), the load
    balancer's own 5xx once."""
    plan = plans[stack]
    lb, _ = suffixes(plan)
    # Pulumi's auto-names with the ids AWS assigns (offline/mock_outputs.py's deterministic ones):
    # nothing a string built from config could know.
    assert lb == "app/edge-a1cb100/a1cb100f57e971ca"
    assert {plane: suffixes(plan, f"edge-{plane}")[1] for plane in planes} == planes
    topic = f"arn:aws:sns:us-east-1:111122223333:spywatcher-{stack}-alarms"
    found = alarms(plan)
    expected = {f"{alarm}-{plane}" for plane in planes for alarm in ("UnhealthyTargets", "HealthyTargetsLow",
                                                                     "Target5xxRate", "TargetResponseTimeHigh")}
    assert set(found) == {*expected, "LoadBalancer5xxRate"}
    for name, alarm in found.items():
        kind = name.split("-")[0]
        assert alarm["name"] == f"spywatcher-{stack}-{name}"
        assert alarm["alarmActions"] == [topic] and alarm["okActions"] == [topic] and alarm["actionsEnabled"] is True
        assert alarm["alarmDescription"] == (
            f"spywatcher-{stack}{DESCRIPTIONS[name]} Runbook: {RUNBOOKS}/{kind}.md")
    for plane, tg in planes.items():
        for name, expected_fields in target_alarms(lb, tg, plane).items():
            assert pick(found[name], *KEYS) == expected_fields, name
        rate = found[f"Target5xxRate-{plane}"]
        assert pick(rate, *RATE_WINDOW) == RATE_WINDOW
        assert "metricName" not in rate and "period" not in rate, "a metric math alarm sets its metrics per query"
        assert rate["metricQueries"] == ratio_queries(lb, tg, plane)
    rate = found["LoadBalancer5xxRate"]
    assert pick(rate, *RATE_WINDOW) == RATE_WINDOW
    assert "metricName" not in rate and "period" not in rate
    assert rate["metricQueries"] == ratio_queries(lb, None, None)
    # Encrypted with the stack's own key (tests/test_edge_logs.py: its policy and the topic's).
    key = plan.get("aws:kms/key:Key", "cloudwatch-alarms")
    assert plan.get(TOPIC, "cloudwatch-alarms").inputs == {
        "name": f"spywatcher-{stack}-alarms",
        "kmsMasterKeyId": computed_outputs(key.type, key.name, key.inputs)["arn"],
    }


def test_each_planes_healthy_floor_is_its_own_minimum() -> None:
    plan = run_stack("staging", {"ingressController": {"autoscaling": {"minReplicas": 3, "maxReplicas": 6}},
                                 "gateway": {"autoscaling": {"minReplicas": 4, "maxReplicas": 8}}})
    found = alarms(plan)
    assert (found["HealthyTargetsLow-nginx"]["threshold"], found["HealthyTargetsLow-envoy"]["threshold"]) == (3, 4)
    assert "than the Envoy proxies' minimum of 4 replicas." in found["HealthyTargetsLow-envoy"]["alarmDescription"]


def test_gateway_only_alarms_only_its_target_group() -> None:
    plan = run_stack("staging", {"ingressController": {"enabled": False}, "loadBalancer": {"weights": DELETE}})
    assert sorted(alarms(plan)) == ["HealthyTargetsLow-envoy", "LoadBalancer5xxRate", "Target5xxRate-envoy",
                                    "TargetResponseTimeHigh-envoy", "UnhealthyTargets-envoy"]
    _, tg = suffixes(plan, "edge-envoy")
    assert {a["dimensions"]["TargetGroup"] for a in alarms(plan).values() if "dimensions" in a} == {tg}


def dashboard(plan: Plan) -> dict[str, Any]:
    registered = plan.get(DASHBOARD, "cloudwatch-dashboard").inputs
    assert registered["dashboardName"] == f"spywatcher-{plan.stack}"
    return dict(json.loads(registered["dashboardBody"]))


def metrics_of(body: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Widget title -> (namespace, metric, dimensions, stat) of each line."""
    result = {}
    for widget in body["widgets"]:
        props = widget["properties"]
        assert props["region"] == "us-east-1" and widget["type"] == "metric"
        lines = []
        for row in props["metrics"]:
            *names, options = row
            namespace, metric, *dims = names
            lines.append((namespace, metric, dict(zip(dims[::2], dims[1::2], strict=True)), options["stat"]))
        result[props["title"]] = lines
    return result


def replicas(namespace: str, cluster: str, services: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """The Container Insights line of each Service's running pods."""
    return [("ContainerInsights", "service_number_of_running_pods",
             {"Service": service, "Namespace": ns or namespace, "ClusterName": cluster}, "Average")
            for ns, service in services]


APP_SERVICES = [("", "spywatcher-backend"), ("", "spywatcher-frontend")]


@pytest.mark.parametrize(("stack", "groups"), [("production", [NGINX_TG]), ("staging", [NGINX_TG, ENVOY_TG])])
def test_alb_dashboard_shows_every_target_group_and_the_replicas(
    plans: dict[str, Plan], stack: str, groups: list[str]
) -> None:
    plan = plans[stack]
    lb, _ = suffixes(plan)
    ns, whole = "AWS/ApplicationELB", {"LoadBalancer": lb}

    def per_group(metric: str, stat: str) -> list[tuple[Any, ...]]:
        return [(ns, metric, {"TargetGroup": tg, "LoadBalancer": lb}, stat) for tg in groups]

    # Each data plane's pods through the Service its target group binding names (this program's).
    services = [*APP_SERVICES, ("ingress-nginx", "ingress-nginx-targets")]
    if stack == "staging":
        services.append(("spywatcher-gateway", "spywatcher-gateway-targets"))
    assert metrics_of(dashboard(plan)) == {
        "Targets: healthy and unhealthy": [*per_group("HealthyHostCount", "Minimum"),
                                           *per_group("UnHealthyHostCount", "Maximum")],
        "Requests": [(ns, "RequestCount", whole, "Sum"), *per_group("RequestCount", "Sum")],
        "Target response time (seconds)": [line for p in ("p50", "p95", "p99")
                                           for line in per_group("TargetResponseTime", p)],
        "HTTP 4xx and 5xx": [*per_group("HTTPCode_Target_4XX_Count", "Sum"),
                             *per_group("HTTPCode_Target_5XX_Count", "Sum"),
                             (ns, "HTTPCode_ELB_4XX_Count", whole, "Sum"),
                             (ns, "HTTPCode_ELB_5XX_Count", whole, "Sum")],
        "Connections": [(ns, m, whole, "Sum")
                        for m in ("ActiveConnectionCount", "NewConnectionCount", "RejectedConnectionCount")],
        "Replicas: running pods per Service (Container Insights)": replicas(
            NAMESPACE[stack], f"spywatcher-{stack}", services),
    }


def test_nlb_dashboard_and_alarms(nlb: Plan) -> None:
    lb, tg = suffixes(nlb)
    assert lb == "net/edge-a1cb100/a1cb100f57e971ca"
    ns, whole, group = "AWS/NetworkELB", {"LoadBalancer": lb}, {"TargetGroup": tg, "LoadBalancer": lb}
    assert metrics_of(dashboard(nlb)) == {
        "Targets: healthy and unhealthy": [(ns, "HealthyHostCount", group, "Minimum"),
                                           (ns, "UnHealthyHostCount", group, "Maximum")],
        "Flows": [(ns, "ActiveFlowCount", whole, "Average"), (ns, "NewFlowCount", whole, "Sum")],
        "Processed bytes": [(ns, "ProcessedBytes", whole, "Sum")],
        "TCP resets": [(ns, m, whole, "Sum")
                       for m in ("TCP_Client_Reset_Count", "TCP_Target_Reset_Count", "TCP_ELB_Reset_Count")],
        "Replicas: running pods per Service (Container Insights)": replicas(
            "spywatcher", "spywatcher-production", [*APP_SERVICES, ("ingress-nginx", "ingress-nginx-targets")]),
    }
    found = alarms(nlb)
    assert set(found) == {"UnhealthyTargets-nginx", "HealthyTargetsLow-nginx"}, "an NLB has no HTTP codes or times"
    assert {a["namespace"] for a in found.values()} == {ns}
    assert found["UnhealthyTargets-nginx"]["dimensions"] == group


def layout(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Each widget's place, title, period, view and line labels (what metrics_of leaves out)."""
    assert set(body) == {"widgets"}
    return [(w["x"], w["y"], w["width"], w["height"], p["title"], p["period"], p["stacked"], p["view"],
             [row[-1]["label"] for row in p["metrics"]])
            for w in body["widgets"] for p in [w["properties"]]]


REPLICAS = "Replicas: running pods per Service (Container Insights)"


def test_dashboards_lay_out_two_widgets_a_row_with_labelled_lines(plans: dict[str, Plan], nlb: Plan) -> None:
    group = "edge-nginx-ff983e1"
    targets = (0, 0, 12, 6, "Targets: healthy and unhealthy", 60, False, "timeSeries",
               [f"healthy {group}", f"unhealthy {group}"])
    pods = ["spywatcher/spywatcher-backend", "spywatcher/spywatcher-frontend", "ingress-nginx/ingress-nginx-targets"]
    assert layout(dashboard(plans["production"])) == [
        targets,
        (12, 0, 12, 6, "Requests", 60, False, "timeSeries", ["requests", f"requests {group}"]),
        (0, 6, 12, 6, "Target response time (seconds)", 60, False, "timeSeries",
         [f"p50 {group}", f"p95 {group}", f"p99 {group}"]),
        (12, 6, 12, 6, "HTTP 4xx and 5xx", 60, False, "timeSeries",
         [f"target 4xx {group}", f"target 5xx {group}", "load balancer 4xx", "load balancer 5xx"]),
        (0, 12, 12, 6, "Connections", 60, False, "timeSeries", ["active", "new", "rejected"]),
        (12, 12, 12, 6, REPLICAS, 60, False, "timeSeries", pods),
    ]
    assert layout(dashboard(nlb)) == [
        targets,
        (12, 0, 12, 6, "Flows", 60, False, "timeSeries", ["active", "new"]),
        (0, 6, 12, 6, "Processed bytes", 60, False, "timeSeries", ["bytes"]),
        (12, 6, 12, 6, "TCP resets", 60, False, "timeSeries", ["client", "target", "load balancer"]),
        (0, 12, 12, 6, REPLICAS, 60, False, "timeSeries", pods),
    ]
    envoy = "edge-envoy-b1220f7"
    staging = layout(dashboard(plans["staging"]))
    assert staging[0][-1] == [f"healthy {group}", f"healthy {envoy}", f"unhealthy {group}", f"unhealthy {envoy}"]
    assert staging[-1][-1] == ["spywatcher-staging/spywatcher-backend", "spywatcher-staging/spywatcher-frontend",
                               "ingress-nginx/ingress-nginx-targets", "spywatcher-gateway/spywatcher-gateway-targets"]


def test_an_existing_topic_is_used_as_is() -> None:
    arn = "arn:aws:sns:us-east-1:111122223333:oncall"
    plan = run_stack("staging", {"monitoring": {"cloudWatch": {"enabled": True, "snsTopicArn": arn, "alarms": {
        "responseTimeP95Milliseconds": 500, "errorRatePercent": 3, "errorRateMinRequests": 20,
        "unhealthyTargets": {"periodSeconds": 120, "evaluationPeriods": 5, "datapointsToAlarm": 4}}}}})
    assert plan.of_type(TOPIC) == []
    found = alarms(plan)
    assert {a["alarmActions"][0] for a in found.values()} == {arn}
    for plane in ("nginx", "envoy"):
        assert found[f"TargetResponseTimeHigh-{plane}"]["threshold"] == 0.5
        assert found[f"Target5xxRate-{plane}"]["threshold"] == 3
        assert found[f"Target5xxRate-{plane}"]["metricQueries"][2] == {
            "id": "rate", "expression": "IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)",
            "label": f"Target 5xx ({plane}), percent of requests", "returnData": True}
        unhealthy = found[f"UnhealthyTargets-{plane}"]
        assert (unhealthy["period"], unhealthy["evaluationPeriods"], unhealthy["datapointsToAlarm"]) == (120, 5, 4)
    assert found["LoadBalancer5xxRate"]["threshold"] == 3
    assert found["LoadBalancer5xxRate"]["metricQueries"][2] == {
        "id": "rate", "expression": "IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)",
        "label": "Load balancer 5xx, percent of requests", "returnData": True}


def test_each_alarm_reads_its_own_window_and_the_replicas_their_cluster() -> None:
    """Four windows, each different in every field: an alarm that read another's period or counted
    its periods as datapoints would show here (the defaults share 60 s periods). The cluster is named
    apart from the stack, so the replicas' `ClusterName` is the cluster's, not the instance's."""
    plan = run_stack("production", {"cluster": {"name": "eks-blue"}, "monitoring": {"cloudWatch": {"alarms": {
        "unhealthyTargets": {"periodSeconds": 120, "evaluationPeriods": 5, "datapointsToAlarm": 4},
        "healthyTargets": {"periodSeconds": 300, "evaluationPeriods": 4, "datapointsToAlarm": 2},
        "errorRate": {"periodSeconds": 600, "evaluationPeriods": 3, "datapointsToAlarm": 2},
        "responseTime": {"periodSeconds": 180, "evaluationPeriods": 6, "datapointsToAlarm": 3}}}}})
    found = alarms(plan)

    def window(alarm: dict[str, Any]) -> tuple[Any, ...]:
        period = alarm.get("period") or {q["metric"]["period"] for q in alarm["metricQueries"] if "metric" in q}
        return period, alarm["evaluationPeriods"], alarm["datapointsToAlarm"]

    assert {name: window(alarm) for name, alarm in found.items()} == {
        "UnhealthyTargets-nginx": (120, 5, 4),
        "HealthyTargetsLow-nginx": (300, 4, 2),
        "Target5xxRate-nginx": ({600}, 3, 2),
        "TargetResponseTimeHigh-nginx": (180, 6, 3),
        "LoadBalancer5xxRate": ({600}, 3, 2),
    }
    assert found["UnhealthyTargets-nginx"]["alarmDescription"] == (
        "spywatcher-production (nginx target group): a target (ingress-nginx controller pod) failed its health "
        f"checks in 4 of 5 periods of 120 s. Runbook: {RUNBOOKS}/UnhealthyTargets.md")
    assert found["TargetResponseTimeHigh-nginx"]["alarmDescription"] == (
        "spywatcher-production (nginx target group): p95 target response time above 1000 ms in 3 of 6 periods "
        f"of 180 s. Runbook: {RUNBOOKS}/TargetResponseTimeHigh.md")
    assert metrics_of(dashboard(plan))[REPLICAS] == replicas(
        "spywatcher", "eks-blue", [*APP_SERVICES, ("ingress-nginx", "ingress-nginx-targets")])


def test_off_by_default() -> None:
    from config.observability import CloudWatchSettings

    assert CloudWatchSettings().enabled is False
    plan = run_stack("staging", {"monitoring": {"cloudWatch": DELETE}})
    assert plan.of_type(ALARM) == [] and plan.of_type(DASHBOARD) == [] and plan.of_type(TOPIC) == []


def test_preview_of_a_dashboard_whose_body_is_not_known_yet_counts_no_widgets() -> None:
    from offline.preview import _aws

    for body in (None, ""):
        assert _aws(DASHBOARD, {"dashboardName": "d", "dashboardBody": body}) == "d: 0 widgets ()"
    body = json.dumps({"widgets": [{"properties": {"title": "A"}}, {"properties": {}}]})
    assert _aws(DASHBOARD, {"dashboardName": "d", "dashboardBody": body}) == "d: 2 widgets (A, ?)"


def test_preview_lists_dashboard_and_alarms(plans: dict[str, Plan]) -> None:
    text = format_plan(plans["staging"])
    assert "spywatcher-staging: 6 widgets (Targets: healthy and unhealthy, Requests" in text
    for plane in ("nginx", "envoy"):
        assert f"spywatcher-staging-UnhealthyTargets-{plane}: Maximum(UnHealthyHostCount) > 0 in 3 of 3 x 60s " \
               "missing=notBreaching" in text
        assert f"spywatcher-staging-HealthyTargetsLow-{plane}: Minimum(HealthyHostCount) < 2 in 3 of 3 x 60s " \
               "missing=breaching" in text
        assert f"spywatcher-staging-Target5xxRate-{plane}: IF(requests >= 100, 100 * FILL(errors, 0) / requests, " \
               "0) > 1 in 1 of 1 x 300s missing=notBreaching" in text
        assert f"spywatcher-staging-TargetResponseTimeHigh-{plane}: p95(TargetResponseTime) > 1 in 5 of 5 x 60s" in text
    assert "spywatcher-staging-LoadBalancer5xxRate: IF(requests >= 100, 100 * FILL(errors, 0) / requests, 0) " \
           "> 1 in 1 of 1 x 300s missing=notBreaching" in text
    assert "topic spywatcher-staging-alarms" in text


# (responseTime's window, the key reported, what is reported after `key: `)
LIMITS = [
    ({"periodSeconds": 90}, "periodSeconds",
     "90 — must be a multiple of 60: load balancer metrics are published once a minute, and CloudWatch accepts 10, "
     "20 or 30 s only for high-resolution metrics"),
    ({"evaluationPeriods": 2, "datapointsToAlarm": 3}, "datapointsToAlarm",
     "3 — must not exceed evaluationPeriods (2) (CloudWatch rejects the alarm)"),
    ({"periodSeconds": 3600, "evaluationPeriods": 25, "datapointsToAlarm": 1}, "evaluationPeriods",
     "25 — x periodSeconds (3600) = 90000 s exceeds the one day (86400 s) CloudWatch lets an alarm evaluate"),
    ({"periodSeconds": 30}, "periodSeconds", "30 — must be at least 60"),
]


@pytest.mark.parametrize(("window", "key", "reported"), LIMITS, ids=["period 90", "datapoints", "one day", "period 30"])
def test_aws_limits_are_checked_before_anything_is_registered(window: dict[str, Any], key: str, reported: str) -> None:
    overrides = {"monitoring": {"cloudWatch": {"enabled": True, "alarms": {"responseTime": window}}}}
    path = f"monitoring.cloudWatch.alarms.responseTime.{key}"
    assert problem_for(config_error("staging", overrides), path) == f"{path}: {reported}"


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        ({"snsTopicArn": "oncall"}, "monitoring.cloudWatch.snsTopicArn",
         ("monitoring.cloudWatch.snsTopicArn: \"oncall\" — must be an SNS topic ARN such as "
          "arn:aws:sns:us-east-1:111122223333:oncall")),
        ({"alarms": {"errorRatePercent": 0}}, "monitoring.cloudWatch.alarms.errorRatePercent",
         "monitoring.cloudWatch.alarms.errorRatePercent: 0 — must be at least 1"),
        ({"alarms": {"errorRatePercent": 0.5}}, "monitoring.cloudWatch.alarms.errorRatePercent",
         "monitoring.cloudWatch.alarms.errorRatePercent: 0.5 — must be a whole number"),
        ({"alarms": {"responseTimeP95Milliseconds": 0}},
         "monitoring.cloudWatch.alarms.responseTimeP95Milliseconds",
         "monitoring.cloudWatch.alarms.responseTimeP95Milliseconds: 0 — must be at least 1"),
    ],
)
def test_bad_settings_name_their_key(overrides: dict[str, Any], path: str, message: str) -> None:
    assert problem_for(config_error("staging", {"monitoring": {"cloudWatch": overrides}}), path) == message
