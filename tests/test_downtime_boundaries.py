"""Each property's comparison at its boundary, on the one app pod behind one ingress-nginx replica of
tests/test_downtime_sockets.py (every delay given, one pod deleted by hand at 0 s): at the instant
the property allows, it holds; a step past it, it fails with its sentence."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from simulate.downtime.model import Target
from simulate.downtime.properties import (
    Violation,
    _state,
    grace_covers_drain,
    healthy_target_always,
    no_request_after_sigterm,
    requests_finish_before_sigkill,
)
from simulate.downtime.topology import ENVOY, NGINX
from tests.test_downtime_sockets import GROUP, PROXY, SOCKETS, run


def texts(violations: list[Violation]) -> list[str]:
    return [v.text for v in violations]


def test_nginx_may_quit_exactly_when_the_load_balancer_stops_sending() -> None:
    # The proxy pod deleted at 0 s: the load balancer stops sending 10 s later (the ALB's propagation);
    # nginx quits after its shutdown grace period.
    on_time = run("ctl", proxy=replace(PROXY, shutdown_delay_s=10.0), delays={"alb.propagation": 10.0})
    assert no_request_after_sigterm(on_time) == []
    early = run("ctl", proxy=replace(PROXY, shutdown_delay_s=9.0), delays={"alb.propagation": 10.0})
    assert texts(no_request_after_sigterm(early)) == [
        "t=9 s: nginx quit on ctl-0, but the load balancer sends it new requests until 10 s"
    ]


def test_behind_an_nlb_a_quit_nginx_gets_new_connections_until_its_target_is_unhealthy() -> None:
    # nginx quits at once (no shutdown grace period), before the target is even deregistered (2 s: the
    # controller's reconcile): its health checks fail from then on, unhealthy after 3 checks 10 s apart
    # (0 s, 10 s, 20 s), long before the NLB would stop sending (2 + 120 s of propagation).
    sim = run("ctl", proxy=replace(PROXY, shutdown_delay_s=0.0), load_balancer="network",
              delays={"lbc.reconcile": 2.0, "nlb.propagation": 120.0, "tg.first_check": 0.0})
    assert texts(no_request_after_sigterm(sim)) == [
        "t=0 s: nginx quit on ctl-0, but the load balancer sends it new connections until 20 s"
    ]
    # Quitting at 2 s, the instant it is deregistered: a draining target's health no longer counts, and
    # the NLB sends new connections until its propagation is over.
    sim = run("ctl", proxy=replace(PROXY, shutdown_delay_s=2.0), load_balancer="network",
              delays={"lbc.reconcile": 2.0, "nlb.propagation": 120.0, "tg.first_check": 0.0})
    assert texts(no_request_after_sigterm(sim)) == [
        "t=2 s: nginx quit on ctl-0, but the load balancer sends it new connections until 122 s"
    ]


def test_a_request_may_run_exactly_until_the_deleted_proxy_cuts_its_connections() -> None:
    # The proxy pod deleted at 0 s takes its last request at 0 s (the load balancer stops sending at
    # once) and cuts what is left at 105 s (nginx quits at 75 s, worker-shutdown-timeout 30 s).
    assert requests_finish_before_sigkill(run("ctl", api_timeout_s=105.0)) == []
    assert texts(requests_finish_before_sigkill(run("ctl", api_timeout_s=106.0))) == [
        "t=105 s: ctl-0's connections are cut while a request it took at 0 s may run until 106 s "
        "(route api allows 106 s)"
    ]


def test_a_request_may_run_exactly_as_long_as_the_old_workers_keep_it_after_a_reload() -> None:
    # nginx reloads at 10 s; its old workers close what they hold 30 s later (worker-shutdown-timeout).
    assert requests_finish_before_sigkill(run(None, reloads=(10.0,), api_timeout_s=30.0)) == []
    assert texts(requests_finish_before_sigkill(run(None, reloads=(10.0,), api_timeout_s=31.0))) == [
        "t=40 s: the old nginx workers of ctl-0 (reloaded at 10 s) close their connections after "
        "worker-shutdown-timeout (30 s) while a request taken before the reload may run 31 s (route api)"
    ]


@pytest.mark.parametrize(("load_balancer", "fails_open"), [
    ("application", "; the ALB fails open to every target"),
    ("network", ""),
])
def test_a_target_unhealthy_before_it_is_deregistered_leaves_none_healthy(load_balancer: str, fails_open: str) -> None:
    # nginx quits at once while the AWS Load Balancer Controller is down until 60 s: the target fails
    # its health checks (unhealthy at 20 s: 3 checks 10 s apart) before anything deregisters it. An ALB
    # with every target unhealthy sends to all of them; an NLB does not say so.
    sim = run("ctl", proxy=replace(PROXY, shutdown_delay_s=0.0), load_balancer=load_balancer, lbc_down=(0.0, 60.0),
              delays={"tg.first_check": 0.0, "alb.propagation": 0.0, "nlb.propagation": 0.0})
    assert texts(healthy_target_always(sim)) == [
        f"t=20 s: target group nginx has no healthy target until the end of the run (ctl-0: unhealthy){fails_open}"
    ]


def test_a_targets_state_at_each_edge() -> None:
    target = Target("ctl-0", "nginx", registered=0.0, healthy=10.0, deregistered=20.0, drain_end=80.0)
    assert [_state(target, t) for t in (-1.0, 0.0, 9.9, 10.0, 19.9, 20.0, 79.9, 80.0)] == [
        "unused", "initial", "initial", "healthy", "healthy", "draining", "draining", "unused"
    ]
    sick = Target("ctl-1", "nginx", registered=0.0, healthy=10.0, unhealthy=30.0, deregistered=40.0, drain_end=100.0)
    assert [_state(sick, t) for t in (29.9, 30.0, 39.9, 40.0)] == ["healthy", "unhealthy", "unhealthy", "draining"]


def test_nginx_may_quit_exactly_when_the_load_balancers_drain_ends() -> None:
    # The proxy pod deleted at 0 s: nginx quits at 75 s (its shutdown grace period); the ALB drains the
    # target for its deregistration delay from 0 s.
    assert grace_covers_drain(run("ctl", group=replace(GROUP, deregistration_delay_s=75.0))) == []
    assert texts(grace_covers_drain(run("ctl", group=replace(GROUP, deregistration_delay_s=76.0)))) == [
        "t=75 s: ctl-0 stops serving (nginx quits) while the load balancer drains it until 76 s"
    ]
    # An NLB that leaves connections open needs nginx until it opens no new ones (its propagation).
    leaves_open = replace(GROUP, closes_at_drain_end=False)
    assert texts(grace_covers_drain(run("ctl", group=leaves_open, load_balancer="network",
                                        delays={"nlb.propagation": 76.0}))) == [
        "t=75 s: ctl-0 stops serving (nginx quits) while the load balancer opens connections to it until 76 s"
    ]
    # There, nginx holds its WebSockets until its own worker-shutdown-timeout (30 s after quitting) and
    # exits 10 s later: 115 s, past a 100 s grace period. With only a plain route (10 s requests) it has
    # nothing to hold once its last request, taken at 0 s, is over: it exits at 85 s.
    nlb: dict[str, Any] = {"group": leaves_open, "load_balancer": "network", "delays": {"nlb.propagation": 75.0},
           "proxy": replace(PROXY, grace_s=100.0)}
    assert texts(grace_covers_drain(run("ctl", **nlb))) == [
        "t=100 s: ctl-0 is killed (grace period 100 s) before its drain ends at 115 s"
    ]
    assert grace_covers_drain(run("ctl", route=replace(SOCKETS, websocket=False, timeout_s={NGINX: 10.0}), **nlb)) == []


def test_envoy_exiting_before_the_drain_ends_is_named() -> None:
    # Envoy drains from SIGTERM (0 s) and exits at its drainTimeout (100 s), though the ALB drains the
    # target until 300 s.
    envoy = replace(PROXY, kind=ENVOY, backend=ENVOY, drain_s=100.0, shutdown_delay_s=10.0)
    sim = run("ctl", proxy=envoy, group=replace(GROUP, backend=ENVOY), delays={"envoy.xds": 0.0})
    assert texts(grace_covers_drain(sim)) == [
        "t=100 s: ctl-0 stops serving (Envoy exits) while the load balancer drains it until 300 s"
    ]


def test_a_proxy_may_be_killed_exactly_when_its_drain_ends() -> None:
    # nginx quits at 75 s, as the ALB's drain ends (a 75 s deregistration delay): nothing is left for its
    # workers to finish, and it exits after its post-shutdown grace period (10 s): 85 s. A grace period
    # of 85 s is enough, 84 s is not.
    drained = replace(GROUP, deregistration_delay_s=75.0)
    assert grace_covers_drain(run("ctl", proxy=replace(PROXY, grace_s=85.0), group=drained)) == []
    assert texts(grace_covers_drain(run("ctl", proxy=replace(PROXY, grace_s=84.0), group=drained))) == [
        "t=84 s: ctl-0 is killed (grace period 84 s) before its drain ends at 85 s"
    ]



@pytest.mark.parametrize(("other", "found"), [
    # A second target draining since 15 s: no longer registered, so ctl-0 is the only registered
    # target and it is unhealthy: the ALB fails open to it.
    (Target("ctl-9", NGINX, registered=-100.0, healthy=-90.0, deregistered=15.0, drain_end=1000.0),
     "(ctl-0: unhealthy, ctl-9: draining); the ALB fails open to every target"),
    # Drained and gone (drain over at 16 s): the same.
    (Target("ctl-9", NGINX, registered=-100.0, healthy=-90.0, deregistered=15.0, drain_end=16.0),
     "(ctl-0: unhealthy, ctl-9: unused); the ALB fails open to every target"),
    # Registered at 15 s and not yet healthy (`initial`): a registered target that is not unhealthy,
    # so the ALB does not fail open.
    (Target("ctl-9", NGINX, registered=15.0), "(ctl-0: unhealthy, ctl-9: initial)"),
])
def test_the_alb_fails_open_when_its_registered_targets_are_all_unhealthy(other: Target, found: str) -> None:
    # As above on an ALB (ctl-0 unhealthy at 20 s), with a second target beside it.
    sim = run("ctl", proxy=replace(PROXY, shutdown_delay_s=0.0), lbc_down=(0.0, 60.0),
              delays={"tg.first_check": 0.0, "alb.propagation": 0.0, "nlb.propagation": 0.0})
    sim.targets[other.pod] = other
    assert texts(healthy_target_always(sim)) == [
        f"t=20 s: target group nginx has no healthy target until the end of the run {found}"
    ]
