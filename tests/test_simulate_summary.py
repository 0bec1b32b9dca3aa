"""How the summary splits a rise into its steps (:func:`simulate.summary.rise_steps`), on timelines
written out by hand, each sync and each pod, so that every step's seconds can be worked out here.

One CPU metric at 50 % of a 1000m request: one Ready pod carries 500 millicores at the target, a
sync is over target when its demand exceeds 500 x its Ready pods, and a reading over 50 (%) is a
reading over the target.
"""

from __future__ import annotations

from simulate.hpa import MetricSpec
from simulate.metrics import Gauge
from simulate.pods import LONG_AGO, Pod, Startup
from simulate.simulator import SyncRecord, Timeline
from simulate.summary import STEPS, Rise, Summary, reads_over_target, rise_steps, summarize

CPU = Gauge(spec=MetricSpec("Resource", "cpu", "Utilization", 50), milli_per_unit=1, request_milli=1000)
INITIAL = Pod(0, LONG_AGO, LONG_AGO, LONG_AGO, LONG_AGO)


def sync(t: float, replicas: int, ready: int, desired: int, reading: float, demand: float) -> SyncRecord:
    return SyncRecord(t, replicas, ready, desired, (reading,), (demand,))


def timeline(
    rows: list[SyncRecord], pods: list[Pod], max_replicas: int | None = 10, startup: Startup | None = None
) -> Timeline:
    return Timeline(
        gauges=(CPU,), rows=tuple(rows), initial_replicas=1, pods=(INITIAL, *pods), startup=startup,
        max_replicas=max_replicas,
    )


def test_the_steps_are_named_in_this_order() -> None:
    assert STEPS == (
        "metrics delay", "tolerance", "policy limit", "node provisioning", "pod startup", "sync", "max replicas"
    )


# Every step takes time. The demand doubles at 15 s (800m on 1 pod) while the reading is still the
# old 40 %; at 30 s it reads 54 %, within the 10 % tolerance; at 45 s it reads 80 % and proposes 2,
# but the count stays 1 until 60 s (a policy). That pod waits 40 s for a node, 5 s to be scheduled,
# is Ready at 125 s and counted at 135 s, where 2 pods still carry less than 1100m; 900m at 150 s.
NODE_WAIT = Startup(probes_s=15, scheduling_s=5, image_pull_s=5, node_provisioning_s=40)
SLOW_POD = Pod(1, created=60, started=105, running=110, ready=125, waited_for_node=True)
SLOW_ROWS = [
    sync(0, 1, 1, 1, 40, 400),
    sync(15, 1, 1, 1, 40, 800),
    sync(30, 1, 1, 1, 54, 800),
    sync(45, 1, 1, 2, 80, 800),
    sync(60, 2, 1, 2, 80, 800),
    *(sync(t, 2, 1, 2, 80, 800) for t in (75, 90, 105, 120)),
    sync(135, 2, 2, 2, 55, 1100),
    sync(150, 2, 2, 2, 45, 900),
]


def test_each_step_of_a_slow_rise() -> None:
    slow = timeline(SLOW_ROWS, [SLOW_POD], startup=NODE_WAIT)
    # metrics delay 15 -> 30; tolerance 30 -> 45; policy 45 -> 60; node 60 -> 100 (105 started,
    # less 5 s of scheduling); startup 100 -> 125; sync 125 -> 135; the 15 s from 135 to 150 were
    # the demand falling inside the tolerance band (2 < maxReplicas 10), so they count as tolerance.
    steps = (15, 15 + 15, 15, 40, 25, 10, 0)
    assert summarize(slow).rises == (Rise(15, 135, steps),)
    assert rise_steps(slow, 1, 10) == steps
    assert summarize(slow).rises[0].report() == (
        "caught up in 135 s (dominant: node provisioning; metrics delay 15 s, tolerance 30 s, policy limit 15 s, "
        "node provisioning 40 s, pod startup 25 s, sync 10 s)"
    )


