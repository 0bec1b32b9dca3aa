"""CloudWatch: a dashboard of the load balancer and its target groups, and alarms that notify an
SNS topic (guide: 'Load Balancer Metrics': target health, request count, response time, HTTP status
codes, connection count).

Each data plane has its own target group (ingress-nginx's, Envoy Gateway's; both during a
migration), and every per-target alarm is there once per target group, named after its data plane
(`<stack>-HealthyTargetsLow-envoy`), so a weight step is gated on the plane it moves traffic to.
The dashboard shows each target group's line beside the other's, and the replicas of every
Service on the path (Container Insights).

Dimensions are the load balancer's and target groups' `arn_suffix` outputs (`app/<name>/<id>`,
`targetgroup/<name>/<id>`), never strings built from names. Builders are pure: they take the
suffixes as values (an Output inside alarm arguments, plain strings for the dashboard body, which
is built from Python data and serialized once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_aws import cloudwatch, get_caller_identity_output, kms, sns

from config.observability import AlarmWindow, CloudWatchSettings

from .k8s import child_opts

NAMESPACE = {"application": "AWS/ApplicationELB", "network": "AWS/NetworkELB"}
# Container Insights (the amazon-cloudwatch-observability EKS add-on) publishes the running pods of
# each Service here (`service_number_of_running_pods`, dimensions Service, Namespace, ClusterName).
CONTAINER_INSIGHTS = "ContainerInsights"

# Each alarm's missing-data treatment, and why (also in docs/operations.md).
TREAT_MISSING = {
    # No datapoint is not an unhealthy target; HealthyTargetsLow catches a silent target group.
    "UnhealthyTargets": "notBreaching",
    # A target group that reports no healthy count serves nobody.
    "HealthyTargetsLow": "breaching",
    # No requests, no errors; and the ratio is 0 below the request floor anyway.
    "LoadBalancer5xxRate": "notBreaching",
    "Target5xxRate": "notBreaching",
    # No requests, nothing slow.
    "TargetResponseTimeHigh": "notBreaching",
}


@dataclass(frozen=True)
class TargetPlane:
    """One data plane behind the load balancer: its target group's key (`nginx`, `envoy`: the
    alarms' suffix), what its targets are, and the fewest healthy targets it should have."""

    key: str
    targets: str  # "ingress-nginx controller pod", "Envoy proxy pod"
    owner: str  # whose minReplicas min_healthy is: "ingress-nginx's", "the Envoy proxies'"
    min_healthy: int


@dataclass(frozen=True)
class CloudWatchArgs:
    settings: CloudWatchSettings
    load_balancer_type: str  # "application" or "network"
    region: str
    instance: str  # spywatcher-<stack>: prefix of the dashboard and alarm names
    planes: tuple[TargetPlane, ...]  # in the order of the listener's target groups
    runbook_base_url: str
    cluster: str = ""  # cluster.name: Container Insights' ClusterName
    services: tuple[tuple[str, str], ...] = ()  # (namespace, Service) whose running pods the dashboard shows

    @property
    def alb(self) -> bool:
        return self.load_balancer_type == "application"

    @property
    def namespace(self) -> str:
        return NAMESPACE[self.load_balancer_type]

    def alarm_name(self, alarm: str, plane: TargetPlane | None = None) -> str:
        return f"{self.instance}-{alarm}" + (f"-{plane.key}" if plane is not None else "")

    def runbook(self, alarm: str) -> str:
        return f"{self.runbook_base_url.rstrip('/')}/{alarm}.md"


def _window(window: AlarmWindow) -> dict[str, Any]:
    return {"evaluation_periods": window.evaluation_periods, "datapoints_to_alarm": window.datapoints_to_alarm}


