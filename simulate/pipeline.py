"""What the HPA controller reads: each pod's usage, sampled by the kubelet and metrics-server.

**Usage.** The trace gives each metric's total demand. It is spread over the Ready pods by weight
(:attr:`Pipeline.imbalance`: pods alternately carry ``1 + imbalance`` and ``1 - imbalance``
shares); a pod that is Running but not yet Ready serves no traffic and uses
:attr:`Pipeline.startup_usage` of what one pod carries at the target (warm-up CPU, baseline
memory; 0 for Pods metrics). When no pod is Ready the demand is simply not served.

**The kubelet** (cAdvisor, ``pkg/kubelet/cadvisor``: ``defaultHousekeepingInterval`` 10 s)
refreshes each container's cumulative CPU counter and its memory working set every
:attr:`Pipeline.housekeeping_s`, the first time one interval after the container started (the
pods present at t = 0 half an interval off the multiples of it). A scrape gets the latest refresh
and its timestamp, so a point is up to one interval old.

**metrics-server** (``--metric-resolution``) scrapes every kubelet every
:attr:`Pipeline.resolution_s`, :attr:`Pipeline.scrape_offset_s` into each period (default
half-way: the controller's syncs fall on multiples of the sync period, so with 15 s both ways a
sync reads a scrape 7.5 s old, the average of a random phase). It keeps each pod's last two
points (``podStorage.Store``) and serves
(``podStorage.GetMetrics``, ``resourceUsage``) CPU as the counter's rate between them, with the
newer point's timestamp and their distance as the window; memory as the newer point's working
set. A container seen for the first time gets a point at its start time with a zero counter if
the scrape came at least 10 s (``freshContainerMinMetricsResolution``) and less than one
resolution after it started; otherwise a pod has no metrics until its second scrape. A Pods
metric (through prometheus-adapter) is modelled like CPU: an average over the same window.

The controller converts a sample as the metrics client does: ``Quantity.MilliValue()``, which
rounds up (CPU in nanocores, memory in bytes).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from .controller import MetricSample
from .hpa import SimulationError
from .metrics import Gauge
from .pods import Pod
from .trace import Trace

FRESH_CONTAINER_MIN_S = 10.0  # metrics-server freshContainerMinMetricsResolution
MIN_RESOLUTION_S = 10.0  # metrics-server refuses a --metric-resolution below 10 s
_EPSILON = 1e-9


@dataclass(frozen=True)
class Pipeline:
    """The metrics pipeline's settings (the CLI flags of the same names)."""

    resolution_s: float = 15.0
    """metrics-server ``--metric-resolution``."""
    scrape_offset_s: float | None = None
    """Where in each resolution period metrics-server scrapes; None: half-way (the average phase)."""
    housekeeping_s: float = 10.0
    """The kubelet's cAdvisor housekeeping interval."""
    cpu_initialization_period_s: float = 300.0
    """kube-controller-manager ``--horizontal-pod-autoscaler-cpu-initialization-period``."""
    initial_readiness_delay_s: float = 30.0
    """kube-controller-manager ``--horizontal-pod-autoscaler-initial-readiness-delay``."""
    startup_usage: float = 0.0
    """Usage of a Running, not yet Ready pod, as a fraction of one pod's share at the target."""
    imbalance: float = 0.0
    """Ready pods alternately carry ``1 + imbalance`` and ``1 - imbalance`` shares of the demand."""

    def __post_init__(self) -> None:
        if not MIN_RESOLUTION_S <= self.resolution_s < math.inf:
            # metrics-server's Options.validate: "metric-resolution should be a time duration at least 10s".
            raise SimulationError(f"--metric-resolution must be at least 10 seconds, not {self.resolution_s:g}")
        if self.scrape_offset_s is not None and not 0 <= self.scrape_offset_s < self.resolution_s:
            raise SimulationError(
                f"--scrape-offset must be at least 0 and below --metric-resolution ({self.resolution_s:g}), "
                f"not {self.scrape_offset_s:g}"
            )
        if not self.housekeeping_s > 0 or not math.isfinite(self.housekeeping_s):
            raise SimulationError(
                f"--kubelet-housekeeping must be a positive number of seconds, not {self.housekeeping_s:g}"
            )
        for name, value in (
            ("--cpu-initialization-period", self.cpu_initialization_period_s),
            ("--initial-readiness-delay", self.initial_readiness_delay_s),
        ):
            if not value >= 0 or not math.isfinite(value):
                raise SimulationError(f"{name} must be 0 or more seconds, not {value:g}")
        if not 0 <= self.startup_usage <= 10:
            raise SimulationError(f"--startup-usage must be from 0 to 1000 (%), not {self.startup_usage * 100:g}")
        if not 0 <= self.imbalance < 1:
            raise SimulationError(f"--imbalance must be at least 0 and below 1, not {self.imbalance:g}")

    @property
    def offset_s(self) -> float:
        return self.resolution_s / 2 if self.scrape_offset_s is None else self.scrape_offset_s

    def scrape_time(self, k: int) -> float:
        """The ``k``-th scrape (k may be negative: the ones before t = 0)."""
        return k * self.resolution_s + self.offset_s

    def weight(self, pod: Pod) -> float:
        return 1 + self.imbalance if pod.index % 2 == 0 else 1 - self.imbalance


