"""``--ideal-metrics`` (``pipeline=None``) reproduces the simulator as it was before the per-pod model.

The oracle is that simulator, frozen in tests/simulate_oracle.py; the per-pod engine must give the
same rows (counts, proposals, readings) on generated HPAs and traces and on every built-in scenario
of both stacks.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulate import Trace, parse_hpa, scenario_trace, simulate
from simulate.metrics import bind_gauges
from simulate.stack import load_workload
from tests.simulate_oracle import simulate_oracle
from tests.test_simulate import make_hpa, rules

MEMORY = {
    "type": "Resource",
    "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}},
}
CPU70 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
RPS = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "100"}}}
REQUESTS = {"cpu": "500m", "memory": "512Mi"}


def rows(timeline: Any) -> list[tuple[Any, ...]]:
    return [(r.time_s, r.replicas, r.ready_replicas, r.desired_replicas, r.readings, r.demand) for r in timeline.rows]


@settings(max_examples=150, deadline=None)
@given(
    bounds=st.tuples(st.integers(1, 4), st.integers(0, 12)),
    behavior=st.one_of(st.none(), st.fixed_dictionaries({"scaleUp": rules, "scaleDown": rules})),
    metrics=st.sampled_from([[CPU70], [CPU70, MEMORY], [CPU70, RPS], [MEMORY, RPS]]),
    loads=st.lists(st.tuples(st.floats(0, 30), st.floats(0, 30), st.floats(0, 3000)), min_size=1, max_size=30),
    startup=st.sampled_from([0, 10, 15, 40, 95]),
    initial=st.integers(0, 100),
)
def test_ideal_metrics_reproduce_the_old_simulator(
    bounds: tuple[int, int],
    behavior: dict[str, Any] | None,
    metrics: list[Any],
    loads: list[tuple[float, float, float]],
    startup: int,
    initial: int,
) -> None:
    low, high = bounds[0], bounds[0] + bounds[1]
    hpa = make_hpa(low, high, metrics=metrics) if behavior is None else make_hpa(low, high, metrics, behavior)
    times = [20 * i for i in range(len(loads))]
    trace = Trace.from_points(
        times,
        {
            "cpu": [c * 350 for c, _, _ in loads],
            "memory": [m * 410 for _, m, _ in loads],
            "rps": [r for *_, r in loads],
        },
    )
    start = low + initial % (high - low + 1)
    end = times[-1] + 120
    new = simulate(hpa, REQUESTS, trace, pod_startup_s=startup, initial_replicas=start, duration_s=end)
    old = simulate_oracle(hpa, REQUESTS, trace, pod_startup_s=startup, initial_replicas=start, duration_s=end)
    assert rows(new) == rows(old)
    # Ideal metrics are read at the sync itself: each sync's samples span only its own instant.
    assert [r.samples_span for r in new.rows] == [(r.time_s, r.time_s) for r in new.rows]


@pytest.mark.parametrize(
    ("stack", "workload", "scenarios"),
    [("production", "backend", ("spike", "ramp", "daily", "flash")), ("staging", "frontend", ("spike", "flash"))],
)
def test_ideal_metrics_reproduce_the_scenarios(stack: str, workload: str, scenarios: tuple[str, ...]) -> None:
    loaded = load_workload(stack, workload)
    spec = parse_hpa(loaded.hpa)
    for name in scenarios:
        trace = scenario_trace(name, bind_gauges(spec, loaded.requests), spec.min_replicas, spec.max_replicas)
        new = simulate(loaded.hpa, loaded.requests, trace, pod_startup_s=loaded.pod_startup_s)
        old = simulate_oracle(loaded.hpa, loaded.requests, trace, pod_startup_s=loaded.pod_startup_s)
        assert rows(new) == rows(old), name
