"""How a fleet's pods are replaced in a rollout: pluggable strategies, each a ``step`` the model calls
whenever one of the fleet's pods turns available or is deleted.

:class:`RollingUpdate` is the Deployment controller's (kubernetes/kubernetes
pkg/controller/deployment/rolling.go): new pods up to ``replicas + maxSurge``, old pods removed while
the available ones stay at ``replicas - maxUnavailable`` or more; terminating pods count for
neither. :class:`ArgoCanary` is an Argo Rollouts canary's steps, for a fleet a Rollout runs
(``Fleet.canary``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

from ..pods import pick_victims

if TYPE_CHECKING:
    from .model import Sim
    from .topology import CanaryPlan, Fleet


class Strategy(Protocol):
    def step(self, sim: Sim, fleet: Fleet) -> None:
        """Create or delete pods of ``fleet`` at ``sim.now``, as the controller would."""


@dataclass
class RollingUpdate:
    """``spec.strategy.rollingUpdate`` of a Deployment, the fleet's surge and unavailability."""

    def step(self, sim: Sim, fleet: Fleet) -> None:
        now = sim.now
        old, new = sim.alive(fleet, now, revision=0), sim.alive(fleet, now, revision=1)
        create = min(fleet.replicas + fleet.max_surge - len(old) - len(new), fleet.replicas - len(new))
        for _ in range(max(0, create)):
            sim.create(fleet, now)
        available = sum(1 for p in old + new if sim.is_available(p, now))
        removable = min(len(old), available - (fleet.replicas - fleet.max_unavailable))
        for pod in pick_victims(old, max(0, removable)):
            sim.delete(pod, now, "rollout")


@dataclass
class ArgoCanary:
    """An Argo Rollouts canary with traffic routing (argoproj/argo-rollouts v1.9.1 rollout/canary.go,
    utils/replicaset/canary.go CalculateReplicaCountsForTrafficRoutedCanary): a weight step scales the
    canary ReplicaSet (revision 1) to ceil(weight x replicas) and, once those pods are available and the
    weight is set, with `dynamicStableScale` the stable one down to ceil((100 - weight) x replicas); a
    pause or an analysis waits its time; after the last step the canary goes to full size, the stable
    Service moves to it, and the old pods are deleted `scaleDownDelaySeconds` later."""

    plan: CanaryPlan
    index: int = 0
    waiting_until: float | None = None
    promoted: bool = False

    def step(self, sim: Sim, fleet: Fleet) -> None:
        if self.promoted:
            return
        now = sim.now
        while self.index < len(self.plan.steps):
            kind, value = self.plan.steps[self.index]
            if kind == "wait":
                if self.waiting_until is None:
                    self.waiting_until = now + value
                    sim.log(now, f"canary step {self.index}: waits {value:g} s", fleet.name)
                    sim.at(self.waiting_until, lambda: self.step(sim, fleet))
                    return
                if now < self.waiting_until:
                    return
                self.waiting_until = None
            elif not self._weight(sim, fleet, value):
                return
            self.index += 1
        if not self._weight(sim, fleet, 100.0):
            return
        self.promoted = True
        at = now + self.plan.scale_down_delay_s
        sim.log(now, f"canary promoted: stable Service moved, old pods deleted at {at:g} s", fleet.name)
        for pod in sim.alive(fleet, now, revision=0):
            sim.at(at, partial(sim.delete, pod, at, "canary promoted: old stable scaled down"))

    def _weight(self, sim: Sim, fleet: Fleet, weight: float) -> bool:
        """Scale the canary for ``weight``; True once its pods are available and the stable scaled."""
        now = sim.now
        canary = sim.alive(fleet, now, revision=1)
        wanted = math.ceil(weight * fleet.replicas / 100)
        for _ in range(wanted - len(canary)):
            sim.create(fleet, now)
        if sum(1 for p in sim.alive(fleet, now, revision=1) if sim.is_available(p, now)) < wanted:
            return False
        if self.plan.dynamic_stable_scale and weight < 100:
            stable = sim.alive(fleet, now, revision=0)
            keep = math.ceil((100 - weight) * fleet.replicas / 100)
            for pod in pick_victims(stable, max(0, len(stable) - keep)):
                sim.delete(pod, now, f"canary at {weight:g} %: stable scaled down")
        return True


STRATEGIES: dict[str, type[Strategy]] = {"RollingUpdate": RollingUpdate}
