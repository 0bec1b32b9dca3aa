"""Replays the HPA controller's syncs against a trace: :func:`simulate`.

One sync every ``sync_period_s`` seconds (``--horizontal-pod-autoscaler-sync-period``), the first
at t = 0, the last at or before the end. Each sync does what ``reconcileAutoscaler`` does:

1. record the current count as the first recommendation (``recordInitialRecommendation``);
2. a count outside [minReplicas, maxReplicas] is set to the nearest bound, nothing else;
3. otherwise each metric proposes a count (:func:`~offline.simulate.controller.metric_proposal`)
   and the largest proposal wins (``computeReplicasForMetrics``);
4. the proposal is stabilized and rate-limited by ``behavior``
   (``normalizeDesiredReplicasWithBehaviors``) or, without ``behavior``, by the legacy rules
   (``normalizeDesiredReplicas``);
5. a change is applied at once and recorded as a scale event (``storeScaleEvent``).

Pods: the initial pods are ready. A pod added at a sync becomes ready ``pod_startup_s`` seconds
later (0: at the next sync). A scale-down removes pods that are not ready first, then the newest
ready ones, as the ReplicaSet controller's ``ActivePods`` ordering does; so at least one pod is
always ready and every metric can be computed.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from .controller import (
    Recommendation,
    ScaleEvent,
    Tolerances,
    convert_with_behavior_rate,
    convert_with_rules,
    metric_proposal,
    stabilize_legacy,
    stabilize_with_behaviors,
    store_scale_event,
)
from .hpa import HpaSpec, SimulationError, parse_hpa
from .metrics import Gauge, bind_gauges
from .trace import Trace

BASE_COLUMNS = ("time_s", "replicas", "ready_replicas", "desired_replicas")


@dataclass(frozen=True)
class SyncRecord:
    """One sync: the count it set, the ready pods it saw, the metrics' raw proposal and what it read."""

    time_s: float
    replicas: int
    ready_replicas: int
    desired_replicas: int
    readings: tuple[float, ...]
    demand: tuple[float, ...]


@dataclass(frozen=True)
class Timeline:
    """The syncs of one simulation, with the metrics they read (in the order of the HPA's metrics)."""

    gauges: tuple[Gauge, ...]
    rows: tuple[SyncRecord, ...]
    initial_replicas: int

    @property
    def columns(self) -> tuple[str, ...]:
        return BASE_COLUMNS + tuple(g.timeline_column for g in self.gauges)

    def csv_rows(self) -> Iterator[list[str]]:
        """The rows of the timeline CSV, without the header."""
        for row in self.rows:
            counts = (row.replicas, row.ready_replicas, row.desired_replicas)
            yield [format_number(v) for v in (row.time_s, *counts, *row.readings)]

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.columns)
            writer.writerows(self.csv_rows())