def test_the_tail_of_a_rise_at_max_replicas_is_the_max_replicas_step() -> None:
    # The same rise with maxReplicas 2: the count before the sync that met the demand (2) is at the
    # maximum, so the 15 s after the pod was counted are "max replicas", not tolerance. The count
    # at the rise's start (1) was not.
    at_max = timeline(SLOW_ROWS, [SLOW_POD], max_replicas=2, startup=NODE_WAIT)
    assert rise_steps(at_max, 1, 10) == (15, 15, 15, 40, 25, 10, 15)
    assert summarize(at_max).rises[0].dominant == "node provisioning"


def test_a_rise_the_demand_ends_before_any_pod_is_ready() -> None:
    # 700m on 1 pod at 15 s (read 40 %: not yet); at 30 s it reads 70 % and a pod is created, Ready
    # only at 90 s; at 45 s the demand is back to 400m. No pod turned Ready: 15 s of metrics delay,
    # then 15 s of the count staying within its band (2 of 10) until the demand fell.
    rows = [
        sync(0, 1, 1, 1, 40, 400),
        sync(15, 1, 1, 1, 40, 700),
        sync(30, 2, 1, 2, 70, 700),
        sync(45, 2, 1, 2, 40, 400),
    ]
    late = Pod(1, created=30, started=30, running=30, ready=90)
    assert summarize(timeline(rows, [late])).rises == (Rise(15, 30, (15, 15, 0, 0, 0, 0, 0)),)
    # At maxReplicas 2 the same 15 s are "max replicas": no more pods could have come.
    assert rise_steps(timeline(rows, [late], max_replicas=2), 1, 3) == (15, 0, 0, 0, 0, 0, 15)
    # A timeline without maxReplicas has none to be at.
    assert rise_steps(timeline(rows, [late], max_replicas=None), 1, 3) == (15, 15, 0, 0, 0, 0, 0)


def test_a_rise_never_read_over_target_is_all_metrics_delay() -> None:
    # 700m on 1 pod for one sync, read at the old 40 %: nothing else happened before it was met.
    rows = [sync(0, 1, 1, 1, 40, 400), sync(15, 1, 1, 1, 40, 700), sync(30, 1, 1, 1, 40, 400)]
    assert summarize(timeline(rows, [])).rises == (Rise(15, 15, (15, 0, 0, 0, 0, 0, 0)),)


# A pod created at 0 s (from a reading left over from before) is Ready at 40 s; the demand goes
# over the one Ready pod at 15 s, but no reading is over target until the rise is met at 45 s.
EARLY_POD = Pod(1, created=0, started=0, running=0, ready=40)


def early_rows(reading_at_45: float) -> list[SyncRecord]:
    return [
        sync(0, 2, 1, 2, 60, 400),
        sync(15, 2, 1, 2, 45, 700),
        sync(30, 2, 1, 2, 45, 700),
        sync(45, 2, 2, 2, reading_at_45, 700),
    ]


def test_a_pod_created_before_the_rise_counts_from_the_rise() -> None:
    # Never read over target: the reading is taken to have come when the pod was created (0 s), as
    # is the proposal; both are before the rise, so they count from 15 s: startup 15 -> 40, sync 40 -> 45.
    early = timeline(early_rows(35), [EARLY_POD])
    assert summarize(early).rises == (Rise(15, 30, (0, 0, 0, 0, 25, 5, 0)),)


def test_a_reading_over_target_at_the_sync_that_meets_the_demand_is_when_it_was_seen() -> None:
    # The same, but the sync at 45 s reads 70 % (the new pod has no sample yet): the first reading
    # over target is at 45 s, so the whole 30 s were metrics delay.
    early = timeline(early_rows(70), [EARLY_POD])
    assert summarize(early).rises == (Rise(15, 30, (30, 0, 0, 0, 0, 0, 0)),)


