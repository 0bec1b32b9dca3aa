"""The HPA controller's rules as small pure functions.

Each function names the function of kubernetes ``pkg/controller/podautoscaler`` it mirrors
(``horizontal.go``, ``replica_calculator.go``, ``metrics/utilization.go``) and keeps its
arithmetic: Go's ``math.Ceil`` on float64 is :func:`math.ceil` on a Python float, Go's
``int32(x)`` truncation is :func:`int`, so even the float quirks match: 25 pods at +12 % may
become ``ceil(25 * 1.12) = ceil(28.000000000000004) = 29``, and 5 pods at -80 % may go to
``int(5 * (1 - 0.8)) = int(0.9999999999999998) = 0``, as in the controller.

Times are seconds on the simulation clock. The controller compares ``time.Now()`` stamps with
cutoffs (``timestamp.After(cutoff)``, ``timestamp.Before(cutoff)``), and its syncs drift a few
milliseconds later each time (the next one is queued ``--horizontal-pod-autoscaler-sync-period``
after the last one *finished*), so a sample or scale event made exactly one window (or policy
period) of syncs ago is always past its cutoff. The simulator's syncs are exact multiples of the
period, so this is spelled out: a sample counts while ``time > now - window`` and an event is
outdated once ``time <= now - period``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .hpa import Behavior, ScalingRules

SCALE_UP_LIMIT_FACTOR = 2.0  # scaleUpLimitFactor
SCALE_UP_LIMIT_MINIMUM = 4.0  # scaleUpLimitMinimum


class Recommendation(NamedTuple):
    """``timestampedRecommendation``: an unstabilized desired count and when it was made."""

    time: float
    replicas: int


class ScaleEvent(NamedTuple):
    """``timestampedScaleEvent``: how many pods one rescale added (or removed), always >= 0."""

    time: float
    change: int


@dataclass(frozen=True)
class Tolerances:
    """``Tolerances`` (replica_calculator.go): no change while ``1 - down <= ratio <= 1 + up``."""

    down: float
    up: float

    @classmethod
    def for_hpa(cls, behavior: Behavior | None, default: float) -> Tolerances:
        """``behavior.scaleDown/scaleUp.tolerance`` where set (KEP-4951), else the controller's
        ``--horizontal-pod-autoscaler-tolerance``."""
        down = up = default
        if behavior is not None:
            down = default if behavior.scale_down.tolerance is None else behavior.scale_down.tolerance
            up = default if behavior.scale_up.tolerance is None else behavior.scale_up.tolerance
        return cls(down=down, up=up)

    def within(self, ratio: float) -> bool:
        """``Tolerances.isWithin``."""
        return (1.0 - self.down) <= ratio <= (1.0 + self.up)


def utilization_ratio(total_milli: int, pods: int, request_milli: int, target_percent: int) -> tuple[float, int]:
    """``GetResourceUtilizationRatio``: the integer percentage of the pods' requests, and its ratio to the target.

    ``total_milli`` is the sum of the pods' usage; pods counted at 0 % add only their requests.
    """
    utilization = total_milli * 100 // (pods * request_milli)
    return utilization / target_percent, utilization


def usage_ratio(total_milli: int, pods: int, target_milli: int) -> tuple[float, int]:
    """``GetMetricUsageRatio``: the integer average per pod (milli-units) and its ratio to the target."""
    usage = total_milli // pods
    return usage / target_milli, usage


class PodView(NamedTuple):
    """What ``groupPods`` reads of one pod: its phase, ``status.startTime`` and Ready condition."""

    name: int
    phase: str
    """Pending or Running (deleted and failed pods are not in the list the simulator passes)."""
    start_time: float | None
    ready: bool | None
    """The Ready condition's status; None while the pod has no Ready condition."""
    ready_transition: float
    """The Ready condition's lastTransitionTime."""


class MetricSample(NamedTuple):
    """One pod's ``PodMetric``: a milli-value, its timestamp and the window it averages."""

    value: int
    timestamp: float
    window: float


class PodGroups(NamedTuple):
    """``groupPods``' result for one metric: how many pods count, with the sum of their samples."""

    ready: int
    """``readyPodCount``: pods whose sample counts."""
    unready: int
    missing: int
    total: int
    """The sum of the counted pods' samples (milli-units)."""


