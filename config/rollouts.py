"""Settings of progressive delivery: the backend as an Argo Rollouts canary that is judged on
Prometheus and aborts by itself (guide: 'Use canary deployments for risky changes', 'Watch error
rates, check response times', 'Have rollback plan ready').

Argo Rollouts (v1.9, chart argo-rollouts 2.41.0) points a `Rollout` at the backend Deployment
(`workloadRef`): the Deployment keeps the pod template, the Rollout owns the pods. Each step shifts
a share of the API route's requests to the canary through a canary Ingress the controller manages
beside the route's own, or runs an analysis of the canary's 5xx ratio and p95 latency. See
docs/progressive-delivery.md.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .base import DnsLabel, Model, PositiveInt, Problems, StrictBool, int32, matching
from .operations import Duration, duration_seconds
from .resources import Resources

# workloadRef.scaleDown: the Deployment is scaled to 0 once the Rollout's first revision is healthy
# (argoproj/argo-rollouts v1.9.1 rollout/sync.go, ScaleDownOnSuccess); docs/progressive-delivery.md says why.
SCALE_DOWN = "onsuccess"
# The label Argo Rollouts' ephemeral metadata sets on the pods: `stable` on the pods serving the
# stable version, `canary` on the canary's (stableMetadata / canaryMetadata).
TRACK_LABEL = "spywatcher.io/track"


class RolloutStep(Model):
    """One step of the canary: exactly one of `setWeight`, `pause` or `analysis`."""

    set_weight: Annotated[int, int32(ge=1, le=100)] | None = Field(
        None, description="Percent of the route's requests the canary receives from this step on."
    )
    pause: Duration | None = Field(
        None,
        description="Wait this long (e.g. `2m`) before the next step. There is no indefinite pause: "
        "`pulumi up` waits for the rollout, so every step must end by itself.",
    )
    analysis: StrictBool | None = Field(
        None, description="`true`: judge the canary (`rollouts.analysis`) before the next step."
    )

    @model_validator(mode="after")
    def _one(self) -> RolloutStep:
        problems = Problems()
        given = [key for key, value in (("setWeight", self.set_weight), ("pause", self.pause),
                                        ("analysis", self.analysis)) if value is not None]
        if self.analysis is False:
            problems.add(
                ("analysis",), False, "must be true, or the step left out: a step that does nothing is refused"
            )
        elif len(given) != 1:
            problems.add(
                (),
                None,
                "must set exactly one of setWeight, pause or analysis"
                + (f" (it sets {' and '.join(given)})" if given else ""),
            )
        problems.raise_if_any("RolloutStep")
        return self

    def seconds(self, analysis: CanaryAnalysis) -> int:
        """How long the step itself lasts (a weight change: none beyond its pods' start)."""
        if self.pause is not None:
            return duration_seconds(self.pause)
        if self.analysis:
            return analysis.seconds()
        return 0


DEFAULT_STEPS = [
    RolloutStep(set_weight=10),
    RolloutStep(analysis=True),
    RolloutStep(set_weight=50),
    RolloutStep(analysis=True),
]

PrometheusAddress = Annotated[
    str,
    matching(
        r"^https?://[A-Za-z0-9.-]+:[0-9]{1,5}$",
        "an http:// or https:// address with a port, such as http://prometheus.monitoring.svc:9090",
    ),
]


class CanaryAnalysis(Model):
    """The AnalysisTemplate every `analysis` step runs: the canary's 5xx ratio at ingress-nginx and
    its p95 latency from the backend's own histogram, the series the dashboard shows."""

    prometheus_address: PrometheusAddress = Field(
        "http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
        description="Prometheus the controller queries (its pods in `monitoring.namespace` with "
        "`monitoring.prometheusPodLabels`, on this port: the controller's only egress besides the API "
        "server and DNS).",
    )
    interval: Duration = Field("1m", description="Time between two measurements of each metric.")
    count: Annotated[int, int32(ge=1, le=60)] = Field(
        5, description="Measurements per analysis step: the step lasts count x interval."
    )
    failure_limit: Annotated[int, int32(ge=0, le=59)] = Field(
        1,
        description="A metric fails, and the rollout aborts (traffic back to stable, canary scaled "
        "down), once more than this many of its measurements failed.",
    )
    inconclusive_limit: Annotated[int, int32(ge=0, le=59)] = Field(
        2,
        description="Measurements without enough canary traffic to judge (`minRequests`) are "
        "inconclusive; more than this many pause the rollout for a person to promote or abort it.",
    )
    window: Duration = Field(
        "2m", description="Range of the rate() in each query; at least twice the scrape interval."
    )
    max_error_percent: Annotated[float, Field(gt=0, le=100)] = Field(
        1.0,
        description="A measurement fails when more than this percent of the canary's requests answered "
        "5xx at ingress-nginx (the dashboard's '5xx ratio per route'; the ALB alarm's 1 %).",
    )
    max_p95_milliseconds: Annotated[int, int32(ge=1, le=3_600_000)] = Field(
        1000,
        description="A measurement fails when the canary pods' p95 request duration "
        "(`http_request_duration_seconds`, the dashboard's 'p95 latency') exceeds this.",
    )
    min_requests: Annotated[int, int32(ge=1, le=1_000_000)] = Field(
        20,
        description="Fewest canary requests in `window` for the 5xx ratio to count: fewer make the "
        "measurement inconclusive, so two failures at night neither abort nor promote.",
    )

    @model_validator(mode="after")
    def _limits(self) -> CanaryAnalysis:
        problems = Problems()
        if self.failure_limit >= self.count:
            problems.add(
                ("failureLimit",),
                self.failure_limit,
                f"must be below count ({self.count}), or a canary that fails every measurement still passes",
            )
        if self.inconclusive_limit >= self.count:
            problems.add(
                ("inconclusiveLimit",),
                self.inconclusive_limit,
                f"must be below count ({self.count}), or an analysis without any canary traffic passes",
            )
        problems.raise_if_any("CanaryAnalysis")
        return self

    def seconds(self) -> int:
        """One analysis step: `count` measurements, the first at once, `interval` apart."""
        return (self.count - 1) * duration_seconds(self.interval)

    @property
    def prometheus_port(self) -> int:
        """The address's port as written (its pattern requires one), also when out of range."""
        return int(self.prometheus_address.rsplit(":", 1)[1])


class RolloutsController(Model):
    namespace: DnsLabel = Field("argo-rollouts", description="Namespace of the Argo Rollouts controller.")
    chart_version: Annotated[str, matching(r"^\d+\.\d+\.\d+$", "a chart version such as 4.15.1")] = Field(
        "2.41.0", description="argoproj/argo-helm `argo-rollouts` chart version (app v1.9.0)."
    )
    chart_repository: Annotated[str, matching(r"^https://", "an https:// URL")] = Field(
        "https://argoproj.github.io/argo-helm", description="Helm repository of the chart."
    )
    image_tag: Annotated[str, matching(r"^v[0-9]+\.[0-9]+\.[0-9]+$", "a release tag such as v1.9.1")] = Field(
        "v1.9.1",
        description="Controller image tag (quay.io/argoproj/argo-rollouts): v1.9.1, the patch release whose "
        "source the program's rules are read from (the chart's appVersion is v1.9.0; the CRDs are identical).",
    )
    replicas: Annotated[int, int32(ge=2, le=5)] = Field(
        2, description="Controller replicas (leader-elected): a second one takes over while the first is drained."
    )
    min_available: PositiveInt = Field(1, description="The controller's PodDisruptionBudget.")
    resources: Resources = Field(
        Resources.model_validate({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}),
        description="Controller container requests and limits.",
    )
    pod_security: Literal["restricted", "baseline"] = Field(
        "restricted", description="Pod Security Admission level enforced in the controller's namespace."
    )

    @model_validator(mode="after")
    def _budget(self) -> RolloutsController:
        problems = Problems()
        if self.min_available >= self.replicas:
            problems.add(
                ("minAvailable",),
                self.min_available,
                f"must be below replicas ({self.replicas}), or a node drain can never evict a controller pod",
            )
        problems.raise_if_any("RolloutsController")
        return self


class RolloutsSettings(Model):
    enabled: bool = Field(
        False,
        description="Guide: 'Use canary deployments for risky changes'. The backend rolls out as an Argo "
        "Rollouts canary: `steps` shift the route's traffic, `analysis` judges it on Prometheus, and a "
        "failing canary aborts by itself. Needs the Argo Rollouts CRDs (`make prerequisites`). Not with "
        "`canary.enabled` (the manual canary) or `gateway.enabled`.",
    )
    route: DnsLabel = Field(
        "api", description="Route (by name) whose Ingress the canary shares: a backend route without affinity."
    )
    steps: list[RolloutStep] = Field(
        DEFAULT_STEPS,
        min_length=1,
        description="The canary's steps, in order; after the last one the canary becomes stable (100 %). "
        "Default: 10 % → analysis → 50 % → analysis → 100 %.",
    )
    analysis: CanaryAnalysis = Field(CanaryAnalysis(), description="How an `analysis` step judges the canary.")
    dynamic_stable_scale: bool = Field(
        True,
        description="Scale the stable ReplicaSet down as the canary's weight grows (`dynamicStableScale`), so "
        "the backend runs about maxReplicas plus the canary's share, within a quota sized for the workloads. "
        "The price: on an abort, traffic returns to stable as its pods come back (about one pod start). "
        "`false`: stable stays at full size and traffic returns at once, but a promotion runs twice "
        "maxReplicas, which the namespace quota must hold, and then removes every old pod at once, closing "
        "all their WebSockets together (`make downtime`: websocket-budget).",
    )
    controller: RolloutsController = Field(RolloutsController(), description="The Argo Rollouts controller.")

    @model_validator(mode="after")
    def _steps(self) -> RolloutsSettings:
        problems = Problems()
        weight = 0
        judged = False
        for index, step in enumerate(self.steps):
            if step.set_weight is not None:
                if step.set_weight < weight:
                    problems.add(
                        ("steps", index, "setWeight"),
                        step.set_weight,
                        f"must not be below an earlier step's weight ({weight}): the canary would lose traffic "
                        "it already served well",
                    )
                weight = step.set_weight
            elif step.analysis and weight == 0:
                problems.add(
                    ("steps", index, "analysis"),
                    True,
                    "comes before any setWeight: the canary has no traffic yet, so there is nothing to judge",
                )
            elif step.analysis:
                judged = True
        if not judged and not problems:
            problems.add(
                ("steps",),
                None,
                "must contain an `analysis: true` step after a setWeight: otherwise the canary becomes stable "
                "without being judged",
            )
        problems.raise_if_any("RolloutsSettings")
        return self

    def timeout_seconds(self, progress_deadline_seconds: int) -> int:
        """How long `pulumi up` waits for a rollout: every weight change and the final promotion
        may take the Rollout's progress deadline (it aborts past it), plus every pause and analysis
        and a five-minute margin."""
        weights = sum(1 for s in self.steps if s.set_weight is not None) + 1
        return (
            weights * progress_deadline_seconds
            + sum(step.seconds(self.analysis) for step in self.steps)
            + 300
        )


def peak_backend_pods(settings: Any) -> int:
    """Most backend pods a canary runs at maxReplicas (argoproj/argo-rollouts v1.9.1
    utils/replicaset/canary.go CalculateReplicaCountsForTrafficRoutedCanary): the canary has
    ceil(weight x replicas); the stable keeps every replica, or with `dynamicStableScale` the larger
    of its new and its previous share until traffic has moved, so a step from weight a to b runs
    ceil(b x n) + ceil((100 - a) x n). The last step is the promotion to 100 %."""
    replicas = settings.backend.autoscaling.max_replicas
    if not settings.rollouts.dynamic_stable_scale:
        return 2 * replicas
    weights = [0, *(s.set_weight for s in settings.rollouts.steps if s.set_weight is not None), 100]
    return max(
        math.ceil(after * replicas / 100) + math.ceil((100 - before) * replicas / 100)
        for before, after in itertools.pairwise(weights)
    )


def check(settings: Any, problems: Problems) -> None:
    """The rules between `rollouts` and the rest of the stack (``settings``: the StackSettings, which
    imports this module)."""
    rollouts = settings.rollouts
    if not rollouts.enabled:
        return
    if settings.canary.enabled:
        problems.add(
            ("rollouts", "enabled"),
            True,
            "cannot be used with canary.enabled: both send a share of the API route to a second backend version "
            "through an ingress-nginx canary Ingress, and ingress-nginx serves one canary per host and path. Keep "
            "the automated canary (analysed, aborts by itself) and set canary.enabled: false, or keep the manual "
            "one and set rollouts.enabled: false",
        )
    if settings.gateway.enabled:
        only = "" if settings.ingress_controller.enabled else " (Envoy Gateway is the only routing backend)"
        problems.add(
            ("rollouts", "enabled"),
            True,
            f"cannot be used with gateway.enabled{only}: Argo Rollouts shifts traffic here through ingress-nginx "
            "(trafficRouting.nginx). Envoy Gateway would need Argo's Gateway API plugin "
            "(rollouts-plugin-trafficrouter-gatewayapi), which is alpha, and without it Envoy's routes send "
            "requests to canary pods outside the canary's weight and analysis. Finish or roll back the "
            "migration to Envoy Gateway first, or set rollouts.enabled: false",
        )
    route = next((r for r in settings.routing.routes if r.name == rollouts.route), None)
    if route is None:
        problems.add(
            ("rollouts", "route"),
            rollouts.route,
            f"is not a route name ({', '.join(r.name for r in settings.routing.routes)})",
        )
    elif route.workload != "backend" or route.affinity != "none":
        problems.add(
            ("rollouts", "route"),
            rollouts.route,
            "must be a backend route without affinity: the canary splits requests, not sessions",
        )
    if not settings.monitoring.service_monitor.enabled:
        problems.add(
            ("monitoring", "serviceMonitor", "enabled"),
            False,
            "must be true with rollouts.enabled: the canary's p95 latency is read from the backend's metrics, "
            "which that ServiceMonitor scrapes (with each pod's rollouts-pod-template-hash); without it every "
            "analysis is inconclusive and every rollout pauses",
        )
    taken = {
        settings.namespace.name: "namespace.name",
        settings.ingress_controller.namespace: "ingressController.namespace",
        settings.monitoring.namespace: "monitoring.namespace",
    }
    if rollouts.controller.namespace in taken:
        problems.add(
            ("rollouts", "controller", "namespace"),
            rollouts.controller.namespace,
            f"must differ from {taken[rollouts.controller.namespace]}: each namespace carries its own network policies",
        )
    port = rollouts.analysis.prometheus_port
    if not 1 <= port <= 65535:
        problems.add(("rollouts", "analysis", "prometheusAddress"), rollouts.analysis.prometheus_address,
                     "must name a port from 1 to 65535")
    window = duration_seconds(rollouts.analysis.window)
    scrape = duration_seconds(settings.monitoring.service_monitor.interval)
    if window < 2 * scrape:
        problems.add(
            ("rollouts", "analysis", "window"),
            rollouts.analysis.window,
            f"must be at least twice monitoring.serviceMonitor.interval "
            f"({settings.monitoring.service_monitor.interval}): "
            "rate() needs two samples in its range, or the latency query returns nothing",
        )


__all__ = [
    "DEFAULT_STEPS",
    "SCALE_DOWN",
    "TRACK_LABEL",
    "CanaryAnalysis",
    "RolloutStep",
    "RolloutsController",
    "RolloutsSettings",
    "check",
    "peak_backend_pods",
]