def format_number(value: float) -> str:
    """Whole numbers without a decimal point, others to three decimals."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0").rstrip(".")


def sync_times(end_s: float, sync_period_s: float) -> list[float]:
    """0, p, 2p, ... up to and including ``end_s``."""
    return [i * sync_period_s for i in range(int(end_s // sync_period_s) + 1)]


@dataclass
class _Pods:
    """When each pod is (or was) ready, oldest first; the list stays sorted as pods are added last."""

    ready_at: list[float]

    def ready(self, now: float) -> int:
        return bisect_right(self.ready_at, now)

    def scale_to(self, count: int, now: float, startup_s: float) -> None:
        if count > len(self.ready_at):
            self.ready_at.extend([now + startup_s] * (count - len(self.ready_at)))
        else:
            del self.ready_at[count:]


@dataclass
class _Controller:
    """The controller's memory for one HPA: recommendations and scale events (``HorizontalController`` maps)."""

    spec: HpaSpec
    gauges: tuple[Gauge, ...]
    tolerances: Tolerances
    downscale_stabilization_s: int
    recommendations: list[Recommendation] = field(default_factory=list)
    up_events: list[ScaleEvent] = field(default_factory=list)
    down_events: list[ScaleEvent] = field(default_factory=list)

    def desired(self, current: int, ready: int, totals: Sequence[int]) -> int:
        """``computeReplicasForMetrics``: the largest proposal of the metrics."""
        return max(
            metric_proposal(current, ready, current - ready, partial(g.ratio, total), self.tolerances)
            for g, total in zip(self.gauges, totals, strict=True)
        )

    def normalize(self, now: float, current: int, desired: int) -> int:
        spec, behavior = self.spec, self.spec.behavior
        if behavior is None:
            stabilized, self.recommendations = stabilize_legacy(
                self.recommendations, now, desired, self.downscale_stabilization_s
            )
            return convert_with_rules(stabilized, current, spec.min_replicas, spec.max_replicas)
        stabilized, self.recommendations = stabilize_with_behaviors(
            self.recommendations,
            now,
            desired,
            current,
            behavior.scale_up.stabilization_window_s,
            behavior.scale_down.stabilization_window_s,
        )
        return convert_with_behavior_rate(
            stabilized, current, spec.min_replicas, spec.max_replicas, behavior, self.up_events, self.down_events, now
        )

    def reconcile(self, now: float, current: int, ready: int, totals: Sequence[int]) -> tuple[int, int]:
        """``reconcileAutoscaler``: the count to set and the raw proposal."""
        if not self.recommendations:
            self.recommendations = [Recommendation(now, current)]
        if current > self.spec.max_replicas or current < self.spec.min_replicas:
            desired = final = min(max(current, self.spec.min_replicas), self.spec.max_replicas)
        else:
            desired = self.desired(current, ready, totals)
            final = self.normalize(now, current, desired)
        self._store_event(now, current, final)
        return final, desired

    def _store_event(self, now: float, current: int, final: int) -> None:
        behavior = self.spec.behavior
        if behavior is None or final == current:
            return
        if final > current:
            self.up_events = store_scale_event(self.up_events, now, final - current, behavior.scale_up.longest_period_s)
        else:
            self.down_events = store_scale_event(
                self.down_events, now, current - final, behavior.scale_down.longest_period_s
            )


def simulate(
    hpa: Mapping[str, Any],
    requests: Mapping[str, str],
    trace: Trace,
    *,
    pod_startup_s: float,
    initial_replicas: int | None = None,
    sync_period_s: float = 15,
    duration_s: float | None = None,
    tolerance: float = 0.1,
    downscale_stabilization_s: int = 300,
) -> Timeline:
    """Replay the HPA controller on ``hpa`` (an autoscaling/v2 object) against ``trace``.

    ``requests`` are one pod's requests (``{"cpu": "500m", "memory": "512Mi"}``), needed for
    Utilization targets. ``initial_replicas`` defaults to minReplicas; ``duration_s`` to the
    trace's last time. ``tolerance`` and ``downscale_stabilization_s`` are the controller's
    ``--horizontal-pod-autoscaler-tolerance`` and ``--horizontal-pod-autoscaler-downscale-
    stabilization`` flags. Raises :class:`SimulationError` for input it cannot use.
    """
    spec = parse_hpa(hpa, downscale_stabilization_s)
    gauges = bind_gauges(spec, requests)
    trace.require(g.column for g in gauges)
    if sync_period_s <= 0:
        raise SimulationError(f"the sync period must be positive, not {sync_period_s:g}")
    if pod_startup_s < 0:
        raise SimulationError(f"the pod startup delay must be 0 or more, not {pod_startup_s:g}")
    replicas = spec.min_replicas if initial_replicas is None else initial_replicas
    if replicas < 1:
        raise SimulationError(f"the initial replica count must be at least 1, not {replicas}")
    end_s = trace.end_s if duration_s is None else duration_s
    if end_s < 0:
        raise SimulationError(f"the duration must be 0 or more, not {end_s:g}")
    controller = _Controller(spec, gauges, Tolerances.for_hpa(spec.behavior, tolerance), downscale_stabilization_s)
    pods = _Pods([float("-inf")] * replicas)
    columns = [trace.columns[g.column] for g in gauges]
    rows = []
    for now in sync_times(end_s, sync_period_s):
        index = trace.row_at(now)
        demand = tuple(column[index] for column in columns)
        totals = [g.total_milli(d) for g, d in zip(gauges, demand, strict=True)]
        current, ready = len(pods.ready_at), pods.ready(now)
        final, desired = controller.reconcile(now, current, ready, totals)
        readings = tuple(g.reading(t, ready) for g, t in zip(gauges, totals, strict=True))
        rows.append(SyncRecord(now, final, ready, desired, readings, demand))
        pods.scale_to(final, now, pod_startup_s)
    return Timeline(gauges=gauges, rows=tuple(rows), initial_replicas=replicas)
