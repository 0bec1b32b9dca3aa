"""The drain budget (config/drain.py) and its delays (config/delays.py) where a rule has more than one
input: the longer of a read and a send timeout, the longest of several routes, the load balancer
type and the routing backend a rule applies to, a socket route beside a plain one, a limit equal to
what a pod serves. Each case: the accepted side of the edge and the exact problems of the refused one
(the numbers worked out by hand from the guide's defaults: a pod serves 30 s - 15 s = 15 s after
SIGTERM; EndpointSlice 1 s + DeregisterTargets 2 s + the ALB's propagation 10 s = 13 s)."""

from __future__ import annotations

from typing import Any

import pytest

from config.delays import DELAYS, Interval, Report, Source
from tests.conftest import behind_nlb
from tests.test_boundaries import problems

RATE_LIMIT = {"redisUrl": "spywatcher-rl.abc123.cache.amazonaws.com:6379", "redisCidrs": ["10.0.96.0/24"],
              "auth": {"name": "ratelimit-redis-auth"}}
BOTH_BACKENDS: dict[str, Any] = {"gateway": {"enabled": True, "rateLimit": RATE_LIMIT},
                                 "loadBalancer": {"weights": {"ingressNginx": 100, "envoyGateway": 0}}}
ENVOY_ONLY: dict[str, Any] = {"ingressController": {"enabled": False},
                              "gateway": {"enabled": True, "rateLimit": RATE_LIMIT}}


def routes(socket: tuple[int, int] = (3600, 3600), api: dict[str, Any] | None = None,
           extra: tuple[dict[str, Any], ...] = ()) -> list[dict[str, Any]]:
    """The default routes (config/routing.py) with the socket route's read and send timeouts, the API
    route's settings and more routes."""
    return [
        {"name": "frontend", "host": "frontend", "path": "/", "workload": "frontend"},
        {"name": "api", "host": "api", "path": "/", "workload": "backend", "loadBalance": "ewma", "retries": {},
         **(api or {})},
        {"name": "socketio", "host": "api", "path": "/socket.io", "workload": "backend", "affinity": "cookie",
         "cookie": {"name": "SPYWATCHER_SIO"}, "timeouts": {"readSeconds": socket[0], "sendSeconds": socket[1]},
         "websocket": True},
        *extra,
    ]


def test_a_request_lasts_the_longer_of_its_read_and_send_timeouts() -> None:
    """ingress-nginx's read 10 s and send 14 s: a request may take 14 s, and the key named is the send."""
    timeouts = {"ingressController": {"timeouts": {"readSeconds": 10, "sendSeconds": 14}}}
    assert problems({**timeouts, "loadBalancer": {"deregistrationDelaySeconds": 14}}) == []
    assert problems({**timeouts, "loadBalancer": {"deregistrationDelaySeconds": 13}}) == [
        "loadBalancer.deregistrationDelaySeconds: 13 — must be at least the 14 s a request may take (route "
        "`frontend` through ingress-nginx: ingressController.timeouts.sendSeconds): the ALB sends a draining target "
        "no new request, but cuts the ones in flight when this delay ends"
    ]


def test_the_longest_request_of_any_route_names_its_own_key() -> None:
    """The controller's 5 s, the API route's own 12 s: the second route decides, by its indexed key."""
    config = {"ingressController": {"timeouts": {"readSeconds": 5, "sendSeconds": 5}},
              "routing": {"routes": routes(api={"timeouts": {"readSeconds": 12, "sendSeconds": 12}})}}
    assert problems({**config, "loadBalancer": {"deregistrationDelaySeconds": 12, "idleTimeoutSeconds": 12}}) == []
    assert problems({**config, "loadBalancer": {"deregistrationDelaySeconds": 11, "idleTimeoutSeconds": 11}}) == [
        "loadBalancer.deregistrationDelaySeconds: 11 — must be at least the 12 s a request may take (route `api` "
        "through ingress-nginx: routing.routes[1].timeouts.readSeconds): the ALB sends a draining target no new "
        "request, but cuts the ones in flight when this delay ends",
        "loadBalancer.idleTimeoutSeconds: 11 — must be at least the 12 s a request may take (route `api` through "
        "ingress-nginx: routing.routes[1].timeouts.readSeconds): the ALB closes a connection that carried no byte "
        "for this long and answers 504 to a request still waiting",
    ]