def test_a_pod_ready_at_the_rise_itself_did_not_complete_it() -> None:
    # A pod created at 0 s is Ready at 15 s, the sync where 1200m goes over its 2 pods (read at a
    # stale 45 %); 900m at 30 s is met. The pod Ready at 15 s was already counted at the rise: no
    # pod turned Ready during it, and with no reading over target it is all metrics delay.
    rows = [
        sync(0, 2, 1, 2, 60, 400),
        sync(15, 2, 2, 2, 45, 1200),
        sync(30, 2, 2, 2, 45, 900),
    ]
    ready_at_rise = Pod(1, created=0, started=0, running=0, ready=15)
    assert summarize(timeline(rows, [ready_at_rise])).rises == (Rise(15, 15, (15, 0, 0, 0, 0, 0, 0)),)


# 1400m at 15 s: a pod at 15 s (Ready 30 s) and one at 30 s (Ready 45 s); 1600m at 45 s is still
# over 3 pods; at 60 s the demand is 900m and the count goes down to 2, deleting the pod Ready last.
DELETED_ROWS = [
    sync(0, 1, 1, 1, 40, 400),
    sync(15, 2, 1, 2, 70, 1400),
    sync(30, 3, 2, 3, 70, 1400),
    sync(45, 3, 3, 3, 54, 1600),
    sync(60, 2, 2, 2, 45, 900),
]
FIRST = Pod(1, created=15, started=15, running=15, ready=30)
DELETED_AT_MET = Pod(2, created=30, started=30, running=30, ready=45, deleted=60)


def test_a_pod_deleted_at_the_sync_that_meets_the_demand_did_not_complete_it() -> None:
    # The pod that completed the capacity is the first one (Ready at 30 s): seen and proposed at
    # 15 s, created then, 15 s of startup, counted at 30 s; the 30 s after it are tolerance (3 < 10).
    rises = summarize(timeline(DELETED_ROWS, [FIRST, DELETED_AT_MET])).rises
    assert rises == (Rise(15, 45, (0, 30, 0, 0, 15, 0, 0)),)
    assert rises[0].dominant == "tolerance"


def test_without_the_counts_before_each_sync_they_come_from_the_timeline() -> None:
    # At maxReplicas 3 the count before the 60 s sync (3, set at 30 s) is at the maximum, though the
    # 60 s sync itself set 2: the 30 s after the pod was counted are "max replicas".
    at_max = timeline(DELETED_ROWS, [FIRST, DELETED_AT_MET], max_replicas=3)
    steps = (0, 0, 0, 0, 15, 0, 30)
    assert rise_steps(at_max, 1, 4) == steps
    assert rise_steps(at_max, 1, 4, before=[1, 1, 2, 3, 3]) == steps
    assert summarize(at_max).rises[0].dominant == "max replicas"


def test_of_two_pods_ready_at_once_the_later_created_completed_the_capacity() -> None:
    # Pod 1, created at 15 s, waits 30 s for a node and is Ready at 60 s; pod 2, created at 45 s
    # (the policy held the proposal of 3 at 30 s), finds room and is Ready at 60 s too. Ties go to
    # the newer pod: 30 s of policy limit (15 -> 45), 15 s of startup, no node provisioning.
    rows = [
        sync(0, 1, 1, 1, 40, 400),
        sync(15, 2, 1, 2, 80, 1400),
        sync(30, 2, 1, 3, 80, 1400),
        sync(45, 3, 1, 3, 80, 1400),
        sync(60, 3, 3, 3, 47, 1400),
    ]
    pods = [
        Pod(1, created=15, started=45, running=45, ready=60, waited_for_node=True),
        Pod(2, created=45, started=45, running=45, ready=60),
    ]
    tied = timeline(rows, pods, startup=Startup(probes_s=15, node_provisioning_s=30, spare_pods=1))
    assert summarize(tied).rises == (Rise(15, 45, (0, 0, 30, 0, 15, 0, 0)),)


