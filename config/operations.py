"""Settings of the guide's operational promises: alerts and scraping, the Prometheus Adapter,
migrations before code, a canary, and schedule-based scaling. Each is optional per stack, since
each needs something installed in the cluster (see docs/operations.md).
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Cidr, DigestImage, DnsLabel, Image, Model, Problems, Quantity, int32, matching, memory_problem
from .observability import CloudWatchSettings, GrafanaDashboardSettings, LabelKey, LabelValue
from .workload import DnsSubdomain, MetricName, WorkloadSettings, _surge_pods

Labels = dict[LabelKey, LabelValue]
Duration = Annotated[str, matching(r"^[1-9][0-9]*(s|m|h)$", "a Prometheus duration such as 30s, 2m or 1h")]


def duration_seconds(text: str) -> int:
    """Seconds of a Prometheus-style duration such as `30s`, `15m` or `1h`."""
    return int(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]


# --- Alerts, scraping, Prometheus Adapter ----------------------------------------------------


class Alerts(Model):
    enabled: bool = Field(
        False, description="Guide: 'Recommended Alerts', as a PrometheusRule (needs the Prometheus Operator)."
    )
    frequent_scaling_changes: Annotated[int, int32(ge=1, le=100)] = Field(
        5,
        description="FrequentScaling fires when an HPA's replica count changed more than this many times "
        "in 15 minutes, for 30 minutes. (The guide's `rate()` of a gauge measures nothing; `changes()` "
        "counts replica changes.)",
    )
    rollout_stuck_for: Duration = Field(
        "15m",
        description="Guide: RolloutStuck 'for: 15m'. Must exceed the time a normal rollout takes at "
        "each workload's maxReplicas (see docs/operations.md), or the alert fires on an ordinary "
        "rollout at peak.",
    )
    rollout_pod_start_seconds: Annotated[int, int32(ge=0, le=3600)] = Field(
        30,
        description="In the RolloutStuck estimate: seconds a new pod needs to be scheduled, pull its "
        "image and start its container, before its readiness probe's initial delay begins.",
    )
    runbook_base_url: Annotated[str, matching(r"^https://\S+$", "an https:// URL")] = Field(
        "https://github.com/subculture-collective/spywatcher/blob/main/docs/runbooks",
        description="Base of each alert's `runbook_url` annotation (`<base>/<alert>.md`).",
    )


@dataclass(frozen=True)
class RolloutEstimate:
    """How long a normal rollout of a workload takes at its maxReplicas: the Deployment replaces
    `maxSurge + maxUnavailable` pods at a time and starts the next batch when the new pods are
    ready, so every batch waits for one new pod's readiness."""

    replicas: int
    per_batch: int
    pod_start_seconds: int
    readiness_delay_seconds: int
    readiness_period_seconds: int
    readiness_successes: int
    min_ready_seconds: int

    @property
    def batches(self) -> int:
        return math.ceil(self.replicas / self.per_batch)

    @property
    def pod_ready_seconds(self) -> int:
        return (
            self.pod_start_seconds
            + self.readiness_delay_seconds
            + self.readiness_period_seconds * self.readiness_successes
            + self.min_ready_seconds
        )

    @property
    def seconds(self) -> int:
        return self.batches * self.pod_ready_seconds

    def explain(self) -> str:
        return (
            f"{self.batches} batches of {self.per_batch} pod(s) (maxReplicas {self.replicas}, maxSurge + "
            f"maxUnavailable {self.per_batch}) x {self.pod_ready_seconds} s per pod ({self.pod_start_seconds} s "
            f"start + {self.readiness_delay_seconds} s readiness initialDelaySeconds + "
            f"{self.readiness_successes} x {self.readiness_period_seconds} s readiness periodSeconds + "
            f"{self.min_ready_seconds} s minReadySeconds) = {self.seconds} s"
        )


