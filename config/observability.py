"""Settings of what an on-call engineer looks at: the CloudWatch dashboard and alarms of the load
balancer, and the Grafana dashboard of the stack (guide: 'Load Balancer Metrics', 'Check monitoring
dashboards'). Both are optional per stack.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from .base import DnsLabel, Model, Problems, int32, matching

# CloudWatch: the load balancer metrics are published once a minute, so an alarm period is a
# multiple of 60 s; an alarm may look back at most one day (Period x EvaluationPeriods).
AWS_MAX_LOOKBACK_SECONDS = 86_400
SnsTopicArn = Annotated[
    str,
    matching(
        r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$",
        "an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:oncall",
    ),
]
LabelKey = Annotated[
    str,
    matching(
        r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
        "a Kubernetes label key such as app.kubernetes.io/name",
    ),
]
LabelValue = Annotated[
    str,
    matching(
        r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$",
        "a Kubernetes label value: letters, digits, -, _ and ., starting and ending with a letter or digit",
        max_length=63,
    ),
]


class AlarmWindow(Model):
    """How long a condition must hold: `datapointsToAlarm` of the last `evaluationPeriods`
    periods of `periodSeconds` each."""

    period_seconds: Annotated[int, int32(ge=60, le=86_400)] = Field(
        60, description="Seconds per datapoint: a multiple of 60 (load balancer metrics are per minute)."
    )
    evaluation_periods: Annotated[int, int32(ge=1, le=1440)] = Field(3, description="Periods looked at.")
    datapoints_to_alarm: Annotated[int, int32(ge=1, le=1440)] = Field(
        3, description="Breaching periods among them that raise the alarm (at most evaluationPeriods)."
    )

    @model_validator(mode="after")
    def _aws_limits(self) -> AlarmWindow:
        problems = Problems()
        if self.period_seconds % 60:
            problems.add(
                ("periodSeconds",),
                self.period_seconds,
                "must be a multiple of 60: load balancer metrics are published once a minute, and "
                "CloudWatch accepts 10, 20 or 30 s only for high-resolution metrics",
            )
        if self.datapoints_to_alarm > self.evaluation_periods:
            problems.add(
                ("datapointsToAlarm",),
                self.datapoints_to_alarm,
                f"must not exceed evaluationPeriods ({self.evaluation_periods}) (CloudWatch rejects the alarm)",
            )
        lookback = self.period_seconds * self.evaluation_periods
        if lookback > AWS_MAX_LOOKBACK_SECONDS:
            problems.add(
                ("evaluationPeriods",),
                self.evaluation_periods,
                f"x periodSeconds ({self.period_seconds}) = {lookback} s exceeds the one day "
                f"({AWS_MAX_LOOKBACK_SECONDS} s) CloudWatch lets an alarm evaluate",
            )
        problems.raise_if_any("AlarmWindow")
        return self


class CloudWatchAlarms(Model):
    unhealthy_targets: AlarmWindow = Field(
        AlarmWindow(),
        description="Any unhealthy target (UnHealthyHostCount > 0) of a data plane's target group in 3 of 3 "
        "one-minute periods (one alarm per target group). Missing data is not breaching: no datapoint is not "
        "an unhealthy target (the next alarm covers a target group that reports nothing).",
    )
    healthy_targets: AlarmWindow = Field(
        AlarmWindow(),
        description="Healthy targets (HealthyHostCount, minimum) of a data plane's target group below its "
        "autoscaling.minReplicas (`ingressController.` or `gateway.`) in 3 of 3 one-minute periods. Missing "
        "data is breaching: a target group that reports no healthy count serves nobody.",
    )
    error_rate_percent: Annotated[int, int32(ge=1, le=100)] = Field(
        1,
        description="Load-balancer 5xx (HTTPCode_ELB_5XX_Count) above this percent of RequestCount, and each "
        "target group's 5xx (HTTPCode_Target_5XX_Count) above this percent of its RequestCount (ALB only).",
    )
    error_rate: AlarmWindow = Field(
        AlarmWindow(period_seconds=300, evaluation_periods=1, datapoints_to_alarm=1),
        description="Window of the 5xx ratios: one five-minute period. Missing data is not breaching "
        "(no requests, no errors).",
    )
    error_rate_min_requests: Annotated[int, int32(ge=0)] = Field(
        100,
        description="The 5xx ratios count only periods with at least this many requests (metric math "
        "`IF`), so a handful of failed requests at night does not page.",
    )
    response_time_p95_milliseconds: Annotated[int, int32(ge=1, le=3_600_000)] = Field(
        1000,
        description="Target p95 response time (TargetResponseTime p95) of a target group above this many "
        "milliseconds (ALB only).",
    )
    response_time: AlarmWindow = Field(
        AlarmWindow(period_seconds=60, evaluation_periods=5, datapoints_to_alarm=5),
        description="Window of the p95 response time: 5 of 5 one-minute periods. Missing data is not "
        "breaching (no requests, nothing slow).",
    )


class CloudWatchSettings(Model):
    enabled: bool = Field(
        False,
        description="Guide: 'AWS CloudWatch Metrics'. A CloudWatch dashboard of the load balancer and its "
        "target groups (one per data plane), and alarms per target group that notify an SNS topic.",
    )
    sns_topic_arn: SnsTopicArn | None = Field(
        None,
        description="Existing SNS topic the alarms notify (alarm and OK). `null`: a topic "
        "`spywatcher-<stack>-alarms` is created here; subscribe the on-call to it.",
    )
    alarms: CloudWatchAlarms = Field(CloudWatchAlarms(), description="Alarm thresholds and windows.")


class GrafanaDashboardSettings(Model):
    enabled: bool = Field(
        False,
        description="Guide: 'Check monitoring dashboards'. A Grafana dashboard (built with "
        "grafana-foundation-sdk) in a ConfigMap that the Grafana dashboard sidecar loads.",
    )
    namespace: DnsLabel = Field("monitoring", description="Namespace the Grafana sidecar watches.")
    label: LabelKey = Field(
        "grafana_dashboard", description="Label the sidecar selects dashboard ConfigMaps by (its `label`)."
    )
    label_value: LabelValue = Field("1", description="Value of that label (the sidecar's `labelValue`).")
    datasource_uid: Annotated[
        str, matching(r"^[A-Za-z0-9_-]{1,40}$", "a Grafana data source UID: 1-40 letters, digits, - or _")
    ] = Field(
        "prometheus", description="UID of the Prometheus data source the panels query."
    )


__all__ = [
    "AlarmWindow",
    "CloudWatchAlarms",
    "CloudWatchSettings",
    "GrafanaDashboardSettings",
    "LabelKey",
    "LabelValue",
]