def group_pods(
    pods: Sequence[PodView],
    samples: Mapping[int, MetricSample],
    cpu: bool,
    now: float,
    cpu_initialization_period_s: float,
    initial_readiness_delay_s: float,
) -> PodGroups:
    """``groupPods`` (replica_calculator.go): which pods count, which are unready, which have no sample.

    - Pending: unready.
    - Running without a sample: missing.
    - For CPU only (``resource == v1.ResourceCPU``): no Ready condition or no start time: unready.
      Within ``--horizontal-pod-autoscaler-cpu-initialization-period`` of ``startTime``
      (``startTime + period`` after now): unready if not Ready, or if the sample's timestamp is
      before the Ready transition plus the sample's window (the sample may hold warm-up CPU).
      After it: unready only if not Ready and the Ready condition last changed within
      ``--horizontal-pod-autoscaler-initial-readiness-delay`` of ``startTime`` (never been Ready).
    - Otherwise counted (``readyPodCount``); for memory and Pods metrics a Running pod with a
      sample counts whether or not it is Ready.

    Deleted and failed pods (``ignoredPods``) never reach this list: the simulator deletes pods at once.
    """
    ready = unready = missing = total = 0
    for pod in pods:
        if pod.phase == "Pending":
            unready += 1
            continue
        sample = samples.get(pod.name)
        if sample is None:
            missing += 1
            continue
        if cpu:
            if pod.ready is None or pod.start_time is None:
                is_unready = True
            elif pod.start_time + cpu_initialization_period_s > now:
                is_unready = not pod.ready or sample.timestamp < pod.ready_transition + sample.window
            else:
                is_unready = not pod.ready and pod.start_time + initial_readiness_delay_s > pod.ready_transition
            if is_unready:
                unready += 1
                continue
        ready += 1
        total += sample.value
    return PodGroups(ready, unready, missing, total)


class NoMetricsError(Exception):
    """``did not receive metrics for targeted pods (pods might be unready)``: the metric is invalid this sync."""


