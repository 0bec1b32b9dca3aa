"""The scaling simulator against hand-computed cases of each controller rule, and its invariants.

Most cases use one CPU metric at 50 % of a 1000m request, so one pod carries 500 millicores at
the target and a demand of ``500 * n`` millicores is ``n`` pods' worth.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulate import SimulationError, Trace, parse_hpa, scenario_trace, simulate, summarize
from simulate.controller import (
    PodGroups,
    ScaleEvent,
    Tolerances,
    replicas_for_metric,
    scale_down_limit,
    scale_up_limit,
    store_scale_event,
    utilization_ratio,
)
from simulate.metrics import bind_gauges
from simulate.quantity import milli_value, parse_quantity
from simulate.simulator import Timeline
from simulate.stack import pod_requests, probe_startup_s

CPU50 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
REQUESTS = {"cpu": "1000m"}
GUIDE_UP = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 30},
        {"type": "Pods", "value": 2, "periodSeconds": 30},
    ],
}
GUIDE_DOWN = {
    "stabilizationWindowSeconds": 300,
    "selectPolicy": "Min",
    "policies": [
        {"type": "Percent", "value": 50, "periodSeconds": 60},
        {"type": "Pods", "value": 1, "periodSeconds": 60},
    ],
}
NO_BEHAVIOR = object()


def make_hpa(
    min_replicas: int = 2, max_replicas: int = 10, metrics: list[Any] | None = None, behavior: Any = NO_BEHAVIOR
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
        "minReplicas": min_replicas,
        "maxReplicas": max_replicas,
        "metrics": [CPU50] if metrics is None else metrics,
    }
    if behavior is not NO_BEHAVIOR:
        spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "app"},
        "spec": spec,
    }


def cpu_trace(points: dict[float, float], end_s: float) -> Trace:
    """CPU demand in pods' worth (500 millicores each) from each time on, until ``end_s``."""
    times = sorted(points)
    return Trace.from_points([*times, end_s], {"cpu": [points[t] * 500 for t in times] + [points[times[-1]] * 500]})


def run(hpa: dict[str, Any], trace: Trace, startup: float = 0, **kwargs: Any) -> Timeline:
    return simulate(hpa, kwargs.pop("requests", REQUESTS), trace, pod_startup_s=startup, **kwargs)


def replicas(timeline: Timeline) -> list[int]:
    return [r.replicas for r in timeline.rows]


def at(timeline: Timeline, column: str) -> dict[float, Any]:
    return {r.time_s: getattr(r, column) for r in timeline.rows}


# --- Scale-up policies -----------------------------------------------------------------------


def test_guide_scale_up_doubles_every_30_seconds_to_max() -> None:
    # Percent 100/30 s or Pods 2/30 s, Max: 2 -> max(4, 4); the event at t=0 holds the period
    # start at 2 until t=30 (strictly older than 30 s), then 4 -> max(8, 6); then 8 -> 10 (max).
    timeline = run(make_hpa(behavior={"scaleUp": GUIDE_UP, "scaleDown": GUIDE_DOWN}), cpu_trace({0: 40}, 90))
    assert replicas(timeline) == [4, 4, 8, 8, 10, 10, 10]
    assert [r.time_s for r in timeline.rows] == [0, 15, 30, 45, 60, 75, 90]
    assert {r.desired_replicas for r in timeline.rows} == {40}


def test_default_behavior_is_the_api_defaults() -> None:
    # behavior: {} -> scaleUp Pods 4/15 s or Percent 100/15 s (Max): 1 -> 5 -> 10 -> 20 -> 30 (max).
    timeline = run(make_hpa(1, 30, behavior={}), cpu_trace({0: 100}, 60), initial_replicas=1)
    assert replicas(timeline) == [5, 10, 20, 30, 30]


def test_unset_fields_of_a_direction_take_their_defaults() -> None:
    spec = parse_hpa(make_hpa(behavior={"scaleUp": {"selectPolicy": "Min"}}))
    assert spec.behavior is not None
    up, down = spec.behavior.scale_up, spec.behavior.scale_down
    assert (up.select_policy, up.stabilization_window_s) == ("Min", 0)
    assert [(p.type, p.value, p.period_s) for p in up.policies] == [("Pods", 4, 15), ("Percent", 100, 15)]
    assert (down.select_policy, down.stabilization_window_s) == ("Max", 300)
    assert [(p.type, p.value, p.period_s) for p in down.policies] == [("Percent", 100, 15)]
    # Min of (2 + 4, ceil(2 * 2)) = 4, then min(8, 8) = 8.
    assert replicas(run(make_hpa(2, 20, behavior={"scaleUp": {"selectPolicy": "Min"}}), cpu_trace({0: 40}, 15))) == [
        4,
        8,
    ]


