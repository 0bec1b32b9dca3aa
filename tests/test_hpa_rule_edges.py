"""The HPA controller's rules at the edges where a one-character slip changes the count: each case is
computed by hand from kubernetes/kubernetes pkg/controller/podautoscaler (replica_calculator.go
``GetResourceReplicas`` / ``calcPlainMetricReplicas`` / ``groupPods``, horizontal.go
``stabilizeRecommendationWithBehaviors`` / ``convertDesiredReplicasWithBehaviorRate``, metrics/utilization.go
``GetMetricUsageRatio``) as of Kubernetes 1.34."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from simulate.controller import (
    MetricSample,
    PodGroups,
    PodView,
    Recommendation,
    ScaleEvent,
    Tolerances,
    convert_with_behavior_rate,
    group_pods,
    replicas_for_metric,
    stabilize_with_behaviors,
    usage_ratio,
    utilization_ratio,
)
from simulate.hpa import Behavior, Policy, ScalingRules, SimulationError, parse_hpa
from simulate.metrics import bind_gauges
from simulate.pods import Pod, PodSet, Startup, pick_victims
from simulate.simulator import _Controller, _views

TOLERANCE = Tolerances(0.1, 0.1)
# One pod's request is 1000m, the target 50 %: a pod at the target uses 500m; a missing pod counts
# as its request times max(100, target) %: 1000m.
AT_50 = partial(utilization_ratio, request_milli=1000, target_percent=50)
VALUE_500 = partial(usage_ratio, target_milli=500)


def _rules(*policies: Policy, select: str = "Max") -> ScalingRules:
    return ScalingRules(stabilization_window_s=0, select_policy=select, policies=policies, tolerance=None)


def test_each_direction_takes_its_own_tolerance_else_the_controllers_flag() -> None:
    hpa: dict[str, Any] = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "app"},
        "spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"tolerance": "0.05"}, "scaleUp": {"tolerance": "0.2"}}},
    }
    assert Tolerances.for_hpa(parse_hpa(hpa).behavior, 0.1) == Tolerances(down=0.05, up=0.2)
    del hpa["spec"]["behavior"]["scaleUp"]
    assert Tolerances.for_hpa(parse_hpa(hpa).behavior, 0.1) == Tolerances(down=0.05, up=0.1)
    hpa["spec"]["behavior"] = {"scaleUp": {"tolerance": "0.2"}}
    assert Tolerances.for_hpa(parse_hpa(hpa).behavior, 0.1) == Tolerances(down=0.1, up=0.2)


def test_a_value_metrics_average_is_an_integer_division() -> None:
    # metricsTotal / int64(numEntries): 1001m over 2 pods is 500m, exactly the target.
    assert usage_ratio(1001, 2, 500) == (1.0, 500)
    # so with no tolerance at all the count stays (500.5m would be a ratio of 1.001: 3 pods)
    assert replicas_for_metric(2, PodGroups(2, 0, 0, 1001), VALUE_500, 500, Tolerances(0.0, 0.0)) == (2, 500)


def test_a_cpu_pod_without_a_start_time_is_unready_even_if_ready() -> None:
    pod = PodView(name=0, phase="Running", start_time=None, ready=True, ready_transition=0.0)
    samples = {0: MetricSample(500, 100.0, 15.0)}
    assert group_pods([pod], samples, True, 1000.0, 300.0, 30.0) == PodGroups(0, 1, 0, 0)
    # memory and Pods metrics count a Running pod with a sample whatever its conditions
    assert group_pods([pod], samples, False, 1000.0, 300.0, 30.0) == PodGroups(1, 0, 0, 500)


def test_unready_pods_count_only_on_a_scale_up_not_at_a_ratio_of_exactly_one() -> None:
    # One ready pod exactly at the target and one unready: no scale-up (usageRatio > 1.0 is false),
    # and within the tolerance: the count stays 2 (counting the unready pod at 0 would give 1).
    assert replicas_for_metric(2, PodGroups(1, 1, 0, 500), AT_50, 1000, TOLERANCE) == (2, 50)
    assert replicas_for_metric(2, PodGroups(1, 1, 0, 500), VALUE_500, 500, TOLERANCE) == (2, 500)


def test_missing_pods_count_neither_way_at_a_ratio_of_exactly_one() -> None:
    # Ready pod at the target, one pod without a sample: neither the scale-down fallback (100 % of the
    # request: 75 % average, 3 pods) nor the scale-up 0 (25 %, 1 pod) applies; the count stays.
    assert replicas_for_metric(2, PodGroups(1, 0, 1, 500), AT_50, 1000, TOLERANCE) == (2, 50)
    assert replicas_for_metric(2, PodGroups(1, 0, 1, 500), VALUE_500, 500, TOLERANCE) == (2, 500)
    # Above it: the missing pod counts as 0 (2000m over 2 pods: 100 % against 50 %, 4 pods).
    assert replicas_for_metric(2, PodGroups(1, 0, 1, 2000), AT_50, 1000, TOLERANCE) == (4, 200)


def test_a_scale_down_proposal_above_the_current_count_keeps_the_count() -> None:
    # ratio 0.6 on 1 ready pod, 4 missing counted at the 1000m fallback on a scale-down: 4300m over 5 pods
    # is 86 % of 1000m against 50 %: newUsageRatio 1.72 > 1 flips the direction: the count stays.
    assert replicas_for_metric(5, PodGroups(1, 0, 4, 300), AT_50, 1000, TOLERANCE) == (5, 30)
    # A value target: 5 ready at 210m (0.42 of the target), 1 missing counted at the target: the new
    # ratio (1050 + 500) / 6 = 258m is 0.516: ceil(0.516 * 6) = 4 pods, below the 5 current: taken.
    assert replicas_for_metric(5, PodGroups(5, 0, 1, 1050), VALUE_500, 500, TOLERANCE) == (4, 210)
    # ... but with 3 current (the proposal 4 would add pods while the ratio says fewer): the count stays.
    assert replicas_for_metric(3, PodGroups(5, 0, 1, 1050), VALUE_500, 500, TOLERANCE) == (3, 210)


def test_a_recommendation_exactly_one_scale_down_window_old_no_longer_holds_the_count() -> None:
    # upCutoff = now - 600, downCutoff = now - 300: the recommendation of t=0 is in the scale-up window
    # (it may lower the scale-up bound) but not After(downCutoff).
    history = [Recommendation(0.0, 8)]
    assert stabilize_with_behaviors(history, 300.0, 2, 5, 600, 300)[0] == 2
    assert stabilize_with_behaviors(history, 299.0, 2, 5, 600, 300)[0] == 5


def test_a_scale_up_limit_below_the_current_count_holds_the_count() -> None:
    # 5 pods added within the period: its start is 1, Pods 2 allows 3, below the 6 there are; the
    # controller holds 6 ("We shouldn't scale up further until the scaleUpEvents will be cleaned up").
    behavior = Behavior(_rules(Policy("Pods", 2, 60)), _rules(Policy("Percent", 50, 60)))
    up = [ScaleEvent(0.0, 5)]
    assert convert_with_behavior_rate(10, 6, 1, 10, behavior, up, [], 30.0) == 6
    # Once the event is a period old: 6 + 2.
    assert convert_with_behavior_rate(10, 6, 1, 10, behavior, up, [], 60.0) == 8


def test_a_scale_down_limit_above_the_current_count_holds_the_count() -> None:
    # 6 pods removed within the period: its start is 8, Percent 50 allows int32(4), above the 2 there are.
    behavior = Behavior(_rules(Policy("Pods", 4, 60)), _rules(Policy("Percent", 50, 60)))
    down = [ScaleEvent(0.0, 6)]
    assert convert_with_behavior_rate(1, 2, 1, 10, behavior, [], down, 30.0) == 2
    assert convert_with_behavior_rate(1, 2, 1, 10, behavior, [], down, 60.0) == 1


def _hpa(behavior: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "app"},
        "spec": {"maxReplicas": 5, "behavior": behavior},
    }


def test_a_policy_period_and_a_window_are_bounded_as_the_api_server_bounds_them() -> None:
    """kubernetes pkg/apis/autoscaling/validation: MaxPeriodSeconds 1800, MaxStabilizationWindowSeconds 3600."""
    policy = {"type": "Pods", "value": 1, "periodSeconds": 1800}
    assert parse_hpa(_hpa({"scaleUp": {"policies": [policy]}})).behavior.scale_up.policies == (  # type: ignore[union-attr]
        Policy("Pods", 1, 1800),)
    with pytest.raises(SimulationError) as error:
        parse_hpa(_hpa({"scaleUp": {"policies": [{**policy, "periodSeconds": 1801}]}}))
    assert str(error.value) == (
        "spec.behavior.scaleUp.policies[0].periodSeconds must be a whole number from 1 to 1800, not 1801")
    assert parse_hpa(_hpa({"scaleDown": {"stabilizationWindowSeconds": 3600}})).behavior.scale_down == (  # type: ignore[union-attr]
        ScalingRules(3600, "Max", (Policy("Percent", 100, 15),), None))
    with pytest.raises(SimulationError) as error:
        parse_hpa(_hpa({"scaleDown": {"stabilizationWindowSeconds": 3601}}))
    assert str(error.value) == (
        "spec.behavior.scaleDown.stabilizationWindowSeconds must be a whole number from 0 to 3600, not 3601")


def _two_metrics() -> _Controller:
    """No behavior (the legacy path); CPU at 50 % of 1000m and a Pods metric `rps` at 10 per pod."""
    rps = {"type": "Pods",
           "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
    cpu = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
    spec = parse_hpa({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "app"},
        "spec": {"minReplicas": 2, "maxReplicas": 10, "metrics": [cpu, rps]},
    })
    return _Controller(spec, bind_gauges(spec, {"cpu": "1000m"}), TOLERANCE, 300)


def test_an_invalid_metric_stops_only_a_scale_down() -> None:
    """computeReplicasForMetrics: `invalidMetricsCount >= len(metricSpecs) || (invalidMetricsCount > 0 &&
    replicas < specReplicas)` fails the sync; a proposal equal to the count goes on to the stabilization."""
    controller = _two_metrics()
    # t=0: CPU at 250 % wants 10; the legacy rate allows max(2 x 2, 4) = 4.
    assert controller.reconcile(0.0, 2, [PodGroups(2, 0, 0, 5000), PodGroups(2, 0, 0, 20000)]) == (
        4, 10, (250.0, 10.0))
    # t=15: CPU has no usable sample, rps proposes the 4 there are: the sync goes on, and the window's
    # 10 (recommended at t=0) scales to min(10, 2 x 4).
    assert controller.reconcile(15.0, 4, [PodGroups(0, 4, 0, 0), PodGroups(4, 0, 0, 40000)]) == (
        8, 4, (None, 10.0))
    # A scale-down proposal beside an invalid metric fails the sync: nothing recorded, the count stays.
    fresh = _two_metrics()
    assert fresh.reconcile(0.0, 4, [PodGroups(0, 4, 0, 0), PodGroups(4, 0, 0, 20000)]) == (4, 4, (None, 5.0))
    assert fresh.recommendations == [Recommendation(0.0, 4)]


def _cpu_controller(behavior: dict[str, Any] | None = None, target: int = 50) -> _Controller:
    cpu = {"type": "Resource",
           "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}
    spec: dict[str, Any] = {"minReplicas": 1, "maxReplicas": 10, "metrics": [cpu]}
    if behavior is not None:
        spec["behavior"] = behavior
    parsed = parse_hpa({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "a"},
                        "spec": spec})
    return _Controller(parsed, bind_gauges(parsed, {"cpu": "1000m"}), TOLERANCE, 300)


def test_a_missing_pod_counts_its_whole_request_on_a_scale_down_below_a_100_percent_target() -> None:
    """GetResourceReplicas: `fallbackUtilization := int64(max(100, targetUtilization))`: at a 50 % target a
    pod without a sample counts 1000m, so an idle ready pod and a missing one average 50 %: no change."""
    assert _cpu_controller().reconcile(0.0, 2, [PodGroups(1, 0, 1, 0)]) == (2, 2, (0,))
    # Above 100 % the target itself: 1500m at 150 %, so the pair averages 75 %, half the target: 1 pod
    # proposed (held at 2 by the recommendation of the same sync, the legacy window's).
    assert _cpu_controller(target=150).reconcile(0.0, 2, [PodGroups(1, 0, 1, 0)]) == (2, 1, (0,))


def test_a_sync_that_changes_nothing_records_no_scale_event() -> None:
    """reconcileAutoscaler stores a scale event only on a rescale: a sync that keeps the count must not take
    the slot of an outdated scale-down event, which the scale-up's longer period still counts."""
    controller = _cpu_controller({
        "scaleUp": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]},
        "scaleDown": {"stabilizationWindowSeconds": 0},
    })
    assert controller.reconcile(0.0, 4, [PodGroups(4, 0, 0, 1000)])[0] == 2  # 25 %: down to 2 (Percent 100/15 s)
    assert controller.reconcile(30.0, 2, [PodGroups(2, 0, 0, 1000)])[0] == 2  # 50 %: no change
    assert controller.down_events == [ScaleEvent(0.0, 2)]
    # 250 % wants 10; the scale-up period (300 s) starts from 2 + the 2 removed at t=0: 4 + 1.
    assert controller.reconcile(45.0, 2, [PodGroups(2, 0, 0, 5000)]) == (5, 10, (250,))