def build_alarm_args(
    args: CloudWatchArgs, load_balancer: Any, target_groups: Mapping[str, Any], topic: Any
) -> dict[str, dict[str, Any]]:
    """`cloudwatch.MetricAlarm` arguments by alarm name (`UnhealthyTargets-nginx`, …,
    `LoadBalancer5xxRate`); ``load_balancer`` and ``target_groups`` (by plane key) are the
    `arn_suffix` values, ``topic`` the SNS topic ARN."""
    alarms = args.settings.alarms
    floor = alarms.error_rate_min_requests
    period = alarms.error_rate.period_seconds

    def alarm(name: str, plane: TargetPlane | None, description: str, **fields: Any) -> dict[str, Any]:
        return {
            "name": args.alarm_name(name, plane),
            "alarm_description": f"{description} Runbook: {args.runbook(name)}",
            "treat_missing_data": TREAT_MISSING[name],
            "alarm_actions": [topic],
            "ok_actions": [topic],
            "actions_enabled": True,
            **fields,
        }

    def query(query_id: str, metric: str, dimensions: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": query_id,
            "return_data": False,
            "metric": {"namespace": args.namespace, "metric_name": metric, "dimensions": dimensions,
                       "stat": "Sum", "period": period},
        }

    def ratio(label: str) -> dict[str, Any]:
        return {
            "id": "rate",
            "expression": f"IF(requests >= {floor}, 100 * FILL(errors, 0) / requests, 0)",
            "label": label,
            "return_data": True,
        }

    result: dict[str, dict[str, Any]] = {}
    for plane in args.planes:
        both = {"LoadBalancer": load_balancer, "TargetGroup": target_groups[plane.key]}
        where = f"{args.instance} ({plane.key} target group)"
        result[f"UnhealthyTargets-{plane.key}"] = alarm(
            "UnhealthyTargets", plane,
            f"{where}: a target ({plane.targets}) failed its health checks in "
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
        )
        result[f"HealthyTargetsLow-{plane.key}"] = alarm(
            "HealthyTargetsLow", plane,
            f"{where}: fewer healthy targets than {plane.owner} minimum of {plane.min_healthy} replicas.",
            namespace=args.namespace,
            metric_name="HealthyHostCount",
            dimensions=both,
            statistic="Minimum",
            period=alarms.healthy_targets.period_seconds,
            comparison_operator="LessThanThreshold",
            threshold=plane.min_healthy,
            **_window(alarms.healthy_targets),
        )
        if not args.alb:
            continue
        result[f"Target5xxRate-{plane.key}"] = alarm(
            "Target5xxRate", plane,
            f"{where}: 5xx answered by its targets above {alarms.error_rate_percent} % of its requests over "
            f"{period} s (periods with fewer than {floor} requests count as 0).",
            metric_queries=[
                query("errors", "HTTPCode_Target_5XX_Count", both),
                query("requests", "RequestCount", both),
                ratio(f"Target 5xx ({plane.key}), percent of requests"),
            ],
            comparison_operator="GreaterThanThreshold",
            threshold=alarms.error_rate_percent,
            **_window(alarms.error_rate),
        )
        result[f"TargetResponseTimeHigh-{plane.key}"] = alarm(
            "TargetResponseTimeHigh", plane,
            f"{where}: p95 target response time above {alarms.response_time_p95_milliseconds} ms in "
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
    if not args.alb:
        return result
    whole = {"LoadBalancer": load_balancer}
    result["LoadBalancer5xxRate"] = alarm(
        "LoadBalancer5xxRate", None,
        f"{args.instance}: 5xx answered by the load balancer itself above "
        f"{alarms.error_rate_percent} % of requests over {period} s (periods with fewer than {floor} "
        "requests count as 0).",
        metric_queries=[
            query("errors", "HTTPCode_ELB_5XX_Count", whole),
            query("requests", "RequestCount", whole),
            ratio("Load balancer 5xx, percent of requests"),
        ],
        comparison_operator="GreaterThanThreshold",
        threshold=alarms.error_rate_percent,
        **_window(alarms.error_rate),
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
    """The dashboard body (CloudWatch dashboard body structure): one row of two widgets per concern.
    ``target_groups`` are the planes' target group suffixes, in the order of ``args.planes``."""
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
    # The replicas of every Service on the path: what each HPA (and the data planes' own) runs.
    replicas = [
        [CONTAINER_INSIGHTS, "service_number_of_running_pods", "Service", service, "Namespace", namespace,
         "ClusterName", args.cluster, {"stat": "Average", "label": f"{namespace}/{service}"}]
        for namespace, service in args.services
    ]
    if args.alb:
        panels = [
            ("Targets: healthy and unhealthy", targets),
            ("Requests", [whole("RequestCount", "Sum", "requests"), *per_group("RequestCount", "Sum", "requests")]),
            (
                "Target response time (seconds)",
                [row for p in ("p50", "p95", "p99") for row in per_group("TargetResponseTime", p, p)],
            ),
            (
                "HTTP 4xx and 5xx",
                [
                    *per_group("HTTPCode_Target_4XX_Count", "Sum", "target 4xx"),
                    *per_group("HTTPCode_Target_5XX_Count", "Sum", "target 5xx"),
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
    if replicas:
        panels.append(("Replicas: running pods per Service (Container Insights)", replicas))
    widgets = [
        _widget(title, metrics, args.region, x=12 * (index % 2), y=6 * (index // 2))
        for index, (title, metrics) in enumerate(panels)
    ]
    return {"widgets": widgets}


def alarm_key_policy(account: str, region: str) -> str:
    """The alarm topic's customer-managed key: the account administers it through IAM, and CloudWatch
    (alarms of this account) may use it to publish (AWS SNS developer guide, "Configure AWS KMS
    permissions for AWS services": CloudWatch needs kms:Decrypt and kms:GenerateDataKey*)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersTheKeyThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account},
                              "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:*"}},
            },
        ],
    }, sort_keys=True)


def alarm_topic_policy(topic_arn: str, account: str, region: str, instance: str) -> str:
    """Only this stack's CloudWatch alarms may publish to the topic (the default policy lets every
    principal of the account publish)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OnlyThisStacksAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account},
                          "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{instance}-*"}},
        }],
    }, sort_keys=True)