def test_percent_limits_keep_the_controllers_float64_arithmetic() -> None:
    # ceil(25 * (1 + 12/100)) is ceil(28.000000000000004) = 29 in float64, in Go as here.
    up = {"policies": [{"type": "Percent", "value": 12, "periodSeconds": 60}]}
    down = {"policies": [{"type": "Percent", "value": 80, "periodSeconds": 60}]}
    behavior = parse_hpa(make_hpa(behavior={"scaleUp": up, "scaleDown": down})).behavior
    assert behavior is not None
    assert [scale_up_limit(n, [], [], behavior.scale_up, now=0) for n in (25, 10, 3)] == [29, 12, 4]
    # int32(5 * (1 - 80/100)) is int32(0.9999999999999998) = 0, and 10 pods give 1, not 2.
    assert [scale_down_limit(n, [], [], behavior.scale_down, now=0) for n in (5, 10, 20)] == [0, 1, 3]


def test_period_start_is_net_of_both_directions() -> None:
    rules = parse_hpa(make_hpa(behavior={"scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}}))
    assert rules.behavior is not None
    up, down = [ScaleEvent(10, 3)], [ScaleEvent(40, 1)]
    # At t=50 both events are in the period: start = 6 - 3 + 1 = 4, limit 4 + 2.
    assert scale_up_limit(6, up, down, rules.behavior.scale_up, now=50) == 6
    # At t=70 the scale-up event (t=10) is exactly 60 s old and out: start = 6 + 1 = 7.
    assert scale_up_limit(6, up, down, rules.behavior.scale_up, now=70) == 9


def test_disabled_scale_up_never_adds_pods() -> None:
    behavior = {"scaleUp": {"selectPolicy": "Disabled"}}
    assert set(replicas(run(make_hpa(behavior=behavior), cpu_trace({0: 40}, 120)))) == {2}


# --- Scale-down policies ---------------------------------------------------------------------


def scale_down_behavior(select: str, window: int = 0) -> dict[str, Any]:
    return {
        "scaleUp": GUIDE_UP,
        "scaleDown": {**GUIDE_DOWN, "selectPolicy": select, "stabilizationWindowSeconds": window},
    }


def test_percent_scale_down_truncates() -> None:
    # int32(5 * 0.5) = 2 (not 3); the 3 removed at t=0 keep the period start at 5 until t=60.
    behavior = {
        "scaleDown": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
        }
    }
    timeline = run(make_hpa(1, 10, behavior=behavior), cpu_trace({0: 0}, 75), initial_replicas=5)
    assert replicas(timeline) == [2, 2, 2, 2, 1, 1]
    rules = parse_hpa(make_hpa(1, 10, behavior=behavior)).behavior
    assert rules is not None
    assert [scale_down_limit(n, [], [], rules.scale_down, now=0) for n in (5, 3, 1)] == [2, 1, 0]


def test_min_select_policy_removes_the_fewest_pods() -> None:
    # Guide scale-down from 10: Percent 50 allows 5, Pods 1 allows 9. Min takes 9, one pod a minute.
    timeline = run(make_hpa(behavior=scale_down_behavior("Min")), cpu_trace({0: 0}, 120), initial_replicas=10)
    assert replicas(timeline) == [9, 9, 9, 9, 8, 8, 8, 8, 7]


def test_max_select_policy_removes_the_most_pods() -> None:
    # Max takes 5 (int(10 * 0.5)); a minute later int(5 * 0.5) = 2, the minimum.
    timeline = run(make_hpa(behavior=scale_down_behavior("Max")), cpu_trace({0: 0}, 60), initial_replicas=10)
    assert replicas(timeline) == [5, 5, 5, 5, 2]


def test_disabled_scale_down_never_removes_pods() -> None:
    timeline = run(make_hpa(behavior=scale_down_behavior("Disabled")), cpu_trace({0: 0}, 600), initial_replicas=10)
    assert set(replicas(timeline)) == {10}


# --- Stabilization ---------------------------------------------------------------------------


def test_scale_up_window_takes_the_lowest_recent_recommendation() -> None:
    # The initial recommendation (2, t=0) stays in a 60 s window until t=60; then the guide's
    # policies apply from there: 4 at 60, 8 at 90, 10 at 120.
    behavior = {"scaleUp": {**GUIDE_UP, "stabilizationWindowSeconds": 60}, "scaleDown": GUIDE_DOWN}
    timeline = run(make_hpa(behavior=behavior), cpu_trace({0: 40}, 120))
    assert replicas(timeline) == [2, 2, 2, 2, 4, 4, 8, 8, 10]


def test_scale_down_window_takes_the_highest_recent_recommendation() -> None:
    # 6 pods, demand for 2: the initial recommendation 6 (t=0) holds the count until it leaves
    # the 120 s window at t=120; Percent 100/15 s then allows going straight to 2.
    behavior = {
        "scaleUp": GUIDE_UP,
        "scaleDown": {
            "stabilizationWindowSeconds": 120,
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        },
    }
    timeline = run(make_hpa(behavior=behavior), cpu_trace({0: 2}, 135), initial_replicas=6)
    assert replicas(timeline) == [6] * 8 + [2, 2]
    assert at(timeline, "desired_replicas")[0] == 2


def test_default_scale_down_waits_five_minutes_then_drops_to_min() -> None:
    # behavior without scaleDown: window from the controller flag (300 s), Percent 100/15 s.
    timeline = run(make_hpa(behavior={"scaleUp": GUIDE_UP}), cpu_trace({0: 0}, 315), initial_replicas=8)
    assert at(timeline, "replicas")[285] == 8
    assert at(timeline, "replicas")[300] == 2


# --- Legacy path (no behavior) ---------------------------------------------------------------


def test_legacy_scale_up_is_at_most_double_or_four() -> None:
    # calculateScaleUpLimit: max(2 * current, 4) per sync: 1 -> 4 -> 8 -> 16 -> 20 (max).
    timeline = run(make_hpa(1, 20), cpu_trace({0: 100}, 60), initial_replicas=1)
    assert replicas(timeline) == [4, 8, 16, 20, 20]


def test_legacy_scale_down_waits_for_the_downscale_window() -> None:
    # The highest recommendation of the last 300 s: 4 (initial, t=0) until t=300, then 1 at once.
    timeline = run(make_hpa(1, 10), cpu_trace({0: 1}, 315), initial_replicas=4)
    assert at(timeline, "replicas")[285] == 4
    assert [at(timeline, "replicas")[t] for t in (300, 315)] == [1, 1]
    shorter = run(make_hpa(1, 10), cpu_trace({0: 1}, 120), initial_replicas=4, downscale_stabilization_s=60)
    assert replicas(shorter) == [4, 4, 4, 4, 1, 1, 1, 1, 1]


# --- Metrics, tolerance, readiness -----------------------------------------------------------


def test_tolerance_band() -> None:
    cpu70 = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
    }
    hpa = make_hpa(metrics=[cpu70], behavior={})
    # 2 pods of 500m: 770m is 77 %, a ratio of exactly 1.1: inside the band, no change.
    inside = run(hpa, Trace.from_points([0], {"cpu": [770]}), requests={"cpu": "500m"})
    assert (inside.rows[0].readings, inside.rows[0].desired_replicas, inside.rows[0].replicas) == ((77,), 2, 2)
    # 780m is 78 %: ceil(78/70 * 2) = 3.
    outside = run(hpa, Trace.from_points([0], {"cpu": [780]}), requests={"cpu": "500m"})
    assert (outside.rows[0].desired_replicas, outside.rows[0].replicas) == (3, 3)
    # A scale-up tolerance of 5 % in behavior narrows the band: 77 % now scales.
    tight = make_hpa(metrics=[cpu70], behavior={"scaleUp": {"tolerance": "0.05"}})
    assert run(tight, Trace.from_points([0], {"cpu": [770]}), requests={"cpu": "500m"}).rows[0].replicas == 3


def test_tolerance_band_on_scale_down() -> None:
    # 10 pods at 45 % of a 50 % target (ratio 0.9): inside the band. 44 %: ceil(0.88 * 10) = 9.
    hpa = make_hpa(2, 10, behavior={})
    assert run(hpa, Trace.from_points([0], {"cpu": [4500]}), initial_replicas=10).rows[0].desired_replicas == 10
    assert run(hpa, Trace.from_points([0], {"cpu": [4400]}), initial_replicas=10).rows[0].desired_replicas == 9


def test_largest_proposal_of_several_metrics_wins() -> None:
    memory = {
        "type": "Resource",
        "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 50}},
    }
    rps = {
        "type": "Pods",
        "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "100"}},
    }
    hpa = make_hpa(metrics=[CPU50, memory, rps], behavior={})
    trace = Trace.from_points([0], {"cpu": [1500], "memory": [2560], "rps": [400]})
    timeline = run(hpa, trace, requests={"cpu": "1", "memory": "1Gi"})
    # cpu 75 % -> 3, memory 2560 MiB of 2 x 1 GiB = 125 % -> 5, rps 200 per pod -> 4.
    assert timeline.rows[0].readings == (75, 125, 200)
    assert timeline.rows[0].desired_replicas == 5
    assert timeline.columns == (
        "time_s",
        "replicas",
        "ready_replicas",
        "desired_replicas",
        "cpu_utilization_pct",
        "memory_utilization_pct",
        "rps_per_pod",
    )


def test_unready_pods_count_as_zero_on_a_scale_up() -> None:
    tolerances = Tolerances(0.1, 0.1)

    def proposal(ready: int, unready: int, total: int) -> int:
        groups = PodGroups(ready=ready, unready=unready, missing=0, total=total)
        usage = lambda total, pods: utilization_ratio(total, pods, 1000, 50)  # noqa: E731
        return replicas_for_metric(4, groups, usage, 1000, tolerances)[0]

    # 2 ready of 4 at 2200m: 110 % is ratio 2.2 (ceil(4.4) = 5 counting ready pods only), but
    # with the 2 unready pods at 0 % it is 55 %, ratio 1.1: within the band, stay at 4.
    assert proposal(2, 2, 2200) == 4
    # 3000m: 75 % over 4 pods, ratio 1.5 -> ceil(6.0) = 6.
    assert proposal(2, 2, 3000) == 6
    # 1 ready of 4 at 600m: 120 % but 15 % over all 4: the direction would flip, stay at 4.
    assert proposal(1, 3, 600) == 4
    # On a scale-down the unready pods are left out: 20 % over 2 ready pods -> ceil(0.8) = 1.
    assert proposal(2, 2, 400) == 1


def test_new_pods_become_ready_after_the_startup_delay() -> None:
    hpa = make_hpa(behavior={"scaleUp": GUIDE_UP, "scaleDown": GUIDE_DOWN})
    slow = run(hpa, cpu_trace({0: 40}, 120), startup=60)
    # Pods added at t=0 are ready at 60, those added at 30 at 90, those at 60 at 120.
    assert [r.ready_replicas for r in slow.rows] == [2, 2, 2, 2, 4, 4, 8, 8, 10]
    assert replicas(slow) == [4, 4, 8, 8, 10, 10, 10, 10, 10]
    fast = run(hpa, cpu_trace({0: 40}, 30), startup=0)
    assert [r.ready_replicas for r in fast.rows] == [2, 4, 4]


def test_a_sync_reads_the_last_row_at_or_before_it() -> None:
    trace = Trace.from_points([0, 20], {"cpu": [500, 800]})
    timeline = run(make_hpa(behavior={}), trace, duration_s=30)
    assert [r.readings[0] for r in timeline.rows] == [25, 25, 40]


def test_initial_replicas_outside_the_bounds_are_clamped_at_the_first_sync() -> None:
    timeline = run(make_hpa(2, 5, behavior={}), cpu_trace({0: 100}, 15), initial_replicas=8)
    assert replicas(timeline)[0] == 5


# --- Summary ---------------------------------------------------------------------------------


def test_summary_of_a_hand_computed_run() -> None:
    # 1 pod; at t=30 demand of 3.6 pods: desired ceil(3.6) = 4, ready at 60 (startup 30). At 45
    # the 3 unready pods at 0 % make the ratio 0.9: no change. At 60, 4 x 500m >= 1800m.
    trace = cpu_trace({0: 0.8, 30: 3.6, 120: 0.8}, 150)
    timeline = run(make_hpa(1, 4, behavior={}), trace, startup=30, initial_replicas=1)
    assert replicas(timeline) == [1, 1] + [4] * 9
    assert at(timeline, "ready_replicas")[45] == 1
    summary = summarize(timeline)
    assert [(r.start_s, r.seconds_to_capacity) for r in summary.rises] == [(30, 30)]
    assert summary.seconds_over_target == 30
    assert summary.peak_replicas == 4
    assert summary.pod_hours == pytest.approx((1 * 15 + 1 * 15 + 4 * 15 * 8) / 3600)
    # Split: the controller proposed 4 at once (metrics delay 0 s) and created the pods then (policy 0 s);
    # they started for 30 s and the sync at 60 s counted them (sync 0 s).
    assert summary.rises[0].steps == (0, 0, 0, 0, 30, 0, 0)
    assert "  at 30 s: caught up in 30 s (pod startup)" in summary.lines()


def test_a_rise_beyond_max_replicas_is_never_met() -> None:
    timeline = run(make_hpa(1, 2, behavior={}), cpu_trace({0: 1, 60: 5}, 300), initial_replicas=1)
    summary = summarize(timeline)
    assert [(r.start_s, r.seconds_to_capacity) for r in summary.rises] == [(60, None)]
    assert summary.seconds_over_target == 240


# --- Scenarios, inputs, bookkeeping ----------------------------------------------------------


def test_spike_scenario_is_scaled_to_the_targets() -> None:
    gauges = bind_gauges(parse_hpa(make_hpa(2, 10)), REQUESTS)
    trace = scenario_trace("spike", gauges, 2, 10)
    # base = 2 / 2 = 1 pod's worth (500m), peak = 10 - 0.5 = 9.5 pods' worth from 5 to 25 min.
    assert [trace.columns["cpu"][trace.row_at(t)] for t in (0, 299, 300, 1499, 1500)] == [500, 500, 4750, 4750, 500]
    assert trace.end_s == 3600
    timeline = run(make_hpa(2, 10, behavior={}), trace, startup=15)
    assert max(replicas(timeline)) == 10


def test_store_scale_event_reuses_the_last_outdated_slot() -> None:
    events = [ScaleEvent(0, 1), ScaleEvent(10, 2), ScaleEvent(50, 3)]
    # Longest period 30 at t=45: the events at 0 and 10 are outdated; the new one replaces t=10.
    assert store_scale_event(events, 45, 4, 30) == [ScaleEvent(0, 1), ScaleEvent(45, 4), ScaleEvent(50, 3)]
    assert store_scale_event(events, 20, 4, 30) == [*events, ScaleEvent(20, 4)]


def test_milli_values() -> None:
    assert [milli_value(q) for q in ("500m", "1000", "512Mi", 1)] == [500, 1_000_000, 536_870_912_000, 1000]
    assert parse_quantity("0.05") == Decimal("0.05")


def test_startup_delay_from_probes() -> None:
    readiness = {"initialDelaySeconds": 10, "periodSeconds": 5}
    # Startup probe passes at its second check (t=10), readiness may run from 10: ready at 15.
    assert (
        probe_startup_s({"readinessProbe": readiness, "startupProbe": {"initialDelaySeconds": 0, "periodSeconds": 10}})
        == 15
    )
    assert probe_startup_s({"readinessProbe": {"initialDelaySeconds": 5, "periodSeconds": 5}}) == 10
    assert (
        probe_startup_s({"readinessProbe": readiness, "startupProbe": {"initialDelaySeconds": 20, "periodSeconds": 10}})
        == 35
    )


def test_pod_requests_sum_the_containers() -> None:
    one = {"containers": [{"resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}]}
    assert pod_requests(one) == {"cpu": "500m", "memory": "512Mi"}
    two = {
        "containers": [
            {"resources": {"requests": {"cpu": "500m"}}},
            {"resources": {"requests": {"cpu": "250m", "memory": "1Mi"}}},
        ]
    }
    assert {k: parse_quantity(v) for k, v in pod_requests(two).items()} == {"cpu": Decimal("0.75")}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"maxReplicas": 1}, "spec.maxReplicas (1) is below spec.minReplicas (2)"),
        ({"metrics": [{"type": "External", "external": {}}]}, "'External' is not simulated"),
        (
            {"behavior": {"scaleUp": {"selectPolicy": "Most"}}},
            "spec.behavior.scaleUp.selectPolicy must be Max, Min or Disabled",
        ),
        (
            {"behavior": {"scaleDown": {"policies": []}}},
            "spec.behavior.scaleDown.policies must list at least one policy",
        ),
    ],
)
def test_bad_hpa_is_reported(change: dict[str, Any], message: str) -> None:
    hpa = make_hpa()
    hpa["spec"].update(change)
    with pytest.raises(SimulationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_hpa(hpa)


def test_api_defaults_for_min_replicas_and_metrics() -> None:
    hpa = make_hpa()
    del hpa["spec"]["minReplicas"], hpa["spec"]["metrics"]
    spec = parse_hpa(hpa)
    assert (spec.min_replicas, spec.behavior) == (1, None)
    assert [(m.source, m.name, m.target_type, m.target) for m in spec.metrics] == [
        ("Resource", "cpu", "Utilization", 80)
    ]


@pytest.mark.parametrize(
    ("times", "cpu", "message"),
    [
        ([0, 0], [1, 2], "the trace's time_s values must increase from row to row"),
        ([0, 15], [1, -2], "trace column cpu must hold finite, non-negative totals"),
        ([10, 20], [1, 2], "the trace starts at time_s 10; it needs a row at or before 0"),
    ],
)
def test_bad_trace_is_reported(times: list[float], cpu: list[float], message: str) -> None:
    with pytest.raises(SimulationError, match=message):
        run(make_hpa(), Trace.from_points(times, {"cpu": cpu}))


def test_utilization_needs_a_request() -> None:
    with pytest.raises(SimulationError, match="no cpu request was given"):
        simulate(make_hpa(), {}, cpu_trace({0: 1}, 15), pod_startup_s=0)
    with pytest.raises(SimulationError) as caught:
        simulate(make_hpa(), {"cpu": "0"}, cpu_trace({0: 1}, 15), pod_startup_s=0)
    assert str(caught.value) == "cpu request must be greater than zero, not '0'"


# --- Properties ------------------------------------------------------------------------------

policies = st.lists(
    st.builds(
        lambda kind, value, period: {"type": kind, "value": value, "periodSeconds": period},
        st.sampled_from(["Pods", "Percent"]),
        st.integers(1, 150),
        st.sampled_from([15, 30, 45, 60, 120]),
    ),
    min_size=1,
    max_size=3,
)
rules = st.fixed_dictionaries(
    {
        "stabilizationWindowSeconds": st.sampled_from([0, 15, 60, 300]),
        "selectPolicy": st.sampled_from(["Max", "Min", "Disabled"]),
        "policies": policies,
    }
)


def _limit(rule: dict[str, Any], start_of: Callable[[float], int], now: float, up: bool) -> int | None:
    """What the rules allow from the replicas in effect at the start of each policy's period."""
    if rule["selectPolicy"] == "Disabled":
        return None
    limits: list[int] = []
    for p in rule["policies"]:
        start = start_of(now - p["periodSeconds"])
        if p["type"] == "Pods":
            limits.append(start + p["value"] if up else start - p["value"])
        else:
            limits.append(math.ceil(start * (1 + p["value"] / 100)) if up else int(start * (1 - p["value"] / 100)))
    most_change = max if up else min
    least_change = min if up else max
    return (least_change if rule["selectPolicy"] == "Min" else most_change)(limits)


@settings(max_examples=200, deadline=None)
@given(
    bounds=st.tuples(st.integers(1, 4), st.integers(0, 16)),
    up=rules,
    down=rules,
    loads=st.lists(st.floats(0, 40, allow_nan=False), min_size=2, max_size=40),
    startup=st.sampled_from([0, 15, 40]),
    initial=st.integers(0, 100),
)
def test_replicas_stay_within_bounds_and_policy_rates(
    bounds: tuple[int, int], up: dict[str, Any], down: dict[str, Any], loads: list[float], startup: int, initial: int
) -> None:
    low, high = bounds[0], bounds[0] + bounds[1]
    start = low + initial % (high - low + 1)
    hpa = make_hpa(low, high, behavior={"scaleUp": up, "scaleDown": down})
    trace = Trace.from_points([15 * i for i in range(len(loads))], {"cpu": [x * 500 for x in loads]})
    timeline = run(hpa, trace, startup=startup, initial_replicas=start)

    def replicas_at(t: float) -> int:
        """The count in effect at time t: set by the last sync at or before t."""
        return next((r.replicas for r in reversed(timeline.rows) if r.time_s <= t), start)

    previous = start
    for row in timeline.rows:
        assert low <= row.replicas <= high
        if row.replicas > previous:
            allowed = _limit(up, replicas_at, row.time_s, up=True)
            assert allowed is not None and row.replicas <= allowed, (row, allowed)
        elif row.replicas < previous:
            allowed = _limit(down, replicas_at, row.time_s, up=False)
            assert allowed is not None and row.replicas >= allowed, (row, allowed)
        previous = row.replicas
