"""What a reviewer wants from a timeline: how fast capacity caught up, how long it was short, what it cost.

Capacity is measured at each sync: the ready pods times what one pod may carry at the target
(:attr:`~simulate.metrics.Gauge.target_per_pod`, e.g. 350 millicores for 70 % of 500m).
A sync is *over target* when any metric's demand exceeds that capacity; it counts for the time
until the next sync. A *rise* starts at a sync that is over target after one that was not (or
at the first sync); it lasts until the first sync whose capacity meets the demand again.

Each rise that is met is split into the steps that made it take that long (:data:`STEPS`), along
the path of the pod that completed the capacity (the last to turn Ready before the rise was met):

- **metrics delay**: from the rise until the first sync whose reading of some metric is over its
  target (sample age and window);
- **tolerance**: from there until the first sync that proposes more pods than it has (the ratio
  within the tolerance band, or missing and unready pods pulling it back);
- **policy limit**: from there until that pod was created (scale-up policies, stabilization,
  and the controller holding while new pods are unready or missing);
- **node provisioning**: the pod waiting for a new node;
- **pod startup**: scheduling, image pull and probes until the pod turned Ready;
- **sync**: from Ready until the next sync, where the capacity is counted;
- **max replicas** (or **tolerance**): the rest, when that pod was not enough and the capacity
  only met the demand later: at maxReplicas, or with the count inside the tolerance band, the
  demand had to fall.

Steps never overlap and add up to the time to capacity; a step that began before the rise
counts from the rise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from .metrics import Gauge
from .simulator import SyncRecord, Timeline

SHOWN_RISES = 10
STEPS = ("metrics delay", "tolerance", "policy limit", "node provisioning", "pod startup", "sync", "max replicas")


@dataclass(frozen=True)
class Rise:
    """Demand went over capacity at ``start_s``; capacity met it ``seconds_to_capacity`` later (None: never)."""

    start_s: float
    seconds_to_capacity: float | None
    steps: tuple[float, ...] | None = None
    """Seconds per step of :data:`STEPS`; None when never met."""

    @property
    def dominant(self) -> str | None:
        """The step that took longest (the first of equals)."""
        if not self.steps:
            return None
        return STEPS[max(range(len(STEPS)), key=lambda i: (self.steps[i], -i))]  # type: ignore[index]

    def report(self) -> str:
        """``96 s (dominant: policy limit; metrics delay 15 s, ...)`` or why there is no time."""
        if self.seconds_to_capacity is None:
            return "capacity never caught up"
        if self.steps is None:
            return f"caught up in {self.seconds_to_capacity:g} s"
        parts = ", ".join(f"{name} {seconds:g} s" for name, seconds in zip(STEPS, self.steps, strict=True) if seconds)
        return f"caught up in {self.seconds_to_capacity:g} s (dominant: {self.dominant}; {parts})"


@dataclass(frozen=True)
class Summary:
    rises: tuple[Rise, ...]
    seconds_over_target: float
    peak_replicas: int
    pod_hours: float

    @property
    def slowest(self) -> Rise | None:
        """The rise that took longest to meet (one never met first), or None without rises."""
        if not self.rises:
            return None
        return max(self.rises, key=lambda r: math.inf if r.seconds_to_capacity is None else r.seconds_to_capacity)

    def lines(self) -> list[str]:
        """The summary as the CLI prints it."""
        slowest = self.slowest
        lines = [
            f"peak replicas:       {self.peak_replicas}",
            f"pod-hours:           {self.pod_hours:.2f}",
            f"time over target:    {self.seconds_over_target:g} s",
            "time to capacity:    "
            + ("no rise over capacity" if slowest is None else f"rise at {slowest.start_s:g} s {slowest.report()}"),
            f"rises over capacity: {len(self.rises)}",
        ]
        lines += [f"  at {r.start_s:g} s: {_catch_up(r)}" for r in self.rises[:SHOWN_RISES]]
        if len(self.rises) > SHOWN_RISES:
            lines.append(f"  ... and {len(self.rises) - SHOWN_RISES} more")
        return lines


def _catch_up(rise: Rise) -> str:
    if rise.seconds_to_capacity is None:
        return "capacity never caught up"
    if rise.dominant is None:
        return f"caught up in {rise.seconds_to_capacity:g} s"
    return f"caught up in {rise.seconds_to_capacity:g} s ({rise.dominant})"


def over_target(timeline: Timeline, row: SyncRecord) -> bool:
    """Whether any metric's demand at this sync exceeds the ready pods' capacity at the target."""
    return any(d > row.ready_replicas * g.target_per_pod for g, d in zip(timeline.gauges, row.demand, strict=True))


def reads_over_target(gauge: Gauge, reading: float | None) -> bool:
    """Whether a sync's reading of a metric is over its target (ratio above 1)."""
    if reading is None:
        return False
    if gauge.request_milli is not None:
        return reading > gauge.spec.target
    return reading * gauge.milli_per_unit > gauge.spec.target