def rollout_estimate(workload: WorkloadSettings, pod_start_seconds: int) -> RolloutEstimate:
    replicas = workload.autoscaling.max_replicas
    rollout = workload.rollout
    per_batch = rollout.surge_pods(replicas) + _surge_pods(rollout.max_unavailable, replicas, round_up=False)
    readiness = workload.probes.readiness
    return RolloutEstimate(
        replicas=replicas,
        per_batch=max(per_batch, 1),
        pod_start_seconds=pod_start_seconds,
        readiness_delay_seconds=readiness.initial_delay_seconds,
        readiness_period_seconds=readiness.period_seconds,
        readiness_successes=readiness.success_threshold,
        min_ready_seconds=rollout.min_ready_seconds,
    )


class ServiceMonitorSettings(Model):
    enabled: bool = Field(
        False,
        description="ServiceMonitors (Prometheus Operator): the backend's `/metrics`, and each enabled data "
        "plane's: ingress-nginx's controller (port 10254) and the Envoy Gateway proxies (`/stats/prometheus`).",
    )
    path: Annotated[str, matching(r"^/\S*$", "an HTTP path starting with /")] = Field(
        "/metrics", description="The backend's metrics path."
    )
    interval: Duration = Field("30s", description="Scrape interval.")
    scrape_timeout: Duration = Field("10s", description="Scrape timeout.")


class AdapterRule(Model):
    """One metric the Prometheus Adapter serves to HPAs through the custom metrics API."""

    metric_name: MetricName = Field(description="Name the HPA asks for.")
    series: MetricName = Field(description="Prometheus series the app exports.")
    kind: Literal["counter", "gauge"] = Field(description="`counter`: served as a per-second rate; `gauge`: as is.")
    rate_window: Duration = Field("2m", description="Window of the rate for a counter.")

    def metrics_query(self) -> str:
        if self.kind == "counter":
            return f"sum(rate(<<.Series>>{{<<.LabelMatchers>>}}[{self.rate_window}])) by (<<.GroupBy>>)"
        return "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"


class Adapter(Model):
    enabled: bool = Field(
        False,
        description="Install the Prometheus Adapter (Helm) serving `rules` as custom metrics. Needed by "
        "any HPA with custom metrics.",
    )
    chart_version: Annotated[str, matching(r"^\d+\.\d+\.\d+$", "a chart version such as 4.15.1")] = Field(
        "5.3.0", description="prometheus-community/prometheus-adapter chart version."
    )
    cert_manager: bool = Field(
        True,
        description="Serve the custom metrics API with a certificate cert-manager issues (chart "
        "`certManager.enabled`), whose CA cert-manager injects into the APIService: the API server verifies "
        "the adapter. `false` leaves the chart's `insecureSkipTLSVerify: true`, so anything that can "
        "impersonate the adapter's Service feeds the HPAs. Needs cert-manager in the cluster.",
    )
    chart_repository: Annotated[str, matching(r"^https://", "an https:// URL")] = Field(
        "https://prometheus-community.github.io/helm-charts", description="Helm repository of the chart."
    )
    prometheus_url: Annotated[str, matching(r"^https?://\S+$", "an http:// or https:// URL")] = Field(
        "http://kube-prometheus-stack-prometheus.monitoring.svc", description="Prometheus the adapter queries."
    )
    prometheus_port: Annotated[int, int32(ge=1, le=65535)] = Field(9090, description="Prometheus port.")
    replicas: Annotated[int, int32(ge=1, le=10)] = Field(
        2, description="Adapter replicas: HPAs with custom metrics stop scaling while it is down."
    )
    rules: list[AdapterRule] = Field(
        [
            AdapterRule(metric_name="http_requests_per_second", series="http_requests_total", kind="counter"),
            AdapterRule(
                metric_name="websocket_active_connections", series="websocket_active_connections", kind="gauge"
            ),
        ],
        description="Custom metrics served. Default: `http_requests_per_second` as the rate of the "
        "backend's `http_requests_total`, and `websocket_active_connections` as is.",
    )

    @model_validator(mode="after")
    def _unique(self) -> Adapter:
        problems = Problems()
        names = [r.metric_name for r in self.rules]
        for index, name in enumerate(names):
            if name in names[:index]:
                problems.add(("rules", index, "metricName"), name, "is served by another rule already")
        problems.raise_if_any("Adapter")
        return self

    def served(self) -> set[str]:
        return {r.metric_name for r in self.rules} if self.enabled else set()


