"""The simulator as it was before the per-pod model (commit da79b1b), frozen as the oracle of ``--ideal-metrics``.

``simulate.simulate`` with ``pipeline=None`` (the CLI's ``--ideal-metrics``) must reproduce
this exactly; tests/test_simulate_pipeline.py checks it on hand-picked and on generated HPAs and
traces. Do not change it: it is what "today's results" means.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from simulate.controller import (
    Recommendation,
    ScaleEvent,
    Tolerances,
    convert_with_behavior_rate,
    convert_with_rules,
    stabilize_legacy,
    stabilize_with_behaviors,
    store_scale_event,
)
from simulate.hpa import HpaSpec, SimulationError, parse_hpa
from simulate.metrics import Gauge, bind_gauges
from simulate.simulator import SyncRecord, Timeline, sync_times
from simulate.trace import Trace


def metric_proposal(
    current: int, ready: int, unready: int, ratio_over: Callable[[int], float], tolerances: Tolerances
) -> int:
    """``GetResourceReplicas`` / ``calcPlainMetricReplicas``: one metric's proposed replica count.

    ``ratio_over(n)`` is the usage ratio with the measured usage spread over ``n`` pods: the ready
    pods carry all of it and the other ``n - ready`` count as 0 %.

    The controller groups pods (``groupPods``) into ready, unready (Pending, or for CPU not yet
    Ready), missing (no sample yet) and ignored (being deleted or failed). This simulator has only
    two kinds: ready pods, whose samples are the trace's total divided among them, and pods still
    starting, which it treats as *unready* for every metric: a starting pod has not served traffic
    and usually has no sample. The rules that follow are then exactly the controller's:

    - no unready pods, or usage at or below target: ``ceil(ratio * ready)`` unless the ratio is
      within the tolerance band (on a scale-down the unready pods are simply left out);
    - a scale-up with unready pods: they count as using 0 % (``scaleUpWithUnready``) and the ratio
      is recomputed over ready + unready pods; if that ratio falls within the tolerance or below
      1.0 (the direction would flip), the count stays as it is; otherwise it is
      ``ceil(new_ratio * (ready + unready))``.

    The missing-pod rules (on a scale-down, count them at 100 % of the request or at the target)
    never apply, since the simulator has no pods without samples. Nor does the controller's last
    check (a scale-up result below the current count), since here every pod is counted.
    """
    ratio = ratio_over(ready)
    if unready == 0 or ratio <= 1.0:
        return current if tolerances.within(ratio) else math.ceil(ratio * ready)
    counted = ready + unready
    new_ratio = ratio_over(counted)
    if tolerances.within(new_ratio) or new_ratio < 1.0:
        return current
    return math.ceil(new_ratio * counted)


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


def simulate_oracle(
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