def rise_steps(
    timeline: Timeline, start: int, met: int, before: Sequence[int] | None = None
) -> tuple[float, ...]:
    """The seconds of each step of :data:`STEPS` from row ``start`` (over) to row ``met`` (met again).

    ``before[i]`` is the count in effect before row ``i`` (computed from the timeline if not given).
    """
    rows, t0, t1 = timeline.rows, timeline.rows[start].time_s, timeline.rows[met].time_s
    if before is None:
        before = [timeline.initial_replicas] + [r.replicas for r in rows]
    at_max = timeline.max_replicas is not None and before[met] >= timeline.max_replicas
    span = range(start, met + 1)
    ready = [p for p in timeline.pods if t0 < p.ready <= t1 and p.deleted > t1]
    pod = max(ready, key=lambda p: (p.ready, p.index)) if ready else None
    fallback = t1 if pod is None else pod.created
    seen = next(
        (rows[i].time_s for i in span if any(map(reads_over_target, timeline.gauges, rows[i].readings))), fallback
    )
    if pod is None:
        # No pod turned Ready during the rise: the demand fell back under the capacity.
        bounds = [t0, seen, t1, t1, t1, t1, t1, t1]
    else:
        detect = next((rows[i].time_s for i in span if rows[i].desired_replicas > before[i]), pod.created)
        node = pod.started - pod.created - (timeline.startup.scheduling_s if timeline.startup else 0.0)
        counted = next((r.time_s for r in rows[start : met + 1] if r.time_s >= pod.ready), t1)
        bounds = [t0, seen, detect, pod.created, pod.created + (node if pod.waited_for_node else 0.0), pod.ready]
        bounds += [counted, t1]
    for i in range(1, len(bounds)):
        bounds[i] = min(max(bounds[i], bounds[i - 1]), t1)
    steps = [b - a for a, b in pairwise(bounds)]
    # The tail after the pod was counted: at maxReplicas, or held by the tolerance band.
    if pod is None:
        steps[1], steps[-1] = (0.0, steps[1]) if at_max else (steps[1], 0.0)
    elif not at_max:
        steps[1], steps[-1] = steps[1] + steps[-1], 0.0
    return tuple(steps)


def summarize(timeline: Timeline) -> Summary:
    rows = timeline.rows
    over = [over_target(timeline, row) for row in rows]
    spans = [b.time_s - a.time_s for a, b in pairwise(rows)] + [0.0]
    before = [timeline.initial_replicas] + [r.replicas for r in rows]
    rises = []
    for i, is_over in enumerate(over):
        if is_over and (i == 0 or not over[i - 1]):
            met = next((j for j in range(i + 1, len(rows)) if not over[j]), None)
            if met is None:
                rises.append(Rise(rows[i].time_s, None))
            else:
                steps = rise_steps(timeline, i, met, before)
                rises.append(Rise(rows[i].time_s, rows[met].time_s - rows[i].time_s, steps))
    return Summary(
        rises=tuple(rises),
        seconds_over_target=sum(s for s, o in zip(spans, over, strict=True) if o),
        peak_replicas=max([timeline.initial_replicas, *(r.replicas for r in rows)]),
        pod_hours=sum(r.replicas * s for r, s in zip(rows, spans, strict=True)) / 3600,
    )