def test_a_pod_ready_at_a_sync_is_counted_by_that_sync() -> None:
    # A pod created at 15 s is Ready at 45 s, exactly a sync: that sync counts it (sync step 0 s).
    # 2 pods are not enough for 1100m; 900m at 75 s. 30 s of startup and 30 s within the band tie:
    # the first step named of equals is the dominant one.
    rows = [
        sync(0, 1, 1, 1, 40, 400),
        sync(15, 2, 1, 2, 80, 800),
        sync(30, 2, 1, 2, 80, 800),
        sync(45, 2, 2, 2, 55, 1100),
        sync(60, 2, 2, 2, 55, 1100),
        sync(75, 2, 2, 2, 45, 900),
    ]
    on_time = Pod(1, created=15, started=15, running=15, ready=45)
    rise = summarize(timeline(rows, [on_time])).rises[0]
    assert rise == Rise(15, 60, (0, 30, 0, 0, 30, 0, 0))
    assert rise.dominant == "tolerance"
    assert rise.report() == "caught up in 60 s (dominant: tolerance; tolerance 30 s, pod startup 30 s)"


# --- What the summary reads and prints --------------------------------------------------------


def test_a_reading_at_the_target_is_not_over_it() -> None:
    # Utilization: the reading is a percentage, compared with the target percentage.
    assert not reads_over_target(CPU, 50)
    assert reads_over_target(CPU, 50.5)
    assert not reads_over_target(CPU, None)
    # AverageValue: the reading is in the metric's unit, the target in milli-units (100m = 0.1).
    rps = MetricSpec("Pods", "requests_per_second", "AverageValue", 100)
    per_pod = Gauge(rps, milli_per_unit=1000, request_milli=None)
    assert not reads_over_target(per_pod, 0.1)
    assert reads_over_target(per_pod, 0.101)


def test_the_peak_counts_the_replicas_before_the_first_sync() -> None:
    # 5 pods at the start, clamped to 3 by the first sync: the peak is 5.
    rows = [sync(0, 3, 3, 3, 20, 300), sync(15, 3, 3, 3, 20, 300)]
    shrunk = Timeline(gauges=(CPU,), rows=tuple(rows), initial_replicas=5, max_replicas=3)
    assert summarize(shrunk).peak_replicas == 5


def test_the_slowest_rise_is_one_never_met_else_the_longest() -> None:
    met = [Rise(0, 30, (30, 0, 0, 0, 0, 0, 0)), Rise(100, 90, (0, 0, 0, 0, 90, 0, 0)), Rise(300, 90)]
    assert Summary(tuple(met), 0, 1, 0).slowest == met[1]
    never = Rise(200, None)
    assert Summary((met[0], never, met[1]), 0, 1, 0).slowest == never
    assert Summary((), 0, 1, 0).slowest is None


def test_the_summary_lines() -> None:
    rises = (Rise(15, 135, (15, 30, 15, 40, 25, 10, 0)), Rise(300, None), Rise(600, 30))
    assert Summary(rises, 165, 3, 2.5 / 3).lines() == [
        "peak replicas:       3",
        "pod-hours:           0.83",
        "time over target:    165 s",
        "time to capacity:    rise at 300 s capacity never caught up",
        "rises over capacity: 3",
        "  at 15 s: caught up in 135 s (node provisioning)",
        "  at 300 s: capacity never caught up",
        "  at 600 s: caught up in 30 s",
    ]
    assert rises[2].report() == "caught up in 30 s"
    assert rises[1].report() == "capacity never caught up"
    assert Summary((), 0, 2, 0.5).lines() == [
        "peak replicas:       2",
        "pod-hours:           0.50",
        "time over target:    0 s",
        "time to capacity:    no rise over capacity",
        "rises over capacity: 0",
    ]


def test_the_summary_lists_the_first_ten_rises() -> None:
    ten = tuple(Rise(100 * i, 15) for i in range(10))
    assert Summary(ten, 150, 2, 1).lines()[5:] == [f"  at {100 * i} s: caught up in 15 s" for i in range(10)]
    eleven = Summary((*ten, Rise(1000, 15)), 165, 2, 1).lines()
    assert eleven[5:15] == [f"  at {100 * i} s: caught up in 15 s" for i in range(10)]
    assert eleven[15:] == ["  ... and 1 more"]
