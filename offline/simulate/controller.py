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
from collections.abc import Callable, Sequence
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


def metric_proposal(
    current: int, ready: int, unready: int, ratio_over: Callable[[int], float], tolerances: Tolerances
) -> int:
    """``GetResourceReplicas`` / ``calcPlainMetricReplicas``: one metric's proposed replica count.

    ``ratio_over(n)`` is the usage ratio with the measured usage spread over ``n`` pods: the ready
    pods carry all of it and the other ``n - ready`` count as 0 %.

    The controller groups pods (``groupPods``) into ready, unready (Pending, or for CPU not yet
    Ready), missing (no sample yet) and ignored (being deleted or failed). This simulator has only
    two kinds: ready pods, whose samples are the trace's total divided among them, and pods still
    starting, which it treats as *unready* for every metric: a starting pod has not served traffic
    and usually has no sample. The rules that follow are then exactly the controller's:

    - no unready pods, or usage at or below target: ``ceil(ratio * ready)`` unless the ratio is
      within the tolerance band (on a scale-down the unready pods are simply left out);
    - a scale-up with unready pods: they count as using 0 % (``scaleUpWithUnready``) and the ratio
      is recomputed over ready + unready pods; if that ratio falls within the tolerance or below
      1.0 (the direction would flip), the count stays as it is; otherwise it is
      ``ceil(new_ratio * (ready + unready))``.

    The missing-pod rules (on a scale-down, count them at 100 % of the request or at the target)
    never apply, since the simulator has no pods without samples. Nor does the controller's last
    check (a scale-up result below the current count), since here every pod is counted.
    """
    ratio = ratio_over(ready)
    if unready == 0 or ratio <= 1.0:
        return current if tolerances.within(ratio) else math.ceil(ratio * ready)
    counted = ready + unready
    new_ratio = ratio_over(counted)
    if tolerances.within(new_ratio) or new_ratio < 1.0:
        return current
    return math.ceil(new_ratio * counted)


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