class CloudWatch(pulumi.ComponentResource):
    """The load balancer's dashboard and alarms, and the SNS topic they notify (unless one is given)."""

    dashboard_name: str
    topic_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: CloudWatchArgs,
        load_balancer_arn_suffix: pulumi.Input[str],
        target_group_arn_suffixes: Mapping[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("spywatcher:cloudwatch:CloudWatch", name, None, opts)
        if args.settings.sns_topic_arn:
            self.topic_arn = pulumi.Output.from_input(args.settings.sns_topic_arn)
        else:
            account = get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
            key = kms.Key(
                f"{name}-alarms",
                description=f"{args.instance}: encrypts the alarm topic's messages",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=account.apply(lambda a: alarm_key_policy(a, args.region)),
                opts=child_opts(self, opts),
            )
            topic = sns.Topic(
                f"{name}-alarms",
                name=f"{args.instance}-alarms",
                kms_master_key_id=key.arn,
                opts=child_opts(self, opts),
            )
            sns.TopicPolicy(
                f"{name}-alarms",
                arn=topic.arn,
                policy=pulumi.Output.all(topic.arn, account).apply(
                    lambda v: alarm_topic_policy(v[0], v[1], args.region, args.instance)
                ),
                opts=child_opts(self, opts),
            )
            self.topic_arn = topic.arn
        self.dashboard_name = args.instance
        groups = [target_group_arn_suffixes[plane.key] for plane in args.planes]
        body = pulumi.Output.all(load_balancer_arn_suffix, *groups).apply(
            lambda suffixes: json.dumps(build_dashboard(args, suffixes[0], list(suffixes[1:])), sort_keys=True)
        )
        cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=self.dashboard_name, dashboard_body=body, opts=child_opts(self, opts)
        )
        for alarm, fields in build_alarm_args(
            args, load_balancer_arn_suffix, target_group_arn_suffixes, self.topic_arn
        ).items():
            cloudwatch.MetricAlarm(f"{name}-{alarm}", **fields, opts=child_opts(self, opts))
        self.register_outputs({"dashboardName": self.dashboard_name, "topicArn": self.topic_arn})
