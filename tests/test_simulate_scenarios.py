"""The built-in load traces of `make simulate SCENARIO=...` (simulate/scenarios.py): each shape at the
instants its description names, worked out by hand for minReplicas 2 and maxReplicas 10 (base 1 pod's
worth, peak 9.5, the flash crowd 15), and in trace units for a 70 % CPU target on 500m requests (one
pod's worth is 350 millicores)."""

from __future__ import annotations

import math

import pytest

from simulate.hpa import MetricSpec
from simulate.metrics import Gauge
from simulate.scenarios import SCENARIOS, scenario_trace

BASE, PEAK, MAX = 1.0, 9.5, 10


def load(name: str, t: float) -> float:
    return SCENARIOS[name].load(t, BASE, PEAK, MAX)


@pytest.mark.parametrize(("t", "expected"), [(0, 1.0), (299, 1.0), (300, 9.5), (1499, 9.5), (1500, 1.0), (3600, 1.0)])
def test_spike_steps_up_at_5_min_and_back_at_25(t: float, expected: float) -> None:
    assert load("spike", t) == expected


@pytest.mark.parametrize(("t", "expected"), [
    (299, 1.0), (300, 1.0), (1500, 1.0 + 8.5 / 2), (2700, 9.5), (3299, 9.5), (3300, 9.5), (3900, 1.0 + 8.5 / 2),
    (4499, 1.0 + 8.5 / 1200), (4500, 1.0), (5400, 1.0)])
def test_ramp_rises_over_40_min_holds_10_and_falls_over_20(t: float, expected: float) -> None:
    assert load("ramp", t) == pytest.approx(expected)


@pytest.mark.parametrize(("t", "expected"), [(0, 1.0), (21600, 1.0 + 8.5 / 2), (43200, 9.5), (64800, 1.0 + 8.5 / 2)])
def test_daily_is_a_cosine_from_base_at_midnight_to_peak_at_noon(t: float, expected: float) -> None:
    assert load("daily", t) == pytest.approx(expected)


@pytest.mark.parametrize(("t", "expected"), [
    (299, 1.0), (300, 15.0), (419, 15.0),
    # the decay starts at the crowd and loses 1 - 1/e of the way to base every 300 s
    (420, 15.0), (720, 1.0 + 14.0 / math.e), (1020, 1.0 + 14.0 / math.e ** 2), (2400, 1.0 + 14.0 * math.exp(-6.6))])
def test_flash_is_1_5_times_max_for_2_min_then_decays_to_base_in_5_min_steps(t: float, expected: float) -> None:
    assert load("flash", t) == pytest.approx(expected)


def test_each_scenario_has_the_length_and_step_its_description_gives() -> None:
    assert {name: (s.duration_s, s.step_s) for name, s in SCENARIOS.items()} == {
        "spike": (3600, 15), "ramp": (5400, 15), "daily": (86400, 60), "flash": (2400, 15)}


def test_a_trace_is_the_load_times_what_one_pod_carries_at_the_target() -> None:
    cpu = Gauge(spec=MetricSpec("Resource", "cpu", "Utilization", 70), milli_per_unit=1, request_milli=500)
    trace = scenario_trace("spike", [cpu], min_replicas=3, max_replicas=10)
    assert trace.times[:3] == (0, 15, 30) and trace.times[-1] == 3600 and len(trace.times) == 241
    column = trace.columns["cpu"]
    assert column[0] == pytest.approx(1.5 * 350)  # base: half of minReplicas' worth, 1.5 pods at 350m each
    assert column[20] == pytest.approx(9.5 * 350)  # t = 300 s: maxReplicas - 0.5 pods' worth
    assert column[100] == pytest.approx(1.5 * 350)  # t = 1500 s: back to base