class MonitoringSettings(Model):
    namespace: DnsLabel = Field(
        "monitoring", description="Namespace of Prometheus and the adapter (allowed to scrape the app)."
    )
    rule_labels: Labels = Field(
        {"release": "kube-prometheus-stack"},
        description="Labels the Prometheus Operator's ruleSelector and serviceMonitorSelector match.",
    )
    prometheus_pod_labels: Labels = Field(
        {"app.kubernetes.io/name": "prometheus"},
        description="Labels of the Prometheus pods in `namespace`: only they may scrape the backend's and "
        "the ingress controller's metrics ports.",
    )
    alerts: Alerts = Field(Alerts(), description="The guide's alerts.")
    service_monitor: ServiceMonitorSettings = Field(
        ServiceMonitorSettings(), description="Scraping of the backend and the data planes."
    )
    adapter: Adapter = Field(Adapter(), description="Custom metrics for the HPAs.")
    cloud_watch: CloudWatchSettings = Field(
        CloudWatchSettings(), description="CloudWatch dashboard and alarms of the load balancer."
    )
    dashboard: GrafanaDashboardSettings = Field(GrafanaDashboardSettings(), description="Grafana dashboard.")


# --- Migrations before code ------------------------------------------------------------------


class MigrationSettings(Model):
    enabled: bool = Field(
        False,
        description="Guide: 'Run migrations before code deployment'. A Job with the backend image runs "
        "`command`; the backend rolls only after it completed, and a failed Job stops `pulumi up`.",
    )
    command: list[Annotated[str, Field(min_length=1)]] = Field(
        ["npx", "--no-install", "prisma", "migrate", "deploy"],
        min_length=1,
        description="Migration command. With `npx`, `--no-install` (or `--no`): the image's own prisma runs, "
        "never one fetched from the registry at migration time with the database credential in reach.",
    )
    existing_secret: DnsSubdomain | None = Field(
        None,
        description="Name of an existing Secret with the migration's own credential (e.g. `DATABASE_URL` of a "
        "database user with schema rights), required when enabled: the Job reads it instead of the backend's "
        "Secret, so the backend's runtime user needs no DDL rights.",
    )
    image: Image | None = Field(None, description="Image of the Job; `null`: the backend image.")
    backoff_limit: Annotated[int, int32(ge=0, le=10)] = Field(
        0, description="Retries of a failed migration (0: a failure stops the update at once)."
    )
    active_deadline_seconds: Annotated[int, int32(ge=30, le=86400)] = Field(
        600, description="Longest a migration may run."
    )
    data_stores: list[DnsLabel] = Field(
        ["postgres"],
        min_length=1,
        description="Names of `networkPolicy.dataStores` the migration's pods may reach (and nothing else "
        "but the cluster DNS): the database it migrates.",
    )

    @model_validator(mode="after")
    def _own_credential(self) -> MigrationSettings:
        problems = Problems()
        if self.enabled and self.existing_secret is None:
            problems.add(
                ("existingSecret",),
                None,
                "is required when the migration is enabled: a Secret with the migration's own database "
                "credential (a user with schema rights); the backend's Secret is not given to the Job",
            )
        if self.command[0] == "npx" and not {"--no-install", "--no"} & set(self.command[1:]):
            problems.add(
                ("command",),
                self.command,
                "must pass `--no-install` to npx: without it npx downloads a missing package from the registry "
                "and runs it with the migration's database credential",
            )
        problems.raise_if_any("MigrationSettings")
        return self


# --- Canary ----------------------------------------------------------------------------------


