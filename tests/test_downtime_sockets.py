"""Who closes the WebSockets, when, and what share of them had not had their budget
(:func:`simulate.downtime.properties.socket_closes`), on one app pod behind one ingress-nginx
replica, with one pod deleted by hand and every delay given, so that each close is worked out here.

A (proxy, app pod) pair opens sockets at a steady rate while the proxy routes to the pod; each socket
is owed the route's budget from its opening. A pair that has opened sockets for at least a budget
counts 1 in the total; a close at ``t`` of sockets opened in [lo, hi) ends early those opened after
``t - budget``: a share (hi - max(lo, t - budget)) / budget of a pair's sockets.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from simulate.downtime.backends import BACKENDS
from simulate.downtime.model import Corner, Sim
from simulate.downtime.properties import Close, socket_closes, websocket_budget
from simulate.downtime.topology import NGINX, Fleet, Route, TargetGroup, Topology

APP = Fleet(
    name="app", kind="app", replicas=1, max_surge=1, max_unavailable=0, min_ready_s=0.0, probe_low_s=10.0,
    probe_high_s=10.0, pre_stop_s=15.0, grace_s=30.0, min_available=None, hpa_min=None, zone_spread_hard=False,
)
PROXY = Fleet(
    name="ctl", kind=NGINX, replicas=1, max_surge=1, max_unavailable=0, min_ready_s=0.0, probe_low_s=10.0,
    probe_high_s=10.0, pre_stop_s=0.0, grace_s=3700.0, min_available=None, hpa_min=None, zone_spread_hard=False,
    backend=NGINX, gate_label=True, gated_at_install=True, shutdown_delay_s=75.0, drain_s=30.0, post_shutdown_s=10.0,
)
SOCKETS = Route("ws", ("app",), True, {NGINX: 200.0}, 200.0)
GROUP = TargetGroup(NGINX, "ctl", 100, 300.0, 10.0, 2, 3)
ZERO = {name: 0.0 for name in (
    "kubelet.notice", "k8s.endpoints", "nginx.sync", "nginx.worker_pickup", "lbc.reconcile", "alb.propagation",
    "app.socket_close",
)}


def run(deleted: str | None, app: Fleet = APP, proxy: Fleet = PROXY, route: Route = SOCKETS,
        group: TargetGroup = GROUP, reloads: tuple[float, ...] = (), delays: dict[str, float] | None = None,
        api_timeout_s: float | None = None, load_balancer: str = "application",
        lbc_down: tuple[float, float] | None = None, deleted_later: tuple[tuple[str, float], ...] = ()) -> Sim:
    """The app pod and the proxy pod, there since long before; ``deleted`` ("app" or "ctl") is deleted at
    0 s; nginx reloads at ``reloads``; with ``api_timeout_s``, a route "api" without WebSockets too;
    the AWS Load Balancer Controller is down in ``lbc_down``; each of ``deleted_later`` (a pod, an instant)
    is deleted too. Each fleet has its ``replicas`` pods (``app-0``, ``app-1``, ...)."""
    api = [] if api_timeout_s is None else [Route("api", ("app",), False, {NGINX: api_timeout_s}, 0.0)]
    topology = Topology(
        stack="hand-made", load_balancer=load_balancer, zones=1, fleets={app.name: app, proxy.name: proxy},
        routes=[*api, route], target_groups={group.backend: group}, webhook_failure_policy="Fail", stickiness_s=0.0,
    )
    sim = Sim(topology, Corner({**ZERO, **(delays or {})}), {group.backend: BACKENDS[group.backend]})
    if lbc_down is not None:
        sim.lbc_down = lbc_down
    for fleet in (app, proxy):
        sim.add_initial(fleet, fleet.replicas)
    if deleted is not None:
        sim.at(0.0, partial(sim.delete, sim.pods[deleted][0], 0.0, "by hand"))
    for pod, t in deleted_later:
        fleet_name, index = pod.rsplit("-", 1)
        sim.at(t, partial(sim.delete, sim.pods[fleet_name][int(index)], t, "by hand"))
    sim.proxies["ctl-0"].reloads.extend(reloads)
    sim.run()
    assert not sim.corner.missing
    return sim


APP_CLOSES = "closed by the app (close frame)"


def close(t: float, share: float, cause: str, allowed: bool) -> Close:
    """A close of the sockets from the proxy pod to the app pod."""
    return Close(t, share, cause, allowed, "ctl-0", "app-0")


def test_a_deleted_app_pod_closes_the_sockets_opened_within_a_budget_of_the_close() -> None:
    # Deleted at 0 s: the proxy drops it at once (every delay 0), SIGTERM after the 15 s preStop, the
    # close frames 1 s later (16 s). Sockets opened in [-200, 0) s: those since -184 s are closed early.
    closes, total = socket_closes(run("app", delays={"app.socket_close": 1.0}))
    assert closes == [close(16.0, 184 / 200, APP_CLOSES, True)]
    assert total == 1.0


def test_an_app_pod_killed_exactly_when_it_would_close_its_sockets_sends_no_close_frame() -> None:
    # Grace 16 s, preStop 15 s: SIGTERM at 15 s, and the kubelet leaves at least 2 s before SIGKILL
    # (17 s, not 16 s). An app that takes 2 s to close its sockets is killed the instant its close
    # frames were due; with 1 s (app.socket_close's high end) it closes them itself, within the grace.
    sim = run("app", app=replace(APP, grace_s=16.0), delays={"app.socket_close": 2.0})
    killed = Close(17.0, 183 / 200, "killed with the app pod (SIGKILL, no close frame)", False, "ctl-0", "app-0")
    assert socket_closes(sim) == ([killed], 1.0)
    assert websocket_budget(sim)[0].text == (
        "t=17 s: sockets ctl-0 → app-0 killed with the app pod (SIGKILL, no close frame), before their budget"
    )
    # 0.1 s faster and the app closes them itself.
    sim = run("app", app=replace(APP, grace_s=16.0), delays={"app.socket_close": 1.9})
    assert socket_closes(sim)[0] == [close(16.9, 183.1 / 200, APP_CLOSES, True)]
    sim = run("app", app=replace(APP, grace_s=16.0), delays={"app.socket_close": 1.0})
    assert socket_closes(sim)[0] == [close(16.0, 184 / 200, APP_CLOSES, True)]


def test_no_socket_opens_on_an_app_pod_after_its_sigterm() -> None:
    # A 2 s preStop, and the proxy drops the pod 5 s after its deletion (endpoints 1 s, sync 3 s, pickup
    # 1 s): sockets stop opening at SIGTERM (2 s), not at 5 s; closed at 3 s, those since -197 s early.
    sim = run("app", app=replace(APP, pre_stop_s=2.0), delays={
        "k8s.endpoints": 1.0, "nginx.sync": 3.0, "nginx.worker_pickup": 1.0, "app.socket_close": 1.0})
    assert socket_closes(sim) == ([Close(3.0, (2 + 197) / 200, APP_CLOSES, True, "ctl-0", "app-0")], 1.0)


def test_a_deleted_proxy_cuts_its_sockets_at_its_own_drain_timeout() -> None:
    # The proxy pod deleted at 0 s: nginx quits at 75 s and cuts what is left 30 s later (105 s); the
    # load balancer would close them only at 300 s (its deregistration delay). The load balancer stops
    # sending it new requests at 0 s, so its sockets opened in [-200, 0) s; those since -95 s are cut early.
    sim = run("ctl")
    assert socket_closes(sim) == ([close(105.0, 95 / 200, "cut by ctl-0's own drain timeout", False)], 1.0)
    assert websocket_budget(sim)[0].text == (
        "t=105 s: sockets ctl-0 → app-0 cut by ctl-0's own drain timeout, before their budget"
    )


@pytest.mark.parametrize(("change", "first"), [
    # The load balancer's drain ends at 60 s: it closes them (allowed), those since -140 s early.
    ({"group": replace(GROUP, deregistration_delay_s=60.0)},
     close(60.0, 140 / 200, "closed by the load balancer at the end of the target's drain", True)),
    # Drain and cut at the same instant: the load balancer's close comes first.
    ({"group": replace(GROUP, deregistration_delay_s=105.0)},
     close(105.0, 95 / 200, "closed by the load balancer at the end of the target's drain", True)),
    # A grace period of 90 s: SIGKILL before the drain timeout.
    ({"proxy": replace(PROXY, grace_s=90.0)},
     Close(90.0, 110 / 200, "killed with ctl-0 (SIGKILL)", False, "ctl-0", "app-0")),
])
def test_the_first_closer_of_a_deleted_proxys_sockets(change: dict[str, Any], first: Close) -> None:
    assert socket_closes(run("ctl", **change)) == ([first], 1.0)


def test_a_proxy_killed_before_the_load_balancer_stops_sending_cuts_every_socket_it_has() -> None:
    # Grace 5 s: SIGKILL at 5 s, while the load balancer still sends it new requests until 10 s (its
    # propagation): every socket opened in the budget before the kill is cut, a share of exactly 1.
    sim = run("ctl", proxy=replace(PROXY, grace_s=5.0), delays={"alb.propagation": 10.0})
    assert socket_closes(sim) == ([Close(5.0, 1.0, "killed with ctl-0 (SIGKILL)", False, "ctl-0", "app-0")], 1.0)


def test_sockets_closed_exactly_a_budget_after_the_last_opened_had_their_budget() -> None:
    # The load balancer stops sending at 0 s and closes at 200 s (nginx would cut at 75 + 200 s): the
    # last socket opened at 0 s has had its 200 s, no close is early.
    sim = run("ctl", proxy=replace(PROXY, drain_s=200.0), group=replace(GROUP, deregistration_delay_s=200.0))
    assert socket_closes(sim) == ([], 1.0)


def test_each_reload_cuts_the_sockets_opened_since_the_one_before() -> None:
    # Reloads at 10 s and 20 s: the old workers of each cut what they hold 30 s later (40 s, 50 s).
    # At 40 s, the sockets opened in [-160, 10) s are early; at 50 s, all those opened in [10, 20) s.
    # Those opened since 20 s stay (nothing else closes them).
    reload = "cut by the old nginx workers 30 s after a reload"
    assert socket_closes(run(None, reloads=(10.0, 20.0))) == (
        [close(40.0, 170 / 200, reload, False), close(50.0, 10 / 200, reload, False)],
        1.0,
    )


def test_sockets_the_app_closes_before_a_reloads_cut_are_closed_by_the_app() -> None:
    # The app pod deleted at 0 s, dropped by the proxy at 5 s (endpoints 1 s, sync 3 s, pickup 1 s),
    # nginx reloads at 2 s: its old workers would cut at 32 s, but the app closes at 16 s (SIGTERM at
    # 15 s + 1 s) both the sockets opened before the reload (since -184 s: 186 s) and after it (3 s).
    sim = run("app", reloads=(2.0,), delays={
        "k8s.endpoints": 1.0, "nginx.sync": 3.0, "nginx.worker_pickup": 1.0, "app.socket_close": 1.0})
    assert socket_closes(sim) == (
        [close(16.0, 186 / 200, APP_CLOSES, True), close(16.0, 3 / 200, APP_CLOSES, True)],
        1.0,
    )


def test_deleting_the_target_group_cuts_its_sockets() -> None:
    # The target group goes at 50 s (a cutover's end): the load balancer sends nothing from then on, and
    # every socket opened in [-150, 50) s is cut before its budget.
    sim = run(None)
    sim.group_deleted[NGINX] = 50.0
    cut = close(50.0, 200 / 200, "cut when target group nginx is deleted", False)
    assert socket_closes(sim) == ([cut], 1.0)


def test_a_websocket_route_without_a_budget_owes_its_sockets_nothing() -> None:
    # Even with the pod routed to for 5 s after its deletion, the pair is not counted in the total.
    slow_view = {"k8s.endpoints": 1.0, "nginx.sync": 3.0, "nginx.worker_pickup": 1.0}
    assert socket_closes(run("app", route=replace(SOCKETS, socket_budget_s=0.0), delays=slow_view)) == ([], 0.0)
    # Nor does a route without WebSockets, whatever its budget.
    assert socket_closes(run("app", route=replace(SOCKETS, websocket=False))) == ([], 0.0)


@pytest.mark.parametrize(("second", "found"), [
    # app-1 deleted 4.9 s after app-0: its sockets close at 20.9 s, inside the 5 s window from 16 s,
    # and the two closes together (each 184/200 of two pairs' sockets, 4 pairs in all) pass one
    # replica's share.
    (4.9, ["t=16 s: 92% of the sockets are closed before their budget within 5 s (at most 50%, one replica's "
           "share): ctl-0 → app-0, ctl-0 → app-1, ctl-1 → app-0, ctl-1 → app-1"]),
    # 5 s after: the window from 16 s ends at 21 s exclusive; each close alone is 46 %.
    (5.0, []),
])
def test_sockets_closed_within_one_reconnect_window_count_together(second: float, found: list[str]) -> None:
    sim = run("app", app=replace(APP, replicas=2), proxy=replace(PROXY, replicas=2), deleted_later=(("app-1", second),),
              delays={"app.socket_close": 1.0})
    closes, total = socket_closes(sim)
    assert total == 4.0
    assert sorted((c.t, c.proxy, c.app, c.share) for c in closes) == [
        (16.0, "ctl-0", "app-0", 184 / 200), (16.0, "ctl-1", "app-0", 184 / 200),
        (16.0 + second, "ctl-0", "app-1", 184 / 200), (16.0 + second, "ctl-1", "app-1", 184 / 200),
    ]
    assert [v.text for v in websocket_budget(sim)] == found


@pytest.mark.parametrize(("deleted", "found"), [
    # Four app pods behind two proxies: the bound is the larger of one app pod's share (25 %) and one
    # proxy's (50 %). app-0 and app-1 close all their sockets (no preStop, no close delay) 1 s apart:
    # half the sockets, exactly one proxy's share.
    (1, []),
    # app-2 too, 2 s after app-0: three quarters.
    (2, ["t=0 s: 75% of the sockets are closed before their budget within 5 s (at most 50%, one replica's share): "
         "ctl-0 → app-0, ctl-0 → app-1, ctl-0 → app-2, ctl-1 → app-0, ctl-1 → app-1, ctl-1 → app-2"]),
])
def test_the_reconnect_bound_is_the_largest_share_of_one_replica_of_any_fleet(deleted: int, found: list[str]) -> None:
    sim = run("app", app=replace(APP, replicas=4, pre_stop_s=0.0), proxy=replace(PROXY, replicas=2),
              deleted_later=tuple((f"app-{i}", float(i)) for i in range(1, deleted + 1)))
    closes, total = socket_closes(sim)
    assert (len(closes), total) == (2 * (deleted + 1), 8.0)
    assert {c.share for c in closes} == {1.0}
    assert [v.text for v in websocket_budget(sim)] == found


@pytest.mark.parametrize(("reload", "first"), [
    # The app pod deleted at 0 s with a 60 s preStop: dropped at once, so its sockets opened in
    # [-200, 0) s; nginx reloads at 1 s, after the last one opened: the old workers still hold them
    # and cut them at 31 s, long before the app would close them (61 s): those since -169 s early.
    (1.0, close(31.0, 169 / 200, "cut by the old nginx workers 30 s after a reload", False)),
    # A reload at the very instant the last socket opened hands them over too.
    (0.0, close(30.0, 170 / 200, "cut by the old nginx workers 30 s after a reload", False)),
    # A reload at 40 s would cut at 70 s: the app closes them first.
    (40.0, close(61.0, 139 / 200, APP_CLOSES, True)),
])
def test_a_reload_after_the_last_socket_opened_still_cuts_the_open_ones(reload: float, first: Close) -> None:
    sim = run("app", app=replace(APP, pre_stop_s=60.0, grace_s=90.0), reloads=(reload,),
              delays={"app.socket_close": 1.0})
    assert socket_closes(sim) == ([first], 1.0)
