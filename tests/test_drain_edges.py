"""The drain budget's rules (config/drain.py) where one setting feeds a rule through two values: a
WebSocket route's read and send timeouts both bound the reload budget, whichever is longer."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest

from config.drain import upstream_lag, whole_seconds
from config.routing import DEFAULT_ROUTES
from offline.engine import DELETE, run_stack
from tests.conftest import config_error


@pytest.mark.parametrize(("read", "send"), [(3600, 3700), (3700, 3600)])
def test_the_reload_budget_covers_the_longer_of_a_socket_routes_read_and_send_timeouts(read: int, send: int) -> None:
    routes = cast(list[dict[str, Any]], copy.deepcopy(DEFAULT_ROUTES))
    routes[2]["timeouts"] = {"readSeconds": read, "sendSeconds": send}
    error = config_error("production", {"routing": {"routes": routes}})
    assert [str(p) for p in error.problems] == [
        "ingressController.workerShutdownTimeoutSeconds: 3600 — must be at least the 3700 s a WebSocket route "
        "allows a socket (routing.routes[2] `socketio`): every nginx reload (an Ingress added or changed, the "
        "canary turned on) leaves the open sockets on the old workers, which close them all at once when this "
        "timeout ends (ingress-nginx #2461, #7115)"
    ]


def test_a_budget_in_whole_seconds_covers_the_delay_it_budgets() -> None:
    """Rounded up, never to the nearest: ingress-nginx's 5.33 s (EndpointSlice 1 s, sync 1/0.3 s,
    workers 1 s) needs 6 s; a whole number of seconds stays as it is."""
    assert upstream_lag("nginx") == pytest.approx(5.333, abs=1e-3)
    assert (whole_seconds(upstream_lag("nginx")), whole_seconds(13.0), whole_seconds(12.2)) == (6, 13, 13)


def test_the_controllers_timeouts_bound_an_app_pods_drain_only_while_the_controller_runs() -> None:
    """A route without timeouts of its own takes ingress-nginx's: past the 15 s a backend pod serves
    after SIGTERM they are refused, each by its own key; with ingress-nginx off (Envoy only) they
    apply to nothing and the stack renders."""
    error = config_error("staging", {"ingressController": {"timeouts": {"readSeconds": 16, "sendSeconds": 15}}})
    assert [str(p) for p in error.problems] == [
        "ingressController.timeouts.readSeconds: 16 — must not exceed the 15 s backend pods serve after SIGTERM "
        "(backend.shutdown.terminationGracePeriodSeconds 30 - preStopSleepSeconds 15; route `api`): a request "
        "admitted just before SIGTERM would be killed mid-flight"
    ]
    envoy_only = run_stack("staging", {
        "ingressController": {"enabled": False, "timeouts": {"readSeconds": 16, "sendSeconds": 16}},
        "loadBalancer": {"weights": DELETE},
    })
    assert [r.name for r in envoy_only.resources if r.type == "kubernetes:helm.sh/v3:Release"
            and r.inputs.get("chart") == "ingress-nginx"] == []
    assert envoy_only.k8s("HTTPRoute", "spywatcher-api", "spywatcher-staging")["kind"] == "HTTPRoute"


def test_the_envoy_margin_covers_the_deregistration_lag_at_13_s_and_not_at_12() -> None:
    """EndpointSlice 1 s + DeregisterTargets 2 s + the ALB's propagation 10 s: Envoy's margin at exactly
    13 s renders, one second less is refused."""
    plan = run_stack("staging", {"gateway": {"shutdown": {"marginSeconds": 13}}})
    assert plan.resources
    error = config_error("staging", {"gateway": {"shutdown": {"marginSeconds": 12}}})
    assert [str(p) for p in error.problems] == [
        "gateway.shutdown.marginSeconds: 12 — must be at least 13: behind an application load balancer an Envoy "
        "proxy pod still gets new requests up to 13 s after it is deleted (EndpointSlice, the AWS Load Balancer "
        "Controller's DeregisterTargets, the load balancer's own propagation), and the load balancer drains it for "
        "loadBalancer.deregistrationDelaySeconds (60 s) from then; Envoy must keep serving until that drain has "
        "ended (minDrainDuration = delay + margin)"
    ]