def test_the_controller_sees_a_pod_ready_from_the_instant_its_condition_turns_true() -> None:
    pod = Pod(index=3, created=0.0, started=5.0, running=10.0, ready=30.0)
    assert _views([pod], 4.0, {}) == [PodView(3, "Pending", None, None, 5.0)]
    assert _views([pod], 29.5, {}) == [PodView(3, "Running", 5.0, False, 5.0)]
    settled: dict[int, PodView] = {}
    assert _views([pod], 30.0, settled) == [PodView(3, "Running", 5.0, True, 30.0)]
    assert settled == {3: PodView(3, "Running", 5.0, True, 30.0)}


def test_each_pod_that_waits_for_a_node_brings_room_for_one() -> None:
    """No spare room: each pod of a scale-up from 2 to 4 waits for a node of its own (each new node, here,
    has room for the pod that asked for it)."""
    pods = PodSet.initial(2, Startup(probes_s=5.0, node_provisioning_s=60.0, spare_pods=0))
    created, deleted = pods.scale_to(4, 0.0)
    assert [(p.index, p.waited_for_node, p.started, p.ready) for p in created] == [
        (2, True, 60.0, 65.0), (3, True, 60.0, 65.0)]
    assert (deleted, pods.room) == ([], 4)


def test_a_scale_down_deletes_the_pod_ready_last_even_if_it_is_older() -> None:
    """controller.ActivePods: a pod Ready for less time goes first; only among equals the newer one."""
    older_but_late = Pod(0, created=0.0, started=60.0, running=60.0, ready=100.0)
    newer_ready = Pod(1, created=10.0, started=20.0, running=20.0, ready=50.0)
    twin = Pod(2, created=10.0, started=20.0, running=20.0, ready=50.0)
    assert pick_victims([older_but_late, newer_ready, twin], 2) == [older_but_late, twin]
