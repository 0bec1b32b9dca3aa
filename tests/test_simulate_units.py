"""Units and bounds of the simulator's inputs: trace totals to milli-units (MiB are 2**20 bytes, a Pods
metric's unit is a thousand milli-units, rounding to the nearest), the trace's rows, and the summary's first
rise and its boundary of exactly the capacity."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulate import SimulationError, Trace, parse_hpa, summarize
from simulate.metrics import bind_gauges
from simulate.summary import Rise
from simulate.trace import read_trace_csv
from tests.test_simulate import cpu_trace, make_hpa, run

MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}}
RPS = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}


def test_trace_totals_become_the_controllers_milli_units() -> None:
    cpu, memory, rps = bind_gauges(parse_hpa(make_hpa(metrics=[
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
        MEMORY, RPS])), {"cpu": "1000m"})
    assert [cpu.total_milli(349.6), memory.total_milli(1.0), rps.total_milli(2.5)] == [350, 2**20 * 1000, 2500]
    assert (memory.target_per_pod, rps.target_per_pod) == (1024.0, 10.0)


def test_a_trace_needs_increasing_times_and_a_row_at_or_before_each_sync() -> None:
    with pytest.raises(SimulationError) as error:
        Trace.from_points([0, 0], {"cpu": [1, 2]})
    assert str(error.value) == "the trace's time_s values must increase from row to row"
    trace = Trace.from_points([10, 20], {"cpu": [1, 2]})
    assert (trace.row_at(10), trace.row_at(19.9), trace.row_at(20)) == (0, 0, 1)
    with pytest.raises(SimulationError) as error:
        trace.row_at(5)
    assert str(error.value) == "the trace starts at time_s 10; it needs a row at or before 5"


def test_a_trace_file_may_start_before_zero_and_holds_at_most_its_bound_of_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("time_s,cpu\n-15,100\n0,200\n")
    assert read_trace_csv(path, ["cpu"]) == Trace((-15.0, 0.0), {"cpu": (100.0, 200.0)})
    monkeypatch.setattr("simulate.trace.MAX_TRACE_ROWS", 2)
    assert read_trace_csv(path, ["cpu"]).times == (-15.0, 0.0)
    path.write_text("time_s,cpu\n-15,100\n0,200\n15,300\n")
    with pytest.raises(SimulationError) as error:
        read_trace_csv(path, ["cpu"])
    assert str(error.value) == (
        f"trace {path} has more than 2 rows, the bound of a trace; resample it to fewer points")


def test_demand_of_exactly_the_capacity_is_not_over_target() -> None:
    # 2 pods at 50 % of 1000m carry 1000m: a demand of exactly 2 pods' worth is met.
    summary = summarize(run(make_hpa(), cpu_trace({0: 2}, 60)))
    assert (summary.rises, summary.seconds_over_target) == ((), 0.0)


def test_a_run_over_target_from_its_first_sync_is_a_rise_at_zero() -> None:
    summary = summarize(run(make_hpa(max_replicas=2), cpu_trace({0: 10}, 60)))
    assert summary.rises == (Rise(0.0, None),)
