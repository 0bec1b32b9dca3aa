"""A PNG of a timeline: per metric, demand against the ready pods' capacity and what the controller
read; then the replica counts against maxReplicas. A second column zooms on the slowest catch-up
(the rise the summary reports), with the metrics in pods' worth at the target on its right edge, and
a caption under the figure says what the lines mean.

"Read by the HPA" is the sync's reading turned back into a total: the utilization (or value per
pod) it computed from the samples, times the pods it counted. Its lag behind the demand is the metrics
pipeline; a gap is a sync where no pod had a usable sample; a dip follows new pods (:data:`CAPTION`).

matplotlib is imported inside :func:`plot_timeline` (with the Agg backend) so that a run without
``--plot`` never pays for it. The PNG's bytes depend only on the timeline (no date, no version).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .metrics import Gauge
from .simulator import Timeline
from .summary import Rise, summarize

CAPTION = (
    "Read by the HPA: the utilization (or value per pod) a sync computed from the pods' samples, times the pods "
    "it counted. It trails the demand by the metrics pipeline (kubelet and metrics-server intervals). It dips "
    "after each batch of new pods turns Ready: they take their share of the load at once, but a sync still reads "
    "them as carrying none. For CPU, a new pod is left out until it has a sample taken after it turned Ready "
    "(the CPU initialization period), so the counted pods' reading covers only their own share; for memory "
    "(and a Pods metric), a new pod counts with its first sample, taken before it carried any load. A gap is a "
    "sync with no usable sample. Shaded: from the demand rising over the capacity until the capacity caught up."
)
ZOOM_BEFORE_S = 60
ZOOM_AFTER_S = 90
CAPTION_INCHES = 0.9
"""The strip under the panels that holds the caption."""
WHOLE_POD_TICKS = 30
"""Up to this many pods, the pod axes have a tick per pod."""


def _as_total(gauge: Gauge, reading: float | None, pods: int) -> float:
    """A sync's reading as a total in trace units over the pods it counted (NaN: no reading)."""
    if reading is None:
        return float("nan")
    per_pod = gauge.target_per_pod * reading / gauge.spec.target if gauge.request_milli is not None else reading
    return per_pod * pods


def _slowest_rise(timeline: Timeline) -> Rise | None:
    """The rise whose catch-up the summary quotes (the slowest; one never caught up counts as slowest)."""
    return summarize(timeline).slowest


def _pod_ticks(axis: Any, most: float) -> None:
    from matplotlib.ticker import MaxNLocator, MultipleLocator

    axis.yaxis.set_major_locator(MultipleLocator(1) if most <= WHOLE_POD_TICKS else MaxNLocator(integer=True))


def _draw(timeline: Timeline, axes: list[Any], minutes: list[float]) -> None:
    """One column: a panel per metric, then the pods."""
    rows = timeline.rows
    for i, gauge in enumerate(timeline.gauges):
        axis = axes[i]
        axis.step(minutes, [r.demand[i] for r in rows], where="post", label="demand")
        capacity = [r.ready_replicas * gauge.target_per_pod for r in rows]
        axis.step(minutes, capacity, where="post", label="capacity at target")
        read = [_as_total(gauge, r.readings[i], r.counted[i] if r.counted else r.ready_replicas) for r in rows]
        axis.step(minutes, read, where="post", label="read by the HPA", linestyle="--")
        axis.set_ylabel(f"{gauge.column} {gauge.unit}".strip())
    axis = axes[-1]
    axis.step(minutes, [r.replicas for r in rows], where="post", label="replicas")
    axis.step(minutes, [r.ready_replicas for r in rows], where="post", label="ready")
    axis.step(minutes, [r.desired_replicas for r in rows], where="post", label="desired (raw)", linestyle=":")
    most = max([timeline.initial_replicas, *(max(r.replicas, r.desired_replicas) for r in rows)])
    if timeline.max_replicas is not None:
        axis.axhline(timeline.max_replicas, color="0.4", linestyle="-.", linewidth=1,
                     label=f"maxReplicas {timeline.max_replicas}")
        most = max(most, timeline.max_replicas)
    axis.set_ylim(0, most + 1)
    _pod_ticks(axis, most)
    axis.set_ylabel("pods")
    axis.set_xlabel("minutes")


def plot_timeline(timeline: Timeline, path: Path, title: str = "") -> None:
    from matplotlib import pyplot

    figure = timeline_figure(timeline, title)
    # No "Software" entry (it names the matplotlib version): the same timeline gives the same bytes.
    figure.savefig(path, format="png", metadata={"Software": None})
    pyplot.close(figure)


def timeline_figure(timeline: Timeline, title: str = "") -> Any:
    """The matplotlib figure :func:`plot_timeline` saves (close it with ``pyplot.close``)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import MultipleLocator

    rows = timeline.rows
    minutes = [r.time_s / 60 for r in rows]
    panels = len(timeline.gauges) + 1
    rise = _slowest_rise(timeline)
    columns = 1 if rise is None else 2
    height = 2.7 * panels + CAPTION_INCHES
    figure, grid = pyplot.subplots(
        panels, columns, sharex="col", sharey="row", squeeze=False, figsize=(13 if rise else 10, height),
        gridspec_kw={"width_ratios": [2.2, 1] if rise else [1]},
    )
    full = [grid[i][0] for i in range(panels)]
    _draw(timeline, full, minutes)
    for axis in full:
        axis.legend(loc="upper right", fontsize="small")
    if rise is not None:
        zoom = [grid[i][1] for i in range(panels)]
        _draw(timeline, zoom, minutes)
        end_s = rise.start_s + (rise.seconds_to_capacity if rise.seconds_to_capacity is not None else 0)
        first, last = (rise.start_s - ZOOM_BEFORE_S) / 60, (end_s + ZOOM_AFTER_S) / 60
        zoom[0].set_xlim(max(first, minutes[0]), min(last, minutes[-1]))
        zoom[-1].xaxis.set_major_locator(MultipleLocator(1))
        zoom[-1].xaxis.set_minor_locator(MultipleLocator(timeline_sync_minutes(timeline)))
        caught = ("never caught up" if rise.seconds_to_capacity is None
                  else f"caught up in {rise.seconds_to_capacity:g} s")
        zoom[0].set_title(f"the rise at {rise.start_s:g} s: {caught}", fontsize="medium")
        for axis in full + zoom:
            axis.axvspan(rise.start_s / 60, end_s / 60, color="0.85", zorder=0)
        for i, gauge in enumerate(timeline.gauges):
            per_pod = gauge.target_per_pod
            pods_axis = zoom[i].secondary_yaxis(
                "right", functions=(lambda y, p=per_pod: y / p, lambda n, p=per_pod: n * p))
            pods_axis.set_ylabel("pods at target")
            _pod_ticks(pods_axis, max(r.demand[i] for r in rows) / per_pod)
        for axis in zoom:
            axis.set_ylabel("")
            axis.tick_params(labelleft=False)
    if title:
        figure.suptitle(title)
    figure.text(0.01, 0.01, CAPTION, wrap=True, fontsize="small", verticalalignment="bottom")
    figure.tight_layout(rect=(0, CAPTION_INCHES / height, 1, 1))
    return figure


def timeline_sync_minutes(timeline: Timeline) -> float:
    """The sync period in minutes (the gap between the first two syncs; one minute for a single sync)."""
    rows = timeline.rows
    return (rows[1].time_s - rows[0].time_s) / 60 if len(rows) > 1 else 1.0