def test_an_nlb_may_drain_for_less_than_a_request_takes() -> None:
    """An NLB leaves a draining target's connections open (no connection termination): a zero
    deregistration delay cuts no request, so only an ALB's delay must cover the longest one."""
    assert problems(behind_nlb({"loadBalancer": {"deregistrationDelaySeconds": 0, "waf": {"enabled": False}}})) == []


def test_only_ingress_nginx_keep_alive_bounds_the_alb_idle_timeout() -> None:
    """With Envoy alone there is no nginx keep-alive to stay below: 75 s is accepted."""
    assert problems({**ENVOY_ONLY, "loadBalancer": {"idleTimeoutSeconds": 75}}) == []


def test_a_plain_routes_timeouts_do_not_bound_the_reload_budget() -> None:
    """Only a WebSocket route's timeouts are a socket's budget: the API route's 12 s may exceed the
    controller's 10 s reload budget, the socket route's 10 s may equal it, 11 s may not."""
    config = {"ingressController": {"workerShutdownTimeoutSeconds": 10}}
    plain = routes((10, 10), api={"timeouts": {"readSeconds": 12, "sendSeconds": 12}})
    assert problems({**config, "routing": {"routes": plain}}) == []
    assert problems({**config, "routing": {"routes": routes((10, 11))}}) == [
        "ingressController.workerShutdownTimeoutSeconds: 10 — must be at least the 11 s a WebSocket route allows a "
        "socket (routing.routes[2] `socketio`): every nginx reload (an Ingress added or changed, the canary turned "
        "on) leaves the open sockets on the old workers, which close them all at once when this timeout ends "
        "(ingress-nginx #2461, #7115)"
    ]


LIVE = {"name": "live", "host": "api", "path": "/live", "workload": "backend", "affinity": "cookie",
        "cookie": {"name": "SPYWATCHER_LIVE"}, "timeouts": {"readSeconds": 800, "sendSeconds": 800}, "websocket": True}