def replicas_for_metric(
    current: int,
    groups: PodGroups,
    usage: Callable[[int, int], tuple[float, int]],
    fallback: int,
    tolerances: Tolerances,
) -> tuple[int, int]:
    """``GetResourceReplicas`` / ``calcPlainMetricReplicas``: one metric's proposal and its reading.

    ``usage(total, pods)`` is ``GetResourceUtilizationRatio`` or ``GetMetricUsageRatio`` over
    ``pods`` pods whose samples sum to ``total`` (ratio, reading). Every pod has the same request
    (one pod template), so the Go code's per-pod maps reduce to these sums and counts exactly.
    ``fallback`` is what a missing pod counts for on a scale-down: its request times
    ``max(100, target)`` % for a Utilization target, the target itself for a value target.
    Step by step as in the Go code:

    1. unready pods' samples are dropped; none left: :class:`NoMetricsError`;
    2. ``usageRatio`` over the counted pods; with no missing pods and no scale-up with unready
       pods (``scaleUpWithUnready``), the tolerance band or ``ceil(ratio * readyPodCount)``;
    3. otherwise missing pods count as ``fallback`` on a scale-down (ratio < 1) or 0 on a
       scale-up (ratio > 1), unready pods as 0 on a scale-up, and the ratio is recomputed;
    4. the current count stays if the new ratio is within the tolerance or has crossed 1.0
       (the direction flipped), or if ``ceil(newRatio * len(metrics))`` would move the other way.
    """
    if groups.ready == 0:
        raise NoMetricsError
    ratio, reading = usage(groups.total, groups.ready)
    scale_up_with_unready = groups.unready > 0 and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        return (current if tolerances.within(ratio) else math.ceil(ratio * groups.ready)), reading
    total, pods = groups.total, groups.ready
    if groups.missing:
        if ratio < 1.0:
            total, pods = total + fallback * groups.missing, pods + groups.missing
        elif ratio > 1.0:
            pods += groups.missing
    if scale_up_with_unready:
        pods += groups.unready
    new_ratio, _ = usage(total, pods)
    if tolerances.within(new_ratio) or (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return current, reading
    proposal = math.ceil(new_ratio * pods)
    if (new_ratio < 1.0 and proposal > current) or (new_ratio > 1.0 and proposal < current):
        return current, reading
    return proposal, reading


def stabilize_with_behaviors(
    history: Sequence[Recommendation], now: float, desired: int, current: int, up_window_s: int, down_window_s: int
) -> tuple[int, list[Recommendation]]:
    """``stabilizeRecommendationWithBehaviors``: clamp ``desired`` by the recommendations in each window.

    A scale-up takes the lowest recommendation of the last ``up_window_s`` seconds, a scale-down the
    highest of the last ``down_window_s``; the result never crosses ``current``. Returns the count
    and the history with ``desired`` recorded (the controller reuses the slot of an expired sample;
    expired samples are dropped here, which is the same since windows only move forward).
    """
    up_cutoff, down_cutoff = now - up_window_s, now - down_window_s
    horizon = min(up_cutoff, down_cutoff)
    recent = [r for r in history if r[0] > horizon]
    up = min([desired] + [n for t, n in recent if t > up_cutoff])
    down = max([desired] + [n for t, n in recent if t > down_cutoff])
    return min(max(current, up), down), [*recent, Recommendation(now, desired)]


def stabilize_legacy(
    history: Sequence[Recommendation], now: float, desired: int, window_s: int
) -> tuple[int, list[Recommendation]]:
    """``stabilizeRecommendation`` (no ``behavior``): the highest recommendation of the last ``window_s`` seconds."""
    recent = [r for r in history if r.time > now - window_s]
    return max([desired, *(r.replicas for r in recent)]), [*recent, Recommendation(now, desired)]


def replicas_change_in_period(events: Sequence[ScaleEvent], now: float, period_s: int) -> int:
    """``getReplicasChangePerPeriod``: pods added (or removed) by the events of the last ``period_s`` seconds."""
    return sum(e.change for e in events if e.time > now - period_s)


def _period_start(current: int, up: Sequence[ScaleEvent], down: Sequence[ScaleEvent], now: float, period_s: int) -> int:
    return current - replicas_change_in_period(up, now, period_s) + replicas_change_in_period(down, now, period_s)


def scale_up_limit(
    current: int, up: Sequence[ScaleEvent], down: Sequence[ScaleEvent], rules: ScalingRules, now: float
) -> int:
    """``calculateScaleUpLimitWithScalingRules``: the most replicas the scale-up policies allow now.

    Per policy, from ``periodStartReplicas`` (current minus pods added plus pods removed within its
    period): Pods ``start + value``, Percent ``ceil(start * (1 + value / 100))``. ``Max`` takes
    the largest, ``Min`` the smallest, ``Disabled`` allows no scale-up.
    """
    if rules.select_policy == "Disabled":
        return current
    limits = []
    for policy in rules.policies:
        start = _period_start(current, up, down, now, policy.period_s)
        if policy.type == "Pods":
            limits.append(start + policy.value)
        else:
            limits.append(math.ceil(start * (1 + policy.value / 100)))
    return min(limits) if rules.select_policy == "Min" else max(limits)


def scale_down_limit(
    current: int, up: Sequence[ScaleEvent], down: Sequence[ScaleEvent], rules: ScalingRules, now: float
) -> int:
    """``calculateScaleDownLimitWithBehaviors``: the fewest replicas the scale-down policies allow now.

    Per policy, from ``periodStartReplicas``: Pods ``start - value``, Percent
    ``int32(start * (1 - value / 100))``, which *truncates* (5 pods at 50 % may go to 2). ``Max``
    (most change) takes the smallest, ``Min`` the largest, ``Disabled`` allows no scale-down.
    """
    if rules.select_policy == "Disabled":
        return current
    limits = []
    for policy in rules.policies:
        start = _period_start(current, up, down, now, policy.period_s)
        if policy.type == "Pods":
            limits.append(start - policy.value)
        else:
            limits.append(int(start * (1 - policy.value / 100)))
    return max(limits) if rules.select_policy == "Min" else min(limits)


def convert_with_behavior_rate(
    desired: int,
    current: int,
    min_replicas: int,
    max_replicas: int,
    behavior: Behavior,
    up: Sequence[ScaleEvent],
    down: Sequence[ScaleEvent],
    now: float,
) -> int:
    """``convertDesiredReplicasWithBehaviorRate``: ``desired`` within the policies' limits and min/max replicas."""
    if desired > current:
        limit = max(scale_up_limit(current, up, down, behavior.scale_up, now), current)
        return min(desired, max_replicas, limit)
    if desired < current:
        limit = min(scale_down_limit(current, up, down, behavior.scale_down, now), current)
        return max(desired, min_replicas, limit)
    return desired


def convert_with_rules(desired: int, current: int, min_replicas: int, max_replicas: int) -> int:
    """``convertDesiredReplicasWithRules`` (no ``behavior``): within min/max and at most
    ``calculateScaleUpLimit`` = ``max(2 * current, 4)`` per sync."""
    scale_up_limit_now = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
    if desired < min_replicas:
        return min_replicas
    return min(desired, max_replicas, scale_up_limit_now)


def store_scale_event(events: Sequence[ScaleEvent], now: float, change: int, longest_period_s: int) -> list[ScaleEvent]:
    """``storeScaleEvent`` / ``markScaleEventsOutdated``: record a rescale in one direction's list.

    Events older than the direction's longest policy period are outdated; the new event takes the
    place of the *last* outdated one, or is appended. Outdated events that are not overwritten stay
    in the list, and the other direction's longer periods still count them, as in the controller.
    """
    stored = list(events)
    outdated = [i for i, e in enumerate(stored) if e.time <= now - longest_period_s]
    event = ScaleEvent(now, change)
    if outdated:
        stored[outdated[-1]] = event
    else:
        stored.append(event)
    return stored
