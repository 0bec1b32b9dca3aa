"""How a fleet's pods are replaced in a rollout: pluggable strategies, each a ``step`` the model calls
whenever one of the fleet's pods turns available or is deleted.

:class:`RollingUpdate` is the Deployment controller's (kubernetes/kubernetes
pkg/controller/deployment/rolling.go): new pods up to ``replicas + maxSurge``, old pods removed while
the available ones stay at ``replicas - maxUnavailable`` or more; terminating pods count for
neither. Another strategy (an Argo Rollouts canary's steps, say) is one more class with the same
``step`` and an entry in :data:`STRATEGIES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..pods import pick_victims

if TYPE_CHECKING:
    from .model import Sim
    from .topology import Fleet


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


STRATEGIES: dict[str, type[Strategy]] = {"RollingUpdate": RollingUpdate}
