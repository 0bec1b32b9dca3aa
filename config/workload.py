"""Settings of one autoscaled workload (Deployment + Service + HPA + PDB).

The numbers are the guide's (`shared/reference/autoscaling-guide.md`); each field's description
quotes the guide where it names the value. Numbers that differ between the backend and the
frontend live in the ``WORKLOAD_DEFAULTS`` of :class:`BackendSettings` and
:class:`FrontendSettings`; the stack file is deep-merged over them, so it only says what differs.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PlainValidator, model_validator
from pydantic_core import PydanticCustomError

from .base import (
    ENV_NAME,
    INT32_MAX,
    EnvName,
    HttpPath,
    Image,
    MemoryQuantity,
    Model,
    Port,
    PositiveInt,
    Problems,
    Quantity,
    SelectPolicy,
    deep_merge,
    int32,
    matching,
    parse_quantity,
)
from .schedule import Schedule


def _int_or_percent(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32_MAX:
        return value
    if isinstance(value, str) and re.fullmatch(r"(100|[1-9]?[0-9])%", value):
        return value
    raise PydanticCustomError(
        "int_or_percent", "must be a whole number from 0 to 2147483647 or a percentage such as 25%"
    )


IntOrPercent = Annotated[int | str, PlainValidator(_int_or_percent)]
PeriodSeconds = Annotated[int, int32(ge=1, le=1800)]
WindowSeconds = Annotated[int, int32(ge=0, le=3600)]
Utilization = Annotated[int, int32(ge=1, le=100)]
MetricName = Annotated[
    str,
    matching(
        r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", "a Prometheus metric name such as http_requests_per_second", max_length=200
    ),
]
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


# --- Resources -------------------------------------------------------------------------------


class ResourceAmounts(Model):
    cpu: Quantity | None = Field(None, description="CPU, e.g. `500m` or `1`.")
    memory: MemoryQuantity | None = Field(None, description="Memory, e.g. `512Mi` or `1Gi` (whole bytes).")

    def value(self, resource: str) -> Decimal | None:
        text = getattr(self, resource)
        return None if text is None else parse_quantity(text)


class Resources(Model):
    requests: ResourceAmounts = Field(
        ResourceAmounts(),
        description="Guide: 'Always set resource requests (required for HPA)'. Utilization targets "
        "are percentages of these.",
    )
    limits: ResourceAmounts = Field(
        ResourceAmounts(), description="Guide: 'Set realistic limits based on actual usage'."
    )

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        problems = Problems()
        for resource in ("cpu", "memory"):
            request, limit = self.requests.value(resource), self.limits.value(resource)
            if request is not None and limit is not None and request > limit:
                problems.add(
                    ("requests", resource),
                    getattr(self.requests, resource),
                    f"must not exceed limits.{resource} ({getattr(self.limits, resource)}); "
                    "Kubernetes rejects a container whose request is above its limit",
                )
        problems.raise_if_any("Resources")
        return self


# --- Autoscaling -----------------------------------------------------------------------------


class ScalingPolicy(Model):
    type: Literal["Percent", "Pods"] = Field(description="`Percent` of current replicas or a number of `Pods`.")
    value: PositiveInt = Field(description="How much change the policy allows within one period.")
    period_seconds: PeriodSeconds = Field(description="The period the value applies to (1-1800 s).")


class ScalingRules(Model):
    stabilization_window_seconds: WindowSeconds
    select_policy: SelectPolicy
    policies: list[ScalingPolicy] = Field(min_length=1, max_length=10)


class ScaleUpRules(ScalingRules):
    stabilization_window_seconds: WindowSeconds = Field(
        0, description="Guide: 'No stabilization window (immediate scale-up)'."
    )
    select_policy: SelectPolicy = Field(
        "Max",
        description="Guide: 'Rapid response to load increases': `Max` takes whichever policy "
        "allows more pods, so 2 pods become 4 (100 %) and 4 become 8.",
    )
    policies: list[ScalingPolicy] = Field(
        [
            ScalingPolicy(type="Percent", value=100, period_seconds=30),
            ScalingPolicy(type="Pods", value=2, period_seconds=30),
        ],
        min_length=1,
        max_length=10,
        description="Guide: '100% increase or 2 pods every 30 seconds'.",
    )


class ScaleDownRules(ScalingRules):
    stabilization_window_seconds: WindowSeconds = Field(
        300, description="Guide: '5-minute stabilization window' before any scale-down."
    )
    select_policy: SelectPolicy = Field(
        "Min",
        description="Guide: 'Conservative to prevent flapping'. Its '50% decrease or 1 pod every "
        "60 seconds' is read as whichever removes fewer pods: `Min` lets 10 pods shed one pod a "
        "minute, where `Max` would let them drop to 5 in a single minute, which is not "
        "conservative.",
    )
    policies: list[ScalingPolicy] = Field(
        [
            ScalingPolicy(type="Percent", value=50, period_seconds=60),
            ScalingPolicy(type="Pods", value=1, period_seconds=60),
        ],
        min_length=1,
        max_length=10,
        description="Guide: '50% decrease or 1 pod every 60 seconds'.",
    )


class Behavior(Model):
    scale_up: ScaleUpRules = Field(ScaleUpRules(), description="HPA `behavior.scaleUp`.")
    scale_down: ScaleDownRules = Field(ScaleDownRules(), description="HPA `behavior.scaleDown`.")


class PodsMetric(Model):
    metric_name: MetricName = Field(description="Name served by the custom metrics API (Prometheus Adapter).")
    average_value: PositiveInt = Field(description="Target value per pod.")


class CustomMetrics(Model):
    enabled: bool = Field(
        False,
        description="Guide: 'Custom Metrics (Optional)'. Needs Prometheus and the Prometheus Adapter "
        "serving the metrics below through the custom metrics API.",
    )
    requests_per_second: PodsMetric | None = Field(
        PodsMetric(metric_name="http_requests_per_second", average_value=1000),
        description="Guide: 'http_requests_per_second: scale at 1000 rps/pod'. The backend exports "
        "the counter `http_requests_total`; the adapter serves its rate under this name. `null` "
        "turns this metric off.",
    )
    active_connections: PodsMetric | None = Field(
        PodsMetric(metric_name="websocket_active_connections", average_value=100),
        description="Guide: 'active_connections: scale at 100 connections/pod'. The backend "
        "exports the gauge `websocket_active_connections`. `null` turns this metric off.",
    )

    def metrics(self) -> list[PodsMetric]:
        if not self.enabled:
            return []
        return [m for m in (self.requests_per_second, self.active_connections) if m is not None]


class Autoscaling(Model):
    min_replicas: PositiveInt = Field(2, description="Guide: 'Multiple replicas (minimum 2)'; both HPAs start at 2.")
    max_replicas: PositiveInt = Field(
        description="Guide: the backend 'scales between 2 and 10 replicas', the frontend 'between 2 "
        "and 5'. Must fit the namespace ResourceQuota with the rollout surge.",
    )
    cpu_utilization: Utilization | None = Field(
        70,
        description="Guide: 'CPU: 70% average utilization' of the CPU request. `null` drops the metric.",
    )
    memory_utilization: Utilization | None = Field(
        80,
        description="Guide: 'Memory: 80% average utilization' of the memory request. `null` drops the metric.",
    )
    behavior: Behavior = Field(Behavior(), description="Scale-up and scale-down behavior.")
    custom_metrics: CustomMetrics = Field(CustomMetrics(), description="Optional Pods metrics.")

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        problems = Problems()
        if self.min_replicas > self.max_replicas:
            problems.add(
                ("minReplicas",),
                self.min_replicas,
                f"must not exceed autoscaling.maxReplicas ({self.max_replicas})",
            )
        if self.cpu_utilization is None and self.memory_utilization is None and not self.custom_metrics.metrics():
            problems.add(
                ("cpuUtilization",),
                None,
                "the HPA needs at least one metric: set cpuUtilization, memoryUtilization or enable customMetrics",
            )
        problems.raise_if_any("Autoscaling")
        return self


# --- Availability, rollout, shutdown ---------------------------------------------------------


class DisruptionBudget(Model):
    min_available: PositiveInt = Field(
        1,
        description="Guide: 'Pod Disruption Budget (minAvailable: 1)'. Must stay below "
        "autoscaling.minReplicas so a node drain can still evict a pod at minimum scale.",
    )
    unhealthy_pod_eviction_policy: Literal["AlwaysAllow", "IfHealthyBudget"] = Field(
        "AlwaysAllow",
        description="`AlwaysAllow` lets a drain evict pods that are not ready anyway, so a "
        "crash-looping pod never blocks node maintenance.",
    )


def _surge_pods(value: int | str, replicas: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    fraction = int(value.rstrip("%")) * replicas / 100
    return math.ceil(fraction) if round_up else math.floor(fraction)


class Rollout(Model):
    max_surge: IntOrPercent = Field(1, description="Guide: 'maxSurge: 1 # 1 extra pod during update'.")
    max_unavailable: IntOrPercent = Field(0, description="Guide: 'maxUnavailable: 0 # All pods must be available'.")
    revision_history_limit: Annotated[int, int32(ge=0, le=100)] = Field(
        10, description="Guide: 'Keep last 10 revisions for rollback'."
    )
    progress_deadline_seconds: Annotated[int, int32(ge=1, le=7200)] = Field(
        600,
        description="A rollout with no progress for this long is marked failed and `pulumi up` "
        "reports it. Must exceed the startup probe's budget (guide: 'up to 5 minutes').",
    )
    min_ready_seconds: Annotated[int, int32(ge=0, le=3600)] = Field(
        0, description="Seconds a new pod must stay ready before it counts as available."
    )

    def surge_pods(self, replicas: int) -> int:
        """Extra pods a rollout may add at ``replicas`` (percentages round up, as Kubernetes does)."""
        return _surge_pods(self.max_surge, replicas, round_up=True)

    @model_validator(mode="after")
    def _progress(self) -> Rollout:
        problems = Problems()
        surge_zero = self.max_surge in (0, "0%")
        if self.max_unavailable in (0, "0%") and surge_zero:
            problems.add(
                ("maxSurge",),
                self.max_surge,
                "must be at least 1 when rollout.maxUnavailable is 0, or a rollout can never start",
            )
        if self.progress_deadline_seconds <= self.min_ready_seconds:
            problems.add(
                ("progressDeadlineSeconds",),
                self.progress_deadline_seconds,
                f"must exceed rollout.minReadySeconds ({self.min_ready_seconds})",
            )
        problems.raise_if_any("Rollout")
        return self


class Shutdown(Model):
    termination_grace_period_seconds: Annotated[int, int32(ge=1, le=3600)] = Field(
        30, description="Guide: 'Graceful shutdown (30s timeout)' after SIGTERM, preStop included."
    )
    pre_stop_sleep_seconds: Annotated[int, int32(ge=0, le=3600)] = Field(
        10,
        description="preStop sleep before SIGTERM, so the pod is removed from the endpoints (and "
        "from ingress-nginx's upstreams) before the app stops accepting connections. Must be "
        "shorter than terminationGracePeriodSeconds.",
    )

    @model_validator(mode="after")
    def _grace_covers_pre_stop(self) -> Shutdown:
        problems = Problems()
        if self.termination_grace_period_seconds <= self.pre_stop_sleep_seconds:
            problems.add(
                ("terminationGracePeriodSeconds",),
                self.termination_grace_period_seconds,
                f"must exceed shutdown.preStopSleepSeconds ({self.pre_stop_sleep_seconds}), or the "
                "kubelet kills the container before it has had any time to shut down",
            )
        problems.raise_if_any("Shutdown")
        return self


# --- Probes ----------------------------------------------------------------------------------


class Probe(Model):
    path: HttpPath = Field(description="HTTP GET path on the container port.")
    initial_delay_seconds: Annotated[int, int32(ge=0, le=3600)] = Field(0, description="Delay before the first probe.")
    period_seconds: Annotated[int, int32(ge=1, le=3600)] = Field(10, description="Seconds between probes.")
    timeout_seconds: Annotated[int, int32(ge=1, le=3600)] = Field(1, description="Seconds before a probe times out.")
    success_threshold: Annotated[int, int32(ge=1, le=100)] = Field(1, description="Successes to count as passing.")
    failure_threshold: Annotated[int, int32(ge=1, le=1000)] = Field(3, description="Failures to count as failing.")

    def budget_seconds(self) -> int:
        """Longest a probe can keep failing before it gives up."""
        return self.initial_delay_seconds + self.period_seconds * self.failure_threshold


class Probes(Model):
    liveness: Probe = Field(description="Restarts the container when it fails.")
    readiness: Probe = Field(description="Removes the pod from the Service endpoints when it fails.")
    startup: Probe | None = Field(
        None, description="Holds liveness and readiness off until the app has started. `null`: none."
    )

    @model_validator(mode="after")
    def _single_success(self) -> Probes:
        problems = Problems()
        for name in ("liveness", "startup"):
            probe = getattr(self, name)
            if probe is not None and probe.success_threshold != 1:
                problems.add(
                    (name, "successThreshold"),
                    probe.success_threshold,
                    f"must be 1: Kubernetes accepts no other value for a {name} probe",
                )
        problems.raise_if_any("Probes")
        return self


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


class Recommendations(Model):
    enabled: bool = Field(
        False,
        description="Guide: 'Use VPA (Vertical Pod Autoscaler) for recommendations'. A VPA in "
        "recommendation-only mode (`updateMode: Off`): it never evicts pods, so it cannot fight the HPA, "
        "and its recommendations show how to right-size the requests. Needs the VPA recommender.",
    )


# --- The workload ----------------------------------------------------------------------------


class WorkloadSettings(Model):
    """One autoscaled workload. Subclasses supply the defaults that differ between workloads."""

    COMPONENT: ClassVar[str] = ""
    WORKLOAD_DEFAULTS: ClassVar[dict[str, Any]] = {}

    image: Image = Field(description="Container image, pinned by tag or digest (not `latest`).")
    container_port: Port = Field(description="Port the app listens on.")
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
        for index, path in enumerate(paths):
            if path in paths[:index]:
                problems.add(("scratchVolumes", index, "mountPath"), path, "is mounted twice")
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
__all__ = ["ENV_NAME", "WORKLOAD_TYPES", "BackendSettings", "FrontendSettings", "WorkloadSettings"]
