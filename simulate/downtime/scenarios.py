"""The scenarios: what disturbs the traffic path at t = 0, each a function that sets up a
:class:`~simulate.downtime.model.Sim` (the fleets at their HPA minimum, Ready and registered long
before) and schedules the disturbance.

- ``app-rollout``: every app Deployment rolls (a new image) with its strategy, or the canary steps
  of the Argo Rollout that runs it;
- ``controller-rollout``: the ingress-nginx controller and the Envoy proxies roll (a chart or
  EnvoyProxy change);
- ``hpa-scale-down``: every HPA removes one pod (from its minimum + 1), the ReplicaSet's choice;
- ``node-drain``: ``kubectl drain`` of a node holding as many pods of each fleet as its zone
  spread allows there (``ceil(replicas / zones)``, or all with a soft spread), evicted against the
  PodDisruptionBudgets (refused evictions retried every 5 s), replaced elsewhere;
- ``controller-reload``: an Ingress is added (or a certificate an Ingress names is rotated): every
  ingress-nginx replica reloads;
- ``lbc-outage``: the controller rollout while the AWS Load Balancer Controller (its webhook and its
  reconciler) is down;
- ``cutover`` (both backends on): the listener moves every new session to one backend; sticky
  sessions stay until ``stickinessSeconds``; the drained backend is turned off once its last socket's
  budget is over; both directions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from config.delays import EVICTION_RETRY_SECONDS

from ..pods import Pod, pick_victims
from .backends import BACKENDS
from .model import Corner, Sim
from .strategies import ArgoCanary, RollingUpdate, Strategy
from .topology import ENVOY, NGINX, Fleet, Topology


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    setup: Callable[[Sim, str], None]
    applies: Callable[[Topology], bool] = lambda topology: True
    cases: Callable[[Topology], list[str]] = lambda topology: [""]
    """Variants run and checked separately (the cutover's two directions)."""


def _start(sim: Sim, extra: dict[str, int] | None = None) -> None:
    for fleet in sim.fleets():
        sim.add_initial(fleet, fleet.replicas + (extra or {}).get(fleet.name, 0))


def _roll(sim: Sim, fleets: list[Fleet]) -> None:
    for fleet in fleets:
        strategy: Strategy = ArgoCanary(fleet.canary) if fleet.canary is not None else RollingUpdate()
        sim.strategies[fleet.name] = strategy
        sim.at(0.0, partial(strategy.step, sim, fleet))


def app_rollout(sim: Sim, case: str = "") -> None:
    _start(sim)
    _roll(sim, sim.fleets("app"))


def controller_rollout(sim: Sim, case: str = "") -> None:
    _start(sim)
    _roll(sim, sim.topology.proxies())


def hpa_scale_down(sim: Sim, case: str = "") -> None:
    scaled = [f for f in sim.fleets() if f.hpa_min is not None]
    _start(sim, {f.name: 1 for f in scaled})
    for fleet in scaled:
        victims = pick_victims(sim.alive(fleet, 0.0), 1)
        for victim in victims:
            sim.at(0.0, partial(sim.delete, victim, 0.0, "HPA scale-down"))


def pods_on_node(fleet: Fleet, zones: int) -> int:
    """How many of a fleet's pods one node can hold: its share of a zone under a hard zone spread."""
    return math.ceil(fleet.replicas / zones) if fleet.zone_spread_hard else fleet.replicas


def node_drain(sim: Sim, case: str = "") -> None:
    _start(sim)
    for fleet in sim.fleets():
        for pod in sim.alive(fleet, 0.0)[: pods_on_node(fleet, sim.topology.zones)]:
            sim.at(0.0, partial(_evict, sim, fleet, pod))


DRAIN_GIVES_UP_S = 1800.0
"""The model stops retrying an eviction refused for this long: the drain never completes."""


def _evict(sim: Sim, fleet: Fleet, pod: Pod, since: float | None = None) -> None:
    """The eviction API: allowed while the PodDisruptionBudget keeps minAvailable healthy pods."""
    now = sim.now
    healthy = sum(1 for p in sim.alive(fleet, now) if p.ready <= now)
    if fleet.min_available is not None and healthy - (1 if pod.ready <= now else 0) < fleet.min_available:
        first = now if since is None else since
        if now - first >= DRAIN_GIVES_UP_S:
            sim.blocked.append((pod.name, first))
            return
        sim.log(now, "eviction refused (PodDisruptionBudget), retried", pod.name)
        sim.at(now + EVICTION_RETRY_SECONDS, partial(_evict, sim, fleet, pod, first))
        return
    sim.delete(pod, now, "node drain: evicted")
    sim.create(fleet, now, revision=0)  # the ReplicaSet replaces it on another node


def controller_reload(sim: Sim, case: str = "") -> None:
    _start(sim)
    reload_at = sim.delay("k8s.endpoints") + sim.delay("nginx.sync")
    for proxy in sim.nginx_proxies():
        proxy.reloads.append(reload_at)
        sim.log(reload_at, "nginx reload: old workers take no new connections", proxy.pod.name)


def lbc_outage(sim: Sim, case: str = "") -> None:
    sim.lbc_down = (0.0, sim.delay("lbc.outage"))
    sim.log(0.0, "AWS Load Balancer Controller down (webhook and reconciler)")
    sim.log(sim.lbc_down[1], "AWS Load Balancer Controller back")
    controller_rollout(sim, case)


def _cutover(sim: Sim, drained: str) -> None:
    _start(sim)
    kept = ENVOY if drained == NGINX else NGINX
    before = dict(sim.weights[0][1])
    sticky = sim.topology.stickiness_s
    sim.weights.append((0.0, {**before, kept: 100}))  # the drained backend keeps its weight for sticky sessions
    sim.weights.append((sticky, {drained: 0, kept: 100}))
    sim.log(0.0, f"listener: new sessions to {kept}; sticky sessions stay on {drained}")
    budget = max([r.socket_budget_s for r in sim.topology.routes if r.websocket] or [0.0])
    off = sticky + budget
    sim.log(off, f"{drained} turned off: its pods, binding and target group deleted")
    fleet = next(f for f in sim.topology.proxies() if f.backend == drained)
    sim.retired[fleet.name] = off
    for pod in sim.alive(fleet, 0.0):
        sim.at(off, partial(sim.delete, pod, off, f"{drained} turned off"))
    sim.group_deleted[drained] = off + sim.delay("lbc.reconcile")


def cutover(sim: Sim, case: str = "") -> None:
    _cutover(sim, NGINX if case == f"{NGINX} off" else ENVOY)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("app-rollout", "every app Deployment rolls to a new revision", app_rollout),
        Scenario("controller-rollout", "the routing backends' pods roll (ingress-nginx, Envoy proxies)",
                 controller_rollout),
        Scenario("hpa-scale-down", "every HPA removes one pod", hpa_scale_down),
        Scenario("node-drain", "a node is drained: its pods evicted against the PodDisruptionBudgets", node_drain),
        Scenario("controller-reload", "an Ingress is added: every ingress-nginx replica reloads", controller_reload),
        Scenario("lbc-outage", "the controller rollout while the AWS Load Balancer Controller is down", lbc_outage),
        Scenario("cutover", "the weighted move between ingress-nginx and Envoy Gateway, then one turned off",
                 cutover, lambda topology: topology.both_backends(), lambda topology: [f"{NGINX} off", f"{ENVOY} off"]),
    )
}


def new_sim(topology: Topology, scenario: Scenario, corner: Corner, case: str = "") -> Sim:
    sim = Sim(topology, corner, {b: BACKENDS[b] for b in topology.target_groups})
    scenario.setup(sim, case)
    sim.run()
    return sim
