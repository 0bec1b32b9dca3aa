"""Built-in load traces, scaled to the HPA so they exercise it whatever its targets and requests.

A scenario is a *load* in pods' worth: load 1 is what one pod carries at the HPA's targets. Every
metric's column is ``load * target_per_pod`` (e.g. load 3 is 1050 millicores of CPU for a 70 %
target on 500m requests), so all metrics move together. ``base`` is half of minReplicas' worth;
``peak`` is maxReplicas - 0.5, which needs exactly maxReplicas.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .metrics import Gauge
from .trace import Trace

WARMUP_S = 300


@dataclass(frozen=True)
class Scenario:
    description: str
    duration_s: int
    step_s: int
    load: Callable[[float, float, float, int], float]
    """``load(t, base, peak, max_replicas)`` in pods' worth."""


def _spike(t: float, base: float, peak: float, _max: int) -> float:
    return peak if WARMUP_S <= t < WARMUP_S + 1200 else base


def _ramp(t: float, base: float, peak: float, _max: int) -> float:
    up_end, hold_end, down_end = WARMUP_S + 2400, WARMUP_S + 3000, WARMUP_S + 4200
    if t < WARMUP_S or t >= down_end:
        return base
    if t < up_end:
        return base + (peak - base) * (t - WARMUP_S) / (up_end - WARMUP_S)
    if t < hold_end:
        return peak
    return peak - (peak - base) * (t - hold_end) / (down_end - hold_end)


def _daily(t: float, base: float, peak: float, _max: int) -> float:
    return base + (peak - base) * (1 - math.cos(2 * math.pi * t / 86400)) / 2


def _flash(t: float, base: float, _peak: float, max_replicas: int) -> float:
    crowd, burst_end = 1.5 * max_replicas, WARMUP_S + 120
    if t < WARMUP_S:
        return base
    if t < burst_end:
        return crowd
    return base + (crowd - base) * math.exp(-(t - burst_end) / 300)


SCENARIOS: dict[str, Scenario] = {
    "spike": Scenario("step from base to peak at 5 min, back to base at 25 min; 1 h", 3600, 15, _spike),
    "ramp": Scenario("base, linear rise to peak over 40 min, 10 min hold, 20 min fall; 1.5 h", 5400, 15, _ramp),
    "daily": Scenario("24 h cosine from base at midnight to peak at noon", 86400, 60, _daily),
    "flash": Scenario(
        "at 5 min, 1.5x what maxReplicas carry for 2 min, then an exponential decay (5 min) to base; 40 min",
        2400,
        15,
        _flash,
    ),
}


def scenario_trace(name: str, gauges: Sequence[Gauge], min_replicas: int, max_replicas: int) -> Trace:
    """The trace of scenario ``name`` for these metrics and replica bounds."""
    scenario = SCENARIOS[name]
    base, peak = min_replicas / 2, max_replicas - 0.5
    times = range(0, scenario.duration_s + 1, scenario.step_s)
    loads = [scenario.load(t, base, peak, max_replicas) for t in times]
    return Trace.from_points(times, {g.column: [load * g.target_per_pod for load in loads] for g in gauges})