class Usage:
    """Each pod's usage over time, as integrals of the demand share per unit of weight.

    ``shares[m](t)`` is the integral of ``demand_m / (sum of the Ready pods' weights)``: a Ready
    pod of weight ``w`` used ``w * (shares(b) - shares(a))`` of metric ``m`` between ``a`` and
    ``b``. The integral is built segment by segment as time advances; a segment ends where the
    trace moves to its next row or a pod turns Ready or is deleted. Before t = 0 the first
    segment extends backwards (the initial pods have been serving the first row's demand).
    """

    def __init__(self, trace: Trace, gauges: Sequence[Gauge], pipeline: Pipeline, pods: Sequence[Pod]) -> None:
        self.columns = [trace.columns[g.column] for g in gauges]
        self.times = trace.times
        self.pipeline = pipeline
        self.idle = [pipeline.startup_usage * g.target_per_pod if g.spec.source == "Resource" else 0.0 for g in gauges]
        self.row = trace.row_at(0)
        for pod in pods:
            pod.weight = pipeline.weight(pod)
        self.weight = sum(p.weight for p in pods)
        self.pending: list[tuple[float, int, Pod]] = []
        self.starts: list[float] = [0.0]
        self.integrals: list[tuple[float, ...]] = [tuple(0.0 for _ in gauges)]
        self.rates: list[tuple[float, ...]] = [self._rates()]
        self.demands: list[tuple[float, ...]] = [self._demand()]
        self.weights: list[float] = [self.weight]
        self.now = 0.0
        self.cache: dict[float, tuple[float, ...]] = {}
        self.offsets: dict[int, tuple[float, ...]] = {}
        self.zero = tuple(0.0 for _ in gauges)

    def _demand(self) -> tuple[float, ...]:
        return tuple(column[self.row] for column in self.columns)

    def _rates(self) -> tuple[float, ...]:
        if self.weight <= _EPSILON:
            return tuple(0.0 for _ in self.columns)
        return tuple(column[self.row] / self.weight for column in self.columns)

    def _cut(self, t: float) -> None:
        """Close the open segment at ``t`` and open one with the current row and weights."""
        start, rate, base = self.starts[-1], self.rates[-1], self.integrals[-1]
        span = t - start
        integral = tuple(b + r * span for b, r in zip(base, rate, strict=True))
        if t == start:
            self.integrals[-1], self.rates[-1] = integral, self._rates()
            self.demands[-1], self.weights[-1] = self._demand(), self.weight
            self.cache.clear()
            return
        self.starts.append(t)
        self.integrals.append(integral)
        self.rates.append(self._rates())
        self.demands.append(self._demand())
        self.weights.append(self.weight)
        self.cache.clear()

    def advance(self, t: float) -> None:
        """Build the segments up to ``t``: trace rows and pods turning Ready up to and at ``t``."""
        times, pending = self.times, self.pending
        while True:
            next_row = times[self.row + 1] if self.row + 1 < len(times) else math.inf
            next_ready = pending[0][0] if pending else math.inf
            when = min(next_row, next_ready)
            if when > t:
                break
            if next_row <= next_ready:
                self.row += 1
            else:
                _, _, pod = heapq.heappop(pending)
                if pod.deleted <= when:
                    continue
                self.weight += pod.weight
            self._cut(when)
        self.now = t

    def add(self, pod: Pod) -> None:
        """A new pod: its weight joins when it turns Ready."""
        pod.weight = self.pipeline.weight(pod)
        heapq.heappush(self.pending, (pod.ready, pod.index, pod))

    def remove(self, pod: Pod, now: float) -> None:
        """A deleted pod: its weight leaves now if it was Ready (its pending Ready is skipped)."""
        if pod.ready <= now:
            self.weight -= pod.weight
            self._cut(now)

    def _segment(self, t: float) -> int:
        return max(bisect_right(self.starts, t) - 1, 0)

    def share_integral(self, t: float) -> tuple[float, ...]:
        cached = self.cache.get(t)
        if cached is None:
            i = self._segment(t)
            start, base, rate = self.starts[i], self.integrals[i], self.rates[i]
            cached = self.cache[t] = tuple(b + r * (t - start) for b, r in zip(base, rate, strict=True))
        return cached

    def cumulative(self, pod: Pod, t: float) -> tuple[float, ...]:
        """The pod's usage integrated from its start to ``t`` (trace units x seconds), per metric.

        Warm-up (Running, not Ready) at the idle rate, then ``weight`` times the share integral.
        """
        weight = pod.weight
        if pod.ready == -math.inf:
            if weight == 1.0:
                return self.share_integral(t)
            return tuple([weight * g for g in self.share_integral(t)])
        if t <= pod.ready:
            warm = max(t - pod.running, 0.0)
            return tuple([u * warm for u in self.idle])
        offset = self.offsets.get(pod.index)
        if offset is None:
            warm = pod.ready - pod.running
            at_ready = self.share_integral(pod.ready)
            offset = self.offsets[pod.index] = tuple(
                [u * warm - weight * g for u, g in zip(self.idle, at_ready, strict=True)]
            )
        return tuple([o + weight * g for o, g in zip(offset, self.share_integral(t), strict=True)])

    def instant(self, pod: Pod, t: float) -> tuple[float, ...]:
        """The pod's usage at ``t`` (trace units), per metric."""
        if t < pod.ready:
            return tuple(self.idle) if t >= pod.running else self.zero
        i = self._segment(t)
        weights = self.weights[i]
        if weights <= _EPSILON:
            return self.zero
        share = pod.weight / weights
        return tuple([d * share for d in self.demands[i]])


