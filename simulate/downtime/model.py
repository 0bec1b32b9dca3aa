"""The timeline of one run: an event queue and the objects every layer keeps, with one value for each
delay (a :class:`Corner`).

Objects and their states (times in seconds from the scenario's start):

- **pods** (:class:`simulate.pods.Pod`, the HPA simulator's, with :class:`~simulate.pods.Shutdown`):
  created → containers ready (``pod.start`` + the probes) → Ready (its readiness gate True, when it
  has one) → Available (``minReadySeconds`` later) → deleted: preStop → SIGTERM → SIGKILL;
- **endpoints**: a pod is a ready endpoint ``k8s.endpoints`` after it turns Ready, until the same
  delay after its deletion (then terminating); the backends and the AWS Load Balancer Controller
  read the EndpointSlice;
- **proxies** (:class:`Proxy`): each ingress-nginx or Envoy replica's view of the app pods (its own
  sync delay behind the EndpointSlice; ingress-nginx stops updating it once told to stop), when it
  stops accepting (nginx quits; Envoy exits) and when it cuts what is left;
- **targets** (:class:`Target`): unused → initial (registered) → healthy → draining
  (DeregisterTargets) → unused, or unhealthy when a target stops answering the load balancer's
  health check without being deregistered; when the load balancer stops sending it new requests
  (the propagation delay after DeregisterTargets) and when its drain ends (the deregistration delay
  after that);
- **reloads** of ingress-nginx and **socket cohorts** are read off these by the properties.

What each backend does is :mod:`simulate.downtime.backends`; the Deployment's rollout is a pluggable
strategy (:mod:`simulate.downtime.strategies`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from config.delays import DELAYS
from config.delays import propagation as propagation_delay

from ..pods import LONG_AGO, NEVER, Pod, Shutdown
from .topology import NGINX, Fleet, TargetGroup, Topology


class Backend(Protocol):
    name: str
    reloads_close_connections: bool

    def sync_lag(self, sim: Sim) -> float:
        """From an EndpointSlice change until new requests follow it."""

    def stop(self, sim: Sim, proxy: Proxy, deleted: float) -> None:
        """The replica's pod was deleted at ``deleted``: set when it freezes, quits and cuts."""

    def accepts_until(self, sim: Sim, proxy: Proxy, target: Target) -> float:
        """The last instant the replica takes a new request from the load balancer."""

    def exit(self, sim: Sim, proxy: Proxy, last_request_end: float) -> float:
        """When the replica's process ends, given when its last admitted request ends."""


class ModelError(Exception):
    """The model reached a state it cannot handle (a bug in the model, not in the stack)."""


class Corner:
    """One value per delay for a run. Reading a delay no value was given for records it and returns
    its low end: the search (:mod:`simulate.downtime.search`) first runs once to learn which delays a
    scenario reads."""

    def __init__(self, values: dict[str, float] | None = None):
        self.values = dict(values or {})
        self.read: set[str] = set()
        self.missing: set[str] = set()

    def __getitem__(self, name: str) -> float:
        self.read.add(name)
        if name not in self.values:
            if name not in DELAYS:
                raise ModelError(f"no delay named {name}")
            self.missing.add(name)
            return DELAYS[name].low
        return self.values[name]

    def describe(self, names: set[str] | None = None) -> str:
        shown = sorted(self.read if names is None else names)
        return ", ".join(f"{n}={_num(self.values.get(n, DELAYS[n].low))}" for n in shown)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else "never"


def at(t: float) -> str:
    """An instant for a report: ``t=12.3 s``."""
    return f"t={_num(t)} s"


@dataclass
class Target:
    """A controller pod's target in its load balancer's target group."""

    pod: str
    backend: str
    registered: float = NEVER
    healthy: float = NEVER
    deregistered: float = NEVER
    """DeregisterTargets: the target is draining from here."""
    stop_new: float = NEVER
    """The load balancer sends it no new request (or connection) from here."""
    drain_end: float = NEVER
    """The deregistration delay is over: the load balancer closes what is left."""
    unhealthy: float = NEVER
    gated: bool = False

    def is_healthy(self, t: float) -> bool:
        return self.healthy <= t < min(self.deregistered, self.unhealthy)


@dataclass
class Proxy:
    """One ingress-nginx or Envoy replica, as the traffic path sees it."""

    pod: Pod
    fleet: Fleet
    frozen: float = NEVER
    """ingress-nginx stops applying endpoint changes from here (it has been told to stop)."""
    quit: float = NEVER
    """Stops accepting connections: nginx -s quit; Envoy's exit."""
    cut: float = NEVER
    """Force-closes the connections left: nginx's worker-shutdown-timeout after quit; Envoy's drainTimeout."""
    drain_start: float = NEVER
    reloads: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Event:
    t: float
    what: str
    objects: tuple[str, ...] = ()


