"""A PNG of a timeline: per metric, demand against the ready pods' capacity; then the replica counts.

matplotlib is imported inside :func:`plot_timeline` (with the Agg backend) so that a run without
``--plot`` never pays for it.
"""

from __future__ import annotations

from pathlib import Path

from .simulator import Timeline


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