class _Point(NamedTuple):
    timestamp: float
    start: float
    cumulative: tuple[float, ...]
    instant: tuple[float, ...]


@dataclass
class MetricsServer:
    """metrics-server's ``podStorage`` for one workload, fed by the kubelets' points."""

    pipeline: Pipeline
    gauges: Sequence[Gauge]
    last: dict[int, _Point] = field(default_factory=dict)
    prev: dict[int, _Point] = field(default_factory=dict)
    served: list[dict[int, MetricSample]] = field(default_factory=list)
    span: tuple[float, float] | None = None
    """The oldest window start and newest timestamp of the samples served."""

    def __post_init__(self) -> None:
        self.converters = [milli_converter(g) for g in self.gauges]
        self.instant = [g.spec.source == "Resource" and g.spec.name == "memory" for g in self.gauges]
        self.any_instant = any(self.instant)
        self.zero = tuple(0.0 for _ in self.gauges)
        self.served = [{} for _ in self.gauges]

    def kubelet_point(self, pod: Pod, t: float, usage: Usage) -> _Point | None:
        """The kubelet's latest refresh of the pod's counters at ``t``; None before the first."""
        period = self.pipeline.housekeeping_s
        if pod.running == -math.inf:
            phase = period / 2
            stamp = math.floor((t - phase) / period + _EPSILON) * period + phase
        else:
            ticks = math.floor((t - pod.running) / period + _EPSILON)
            if ticks < 1:
                return None
            stamp = pod.running + ticks * period
        instant = usage.instant(pod, stamp) if self.any_instant else self.zero
        return _Point(stamp, pod.running, usage.cumulative(pod, stamp), instant)

    def scrape(self, t: float, pods: Sequence[Pod], usage: Usage) -> None:
        """``podStorage.Store`` of one scrape of the Running pods at ``t``, then what ``GetMetrics`` serves."""
        last: dict[int, _Point] = {}
        prev: dict[int, _Point] = {}
        served: list[dict[int, MetricSample]] = [{} for _ in self.gauges]
        kinds = list(zip(served, self.converters, self.instant, strict=True))
        resolution = self.pipeline.resolution_s
        old_last, old_prev = self.last, self.prev
        oldest, newest = math.inf, -math.inf
        for pod in pods:
            if pod.running > t:
                continue
            name = pod.index
            point = self.kubelet_point(pod, t, usage)
            if point is None:
                continue
            stamp, start = point.timestamp, point.start
            stored = old_last.get(name)
            before: _Point | None = None
            if start < stamp and FRESH_CONTAINER_MIN_S <= stamp - start < resolution:
                before = _Point(start, start, self.zero, point.instant)
            elif stored is not None and start < stored.timestamp:
                if stamp > stored.timestamp:
                    before = stored
                else:
                    if stored.timestamp == stamp:
                        point = stored
                    earlier = old_prev.get(name)
                    if earlier is not None and earlier.timestamp < stamp:
                        before = earlier
            last[name] = point
            if before is None:
                continue
            prev[name] = before
            window = stamp - before.timestamp
            oldest, newest = min(oldest, before.timestamp), max(newest, stamp)
            for i, (metric, convert, instant) in enumerate(kinds):
                if instant:
                    value = convert(point.instant[i])
                else:
                    value = convert((point.cumulative[i] - before.cumulative[i]) / window)
                metric[name] = MetricSample(value, stamp, window)
        self.last, self.prev, self.served = last, prev, served
        self.span = None if newest == -math.inf else (oldest, newest)

    def samples(self) -> list[dict[int, MetricSample]]:
        """``GetMetrics`` as the HPA's metrics client reads it after the last scrape: per metric, pod -> sample."""
        return self.served


def milli_converter(gauge: Gauge) -> Callable[[float], int]:
    """A per-pod amount in trace units as the controller's milli-value (``MilliValue`` rounds up).

    CPU: metrics-server's ``uint64`` nanocores; memory: whole bytes; a Pods metric: its value.
    """
    if gauge.spec.source == "Resource" and gauge.spec.name == "cpu":
        return _cpu_milli
    if gauge.spec.source == "Resource":
        return _memory_milli
    per_unit = gauge.milli_per_unit
    return lambda amount: math.ceil(round(max(amount, 0.0) * per_unit, 6))


def _cpu_milli(millicores: float) -> int:
    nanocores = math.floor(max(millicores, 0.0) * 1_000_000 + 1e-6)
    return -(-nanocores // 1_000_000)


def _memory_milli(mebibytes: float) -> int:
    return math.floor(max(mebibytes, 0.0) * 2**20 + 1e-6) * 1000
