"""CloudWatch: the load balancer's dashboard and alarms, asserted on the registered resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.engine import Plan, run_stack
from offline.mock_outputs import computed_outputs
from offline.preview import format_plan
from tests.conftest import behind_nlb, config_error, problem_for

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOPIC = "aws:sns/topic:Topic"
RUNBOOKS = "https://github.com/subculture-collective/spywatcher/blob/main/docs/runbooks"
# What each alarm's description says with the default thresholds.
DESCRIPTIONS = {
    "UnhealthyTargets": "a target (ingress controller pod) failed its health checks in 3 of 3 periods of 60 s.",
    "HealthyTargetsLow": "fewer healthy targets than the ingress controller's minimum of 2 replicas.",
    "LoadBalancer5xxRate": "5xx answered by the load balancer itself above 1 % of requests over 300 s (periods "
                           "with fewer than 100 requests count as 0).",
    "TargetResponseTimeHigh": "p95 target response time above 1000 ms in 5 of 5 periods of 60 s.",
}


def suffixes(plan: Plan) -> tuple[str, str]:
    """The arn_suffix outputs the provider computes for the stack's load balancer and target group."""
    balancer = plan.get("aws:lb/loadBalancer:LoadBalancer", "edge")
    group = plan.get("aws:lb/targetGroup:TargetGroup", "edge-nginx")
    return (
        computed_outputs(balancer.type, balancer.name, balancer.inputs)["arnSuffix"],
        computed_outputs(group.type, group.name, group.inputs)["arnSuffix"],
    )


def alarms(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.name.removeprefix("cloudwatch-"): r.inputs for r in plan.of_type(ALARM)}


@pytest.fixture(scope="module")
def nlb() -> Plan:
    return run_stack("production", behind_nlb())


