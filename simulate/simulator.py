"""Replays the HPA controller's syncs against a trace: :func:`simulate`.

One sync every ``sync_period_s`` seconds (``--horizontal-pod-autoscaler-sync-period``), the first
at t = 0, the last at or before the end. Each sync does what ``reconcileAutoscaler`` does:

1. record the current count as the first recommendation (``recordInitialRecommendation``);
2. a count outside [minReplicas, maxReplicas] is set to the nearest bound, nothing else;
3. otherwise each metric proposes a count from the pods' samples
   (:func:`~simulate.controller.replicas_from_samples`) and the largest proposal wins
   (``computeReplicasForMetrics``);
4. the proposal is stabilized and rate-limited by ``behavior``
   (``normalizeDesiredReplicasWithBehaviors``) or, without ``behavior``, by the legacy rules
   (``normalizeDesiredReplicas``);
5. a change is applied at once and recorded as a scale event (``storeScaleEvent``).

Pods (:mod:`~simulate.pods`) and metrics (:mod:`~simulate.pipeline`): with a
:class:`~simulate.pipeline.Pipeline`, each pod starts step by step (node, scheduling, image
pull, probes), the demand is spread over the Ready pods, the kubelet and metrics-server sample each
pod, and the controller sees only those samples, grouped as ``groupPods`` does
(:func:`~simulate.controller.group_pods`, :func:`~simulate.controller.replicas_from_samples`).
A metric without any usable sample is invalid for that sync; if every metric is, or some are and
the others would scale down, the sync changes nothing (``computeReplicasForMetrics`` returns -1).

Without a pipeline (``pipeline=None``, the CLI's ``--ideal-metrics``) the controller reads exact,
instantaneous totals at each sync, divided among the Ready pods, and every pod that is not Ready
counts as unready for every metric: the simulator before the per-pod model, reproduced exactly.
The initial pods are Ready. A scale-down removes pods that are not Ready first, then the most
recently Ready ones, so at least one pod stays Ready.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .controller import (
    NoMetricsError,
    PodGroups,
    PodView,
    Recommendation,
    ScaleEvent,
    Tolerances,
    convert_with_behavior_rate,
    convert_with_rules,
    group_pods,
    replicas_for_metric,
    stabilize_legacy,
    stabilize_with_behaviors,
    store_scale_event,
    usage_ratio,
    utilization_ratio,
)
from .hpa import HpaSpec, SimulationError, parse_hpa
from .metrics import Gauge, bind_gauges
from .pipeline import MetricsServer, Pipeline, Usage
from .pods import Pod, PodSet, Startup
from .trace import Trace

BASE_COLUMNS = ("time_s", "replicas", "ready_replicas", "desired_replicas")


@dataclass(frozen=True)
class SyncRecord:
    """One sync: the count it set, the ready pods it saw, the metrics' raw proposal and what it read."""

    time_s: float
    replicas: int
    ready_replicas: int
    desired_replicas: int
    readings: tuple[float | None, ...]
    """Per metric, what the controller computed (None: no usable sample, the metric was invalid)."""
    demand: tuple[float, ...]
    samples_span: tuple[float, float] | None = None
    """The oldest window start and the newest timestamp of the samples the sync read (None: none)."""
    counted: tuple[int, ...] = ()
    """Per metric, the pods whose samples the reading averages (``readyPodCount``)."""


@dataclass(frozen=True)
class Timeline:
    """The syncs of one simulation, with the metrics they read (in the order of the HPA's metrics)."""

    gauges: tuple[Gauge, ...]
    rows: tuple[SyncRecord, ...]
    initial_replicas: int
    pods: tuple[Pod, ...] = ()
    """Every pod of the run, the initial ones first, in creation order."""
    startup: Startup | None = None
    pipeline: Pipeline | None = None
    max_replicas: int | None = None

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


