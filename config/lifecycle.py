"""How one workload's pods start, roll, stay available and stop: probes, the RollingUpdate
strategy, the PodDisruptionBudget and graceful shutdown.

Part of the workload model (:mod:`config.workload`), which re-exports every name.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, model_validator
from pydantic_core import PydanticCustomError

from .base import INT32_MAX, HttpPath, Model, PositiveInt, Problems, int32


def _int_or_percent(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32_MAX:
        return value
    if isinstance(value, str) and re.fullmatch(r"(100|[1-9]?[0-9])%", value):
        return value
    raise PydanticCustomError(
        "int_or_percent", "must be a whole number from 0 to 2147483647 or a percentage such as 25%"
    )


IntOrPercent = Annotated[int | str, PlainValidator(_int_or_percent)]


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
        15,
        description="preStop sleep before SIGTERM, so that no new request can reach the pod when the app "
        "stops accepting: the endpoints, ingress-nginx's sync and, when a node drain takes a controller "
        "pod with this one, the 13 s the ALB still sends that controller requests while its upstreams are "
        "frozen (docs/downtime.md). Must be shorter than terminationGracePeriodSeconds.",
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
