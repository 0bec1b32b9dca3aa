"""Each pod of the workload, from the sync that creates it until the sync that deletes it.

A pod created by a scale-up goes through the steps a real one does, each a configured delay
(:class:`Startup`):

1. **node**: if the scale-up exceeds the spare room on the existing nodes (``spare_pods``), the pod
   is Pending, unschedulable, until a new node is ready ``node_provisioning_s`` later (Cluster
   Autoscaler or Karpenter launching an instance and the node joining); the new node has room for
   it from then on. Nodes are never removed during a run (the Cluster Autoscaler waits at least
   10 minutes before removing an unneeded node).
2. **scheduling**: ``scheduling_s`` from creation (or from the node being ready) until the pod is
   bound and the kubelet starts it: ``status.startTime`` is set and the Ready condition is added
   as False. The phase is Pending.
3. **image pull**: ``image_pull_s`` more until the containers run: phase Running. The kubelet's
   CPU counters start here.
4. **probes**: ``probes_s`` more until the Ready condition turns True (its lastTransitionTime).
   With ``--stack``, from the stack's probes (:func:`~simulate.stack.probe_startup_s`).

The pods present at t = 0 have been running and Ready since long before. A scale-down deletes pods
at once, as the ReplicaSet controller picks them (``getPodsToDelete`` / ``ActivePods``): not yet
Ready first, then the most recently Ready; a deleted pod leaves the list the controller sees.

A deleted pod then stops as :class:`Shutdown` says (the zero-downtime model, ``simulate/downtime``,
follows it past deletion): its kubelet runs the preStop hook, sends SIGTERM when the hook ends and
SIGKILL when the grace period, counted from the hook's start, is over. The same model adds the
target-health readiness gate: a gated pod is Ready only once its gate is True, after its containers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .hpa import SimulationError

NEVER = math.inf
LONG_AGO = -math.inf


@dataclass(frozen=True)
class Startup:
    """How long each step of a new pod's start takes, in seconds."""

    probes_s: float
    scheduling_s: float = 0.0
    image_pull_s: float = 0.0
    node_provisioning_s: float = 0.0
    spare_pods: int | None = None
    """Pods that fit on the existing nodes beyond the initial ones; None: always room."""

    def __post_init__(self) -> None:
        for name in ("probes_s", "scheduling_s", "image_pull_s", "node_provisioning_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                step = name.removesuffix("_s").replace("_", " ")
                raise SimulationError(f"the {step} delay must be 0 or more seconds, not {value:g}")
        if self.spare_pods is not None and self.spare_pods < 0:
            raise SimulationError(f"the spare pod capacity must be 0 or more, not {self.spare_pods}")

    @property
    def total_s(self) -> float:
        """Creation to Ready when a node has room."""
        return self.scheduling_s + self.image_pull_s + self.probes_s


@dataclass
class Pod:
    """One pod's timeline; times are seconds on the simulation clock."""

    index: int
    created: float
    started: float
    """``status.startTime``: bound to a node and picked up by the kubelet; Ready condition False from here."""
    running: float
    """Phase Running: the containers (and their CPU counters) have started."""
    ready: float
    """The Ready condition turned True (its lastTransitionTime)."""
    waited_for_node: bool = False
    deleted: float = NEVER
    weight: float = 1.0
    """Its share of the demand relative to the other Ready pods (the pipeline's imbalance)."""
    name: str = ""
    gated: bool = False
    """It carries the AWS Load Balancer Controller's target-health readiness gate."""
    sigterm: float = NEVER
    sigkill: float = NEVER

    def phase(self, now: float) -> str:
        return "Running" if now >= self.running else "Pending"

    def is_ready(self, now: float) -> bool:
        return now >= self.ready

    def is_serving(self, now: float) -> bool:
        """Ready and not being deleted: what an EndpointSlice lists as a ready endpoint."""
        return self.ready <= now < self.deleted

    def label(self) -> str:
        return self.name or f"pod-{self.index}"


@dataclass(frozen=True)
class Shutdown:
    """How a pod stops once its kubelet has seen the deletion: the preStop hook runs for
    ``pre_stop_s`` (a sleep, or nothing) but no longer than ``grace_s``
    (``terminationGracePeriodSeconds``, counted from the hook's start), SIGTERM follows, and SIGKILL
    comes when the grace period is over, yet never sooner than 2 s after SIGTERM (killContainer's
    ``minimumGracePeriodInSeconds``: "always give containers a minimal shutdown window";
    kubernetes/kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go @ v1.34.0)."""

    pre_stop_s: float
    grace_s: float

    MINIMUM_AFTER_SIGTERM_S = 2.0

    def stop(self, pod: Pod, deleted: float, kubelet_notice_s: float) -> None:
        """Mark ``pod`` deleted at ``deleted`` and set when its signals come."""
        start = deleted + kubelet_notice_s
        pod.deleted = deleted
        pod.sigterm = start + min(self.pre_stop_s, self.grace_s)
        pod.sigkill = max(start + self.grace_s, pod.sigterm + self.MINIMUM_AFTER_SIGTERM_S)


@dataclass
class PodSet:
    """The workload's pods and the room the nodes have for them."""

    startup: Startup
    pods: list[Pod] = field(default_factory=list)
    all_pods: list[Pod] = field(default_factory=list)
    room: float = math.inf

    @classmethod
    def initial(cls, count: int, startup: Startup) -> PodSet:
        pods = [Pod(i, LONG_AGO, LONG_AGO, LONG_AGO, LONG_AGO) for i in range(count)]
        room = math.inf if startup.spare_pods is None else count + startup.spare_pods
        return cls(startup=startup, pods=list(pods), all_pods=list(pods), room=room)

    def __len__(self) -> int:
        return len(self.pods)

    def ready_count(self, now: float) -> int:
        return sum(1 for p in self.pods if p.ready <= now)

    def scale_to(self, count: int, now: float) -> tuple[list[Pod], list[Pod]]:
        """Create or delete pods so that ``count`` remain; returns the pods created and deleted."""
        if count < len(self.pods):
            victims = pick_victims(self.pods, len(self.pods) - count)
            for pod in victims:
                pod.deleted = now
            self.pods = [p for p in self.pods if p.deleted > now]
            return [], victims
        created = []
        startup = self.startup
        for _ in range(count - len(self.pods)):
            waited = len(self.pods) >= self.room
            scheduled = now + (startup.node_provisioning_s if waited else 0.0)
            if waited:
                self.room += 1
            started = scheduled + startup.scheduling_s
            running = started + startup.image_pull_s
            pod = Pod(len(self.all_pods), now, started, running, running + startup.probes_s, waited)
            self.pods.append(pod)
            self.all_pods.append(pod)
            created.append(pod)
        return created, []


def pick_victims(pods: list[Pod], n: int) -> list[Pod]:
    """The ``n`` pods a ReplicaSet deletes first (``ActivePods`` order, simplified): the latest to
    turn Ready first, so pods not yet Ready go before Ready ones; among equals the newest."""
    return sorted(pods, key=lambda p: (-p.ready, -p.index))[:n]
