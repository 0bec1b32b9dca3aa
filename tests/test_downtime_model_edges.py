"""The zero-downtime model's objects at their instants: the controller's outage window, the listener's
weights, a proxy's view of an app pod, which backend carries sockets, when a stopping proxy takes its last
request and exits, and what the reload, scale-down and cut-over scenarios schedule."""

from __future__ import annotations

import math
from dataclasses import replace

from simulate.downtime.backends import BACKENDS, EnvoyGateway, IngressNginx
from simulate.downtime.model import Corner, Proxy, Sim, Target
from simulate.downtime.scenarios import controller_reload, cutover, hpa_scale_down
from simulate.downtime.topology import ENVOY, NGINX, TargetGroup, Topology
from simulate.pods import Pod
from tests.test_downtime import API, BACKEND, CONTROLLER, SOCKETS, topology

ENVOY_FLEET = replace(CONTROLLER, name="envoy-proxy", kind=ENVOY, backend=ENVOY, shutdown_delay_s=75.0,
                      drain_s=105.0, post_shutdown_s=0.0)


def _sim(topo: Topology, delays: dict[str, float] | None = None) -> Sim:
    return Sim(topo, Corner(delays), {b: BACKENDS[b] for b in topo.target_groups})


def _both() -> Topology:
    base = topology()
    return replace(base, fleets={**base.fleets, ENVOY_FLEET.name: ENVOY_FLEET}, target_groups={
        **base.target_groups, ENVOY: TargetGroup(ENVOY, ENVOY_FLEET.name, 0, 60.0, 30.0, 2, 3)})


def test_the_controller_is_back_at_the_instant_its_outage_ends() -> None:
    sim = _sim(topology())
    sim.lbc_down = (0.0, 60.0)
    assert [sim.lbc_up(t) for t in (-0.1, 0.0, 59.9, 60.0)] == [True, False, False, True]


def test_a_weight_applies_from_its_instant() -> None:
    sim = _sim(topology())
    sim.weights.append((100.0, {NGINX: 0}))
    assert [sim.weight(NGINX, t) for t in (99.9, 100.0)] == [100, 0]


def test_a_proxy_routes_to_an_app_pod_no_earlier_than_its_own_containers_are_ready() -> None:
    sim = _sim(topology(), {"k8s.endpoints": 1.0, "nginx.sync": 2.0, "nginx.worker_pickup": 1.0})
    controller = Pod(0, created=0.0, started=0.0, running=0.0, ready=40.0, name="controller-0")
    sim.containers_ready[controller.name] = 30.0
    app = Pod(1, created=0.0, started=1.0, running=2.0, ready=10.0, deleted=50.0, name="app-1")
    assert sim.view(Proxy(controller, CONTROLLER), app) == (30.0, 54.0)


def test_only_a_backend_some_websocket_route_goes_through_carries_sockets() -> None:
    envoy_only = replace(SOCKETS, timeout_s={ENVOY: math.inf})
    sim = _sim(replace(_both(), routes=[API, envoy_only]))
    assert (sim.carries_sockets(NGINX), sim.carries_sockets(ENVOY)) == (False, True)


def test_behind_an_alb_nginx_takes_no_new_request_once_it_has_quit() -> None:
    sim = _sim(topology())
    pod = Pod(0, created=0.0, started=0.0, running=0.0, ready=0.0, name="ingress-nginx-controller-0")
    target = Target(pod.name, NGINX, registered=0.0, healthy=0.0, stop_new=70.0, drain_end=130.0)
    assert IngressNginx().accepts_until(sim, Proxy(pod, CONTROLLER, quit=50.0), target) == 50.0
    assert IngressNginx().accepts_until(sim, Proxy(pod, CONTROLLER, quit=90.0), target) == 70.0


def test_envoy_serves_at_least_its_min_drain_duration_and_behind_an_nlb_takes_one_more_request() -> None:
    """Envoy exits no earlier than minDrainDuration (75 s) after its drain starts, nor before the load
    balancer has released it, and at drainTimeout at the latest; behind an NLB a kept connection brings one
    more request until the drain starts."""
    sim = _sim(_both())
    pod = Pod(0, created=0.0, started=0.0, running=0.0, ready=0.0, name="envoy-proxy-0")
    sim.targets[pod.name] = Target(pod.name, ENVOY, registered=0.0, healthy=0.0, stop_new=5.0, drain_end=10.0)
    proxy = Proxy(pod, ENVOY_FLEET, drain_start=0.0, cut=105.0)
    assert EnvoyGateway().exit(sim, proxy, 5.0) == 75.0
    sim.targets[pod.name].drain_end = 90.0
    assert EnvoyGateway().exit(sim, proxy, 5.0) == 90.0
    nlb = _sim(replace(_both(), load_balancer="network"))
    nlb.targets[pod.name] = Target(pod.name, ENVOY, registered=0.0, healthy=0.0, stop_new=5.0, drain_end=10.0)
    late = Proxy(pod, ENVOY_FLEET, drain_start=20.0, cut=125.0)
    assert EnvoyGateway().accepts_until(nlb, late, nlb.targets[pod.name]) == 20.0


def test_a_reload_comes_once_the_ingress_reaches_the_controllers_sync() -> None:
    sim = _sim(topology(), {"k8s.endpoints": 1.0, "nginx.sync": 2.0})
    controller_reload(sim)
    assert [p.reloads for p in sim.nginx_proxies()] == [[3.0], [3.0]]


def test_only_fleets_an_hpa_scales_start_one_above_their_minimum() -> None:
    sim = _sim(topology(backend=replace(BACKEND, hpa_min=None)))
    hpa_scale_down(sim)
    assert {f: len(sim.alive(sim.topology.fleets[f], 0.0)) for f in sim.topology.fleets} == {
        "spywatcher-backend": 2, "ingress-nginx-controller": 3}


def test_a_drained_backend_is_turned_off_once_sticky_sessions_and_socket_budgets_are_over() -> None:
    """Stickiness 10800 s, then the socket route's budget (3600 s): the pods go at 14400 s and the target
    group with the controller's next reconcile (2 s)."""
    sim = _sim(_both(), {"lbc.reconcile": 2.0})
    cutover(sim, f"{NGINX} off")
    assert (sim.retired, sim.group_deleted) == ({"ingress-nginx-controller": 14400.0}, {NGINX: 14402.0})
    assert sim.weights[1:] == [(0.0, {NGINX: 100, ENVOY: 100}), (10800.0, {NGINX: 0, ENVOY: 100})]