class CanarySettings(Model):
    enabled: bool = Field(
        False,
        description="Guide: 'Use canary deployments for risky changes'. A second backend Deployment with "
        "`image` behind an ingress-nginx canary Ingress; `false` removes it and leaves the stable "
        "route untouched.",
    )
    image: DigestImage | None = Field(
        None,
        description="Canary image, pinned by digest (`repo:tag@sha256:…`; required when enabled): an unreleased "
        "build that holds the backend's Secret must not change under its tag.",
    )
    replicas: Annotated[int, int32(ge=1, le=20)] = Field(1, description="Canary pods (not autoscaled).")
    weight: Annotated[int, int32(ge=0, le=100)] = Field(10, description="Percent of the route's requests.")
    header: Annotated[str, matching(r"^[A-Za-z0-9-]{1,64}$", "an HTTP header name: letters, digits and -")] | None = (
        Field(
            None,
            description="Off by default. A header name (e.g. `X-Spywatcher-Canary`): requests with it set to "
            "`always` go to the canary, `never` to stable, and only from `headerSourceCidrs`: the load balancer "
            "answers 403 to a request carrying the header from anywhere else (application load balancer only).",
        )
    )
    header_source_cidrs: list[Cidr] = Field(
        default_factory=list,
        max_length=3,
        description="Client addresses allowed to choose the canary with `header` (e.g. the office or VPN "
        "egress), required with it; at most 3 (an ALB listener rule condition holds three values).",
    )
    route: DnsLabel = Field("api", description="Route (by name) the canary shares traffic with.")

    @model_validator(mode="after")
    def _image(self) -> CanarySettings:
        problems = Problems()
        if self.enabled and self.image is None:
            problems.add(("image",), None, "is required when the canary is enabled")
        if self.header is not None and not self.header_source_cidrs:
            problems.add(
                ("headerSourceCidrs",),
                [],
                f"is required with header ({self.header}): the addresses that may choose the canary; from the "
                "whole internet, anyone could send requests to an unreleased build holding the production Secret",
            )
        for index, cidr in enumerate(self.header_source_cidrs):
            if ipaddress.ip_network(cidr).prefixlen == 0:
                problems.add(("headerSourceCidrs", index), cidr, "must not be every address")
        problems.raise_if_any("CanarySettings")
        return self


# kubectl v1.34.1 by its image index digest (multi-architecture), as several public Dockerfiles pin it.
KUBECTL_IMAGE = (
    "registry.k8s.io/kubectl:v1.34.1@sha256:59bafa07ff3a6d4b417e7633ddb9d79a9606ca98bf64bac080b3e65748669250"
)


class SchedulingSettings(Model):
    image: Image = Field(
        KUBECTL_IMAGE,
        description="kubectl image the schedule CronJobs run, pinned by digest (`repo:tag@sha256:...`): these "
        "pods hold a token that may patch an HPA, so a re-pushed tag must not change what they run.",
    )
    resources: dict[Literal["cpu", "memory"], Quantity] = Field(
        {"cpu": "50m", "memory": "64Mi"}, description="Requests and limits of a schedule pod."
    )

    @model_validator(mode="after")
    def _whole_bytes(self) -> SchedulingSettings:
        problems = Problems()
        memory = self.resources.get("memory")
        if memory is not None and (reason := memory_problem(memory)) is not None:
            problems.add(("resources", "memory"), memory, reason)
        if not re.search(r"@sha256:[0-9a-f]{64}$", self.image):
            problems.add(
                ("image",),
                self.image,
                "must be pinned by digest (`repo:tag@sha256:<64 hex>`): the schedule pods hold an API token",
            )
        problems.raise_if_any("SchedulingSettings")
        return self


__all__ = [
    "Adapter",
    "AdapterRule",
    "Alerts",
    "CanarySettings",
    "MigrationSettings",
    "MonitoringSettings",
    "SchedulingSettings",
    "ServiceMonitorSettings",
]
