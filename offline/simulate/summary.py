"""What a reviewer wants from a timeline: how fast capacity caught up, how long it was short, what it cost.

Capacity is measured at each sync: the ready pods times what one pod may carry at the target
(:attr:`~offline.simulate.metrics.Gauge.target_per_pod`, e.g. 350 millicores for 70 % of 500m).
A sync is *over target* when any metric's demand exceeds that capacity; it counts for the time
until the next sync. A *rise* starts at a sync that is over target after one that was not (or
at the first sync); it lasts until the first sync whose capacity meets the demand again.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from .simulator import SyncRecord, Timeline

SHOWN_RISES = 10


@dataclass(frozen=True)
class Rise:
    """Demand went over capacity at ``start_s``; capacity met it ``seconds_to_capacity`` later (None: never)."""

    start_s: float
    seconds_to_capacity: float | None


@dataclass(frozen=True)
class Summary:
    rises: tuple[Rise, ...]
    seconds_over_target: float
    peak_replicas: int
    pod_hours: float

    def lines(self) -> list[str]:
        """The summary as the CLI prints it."""
        lines = [
            f"peak replicas:       {self.peak_replicas}",
            f"pod-hours:           {self.pod_hours:.2f}",
            f"time over target:    {self.seconds_over_target:g} s",
            f"rises over capacity: {len(self.rises)}",
        ]
        lines += [f"  at {r.start_s:g} s: {_catch_up(r)}" for r in self.rises[:SHOWN_RISES]]
        if len(self.rises) > SHOWN_RISES:
            lines.append(f"  ... and {len(self.rises) - SHOWN_RISES} more")
        return lines


def _catch_up(rise: Rise) -> str:
    if rise.seconds_to_capacity is None:
        return "capacity never caught up"
    return f"caught up in {rise.seconds_to_capacity:g} s"


def over_target(timeline: Timeline, row: SyncRecord) -> bool:
    """Whether any metric's demand at this sync exceeds the ready pods' capacity at the target."""
    return any(d > row.ready_replicas * g.target_per_pod for g, d in zip(timeline.gauges, row.demand, strict=True))


def summarize(timeline: Timeline) -> Summary:
    rows = timeline.rows
    over = [over_target(timeline, row) for row in rows]
    spans = [b.time_s - a.time_s for a, b in pairwise(rows)] + [0.0]
    rises = []
    for i, is_over in enumerate(over):
        if is_over and (i == 0 or not over[i - 1]):
            met = next((j for j in range(i + 1, len(rows)) if not over[j]), None)
            rises.append(Rise(rows[i].time_s, None if met is None else rows[met].time_s - rows[i].time_s))
    return Summary(
        rises=tuple(rises),
        seconds_over_target=sum(s for s, o in zip(spans, over, strict=True) if o),
        peak_replicas=max([timeline.initial_replicas, *(r.replicas for r in rows)]),
        pod_hours=sum(r.replicas * s for r, s in zip(rows, spans, strict=True)) / 3600,
    )
