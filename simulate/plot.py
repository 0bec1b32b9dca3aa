"""A PNG of a timeline: per metric, demand against the ready pods' capacity and what the controller
read; then the replica counts.

"Read by the HPA" is the sync's reading turned back into a total: the utilization (or value per
pod) it computed from the samples, times the pods it counted. Its lag behind the demand is the metrics
pipeline; a gap is a sync where no pod had a usable sample.

matplotlib is imported inside :func:`plot_timeline` (with the Agg backend) so that a run without
``--plot`` never pays for it.
"""

from __future__ import annotations

from pathlib import Path

from .metrics import Gauge
from .simulator import Timeline


def _as_total(gauge: Gauge, reading: float | None, pods: int) -> float:
    """A sync's reading as a total in trace units over the pods it counted (NaN: no reading)."""
    if reading is None:
        return float("nan")
    per_pod = gauge.target_per_pod * reading / gauge.spec.target if gauge.request_milli is not None else reading
    return per_pod * pods


def plot_timeline(timeline: Timeline, path: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = timeline.rows
    minutes = [r.time_s / 60 for r in rows]
    figure, axes = pyplot.subplots(
        len(timeline.gauges) + 1, 1, sharex=True, figsize=(10, 2.6 * (len(timeline.gauges) + 1)), squeeze=False
    )
    for i, gauge in enumerate(timeline.gauges):
        axis = axes[i][0]
        axis.step(minutes, [r.demand[i] for r in rows], where="post", label="demand")
        capacity = [r.ready_replicas * gauge.target_per_pod for r in rows]
        axis.step(minutes, capacity, where="post", label="capacity at target")
        read = [_as_total(gauge, r.readings[i], r.counted[i] if r.counted else r.ready_replicas) for r in rows]
        axis.step(minutes, read, where="post", label="read by the HPA", linestyle="--")
        axis.set_ylabel(f"{gauge.column} {gauge.unit}".strip())
        axis.legend(loc="upper right")
    axis = axes[-1][0]
    axis.step(minutes, [r.replicas for r in rows], where="post", label="replicas")
    axis.step(minutes, [r.ready_replicas for r in rows], where="post", label="ready")
    axis.step(minutes, [r.desired_replicas for r in rows], where="post", label="desired (raw)", linestyle=":")
    axis.set_ylabel("pods")
    axis.set_xlabel("minutes")
    axis.legend(loc="upper right")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    # No "Software" entry (it names the matplotlib version): the same timeline gives the same bytes.
    figure.savefig(path, format="png", metadata={"Software": None})
    pyplot.close(figure)
