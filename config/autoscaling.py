"""Autoscaling settings of one workload: the HorizontalPodAutoscaler (targets, replica bounds,
`behavior`, custom metrics) and the VerticalPodAutoscaler's recommendations.

Part of the workload model (:mod:`config.workload`), which re-exports every name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Model, PositiveInt, Problems, SelectPolicy, int32, matching

PeriodSeconds = Annotated[int, int32(ge=1, le=1800)]
WindowSeconds = Annotated[int, int32(ge=0, le=3600)]
Utilization = Annotated[int, int32(ge=1, le=100)]
MetricName = Annotated[
    str,
    matching(
        r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", "a Prometheus metric name such as http_requests_per_second", max_length=200
    ),
]


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


class Recommendations(Model):
    enabled: bool = Field(
        False,
        description="Guide: 'Use VPA (Vertical Pod Autoscaler) for recommendations'. A VPA in "
        "recommendation-only mode (`updateMode: Off`): it never evicts pods, so it cannot fight the HPA, "
        "and its recommendations show how to right-size the requests. Needs the VPA recommender.",
    )