class Sim:
    """One run of one scenario on one stack, at one corner."""

    def __init__(self, topology: Topology, corner: Corner, backends: dict[str, Backend]):
        self.topology = topology
        self.corner = corner
        self.backends = backends
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self.pods: dict[str, list[Pod]] = {name: [] for name in topology.fleets}
        self.revision: dict[str, int] = {}
        self.fleet_of: dict[str, Fleet] = {}
        self.available: dict[str, float] = {}
        self.containers_ready: dict[str, float] = {}
        self.proxies: dict[str, Proxy] = {}
        self.targets: dict[str, Target] = {}
        self.events: list[Event] = []
        self.lbc_down: tuple[float, float] = (NEVER, NEVER)
        """The AWS Load Balancer Controller (webhook and reconciler) is unavailable in [start, end)."""
        self.weights: list[tuple[float, dict[str, int]]] = [
            (LONG_AGO, {b: g.weight for b, g in topology.target_groups.items()})
        ]
        self.group_deleted: dict[str, float] = {}
        self.blocked: list[tuple[str, float]] = []
        """Pods whose eviction the PodDisruptionBudget never allowed (pod, refused since)."""
        self.retired: dict[str, float] = {}
        """Fleets removed on purpose (a backend turned off), from when: their budgets go with them."""
        self.strategies: dict[str, Any] = {}
        self.horizon = 0.0
        self.notes: list[str] = []
        self._delays: dict[str, float] = {}
        self.memo: dict[tuple[Any, ...], Any] = {}
        """What the properties compute more than once on a finished run (views, windows, timeouts)."""

    # --- the event loop ---------------------------------------------------------------------

    def at(self, t: float, action: Callable[[], None]) -> None:
        if not math.isfinite(t):
            return
        self._seq += 1
        heapq.heappush(self._queue, (t, self._seq, action))

    def run(self, limit: float = 10 * 86400) -> None:
        while self._queue:
            t, _, action = heapq.heappop(self._queue)
            if t > limit:
                raise ModelError(f"the run did not settle within {limit:g} s")
            self.now = max(self.now, t)
            action()
        self.horizon = max([self.now, *self._ends()])

    def _ends(self) -> list[float]:
        ends = [p.sigkill for pods in self.pods.values() for p in pods]
        ends += [t.drain_end for t in self.targets.values()]
        return [e for e in ends if math.isfinite(e)]

    def log(self, t: float, what: str, *objects: str) -> None:
        self.events.append(Event(t, what, objects))

    def delay(self, name: str) -> float:
        value = self._delays.get(name)
        if value is None:
            value = self._delays[name] = self.corner[name]
        return value

    # --- the AWS Load Balancer Controller -----------------------------------------------------

    def lbc_up(self, t: float) -> bool:
        return not (self.lbc_down[0] <= t < self.lbc_down[1])

    def lbc_acts(self, t: float) -> float:
        """When the controller acts on a change seen at ``t``: its reconcile delay, or once it is back."""
        start = t if self.lbc_up(t) else self.lbc_down[1]
        return start + self.delay("lbc.reconcile")

    def group(self, backend: str) -> TargetGroup:
        return self.topology.target_groups[backend]

    def lb_cut(self, target: Target) -> float:
        """When the load balancer closes the connections a draining target still holds: the end of its
        drain, or never (an NLB without connection termination leaves them to the proxy)."""
        return target.drain_end if self.group(target.backend).closes_at_drain_end else NEVER

    def released(self, target: Target) -> float:
        """From when the load balancer no longer needs the target's proxy to serve: the end of its
        drain, or, when it leaves open connections to the proxy, once it opens no new ones."""
        return target.drain_end if self.group(target.backend).closes_at_drain_end else target.stop_new

    def carries_sockets(self, backend: str) -> bool:
        """Some WebSocket route goes through the backend (its sockets hold a draining proxy)."""
        return any(r.websocket and backend in r.timeout_s for r in self.topology.routes)

    def weight(self, backend: str, t: float) -> int:
        current = 0
        for since, weights in self.weights:
            if since <= t:
                current = weights.get(backend, 0)
        return current

    # --- pods -------------------------------------------------------------------------------

    def add_initial(self, fleet: Fleet, count: int) -> list[Pod]:
        """Pods running and Ready since long before the scenario (targets healthy, gated as installed)."""
        made = []
        for _ in range(count):
            pod = self._new_pod(fleet, LONG_AGO, revision=0)
            pod.running = pod.ready = LONG_AGO
            pod.gated = fleet.gated_at_install and fleet.gate_label
            self.containers_ready[pod.name] = LONG_AGO
            self.available[pod.name] = LONG_AGO
            if fleet.backend is not None:
                self.proxies[pod.name] = Proxy(pod, fleet)
                self.targets[pod.name] = Target(pod.name, fleet.backend, LONG_AGO, LONG_AGO, gated=pod.gated)
            made.append(pod)
        return made

    def _new_pod(self, fleet: Fleet, created: float, revision: int) -> Pod:
        index = len(self.pods[fleet.name])
        pod = Pod(index, created, NEVER, NEVER, NEVER, name=f"{fleet.name}-{index}")
        self.pods[fleet.name].append(pod)
        self.revision[pod.name] = revision
        self.fleet_of[pod.name] = fleet
        return pod

    def create(self, fleet: Fleet, t: float, revision: int = 1) -> None:
        """The ReplicaSet asks for a new pod at ``t``; it exists once admission lets it."""
        targeted = fleet.backend is not None and fleet.gate_label
        if targeted and not self.lbc_up(t):
            if self.topology.webhook_failure_policy == "Fail":
                # The pod-mutating webhook is down and fails closed: the API server refuses the pod;
                # the ReplicaSet tries again, and succeeds once the controller is back.
                self.log(t, f"{fleet.name}: pod creation refused (readiness-gate webhook down, failurePolicy Fail)")
                self.at(self.lbc_down[1], lambda: self.create(fleet, self.lbc_down[1], revision))
                return
            gated = False
        else:
            gated = targeted
        pod = self._new_pod(fleet, t, revision)
        pod.gated = gated
        backend = self.backends.get(fleet.backend or "")
        start = t + self.delay("pod.start")
        probes = fleet.probe_low_s + self.delay("probe.phase") * (fleet.probe_high_s - fleet.probe_low_s)
        ready_containers = start + probes
        pod.started = start
        pod.running = start
        self.containers_ready[pod.name] = ready_containers
        self.log(t, f"created{'' if gated or not targeted else ' without the readiness gate'}", pod.name)
        if backend is None:
            self.at(ready_containers, lambda: self.turn_ready(pod, ready_containers))
            return
        proxy = Proxy(pod, fleet)
        self.proxies[pod.name] = proxy
        target = Target(pod.name, fleet.backend or "", gated=gated)
        self.targets[pod.name] = target
        # The AWS Load Balancer Controller registers a pod once its containers are ready, gate or not
        # (pkg/backend/endpoint_resolver.go: not-ready endpoints with ready containers are targets).
        seen = ready_containers + self.delay("k8s.endpoints")
        self.at(seen, lambda: self.register(pod, target, seen))
        if not gated:
            self.at(ready_containers, lambda: self.turn_ready(pod, ready_containers))

    def register(self, pod: Pod, target: Target, seen: float) -> None:
        if pod.deleted <= seen:
            return
        registered = self.lbc_acts(seen)
        target.registered = registered
        group = self.group(target.backend)
        first = registered + self.delay("tg.first_check") * group.interval_s
        target.healthy = first + (group.healthy_threshold - 1) * group.interval_s
        self.log(registered, "registered: initial", pod.name)
        self.log(target.healthy, "target healthy", pod.name)
        if pod.gated:
            # The gate turns True at the controller's next target-health poll (if it is up by then).
            polled = target.healthy + self.delay("lbc.health_poll")
            if not self.lbc_up(polled):
                polled = self.lbc_acts(polled)
            ready = max(polled, self.containers_ready[pod.name])
            self.at(ready, lambda: self.turn_ready(pod, ready))

    def turn_ready(self, pod: Pod, t: float) -> None:
        if pod.deleted <= t:
            return
        pod.ready = t
        self.log(t, "Ready" + (" (readiness gate True)" if pod.gated else ""), pod.name)
        fleet = self.fleet_of[pod.name]
        available = t + fleet.min_ready_s
        self.available[pod.name] = available
        self.at(available, lambda: self.changed(fleet))

    def changed(self, fleet: Fleet) -> None:
        strategy = self.strategies.get(fleet.name)
        if strategy is not None:
            strategy.step(self, fleet)

    def is_available(self, pod: Pod, t: float) -> bool:
        return self.available.get(pod.name, NEVER) <= t and pod.deleted > t

    def alive(self, fleet: Fleet, t: float, revision: int | None = None) -> list[Pod]:
        return [
            p
            for p in self.pods[fleet.name]
            if p.deleted > t and (revision is None or self.revision[p.name] == revision)
        ]

    def delete(self, pod: Pod, t: float, why: str) -> None:
        """The pod is deleted at ``t`` (a rollout, a scale-down, an eviction)."""
        if pod.deleted <= t:
            return
        fleet = self.fleet_of[pod.name]
        Shutdown(fleet.pre_stop_s, fleet.grace_s).stop(pod, t, self.delay("kubelet.notice"))
        self.log(t, f"deleted ({why})", pod.name)
        self.log(pod.sigterm, "SIGTERM", pod.name)
        self.log(pod.sigkill, "SIGKILL (grace period over)", pod.name)
        if fleet.backend is not None:
            self.deregister(self.targets[pod.name], t + self.delay("k8s.endpoints"))
            self.backends[fleet.backend].stop(self, self.proxies[pod.name], t)
        self.at(t, lambda: self.changed(fleet))

    def deregister(self, target: Target, seen: float) -> None:
        """The pod's endpoint went terminating at ``seen``: DeregisterTargets, then the load balancer's
        propagation and drain."""
        if target.registered == NEVER:
            return
        call = self.lbc_acts(seen)
        if target.registered >= call:  # never registered before it went
            target.registered = NEVER
            target.healthy = NEVER
            return
        group = self.group(target.backend)
        propagation = self.delay(propagation_delay(self.topology.load_balancer))
        target.deregistered = call
        target.stop_new = call + propagation
        target.drain_end = call + propagation + group.deregistration_delay_s
        self.log(call, "DeregisterTargets: draining", target.pod)
        self.log(target.stop_new, "load balancer sends no new requests", target.pod)
        self.log(target.drain_end, "deregistration delay over: unused", target.pod)

    def stop_answering(self, target: Target, t: float) -> None:
        """The target stops passing health checks at ``t``: unhealthy after unhealthyThreshold checks,
        unless it is deregistered first."""
        if target.deregistered <= t or target.registered == NEVER:
            return  # draining already: its health no longer matters
        group = self.group(target.backend)
        first = t + self.delay("tg.first_check") * group.interval_s
        target.unhealthy = first + (group.unhealthy_threshold - 1) * group.interval_s

    # --- what the properties read -------------------------------------------------------------

    def endpoint_ready(self, pod: Pod, t: float) -> bool:
        k = self.delay("k8s.endpoints")
        return pod.ready + k <= t < pod.deleted + k

    def receives(self, proxy: Proxy) -> tuple[float, float]:
        """When the load balancer sends this proxy new requests: from healthy until it stops (or,
        behind an NLB, while clients keep their connections to it). Read once the run is over."""
        key = ("receives", proxy.pod.name)
        if key not in self.memo:
            self.memo[key] = self._receives(proxy)
        return self.memo[key]

    def _receives(self, proxy: Proxy) -> tuple[float, float]:
        target = self.targets[proxy.pod.name]
        start = target.healthy
        end = self.backends[proxy.fleet.backend or ""].accepts_until(self, proxy, target)
        deleted = self.group_deleted.get(proxy.fleet.backend or "", NEVER)
        return start, min(end, deleted)

    def view(self, proxy: Proxy, app: Pod) -> tuple[float, float]:
        """When ``proxy`` routes new requests to ``app``: [added, removed). Read once the run is over."""
        key = ("view", proxy.pod.name, app.name)
        if key not in self.memo:
            self.memo[key] = self._view(proxy, app)
        return self.memo[key]

    def _view(self, proxy: Proxy, app: Pod) -> tuple[float, float]:
        if app.ready == LONG_AGO and app.deleted == NEVER:  # there all along: no delay to read
            return self.containers_ready[proxy.pod.name], NEVER
        backend = self.backends[proxy.fleet.backend or ""]
        lag = self.delay("k8s.endpoints") + backend.sync_lag(self)
        added = max(app.ready + lag, self.containers_ready[proxy.pod.name])
        removed = app.deleted + lag
        if added > proxy.frozen:
            return NEVER, NEVER
        if removed > proxy.frozen:
            removed = NEVER  # frozen before it learnt that the pod went
        return added, removed

    def fleets(self, kind: str | None = None) -> list[Fleet]:
        return [f for f in self.topology.fleets.values() if kind is None or f.kind == kind]

    def nginx_proxies(self) -> list[Proxy]:
        return [p for p in self.proxies.values() if p.fleet.backend == NGINX]