def _envoy_behind_nlb(drain_seconds: int, extra: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """Envoy alone behind an NLB: a margin past the NLB's 123 s (60 s delay + 63 s), no HSTS (the NLB
    cannot add it), the socket route's read 600 s and send 700 s."""
    return {**ENVOY_ONLY,
            "gateway": {**ENVOY_ONLY["gateway"], "shutdown": {"marginSeconds": 63, "drainSeconds": drain_seconds}},
            "loadBalancer": {"type": "network", "waf": {"enabled": False}, "hsts": None},
            "routing": {"routes": routes((600, 700), extra=extra)}}


def test_behind_an_nlb_envoys_drain_covers_a_socket_at_its_edge() -> None:
    assert problems(_envoy_behind_nlb(700)) == []
    assert problems(_envoy_behind_nlb(699)) == [
        "gateway.shutdown.drainSeconds: 699 — must be at least the 700 s a WebSocket route allows a socket "
        "(routing.routes[2] `socketio`): behind a network load balancer a stopping proxy's sockets stay open until "
        "Envoy closes them itself, when its drain times out"
    ]


def test_behind_an_nlb_envoys_drain_is_asked_for_the_longest_socket_once() -> None:
    """Two socket routes too long for the drain: one problem, naming the longer (800 s), so the value
    it asks for is enough for both."""
    assert problems(_envoy_behind_nlb(800, (LIVE,))) == []
    assert problems(_envoy_behind_nlb(650, (LIVE,))) == [
        "gateway.shutdown.drainSeconds: 650 — must be at least the 800 s a WebSocket route allows a socket "
        "(routing.routes[3] `live`): behind a network load balancer a stopping proxy's sockets stay open until "
        "Envoy closes them itself, when its drain times out"
    ]


def _api_retries(seconds: int) -> dict[str, Any]:
    return {**BOTH_BACKENDS, "routing": {"routes": routes(api={"retries": {"timeoutSeconds": seconds}})}}


def test_envoys_request_timeout_may_equal_what_a_pod_serves_after_sigterm() -> None:
    assert problems(_api_retries(15)) == []
    assert problems(_api_retries(16)) == [
        "routing.routes[1].retries.timeoutSeconds: 16 — must not exceed the 15 s backend pods serve after SIGTERM "
        "(backend.shutdown.terminationGracePeriodSeconds 30 - preStopSleepSeconds 15): it is Envoy's request "
        "timeout on route `api` (the retries' time bound), and a request admitted just before SIGTERM would be "
        "killed mid-flight"
    ]


def test_a_shared_retries_timeout_is_reported_once_for_all_the_routes_that_take_it() -> None:
    """Two frontend routes without retries of their own both take the controller's 20 s: one key, one
    problem (the first route's)."""
    static = {"name": "static", "host": "frontend", "path": "/static", "workload": "frontend"}
    config = {**BOTH_BACKENDS, "ingressController": {"retries": {"timeoutSeconds": 20}},
              "routing": {"routes": [routes()[0], static]}}
    assert problems(config) == [
        "ingressController.retries.timeoutSeconds: 20 — must not exceed the 15 s frontend pods serve after SIGTERM "
        "(frontend.shutdown.terminationGracePeriodSeconds 30 - preStopSleepSeconds 15): it is Envoy's request "
        "timeout on route `frontend` (the retries' time bound), and a request admitted just before SIGTERM would "
        "be killed mid-flight"
    ]


def test_with_envoy_alone_an_app_pod_waits_for_envoy_to_see_it_go() -> None:
    """EndpointSlice 1 s + Envoy's xDS push 2 s: a preStop sleep of 3 s is enough, 2 s is not."""
    assert problems({**ENVOY_ONLY, "backend": {"shutdown": {"preStopSleepSeconds": 3}}}) == []
    assert problems({**ENVOY_ONLY, "backend": {"shutdown": {"preStopSleepSeconds": 2}}}) == [
        "backend.shutdown.preStopSleepSeconds: 2 — must be at least 3: a new request can reach the pod up to 3 s "
        "after its deletion, and it must still be serving then: Envoy sees it go that late (EndpointSlice, xDS)"
    ]


# --- config/delays.py ------------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), [(0, 0), (1, 1), (0, 2.5)])
def test_a_delay_may_be_fixed_or_zero(low: float, high: float) -> None:
    delay = Interval("x", low, high, "what", (), "worst", basis="a budget")
    assert (delay.low, delay.high) == (low, high)


@pytest.mark.parametrize(("low", "high", "shown"), [(-1, 0, "[-1, 0]"), (1, 0.5, "[1, 0.5]"),
                                                    (0, float("inf"), "[0, inf]")])
def test_a_delay_below_zero_reversed_or_endless_is_refused(low: float, high: float, shown: str) -> None:
    with pytest.raises(ValueError) as caught:
        Interval("x", low, high, "what", (), "worst", basis="a budget")
    assert str(caught.value) == f"interval x: {shown} is not an interval of 0 or more"


def test_a_delays_source_names_its_files_reports_and_basis_in_one_sentence() -> None:
    assert DELAYS["kubelet.notice"].source == (
        "kubernetes/kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go @ v1.34.0 (killContainer runs the "
        "preStop hook within the grace period, then stops the container (SIGTERM) with what is left of it); the "
        "kubelet learns of the deletion through its watch, which no upstream bounds: 1 s allowed"
    )
    assert DELAYS["nlb.propagation"].source == (
        "kubernetes-sigs/aws-load-balancer-controller issues #2366, #3270 ('deregistration takes at least 2 minutes "
        "regardless of the deregistration delay setting'); aws/containers-roadmap issues #470 (NLB forwards to "
        "unused targets); the NLB's own timing, which AWS does not document (its docs say new connections stop at "
        "once): the reports' figure"
    )
    assert DELAYS["nginx.worker_pickup"].source == (
        "kubernetes/ingress-nginx rootfs/etc/nginx/lua/balancer.lua @ controller-v1.15.1 (BACKENDS_SYNC_INTERVAL = 1)"
    )
    assert str(Source("o/r", "a/b.go", "v1", "reads")) == "o/r a/b.go @ v1 (reads)"
    assert str(Report("o/r", (1, 22), "says")) == "o/r issues #1, #22 (says)"
