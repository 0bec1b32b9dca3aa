"""Settings of one autoscaled workload (Deployment + Service + HPA + PDB): the workload model.

The model is split along its concerns: :mod:`config.resources` (requests and limits),
:mod:`config.autoscaling` (HPA and VPA), :mod:`config.lifecycle` (probes, rollout, disruption
budget, shutdown); this module holds the Service, security and storage settings, the
:class:`WorkloadSettings` model with the rules that span those parts, and the backend's and
frontend's defaults. Every name of those modules is importable from here too.

The numbers are the guide's (`shared/reference/autoscaling-guide.md`); each field's description
quotes the guide where it names the value. Numbers that differ between the backend and the
frontend live in the ``WORKLOAD_DEFAULTS`` of :class:`BackendSettings` and
:class:`FrontendSettings`; the stack file is deep-merged over them, so it only says what differs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from .autoscaling import (
    Autoscaling,
    Behavior,
    CustomMetrics,
    MetricName,
    PeriodSeconds,
    PodsMetric,
    Recommendations,
    ScaleDownRules,
    ScaleUpRules,
    ScalingPolicy,
    ScalingRules,
    Utilization,
    WindowSeconds,
)
from .base import (
    ENV_NAME,
    EnvName,
    Image,
    MemoryQuantity,
    Model,
    Port,
    PositiveInt,
    Problems,
    deep_merge,
    int32,
    matching,
)
from .lifecycle import DisruptionBudget, IntOrPercent, Probe, Probes, Rollout, Shutdown
from .lifecycle import _surge_pods as _surge_pods
from .resources import ResourceAmounts, Resources
from .schedule import Schedule

DnsSubdomain = Annotated[
    str,
    matching(
        r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        "a Kubernetes object name: lowercase letters, digits, - and .",
        max_length=253,
    ),
]


EnvValue = Annotated[str, Field(strict=True, max_length=1_048_576)]
"""Text: a ConfigMap holds strings, so `PORT: 3001` must be quoted (`PORT: "3001"`)."""


# --- Service, security, storage --------------------------------------------------------------


class ServiceSettings(Model):
    port: Port = Field(description="Service port (ClusterIP).")
    session_affinity: Literal["ClientIP", "None"] = Field(
        "None",
        description="Guide: 'Kubernetes services use ClusterIP with client IP session affinity'. "
        "Applies to traffic through kube-proxy; ingress-nginx picks endpoints itself.",
    )
    session_affinity_timeout_seconds: Annotated[int, int32(ge=1, le=86400)] = Field(
        10800, description="Guide: 'timeoutSeconds: 10800 # 3 hours'."
    )


class SecurityContext(Model):
    run_as_user: Annotated[int, int32(ge=1, le=2_147_483_647)] = Field(
        description="Non-root user id the containers run as."
    )
    run_as_group: Annotated[int, int32(ge=1, le=2_147_483_647)] = Field(description="Group id the containers run as.")


class ScratchVolume(Model):
    mount_path: Annotated[str, matching(r"^/[A-Za-z0-9._/-]*$", "an absolute path such as /tmp", max_length=255)] = (
        Field(description="A directory the app writes to; the root filesystem is read-only.")
    )
    size_limit: MemoryQuantity = Field("64Mi", description="emptyDir size limit.")

    def volume_name(self) -> str:
        name = re.sub(r"[^a-z0-9]+", "-", self.mount_path.lower()).strip("-") or "root"
        return f"scratch-{name}"[:63].rstrip("-")


class TopologySpread(Model):
    zone: Literal["DoNotSchedule", "ScheduleAnyway"] = Field(
        "DoNotSchedule",
        description="Spread across `topology.kubernetes.io/zone` (guide: 'Distribute across "
        "availability zones'): a hard rule by default.",
    )
    host: Literal["DoNotSchedule", "ScheduleAnyway"] = Field(
        "ScheduleAnyway", description="Spread across `kubernetes.io/hostname`: preferred, not required."
    )
    max_skew: PositiveInt = Field(1, description="Largest allowed difference in pods between domains.")


# --- The workload ----------------------------------------------------------------------------


class WorkloadSettings(Model):
    """One autoscaled workload. Subclasses supply the defaults that differ between workloads."""

    COMPONENT: ClassVar[str] = ""
    WORKLOAD_DEFAULTS: ClassVar[dict[str, Any]] = {}

    image: Image = Field(description="Container image, pinned by tag or digest (not `latest`).")
    container_port: Port = Field(description="Port the app listens on.")
    metrics_port: Port | None = Field(
        None,
        description="Port the app serves Prometheus `/metrics` on, apart from `containerPort`: no route reaches "
        "it (the Ingresses send traffic to the serving port only) and only Prometheus pods may (NetworkPolicy). "
        "The app must listen there (e.g. set its metrics port in `env`). `null`: metrics on `containerPort`, "
        "which every route to it also exposes.",
    )
    resources: Resources = Field(description="Container requests and limits.")
    autoscaling: Autoscaling = Field(description="HorizontalPodAutoscaler (autoscaling/v2).")
    disruption_budget: DisruptionBudget = Field(DisruptionBudget(), description="PodDisruptionBudget (policy/v1).")
    rollout: Rollout = Field(Rollout(), description="Deployment RollingUpdate strategy.")
    shutdown: Shutdown = Field(Shutdown(), description="Graceful shutdown.")
    probes: Probes = Field(description="Health checks.")
    service: ServiceSettings = Field(description="ClusterIP Service.")
    security_context: SecurityContext = Field(description="Pod and container security context.")
    scratch_volumes: list[ScratchVolume] = Field(
        default_factory=list, max_length=20, description="Writable emptyDir mounts."
    )
    topology_spread: TopologySpread = Field(TopologySpread(), description="Pod topology spread.")
    env: dict[EnvName, EnvValue] = Field(
        default_factory=dict, description="App settings, mounted from a ConfigMap as environment variables."
    )
    recommendations: Recommendations = Field(Recommendations(), description="VerticalPodAutoscaler, recommend only.")
    schedules: list[Schedule] = Field(
        default_factory=list,
        max_length=20,
        description="Guide: 'Schedule-based Scaling'. CronJobs that set the HPA's minReplicas at set times; "
        "after the HPA is created, its minReplicas belongs to the schedules (see docs/operations.md).",
    )
    existing_secret: DnsSubdomain | None = Field(
        None,
        description="Name of an existing Secret with the app's secret environment. The alternative "
        "is Pulumi secret config under `spywatcher:secrets.<workload>`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_workload_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return deep_merge(cls.WORKLOAD_DEFAULTS, data)
        return data

    @model_validator(mode="after")
    def _cross_field_rules(self) -> WorkloadSettings:
        problems = Problems()
        if self.metrics_port is not None and self.metrics_port == self.container_port:
            problems.add(
                ("metricsPort",),
                self.metrics_port,
                "must differ from containerPort: the routes reach containerPort, so metrics there are public",
            )
        for resource in ("cpu", "memory"):
            target = getattr(self.autoscaling, f"{resource}_utilization")
            if target is not None and getattr(self.resources.requests, resource) is None:
                problems.add(
                    ("autoscaling", f"{resource}Utilization"),
                    target,
                    f"needs resources.requests.{resource}: utilization is a percentage of the request",
                )
        if self.disruption_budget.min_available >= self.autoscaling.min_replicas:
            problems.add(
                ("disruptionBudget", "minAvailable"),
                self.disruption_budget.min_available,
                f"must be less than autoscaling.minReplicas ({self.autoscaling.min_replicas}), or a "
                "node drain can never evict a pod at minimum scale",
            )
        startup = self.probes.startup or self.probes.readiness
        if self.rollout.progress_deadline_seconds <= startup.budget_seconds():
            which = "startup" if self.probes.startup else "readiness"
            problems.add(
                ("rollout", "progressDeadlineSeconds"),
                self.rollout.progress_deadline_seconds,
                f"must exceed the {which} probe's budget ({startup.budget_seconds()} s), or a slow "
                "but healthy pod fails the rollout",
            )
        names: list[str] = []
        for index, schedule in enumerate(self.schedules):
            loc = ("schedules", index, "minReplicas")
            if schedule.name in names:
                problems.add(("schedules", index, "name"), schedule.name, "is used by another schedule")
            names.append(schedule.name)
            if schedule.min_replicas > self.autoscaling.max_replicas:
                problems.add(
                    loc,
                    schedule.min_replicas,
                    f"must not exceed autoscaling.maxReplicas ({self.autoscaling.max_replicas})",
                )
            if schedule.min_replicas <= self.disruption_budget.min_available:
                problems.add(
                    loc,
                    schedule.min_replicas,
                    f"must exceed disruptionBudget.minAvailable ({self.disruption_budget.min_available}), "
                    "or a node drain can never evict a pod while the schedule holds",
                )
        paths = [v.mount_path for v in self.scratch_volumes]
        volume_names = [v.volume_name() for v in self.scratch_volumes]
        for index, (path, volume) in enumerate(zip(paths, volume_names, strict=True)):
            if path in paths[:index]:
                problems.add(("scratchVolumes", index, "mountPath"), path, "is mounted twice")
            elif volume in volume_names[:index]:
                first = volume_names.index(volume)
                problems.add(
                    ("scratchVolumes", index, "mountPath"),
                    path,
                    f"gets the volume name {volume}, as scratchVolumes[{first}] ({paths[first]}) does: a pod's "
                    "volumes need distinct names, and the name keeps only the path's letters and digits",
                )
        problems.raise_if_any(type(self).__name__)
        return self

    @property
    def component(self) -> str:
        return self.COMPONENT

    def hpa_metric_names(self) -> list[str]:
        return [m.metric_name for m in self.autoscaling.custom_metrics.metrics()]

    def max_pods(self) -> int:
        """Most pods the workload can run: maxReplicas plus the rollout surge."""
        return self.autoscaling.max_replicas + self.rollout.surge_pods(self.autoscaling.max_replicas)


class BackendSettings(WorkloadSettings):
    """The Express + Socket.IO API."""

    COMPONENT: ClassVar[str] = "backend"
    WORKLOAD_DEFAULTS: ClassVar[dict[str, Any]] = {
        "containerPort": 3001,
        # Prometheus exporters' customary port (OpenTelemetry's Prometheus exporter, prom-client servers).
        "metricsPort": 9464,
        "resources": {
            "requests": {"cpu": "500m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "autoscaling": {"maxReplicas": 10},
        "probes": {
            # Guide, 'Health Check Configuration'.
            "liveness": {
                "path": "/health/live",
                "initialDelaySeconds": 30,
                "periodSeconds": 10,
                "timeoutSeconds": 5,
                "failureThreshold": 3,
            },
            "readiness": {
                "path": "/health/ready",
                "initialDelaySeconds": 10,
                "periodSeconds": 5,
                "timeoutSeconds": 3,
                "failureThreshold": 3,
            },
            "startup": {"path": "/health/live", "periodSeconds": 10, "failureThreshold": 30},
        },
        "service": {"port": 3001, "sessionAffinity": "ClientIP"},
        # The node image's `node` user.
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
        "scratchVolumes": [{"mountPath": "/tmp"}],
    }


class FrontendSettings(WorkloadSettings):
    """The nginx-served single-page app."""

    COMPONENT: ClassVar[str] = "frontend"
    WORKLOAD_DEFAULTS: ClassVar[dict[str, Any]] = {
        "containerPort": 80,
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "autoscaling": {"maxReplicas": 5},
        "probes": {
            # Guide: 'Liveness: / - NGINX is responding', 'Readiness: / - Ready to serve traffic'.
            "liveness": {
                "path": "/",
                "initialDelaySeconds": 10,
                "periodSeconds": 10,
                "timeoutSeconds": 5,
                "failureThreshold": 3,
            },
            "readiness": {
                "path": "/",
                "initialDelaySeconds": 5,
                "periodSeconds": 5,
                "timeoutSeconds": 3,
                "failureThreshold": 3,
            },
            # Not in the guide; nginx starts in seconds, and a startup probe keeps every serving
            # container under the same three-probe rule (up to one minute).
            "startup": {"path": "/", "periodSeconds": 5, "failureThreshold": 12},
        },
        "service": {"port": 80},
        # The nginx image's `nginx` user; nginx writes its pid, caches and temp files.
        "securityContext": {"runAsUser": 101, "runAsGroup": 101},
        "scratchVolumes": [{"mountPath": "/tmp"}, {"mountPath": "/var/cache/nginx"}, {"mountPath": "/var/run"}],
    }


WORKLOAD_TYPES: dict[str, type[WorkloadSettings]] = {cls.COMPONENT: cls for cls in (BackendSettings, FrontendSettings)}
__all__ = [
    "ENV_NAME",
    "WORKLOAD_TYPES",
    "Autoscaling",
    "BackendSettings",
    "Behavior",
    "CustomMetrics",
    "DisruptionBudget",
    "FrontendSettings",
    "IntOrPercent",
    "MetricName",
    "PeriodSeconds",
    "PodsMetric",
    "Probe",
    "Probes",
    "Recommendations",
    "ResourceAmounts",
    "Resources",
    "Rollout",
    "ScaleDownRules",
    "ScaleUpRules",
    "ScalingPolicy",
    "ScalingRules",
    "Shutdown",
    "Utilization",
    "WindowSeconds",
    "WorkloadSettings",
]