def test_alb_alarms(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    lb, tg = suffixes(plan)
    # Pulumi's auto-names with the ids AWS assigns (offline/mock_outputs.py's deterministic ones):
    # nothing a string built from config could know.
    assert (lb, tg) == ("app/edge-a1cb100/a1cb100f57e971ca", "targetgroup/edge-nginx-ff983e1/ff983e1ae7346409")
    topic = "arn:aws:sns:us-east-1:111122223333:spywatcher-production-alarms"
    found = alarms(plan)
    assert set(found) == {"UnhealthyTargets", "HealthyTargetsLow", "LoadBalancer5xxRate", "TargetResponseTimeHigh"}
    for name, alarm in found.items():
        assert alarm["name"] == f"spywatcher-production-{name}"
        assert alarm["alarmActions"] == [topic] and alarm["okActions"] == [topic] and alarm["actionsEnabled"] is True
        assert alarm["alarmDescription"] == f"spywatcher-production: {DESCRIPTIONS[name]} Runbook: {RUNBOOKS}/{name}.md"
    both = {"LoadBalancer": lb, "TargetGroup": tg}
    common = {"namespace": "AWS/ApplicationELB", "dimensions": both, "comparisonOperator": "GreaterThanThreshold"}

    def pick(alarm: dict[str, Any], *keys: str) -> dict[str, Any]:
        return {k: alarm.get(k) for k in keys}

    keys = ("namespace", "metricName", "dimensions", "statistic", "extendedStatistic", "period", "comparisonOperator",
            "threshold", "evaluationPeriods", "datapointsToAlarm", "treatMissingData")
    assert pick(found["UnhealthyTargets"], *keys) == {
        **common, "metricName": "UnHealthyHostCount", "statistic": "Maximum", "extendedStatistic": None,
        "period": 60, "threshold": 0, "evaluationPeriods": 3, "datapointsToAlarm": 3,
        "treatMissingData": "notBreaching",
    }
    assert pick(found["HealthyTargetsLow"], *keys) == {
        **common, "metricName": "HealthyHostCount", "statistic": "Minimum", "extendedStatistic": None,
        "comparisonOperator": "LessThanThreshold", "period": 60, "threshold": 2,  # ingressController minReplicas
        "evaluationPeriods": 3, "datapointsToAlarm": 3, "treatMissingData": "breaching",
    }
    assert pick(found["TargetResponseTimeHigh"], *keys) == {
        **common, "metricName": "TargetResponseTime", "statistic": None, "extendedStatistic": "p95",
        "period": 60, "threshold": 1, "evaluationPeriods": 5, "datapointsToAlarm": 5,
        "treatMissingData": "notBreaching",
    }
    rate = found["LoadBalancer5xxRate"]
    window = ("threshold", "evaluationPeriods", "datapointsToAlarm", "treatMissingData", "comparisonOperator")
    assert pick(rate, *window) == {
        "threshold": 1, "evaluationPeriods": 1, "datapointsToAlarm": 1, "treatMissingData": "notBreaching",
        "comparisonOperator": "GreaterThanThreshold",
    }
    assert "metricName" not in rate and "period" not in rate, "a metric math alarm sets its metrics per query"
    assert rate["metricQueries"] == [
        {"id": "errors", "returnData": False, "metric": {"namespace": "AWS/ApplicationELB", "metricName":
         "HTTPCode_ELB_5XX_Count", "dimensions": {"LoadBalancer": lb}, "stat": "Sum", "period": 300}},
        {"id": "requests", "returnData": False, "metric": {"namespace": "AWS/ApplicationELB", "metricName":
         "RequestCount", "dimensions": {"LoadBalancer": lb}, "stat": "Sum", "period": 300}},
        {"id": "rate", "expression": "IF(requests >= 100, 100 * FILL(errors, 0) / requests, 0)",
         "label": "Load balancer 5xx, percent of requests", "returnData": True},
    ]
    assert plan.get(TOPIC, "cloudwatch-alarms").inputs == {"name": "spywatcher-production-alarms"}


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


def test_alb_dashboard(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    lb, tg = suffixes(plan)
    ns, whole, group = "AWS/ApplicationELB", {"LoadBalancer": lb}, {"TargetGroup": tg, "LoadBalancer": lb}
    assert metrics_of(dashboard(plan)) == {
        "Targets: healthy and unhealthy": [(ns, "HealthyHostCount", group, "Minimum"),
                                           (ns, "UnHealthyHostCount", group, "Maximum")],
        "Requests": [(ns, "RequestCount", whole, "Sum")],
        "Target response time (seconds)": [(ns, "TargetResponseTime", group, p) for p in ("p50", "p95", "p99")],
        "HTTP 4xx and 5xx": [(ns, m, whole, "Sum") for m in ("HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count",
                                                             "HTTPCode_ELB_4XX_Count", "HTTPCode_ELB_5XX_Count")],
        "Connections": [(ns, m, whole, "Sum")
                        for m in ("ActiveConnectionCount", "NewConnectionCount", "RejectedConnectionCount")],
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
    }
    found = alarms(nlb)
    assert set(found) == {"UnhealthyTargets", "HealthyTargetsLow"}, "an NLB has no HTTP codes or response time"
    assert {a["namespace"] for a in found.values()} == {ns}
    assert found["UnhealthyTargets"]["dimensions"] == group


def layout(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Each widget's place, title, period, view and line labels (what metrics_of leaves out)."""
    assert set(body) == {"widgets"}
    return [(w["x"], w["y"], w["width"], w["height"], p["title"], p["period"], p["stacked"], p["view"],
             [row[-1]["label"] for row in p["metrics"]])
            for w in body["widgets"] for p in [w["properties"]]]


def test_dashboards_lay_out_two_widgets_a_row_with_labelled_lines(plans: dict[str, Plan], nlb: Plan) -> None:
    group = "edge-nginx-ff983e1"
    targets = (0, 0, 12, 6, "Targets: healthy and unhealthy", 60, False, "timeSeries",
               [f"healthy {group}", f"unhealthy {group}"])
    assert layout(dashboard(plans["production"])) == [
        targets,
        (12, 0, 12, 6, "Requests", 60, False, "timeSeries", ["requests"]),
        (0, 6, 12, 6, "Target response time (seconds)", 60, False, "timeSeries",
         [f"p50 {group}", f"p95 {group}", f"p99 {group}"]),
        (12, 6, 12, 6, "HTTP 4xx and 5xx", 60, False, "timeSeries",
         ["target 4xx", "target 5xx", "load balancer 4xx", "load balancer 5xx"]),
        (0, 12, 12, 6, "Connections", 60, False, "timeSeries", ["active", "new", "rejected"]),
    ]
    assert layout(dashboard(nlb)) == [
        targets,
        (12, 0, 12, 6, "Flows", 60, False, "timeSeries", ["active", "new"]),
        (0, 6, 12, 6, "Processed bytes", 60, False, "timeSeries", ["bytes"]),
        (12, 6, 12, 6, "TCP resets", 60, False, "timeSeries", ["client", "target", "load balancer"]),
    ]


def test_an_existing_topic_is_used_as_is() -> None:
    arn = "arn:aws:sns:us-east-1:111122223333:oncall"
    plan = run_stack("staging", {"monitoring": {"cloudWatch": {"enabled": True, "snsTopicArn": arn, "alarms": {
        "responseTimeP95Milliseconds": 500, "errorRatePercent": 3, "errorRateMinRequests": 20,
        "unhealthyTargets": {"periodSeconds": 120, "evaluationPeriods": 5, "datapointsToAlarm": 4}}}}})
    assert plan.of_type(TOPIC) == []
    found = alarms(plan)
    assert {a["alarmActions"][0] for a in found.values()} == {arn}
    assert found["TargetResponseTimeHigh"]["threshold"] == 0.5
    assert found["LoadBalancer5xxRate"]["threshold"] == 3
    assert found["LoadBalancer5xxRate"]["metricQueries"][2] == {
        "id": "rate", "expression": "IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)",
        "label": "Load balancer 5xx, percent of requests", "returnData": True}
    unhealthy = found["UnhealthyTargets"]
    assert (unhealthy["period"], unhealthy["evaluationPeriods"], unhealthy["datapointsToAlarm"]) == (120, 5, 4)


def test_off_by_default(plans: dict[str, Plan]) -> None:
    staging = plans["staging"]
    assert staging.of_type(ALARM) == [] and staging.of_type(DASHBOARD) == [] and staging.of_type(TOPIC) == []


def test_preview_lists_dashboard_and_alarms(plans: dict[str, Plan]) -> None:
    text = format_plan(plans["production"])
    assert "spywatcher-production: 5 widgets (Targets: healthy and unhealthy, Requests" in text
    assert "spywatcher-production-UnhealthyTargets: Maximum(UnHealthyHostCount) > 0 in 3 of 3 x 60s " \
           "missing=notBreaching" in text
    assert "spywatcher-production-HealthyTargetsLow: Minimum(HealthyHostCount) < 2 in 3 of 3 x 60s " \
           "missing=breaching" in text
    assert "spywatcher-production-LoadBalancer5xxRate: IF(requests >= 100, 100 * FILL(errors, 0) / requests, 0) " \
           "> 1 in 1 of 1 x 300s missing=notBreaching" in text
    assert "spywatcher-production-TargetResponseTimeHigh: p95(TargetResponseTime) > 1 in 5 of 5 x 60s" in text
    assert "topic spywatcher-production-alarms" in text


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
