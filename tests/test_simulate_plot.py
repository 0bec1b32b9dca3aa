"""The simulator's picture: maxReplicas, a tick per pod, the catch-up zoomed, and a caption of its lines."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from simulate.cli import _parser, run
from simulate.plot import CAPTION, timeline_figure
from simulate.simulator import Timeline
from simulate.summary import summarize


def timeline(*argv: str) -> Timeline:
    return run(_parser().parse_args(list(argv)), io.StringIO())


@pytest.fixture(scope="module")
def spike() -> Timeline:
    return timeline("--stack", "production", "--workload", "backend", "--scenario", "spike")


@pytest.fixture(scope="module")
def figure(spike: Timeline) -> Iterator[Any]:
    from matplotlib import pyplot

    figure = timeline_figure(spike, "production/backend: scenario spike")
    yield figure
    pyplot.close(figure)


def visible_ticks(axis: Any, which: str = "y") -> list[float]:
    low, high = axis.get_ylim() if which == "y" else axis.get_xlim()
    ticks = axis.get_yticks() if which == "y" else axis.get_xticks()
    return [float(t) for t in ticks if low - 1e-9 <= t <= high + 1e-9]


def grid(figure: Any) -> list[list[Any]]:
    """The panels by row and column (secondary axes left out)."""
    axes = [a for a in figure.axes if a.get_subplotspec() is not None]
    rows = sorted({a.get_subplotspec().rowspan.start for a in axes})
    return [sorted((a for a in axes if a.get_subplotspec().rowspan.start == r),
                   key=lambda a: a.get_subplotspec().colspan.start) for r in rows]


def test_two_columns_a_row_per_metric_and_one_for_the_pods(figure: Any) -> None:
    panels = grid(figure)
    assert [len(row) for row in panels] == [2, 2, 2]
    assert [row[0].get_ylabel() for row in panels] == ["cpu millicores", "memory MiB", "pods"]


def test_the_pods_panels_draw_max_replicas_and_a_tick_per_pod(figure: Any) -> None:
    for pods in grid(figure)[-1]:
        [line] = [line for line in pods.get_lines() if line.get_label() == "maxReplicas 10"]
        assert set(line.get_ydata()) == {10}
        assert visible_ticks(pods) == list(range(12))
        assert pods.get_ylim() == (0, 11)


def test_the_zoom_is_the_catch_up_the_summary_quotes(spike: Timeline, figure: Any) -> None:
    rise = summarize(spike).slowest
    assert rise is not None and (rise.start_s, rise.seconds_to_capacity) == (300, 105)
    zoom = [row[1] for row in grid(figure)]
    assert zoom[0].get_title() == "the rise at 300 s: caught up in 105 s"
    assert zoom[-1].get_xlim() == ((300 - 60) / 60, (405 + 90) / 60)
    shaded = [p for p in zoom[0].patches if p.get_facecolor()[:3] == (0.85, 0.85, 0.85)]
    assert len(shaded) == 1 and shaded[0].get_x() == 5 and shaded[0].get_width() == pytest.approx(105 / 60)
    # whole minutes, and a minor tick at every sync
    assert visible_ticks(zoom[-1], "x") == [4, 5, 6, 7, 8]
    minor = [t for t in zoom[-1].xaxis.get_minor_locator()() if 4 <= t <= 5]
    assert minor == pytest.approx([4, 4.25, 4.5, 4.75, 5])


def test_the_zoomed_metrics_are_also_read_in_pods_at_the_target(figure: Any) -> None:
    rows = grid(figure)
    secondary = [child for row in rows for a in row for child in a.child_axes]
    assert [a.get_ylabel() for a in secondary] == ["pods at target", "pods at target"]
    assert [bool(row[0].child_axes) for row in rows] == [False, False, False]
    # one pod at the 70 % target of 500m is 350m: the right axis ticks whole pods, 1 to 10
    assert visible_ticks(secondary[0]) == [float(n) for n in range(1, 11)]
    assert rows[0][1].get_ylim()[1] / 350 == pytest.approx(secondary[0].get_ylim()[1])


def test_the_caption_says_what_the_dips_in_the_reading_mean(figure: Any) -> None:
    [caption] = [t for t in figure.texts if t.get_text().startswith("Read by the HPA")]
    assert caption.get_text() == CAPTION
    assert "It dips after each batch of new pods turns Ready" in CAPTION


def test_the_caption_is_drawn_inside_the_figure_below_every_panel(figure: Any) -> None:
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    [caption] = [t for t in figure.texts if t.get_text() == CAPTION]
    box, page = caption.get_window_extent(renderer), figure.bbox
    assert page.x0 <= box.x0 < box.x1 <= page.x1 and page.y0 <= box.y0 < box.y1 <= page.y1
    lowest_panel = min(a.get_tightbbox(renderer).y0 for row in grid(figure) for a in row)
    assert box.y1 < lowest_panel


def test_the_dips_are_new_pods_read_as_carrying_none(spike: Timeline) -> None:
    """What the caption says, on the rows: at 360 s CPU counts 2 of 4 ready pods, memory at 345 s
    counts 4 whose new pods' samples were taken before they carried load."""
    by_time = {r.time_s: r for r in spike.rows}
    cpu_dip, memory_dip = by_time[360], by_time[345]
    assert (cpu_dip.ready_replicas, cpu_dip.counted[0]) == (4, 2)
    assert cpu_dip.readings[0] * cpu_dip.counted[0] < cpu_dip.readings[0] * cpu_dip.ready_replicas
    assert (memory_dip.ready_replicas, memory_dip.counted[1]) == (4, 4)
    assert memory_dip.readings[1] is not None and memory_dip.readings[1] < 100


def test_no_rise_no_zoom_column(tmp_path: Any) -> None:
    from matplotlib import pyplot

    flat = tmp_path / "flat.csv"
    flat.write_text("time_s,cpu,memory\n0,100,100\n600,100,100\n")
    quiet = timeline("--stack", "production", "--workload", "backend", "--trace", str(flat))
    assert summarize(quiet).slowest is None
    figure = timeline_figure(quiet)
    try:
        assert [len(row) for row in grid(figure)] == [1, 1, 1]
    finally:
        pyplot.close(figure)


def test_every_series_holds_its_value_until_the_next_row(figure: Any) -> None:
    """A row's value holds from its time to the next row's (a step drawn "post"): a replica count
    drawn "pre" would show each change one row early."""
    for row in grid(figure):
        for panel in row:
            steps = [line for line in panel.get_lines() if not line.get_label().startswith("maxReplicas")]
            assert steps, panel.get_ylabel()
            assert {(line.get_label(), line.get_drawstyle()) for line in steps} == {
                (line.get_label(), "steps-post") for line in steps}
