"""The simulator's arithmetic at an instant and at its bounds: a scale event exactly one period old
is outdated (the controller's `markScaleEventsOutdated` keeps only `Timestamp.Add(period).After(now)`),
the default scrape phase is half a period (7.5 s of 15, not 7), and the startup usage's bound is
inclusive."""

from __future__ import annotations

import pytest

from simulate.controller import ScaleEvent, replicas_change_in_period, store_scale_event
from simulate.hpa import SimulationError, parse_hpa
from simulate.pipeline import Pipeline


def test_an_event_exactly_one_period_old_is_overwritten_and_a_younger_one_kept() -> None:
    old, young = ScaleEvent(100.0, 2), ScaleEvent(100.5, 1)
    assert store_scale_event([old, young], 400.0, 3, 300) == [ScaleEvent(400.0, 3), young]
    assert store_scale_event([young], 400.0, 3, 300) == [young, ScaleEvent(400.0, 3)]
    # the last outdated one takes the new event; earlier outdated ones stay
    assert store_scale_event([ScaleEvent(50.0, 1), old], 400.0, 3, 300) == [ScaleEvent(50.0, 1), ScaleEvent(400.0, 3)]


def test_an_event_exactly_one_period_old_no_longer_counts() -> None:
    events = [ScaleEvent(100.0, 2), ScaleEvent(100.5, 1)]
    assert replicas_change_in_period(events, 400.0, 300) == 1
    assert replicas_change_in_period(events, 399.9, 300) == 3


@pytest.mark.parametrize(("resolution", "offset", "first", "before"), [
    (15, 7.5, 7.5, -7.5), (10, 5.0, 5.0, -5.0), (25, 12.5, 12.5, -12.5)])
def test_the_default_scrape_is_half_way_into_each_period(resolution: float, offset: float, first: float,
                                                         before: float) -> None:
    pipeline = Pipeline(resolution_s=resolution)
    assert (pipeline.offset_s, pipeline.scrape_time(0), pipeline.scrape_time(-1)) == (offset, first, before)
    assert Pipeline(resolution_s=resolution, scrape_offset_s=0.0).scrape_time(1) == resolution


def test_startup_usage_up_to_ten_times_a_pods_share() -> None:
    assert Pipeline(startup_usage=10).startup_usage == 10
    assert Pipeline(startup_usage=0).startup_usage == 0
    for bad, shown in ((10.001, "1000.1"), (-0.01, "-1")):
        with pytest.raises(SimulationError) as caught:
            Pipeline(startup_usage=bad)
        assert str(caught.value) == f"--startup-usage must be from 0 to 1000 (%), not {shown}"


@pytest.mark.parametrize("value", ["-0.01", "-1", "five percent"])
def test_a_tolerance_below_zero_or_not_a_quantity_is_refused_at_its_key(value: str) -> None:
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "spec": {"maxReplicas": 3, "behavior": {"scaleDown": {"tolerance": value}}}}
    with pytest.raises(SimulationError) as caught:
        parse_hpa(hpa)
    assert str(caught.value) == (
        f"spec.behavior.scaleDown.tolerance must be a non-negative number such as 0.05, not {value!r}")


def test_a_tolerance_of_zero_and_a_quantity_are_read() -> None:
    base = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "spec": {"maxReplicas": 3}}
    for value, expected in (("0", 0.0), ("50m", 0.05), (0.1, 0.1)):
        spec = parse_hpa({**base, "spec": {"maxReplicas": 3, "behavior": {"scaleUp": {"tolerance": value}}}})
        assert spec.behavior is not None and spec.behavior.scale_up.tolerance == expected
        assert spec.behavior.scale_down.tolerance is None


def test_a_missing_trace_column_is_named_with_the_columns_there_are() -> None:
    from simulate.trace import require_columns

    with pytest.raises(SimulationError) as caught:
        require_columns(["time_s", "memory", "cpu"], ["cpu", "rps"], "load.csv")
    assert str(caught.value) == "load.csv has no rps column (the HPA's metrics need it; columns: cpu, memory)"
    with pytest.raises(SimulationError) as caught:
        require_columns(["time_s"], ["cpu"], "load.csv")
    assert str(caught.value) == "load.csv has no cpu column (the HPA's metrics need it; columns: none)"