def format_number(value: float | None) -> str:
    """Whole numbers without a decimal point, others to three decimals; None as an empty cell."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0").rstrip(".")


def sync_times(end_s: float, sync_period_s: float) -> list[float]:
    """0, p, 2p, ... up to and including ``end_s``."""
    return [i * sync_period_s for i in range(int(end_s // sync_period_s) + 1)]


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

    def __post_init__(self) -> None:
        self.usages = [_usage(g) for g in self.gauges]
        self.fallbacks = [_fallback(g) for g in self.gauges]

    def proposals(self, current: int, groups: Sequence[PodGroups]) -> tuple[int | None, tuple[float | None, ...]]:
        """``computeReplicasForMetrics``: the largest valid proposal (None: the sync fails) and the readings."""
        best: int | None = None
        invalid = 0
        readings: list[float | None] = []
        for gauge, usage, fallback, metric_groups in zip(self.gauges, self.usages, self.fallbacks, groups, strict=True):
            try:
                proposal, reading = replicas_for_metric(current, metric_groups, usage, fallback, self.tolerances)
            except NoMetricsError:
                invalid += 1
                readings.append(None)
                continue
            readings.append(reading if gauge.request_milli is not None else reading / gauge.milli_per_unit)
            if best is None or proposal > best:
                best = proposal
        if best is None or (invalid and best < current):
            return None, tuple(readings)
        return best, tuple(readings)

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

    def reconcile(
        self, now: float, current: int, groups: Sequence[PodGroups]
    ) -> tuple[int, int, tuple[float | None, ...]]:
        """``reconcileAutoscaler``: the count to set, the raw proposal and the readings."""
        if not self.recommendations:
            self.recommendations = [Recommendation(now, current)]
        readings: tuple[float | None, ...] = tuple(None for _ in self.gauges)
        if current > self.spec.max_replicas or current < self.spec.min_replicas:
            desired = final = min(max(current, self.spec.min_replicas), self.spec.max_replicas)
        else:
            proposal, readings = self.proposals(current, groups)
            if proposal is None:
                return current, current, readings
            desired = proposal
            final = self.normalize(now, current, desired)
        self._store_event(now, current, final)
        return final, desired, readings

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


def _usage(gauge: Gauge) -> Any:
    """``GetResourceUtilizationRatio`` (same request for every pod) or ``GetMetricUsageRatio`` over the pods given."""
    request, target = gauge.request_milli, gauge.spec.target
    if request is not None:
        return lambda total, pods: utilization_ratio(total, pods, request, target)
    return lambda total, pods: usage_ratio(total, pods, target)


def _fallback(gauge: Gauge) -> int:
    """What a pod without a sample counts for on a scale-down: ``requests * max(100, target) / 100``, or the target."""
    if gauge.request_milli is not None:
        return gauge.request_milli * max(100, gauge.spec.target) // 100
    return gauge.spec.target


def _views(pods: Sequence[Pod], now: float, settled: dict[int, PodView]) -> list[PodView]:
    """The pod list as the controller's lister shows it at ``now``; a Ready pod's view no longer changes."""
    views = []
    for pod in pods:
        view = settled.get(pod.index)
        if view is None:
            started = pod.started <= now
            view = PodView(
                name=pod.index,
                phase=pod.phase(now),
                start_time=pod.started if started else None,
                ready=None if not started else pod.ready <= now,
                ready_transition=pod.ready if pod.ready <= now else pod.started,
            )
            if pod.ready <= now:
                settled[pod.index] = view
        views.append(view)
    return views


def simulate(
    hpa: Mapping[str, Any],
    requests: Mapping[str, str],
    trace: Trace,
    *,
    pod_startup_s: float | None = None,
    startup: Startup | None = None,
    pipeline: Pipeline | None = None,
    initial_replicas: int | None = None,
    sync_period_s: float = 15,
    duration_s: float | None = None,
    tolerance: float = 0.1,
    downscale_stabilization_s: int = 300,
) -> Timeline:
    """Replay the HPA controller on ``hpa`` (an autoscaling/v2 object) against ``trace``.

    ``requests`` are one pod's requests (``{"cpu": "500m", "memory": "512Mi"}``), needed for
    Utilization targets. A new pod's start is ``startup``, or ``pod_startup_s`` from creation to
    Ready in one step. ``pipeline`` models the metrics pipeline; None reads exact totals
    (``--ideal-metrics``). ``initial_replicas`` defaults to minReplicas; ``duration_s`` to the
    trace's last time. ``tolerance`` and ``downscale_stabilization_s`` are the controller's
    ``--horizontal-pod-autoscaler-tolerance`` and ``--horizontal-pod-autoscaler-downscale-
    stabilization`` flags. Raises :class:`SimulationError` for input it cannot use.
    """
    spec = parse_hpa(hpa, downscale_stabilization_s)
    gauges = bind_gauges(spec, requests)
    trace.require(g.column for g in gauges)
    if sync_period_s <= 0:
        raise SimulationError(f"the sync period must be positive, not {sync_period_s:g}")
    if startup is None:
        if pod_startup_s is None:
            raise SimulationError("give the pod startup: pod_startup_s or startup")
        if pod_startup_s < 0:
            raise SimulationError(f"the pod startup delay must be 0 or more, not {pod_startup_s:g}")
        startup = Startup(probes_s=pod_startup_s)
    replicas = spec.min_replicas if initial_replicas is None else initial_replicas
    if replicas < 1:
        raise SimulationError(f"the initial replica count must be at least 1, not {replicas}")
    end_s = trace.end_s if duration_s is None else duration_s
    if end_s < 0:
        raise SimulationError(f"the duration must be 0 or more, not {end_s:g}")
    controller = _Controller(spec, gauges, Tolerances.for_hpa(spec.behavior, tolerance), downscale_stabilization_s)
    pods = PodSet.initial(replicas, startup)
    columns = [trace.columns[g.column] for g in gauges]
    cpu = [g.spec.source == "Resource" and g.spec.name == "cpu" for g in gauges]
    usage = server = None
    if pipeline is not None:
        usage = Usage(trace, gauges, pipeline, pods.pods)
        server = MetricsServer(pipeline, gauges)
    # metrics-server has been scraping the initial pods: two scrapes at or before t = 0 give them samples.
    scrapes = 0 if pipeline is None else math.floor(-pipeline.offset_s / pipeline.resolution_s) - 1
    settled: dict[int, PodView] = {}
    rows = []
    for now in sync_times(end_s, sync_period_s):
        index = trace.row_at(now)
        demand = tuple(column[index] for column in columns)
        current = len(pods)
        if pipeline is None or usage is None or server is None:
            ready = pods.ready_count(now)
            span: tuple[float, float] | None = (now, now)
            groups = [
                PodGroups(ready, current - ready, 0, g.total_milli(d)) for g, d in zip(gauges, demand, strict=True)
            ]
        else:
            while pipeline.scrape_time(scrapes) <= now:
                at = pipeline.scrape_time(scrapes)
                usage.advance(at)
                server.scrape(at, pods.pods, usage)
                scrapes += 1
            usage.advance(now)
            views = _views(pods.pods, now, settled)
            samples = server.samples()
            groups = [
                group_pods(
                    views,
                    metric_samples,
                    is_cpu,
                    now,
                    pipeline.cpu_initialization_period_s,
                    pipeline.initial_readiness_delay_s,
                )
                for metric_samples, is_cpu in zip(samples, cpu, strict=True)
            ]
            ready = pods.ready_count(now)
            span = server.span
        final, desired, readings = controller.reconcile(now, current, groups)
        counted = tuple(g.ready for g in groups)
        rows.append(SyncRecord(now, final, ready, desired, readings, demand, span, counted))
        created, deleted = pods.scale_to(final, now)
        if usage is not None:
            for pod in created:
                usage.add(pod)
            for pod in deleted:
                usage.remove(pod, now)
    return Timeline(
        gauges=gauges,
        rows=tuple(rows),
        initial_replicas=replicas,
        pods=tuple(pods.all_pods),
        startup=startup,
        pipeline=pipeline,
        max_replicas=spec.max_replicas,
    )
