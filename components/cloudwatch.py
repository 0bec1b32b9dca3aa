"""CloudWatch: a dashboard of the load balancer and its target group(s), and alarms that notify an
SNS topic (guide: 'Load Balancer Metrics': target health, request count, response time, HTTP status
codes, connection count).

Dimensions are the load balancer's and target groups' `arn_suffix` outputs (`app/<name>/<id>`,
`targetgroup/<name>/<id>`), never strings built from names. Builders are pure: they take the
suffixes as values (an Output inside alarm arguments, plain strings for the dashboard body, which
is built from Python data and serialized once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_aws import cloudwatch, sns

from config.observability import AlarmWindow, CloudWatchSettings

from .k8s import child_opts

NAMESPACE = {"application": "AWS/ApplicationELB", "network": "AWS/NetworkELB"}

# Each alarm's missing-data treatment, and why (also in docs/operations.md).
TREAT_MISSING = {
    # No datapoint is not an unhealthy target; HealthyTargetsLow catches a silent target group.
    "UnhealthyTargets": "notBreaching",
    # A target group that reports no healthy count serves nobody.
    "HealthyTargetsLow": "breaching",
    # No requests, no errors; and the ratio is 0 below the request floor anyway.
    "LoadBalancer5xxRate": "notBreaching",
    # No requests, nothing slow.
    "TargetResponseTimeHigh": "notBreaching",
}


@dataclass(frozen=True)
class CloudWatchArgs:
    settings: CloudWatchSettings
    load_balancer_type: str  # "application" or "network"
    region: str
    instance: str  # spywatcher-<stack>: prefix of the dashboard and alarm names
    min_healthy_targets: int  # the ingress controller's autoscaling.minReplicas
    runbook_base_url: str

    @property
    def alb(self) -> bool:
        return self.load_balancer_type == "application"

    @property
    def namespace(self) -> str:
        return NAMESPACE[self.load_balancer_type]

    def alarm_name(self, alarm: str) -> str:
        return f"{self.instance}-{alarm}"

    def runbook(self, alarm: str) -> str:
        return f"{self.runbook_base_url.rstrip('/')}/{alarm}.md"


def alarm_names(args: CloudWatchArgs) -> list[str]:
    """The alarms a stack gets: an NLB publishes no HTTP codes and no response time."""
    names = ["UnhealthyTargets", "HealthyTargetsLow"]
    return [*names, "LoadBalancer5xxRate", "TargetResponseTimeHigh"] if args.alb else names


def _window(window: AlarmWindow) -> dict[str, Any]:
    return {"evaluation_periods": window.evaluation_periods, "datapoints_to_alarm": window.datapoints_to_alarm}


def build_alarm_args(
    args: CloudWatchArgs, load_balancer: Any, target_group: Any, topic: Any
) -> dict[str, dict[str, Any]]:
    """`cloudwatch.MetricAlarm` arguments by alarm name; ``load_balancer`` and ``target_group`` are
    the `arn_suffix` values, ``topic`` the SNS topic ARN."""
    alarms = args.settings.alarms
    both = {"LoadBalancer": load_balancer, "TargetGroup": target_group}

    def alarm(name: str, description: str, **fields: Any) -> dict[str, Any]:
        return {
            "name": args.alarm_name(name),
            "alarm_description": f"{description} Runbook: {args.runbook(name)}",
            "treat_missing_data": TREAT_MISSING[name],
            "alarm_actions": [topic],
            "ok_actions": [topic],
            "actions_enabled": True,
            **fields,
        }

    result = {
        "UnhealthyTargets": alarm(
            "UnhealthyTargets",
            f"{args.instance}: a target (ingress controller pod) failed its health checks in "
            f"{alarms.unhealthy_targets.datapoints_to_alarm} of {alarms.unhealthy_targets.evaluation_periods} "
            f"periods of {alarms.unhealthy_targets.period_seconds} s.",
            namespace=args.namespace,
            metric_name="UnHealthyHostCount",
            dimensions=both,
            statistic="Maximum",
            period=alarms.unhealthy_targets.period_seconds,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            **_window(alarms.unhealthy_targets),
        ),
        "HealthyTargetsLow": alarm(
            "HealthyTargetsLow",
            f"{args.instance}: fewer healthy targets than the ingress controller's minimum of "
            f"{args.min_healthy_targets} replicas.",
            namespace=args.namespace,
            metric_name="HealthyHostCount",
            dimensions=both,
            statistic="Minimum",
            period=alarms.healthy_targets.period_seconds,
            comparison_operator="LessThanThreshold",
            threshold=args.min_healthy_targets,
            **_window(alarms.healthy_targets),
        ),
    }
    if not args.alb:
        return result
    period = alarms.error_rate.period_seconds

    def query(query_id: str, metric: str) -> dict[str, Any]:
        return {
            "id": query_id,
            "return_data": False,
            "metric": {
                "namespace": args.namespace,
                "metric_name": metric,
                "dimensions": {"LoadBalancer": load_balancer},
                "stat": "Sum",
                "period": period,
            },
        }

    floor = alarms.error_rate_min_requests
    result["LoadBalancer5xxRate"] = alarm(
        "LoadBalancer5xxRate",
        f"{args.instance}: 5xx answered by the load balancer itself above "
        f"{alarms.error_rate_percent} % of requests over {period} s (periods with fewer than {floor} "
        "requests count as 0).",
        metric_queries=[
            query("errors", "HTTPCode_ELB_5XX_Count"),
            query("requests", "RequestCount"),
            {
                "id": "rate",
                "expression": f"IF(requests >= {floor}, 100 * FILL(errors, 0) / requests, 0)",
                "label": "Load balancer 5xx, percent of requests",
                "return_data": True,
            },
        ],
        comparison_operator="GreaterThanThreshold",
        threshold=alarms.error_rate_percent,
        **_window(alarms.error_rate),
    )
    result["TargetResponseTimeHigh"] = alarm(
        "TargetResponseTimeHigh",
        f"{args.instance}: p95 target response time above {alarms.response_time_p95_milliseconds} ms in "
        f"{alarms.response_time.datapoints_to_alarm} of {alarms.response_time.evaluation_periods} periods "
        f"of {alarms.response_time.period_seconds} s.",
        namespace=args.namespace,
        metric_name="TargetResponseTime",
        dimensions=both,
        extended_statistic="p95",
        period=alarms.response_time.period_seconds,
        comparison_operator="GreaterThanThreshold",
        threshold=alarms.response_time_p95_milliseconds / 1000,  # TargetResponseTime is in seconds
        **_window(alarms.response_time),
    )
    return result


def _widget(title: str, metrics: list[list[Any]], region: str, x: int, y: int, **properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {"title": title, "region": region, "view": "timeSeries", "stacked": False,
                       "period": 60, "metrics": metrics, **properties},
    }


def build_dashboard(args: CloudWatchArgs, load_balancer: str, target_groups: list[str]) -> dict[str, Any]:
    """The dashboard body (CloudWatch dashboard body structure): one row of two widgets per concern."""
    ns = args.namespace
    lb = ["LoadBalancer", load_balancer]

    def per_group(metric: str, stat: str, label: str) -> list[list[Any]]:
        return [
            [ns, metric, "TargetGroup", group, *lb, {"stat": stat, "label": f"{label} {group.split('/')[1]}"}]
            for group in target_groups
        ]

    def whole(metric: str, stat: str, label: str) -> list[Any]:
        return [ns, metric, *lb, {"stat": stat, "label": label}]

    targets = [
        *per_group("HealthyHostCount", "Minimum", "healthy"),
        *per_group("UnHealthyHostCount", "Maximum", "unhealthy"),
    ]
    if args.alb:
        panels = [
            ("Targets: healthy and unhealthy", targets),
            ("Requests", [whole("RequestCount", "Sum", "requests")]),
            (
                "Target response time (seconds)",
                [row for p in ("p50", "p95", "p99") for row in per_group("TargetResponseTime", p, p)],
            ),
            (
                "HTTP 4xx and 5xx",
                [
                    whole("HTTPCode_Target_4XX_Count", "Sum", "target 4xx"),
                    whole("HTTPCode_Target_5XX_Count", "Sum", "target 5xx"),
                    whole("HTTPCode_ELB_4XX_Count", "Sum", "load balancer 4xx"),
                    whole("HTTPCode_ELB_5XX_Count", "Sum", "load balancer 5xx"),
                ],
            ),
            (
                "Connections",
                [
                    whole("ActiveConnectionCount", "Sum", "active"),
                    whole("NewConnectionCount", "Sum", "new"),
                    whole("RejectedConnectionCount", "Sum", "rejected"),
                ],
            ),
        ]
    else:
        panels = [
            ("Targets: healthy and unhealthy", targets),
            ("Flows", [whole("ActiveFlowCount", "Average", "active"), whole("NewFlowCount", "Sum", "new")]),
            ("Processed bytes", [whole("ProcessedBytes", "Sum", "bytes")]),
            (
                "TCP resets",
                [
                    whole("TCP_Client_Reset_Count", "Sum", "client"),
                    whole("TCP_Target_Reset_Count", "Sum", "target"),
                    whole("TCP_ELB_Reset_Count", "Sum", "load balancer"),
                ],
            ),
        ]
    widgets = [
        _widget(title, metrics, args.region, x=12 * (index % 2), y=6 * (index // 2))
        for index, (title, metrics) in enumerate(panels)
    ]
    return {"widgets": widgets}


class CloudWatch(pulumi.ComponentResource):
    """The load balancer's dashboard and alarms, and the SNS topic they notify (unless one is given)."""

    dashboard_name: str
    topic_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: CloudWatchArgs,
        load_balancer_arn_suffix: pulumi.Input[str],
        target_group_arn_suffixes: list[pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("spywatcher:cloudwatch:CloudWatch", name, None, opts)
        if args.settings.sns_topic_arn:
            self.topic_arn = pulumi.Output.from_input(args.settings.sns_topic_arn)
        else:
            topic = sns.Topic(f"{name}-alarms", name=f"{args.instance}-alarms", opts=child_opts(self, opts))
            self.topic_arn = topic.arn
        self.dashboard_name = args.instance
        body = pulumi.Output.all(load_balancer_arn_suffix, *target_group_arn_suffixes).apply(
            lambda suffixes: json.dumps(build_dashboard(args, suffixes[0], list(suffixes[1:])), sort_keys=True)
        )
        cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=self.dashboard_name, dashboard_body=body, opts=child_opts(self, opts)
        )
        for alarm, fields in build_alarm_args(
            args, load_balancer_arn_suffix, target_group_arn_suffixes[0], self.topic_arn
        ).items():
            cloudwatch.MetricAlarm(f"{name}-{alarm}", **fields, opts=child_opts(self, opts))
        self.register_outputs({"dashboardName": self.dashboard_name, "topicArn": self.topic_arn})
