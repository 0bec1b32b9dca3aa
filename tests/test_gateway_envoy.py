"""The routing intent mapped onto Envoy Gateway, one field at a time, on inputs where a slip shows:
two values that differ where one field takes one of them (read vs send timeout into a stream idle
timeout, the controller's PDB vs the proxies'), each nginx retry condition on its own, the duration
format at its edges, and the controller and proxy objects compared whole with settings that are
not the defaults."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.gateway.args import seconds
from components.gateway.controller import build_envoy_proxy, build_gateway, build_namespaces, build_values
from components.gateway.routes import build_backend_policy, load_balancer_of, retry_of
from config.traffic import Retries
from offline.engine import DELETE, run_stack
from tests.test_gateway import GW, _gateway_args, _settings

# The Gateway API / Envoy Gateway duration pattern (gateway-api apis/v1/shared_types.go `Duration`,
# envoyproxy/gateway api/v1alpha1 `gwapiv1.Duration`).
DURATION = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")
# Staging runs both data planes weighted: Envoy Gateway alone here, so no weights.
ONLY_GATEWAY = {"ingressController": {"enabled": False}, "loadBalancer": {"weights": DELETE}}


def _route(**fields: Any) -> tuple[Any, Any]:
    """(gateway args, the one route) for a stack whose only route has ``fields``."""
    route = {"name": "api", "host": "api", "workload": "backend", **fields}
    settings = _settings(gateway=GW, routing={"routes": [route]}, **ONLY_GATEWAY)
    [parsed] = settings.routing.routes
    return _gateway_args(settings), parsed


def _registered(budget: int = 0, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The HTTPRoute and BackendTrafficPolicy specs staging registers when its only route has ``fields``;
    ``budget``: the longest request the stack then allows (the backend's grace period after its preStop
    sleep, the load balancer's deregistration delay and idle timeout, which the config rules check)."""
    route = {"name": "api", "host": "api", "workload": "backend", **fields}
    fits: dict[str, Any] = {} if not budget else {
        "backend": {"shutdown": {"terminationGracePeriodSeconds": 15 + budget}},
        "loadBalancer": {"weights": DELETE, "deregistrationDelaySeconds": max(60, budget),
                         "idleTimeoutSeconds": max(60, budget)},
    }
    plan = run_stack("staging", {"gateway": GW, "routing": {"routes": [route]}, **ONLY_GATEWAY, **fits})
    return (plan.k8s("HTTPRoute", "spywatcher-api", "spywatcher-staging")["spec"],
            plan.k8s("BackendTrafficPolicy", "spywatcher-api", "spywatcher-staging")["spec"])


# --- The duration format ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    (0, "0s"),
    (1, "1s"),
    (59, "59s"),
    (60, "60s"),  # seconds, not "1m": only whole hours are shortened
    (3599, "3599s"),
    (3600, "1h"),
    (3601, "3601s"),
    (7200, "2h"),
    (86400, "24h"),
    (99_999, "99999s"),  # five digits: the pattern's most
    (100_000, "27h2800s"),  # six digits would not match: hours and the rest
    (100_800, "28h"),
    (100_801, "28h1s"),
])
def test_durations_are_whole_hours_or_seconds_within_five_digits(value: int, text: str) -> None:
    assert seconds(value) == text
    assert DURATION.match(text)


# --- Timeouts: read and send into one stream idle timeout ------------------------------------------


@pytest.mark.parametrize(("read", "send", "idle"), [
    (120, 30, "120s"),
    (30, 7200, "2h"),
    (45, 45, "45s"),
])
def test_the_stream_idle_timeout_is_the_longer_of_read_and_send(read: int, send: int, idle: str) -> None:
    """nginx closes a proxied connection when a read or a write has waited its own timeout; Envoy
    has one idle timeout per stream, so it takes the longer one (no long-lived stream cut early)."""
    args, route = _route(timeouts={"readSeconds": read, "sendSeconds": send}, websocket=True)
    assert build_backend_policy(args, route)["spec"]["timeout"] == {
        "http": {"connectionIdleTimeout": "60s", "streamIdleTimeout": idle}}


def test_a_long_lived_route_has_no_request_timeout_and_upgrades_websockets() -> None:
    http_route, policy = _registered(timeouts={"readSeconds": 120, "sendSeconds": 30}, websocket=True)
    assert http_route["rules"][0]["timeouts"] == {"request": "0s"}  # Envoy's 15 s default would cut them
    assert policy["httpUpgrade"] == [{"type": "websocket"}]


def test_route_timeouts_alone_do_not_make_a_websocket_route() -> None:
    """A request route with its own timeouts keeps a request timeout and no upgrade."""
    http_route, policy = _registered(timeouts={"readSeconds": 12, "sendSeconds": 12}, retries={})
    assert http_route["rules"][0]["timeouts"] == {"request": "10s"}
    assert "httpUpgrade" not in policy


def test_without_route_timeouts_only_the_upstream_keepalive_is_set() -> None:
    args, route = _route(retries={"timeoutSeconds": 0})
    spec = build_backend_policy(args, route)["spec"]
    assert spec["timeout"] == {"http": {"connectionIdleTimeout": "60s"}}
    assert "httpUpgrade" not in spec


# --- Retries: each nginx condition on its own ------------------------------------------------------


@pytest.mark.parametrize(("on", "retry_on"), [
    (["error"], {"triggers": ["connect-failure", "reset"]}),
    (["timeout"], {"triggers": ["connect-failure"]}),
    (["invalid_header"], {"triggers": ["reset"]}),
    (["http_500"], {"triggers": ["retriable-status-codes"], "httpStatusCodes": [500]}),
    (["http_502"], {"triggers": ["retriable-status-codes"], "httpStatusCodes": [502]}),
    (["http_503"], {"triggers": ["retriable-status-codes"], "httpStatusCodes": [503]}),
    (["http_504"], {"triggers": ["retriable-status-codes"], "httpStatusCodes": [504]}),
    (["http_403"], {"triggers": ["retriable-status-codes"], "httpStatusCodes": [403]}),
    (["http_404"], {"triggers": ["retriable-status-codes"], "httpStatusCodes": [404]}),
    (["http_429"], {"triggers": ["retriable-status-codes"], "httpStatusCodes": [429]}),
    (["timeout", "error"], {"triggers": ["connect-failure", "reset"]}),
    (["invalid_header", "timeout"], {"triggers": ["reset", "connect-failure"]}),
    (["http_504", "http_502", "error"],
     {"triggers": ["connect-failure", "reset", "retriable-status-codes"], "httpStatusCodes": [502, 504]}),
])
def test_each_retry_condition_becomes_its_envoy_trigger(on: list[str], retry_on: dict[str, Any]) -> None:
    assert retry_of(Retries.model_validate({"on": on, "tries": 2})) == {"numRetries": 1, "retryOn": retry_on}


@pytest.mark.parametrize(("tries", "retries"), [(1, 0), (2, 1), (10, 9)])
def test_nginx_tries_count_the_first_and_envoy_retries_do_not(tries: int, retries: int) -> None:
    assert retry_of(Retries.model_validate({"on": ["error"], "tries": tries}))["numRetries"] == retries


@pytest.mark.parametrize(("timeout", "expected"), [(0, None), (1, {"request": "1s"}), (600, {"request": "600s"})])
def test_the_retries_time_bound_is_the_whole_requests_timeout(timeout: int, expected: Any) -> None:
    """0 means no bound: no request timeout at all (not "0s", which Envoy reads as none too, but
    nginx's `proxy-next-upstream-timeout: 0` is its own default and is not rendered either)."""
    http_route, _ = _registered(budget=timeout, retries={"timeoutSeconds": timeout})
    assert http_route["rules"][0].get("timeouts") == expected


def test_retries_off_means_no_retry_and_no_request_timeout() -> None:
    http_route, policy = _registered(retries={"on": ["off"]})
    assert "retry" not in policy
    assert "timeouts" not in http_route["rules"][0]


def test_a_routes_own_retries_win_over_the_controller_default() -> None:
    http_route, spec = _registered(budget=20, retries={"on": ["http_503"], "tries": 5, "timeoutSeconds": 20})
    assert spec["retry"] == {"numRetries": 4, "retryOn": {"triggers": ["retriable-status-codes"],
                                                          "httpStatusCodes": [503]}}
    assert http_route["rules"][0]["timeouts"] == {"request": "20s"}


def test_the_controller_default_retries_apply_to_a_route_without_its_own() -> None:
    settings = _settings(gateway=GW, routing={"routes": [{"name": "api", "host": "api", "workload": "backend"}]},
                         ingressController={"enabled": False, "retries": {"on": ["timeout"], "tries": 4}})
    [route] = settings.routing.routes
    assert build_backend_policy(_gateway_args(settings), route)["spec"]["retry"] == {
        "numRetries": 3, "retryOn": {"triggers": ["connect-failure"]}}


# --- Balancing and matching ------------------------------------------------------------------------


@pytest.mark.parametrize(("route_choice", "default", "expected"), [
    (None, "ewma", "LeastRequest"),
    (None, "round_robin", "RoundRobin"),
    ("round_robin", "ewma", "RoundRobin"),
    ("ewma", "round_robin", "LeastRequest"),
])
def test_the_routes_balancing_else_the_controllers(route_choice: str | None, default: str, expected: str) -> None:
    settings = _settings(gateway=GW, ingressController={"enabled": False, "loadBalance": default},
                         routing={"routes": [{"name": "api", "host": "api", "workload": "backend",
                                              "loadBalance": route_choice}]})
    [route] = settings.routing.routes
    assert load_balancer_of(_gateway_args(settings), route) == {"type": expected}


@pytest.mark.parametrize(("path_type", "match"), [("Prefix", "PathPrefix"), ("Exact", "Exact")])
def test_path_types_map_to_gateway_api_matches(path_type: str, match: str) -> None:
    http_route, _ = _registered(path="/v1/status", pathType=path_type)
    assert http_route["rules"][0]["matches"] == [
        {"path": {"type": match, "value": "/v1/status"}}]


# --- The controller and the proxy fleet, whole, with settings that are not the defaults ----------

ENVOY_IMAGE = ("docker.io/envoyproxy/envoy:distroless-v1.39.0@sha256:"
               "7877ad87afd7459e1bd2a077ff601fec7c93aeecd62e71664560d96328c62cf4")
SPREAD_KEYS = [("topology.kubernetes.io/zone", "DoNotSchedule"), ("kubernetes.io/hostname", "ScheduleAnyway")]
CONTROLLER_PODS = {"control-plane": "envoy-gateway", "app.kubernetes.io/name": "gateway-helm",
                   "app.kubernetes.io/instance": "envoy-gateway"}
PROXY_PODS = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
    "gateway.envoyproxy.io/owning-gateway-name": "spywatcher",
    "gateway.envoyproxy.io/owning-gateway-namespace": "spywatcher-gateway",
}


def _spread(pods: dict[str, str]) -> list[dict[str, Any]]:
    return [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": when, "labelSelector": {"matchLabels": pods},
             "matchLabelKeys": ["pod-template-hash"]} for key, when in SPREAD_KEYS]


@pytest.fixture(scope="module")
def tuned() -> Any:
    """Three controllers with a PDB of 2, proxies 3-9 with a PDB of 1, baseline pod security."""
    return _gateway_args(_settings(
        gateway={**GW, "podSecurity": "baseline", "controller": {"replicas": 3, "minAvailable": 2}, "minAvailable": 1,
                 "autoscaling": {"minReplicas": 3, "maxReplicas": 9, "cpuUtilization": 60, "memoryUtilization": 75}},
        **ONLY_GATEWAY))


def test_the_controller_values_are_exact(tuned: Any) -> None:
    assert build_values(tuned) == {
        # The proxies' image by digest (the stack's gateway.images); the chart's tag otherwise.
        "global": {"images": {"envoyProxy": {"image": ENVOY_IMAGE, "pullPolicy": "IfNotPresent"}}},
        "crds": {"enabled": False},
        "deployment": {
            "replicas": 3,
            "envoyGateway": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                           "limits": {"memory": "1Gi"}}},
            "pod": {"labels": {"app.kubernetes.io/part-of": "spywatcher"},
                    "topologySpreadConstraints": _spread(CONTROLLER_PODS)},
        },
        "podDisruptionBudget": {"minAvailable": 2},  # the controller's, not the proxies' 1
        "topologyInjector": {"enabled": False},
        "config": {"envoyGateway": {
            "gateway": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
            "provider": {"type": "Kubernetes", "kubernetes": {
                "deploy": {"type": "GatewayNamespace"},
                # Roles in these two namespaces only, not ClusterRoles over every namespace.
                "watch": {"type": "Namespaces", "namespaces": ["spywatcher-gateway", "spywatcher"]},
                "rateLimitDeployment": {"container": {"env": [{
                    "name": "REDIS_AUTH",
                    "valueFrom": {"secretKeyRef": {"name": "ratelimit-redis-auth", "key": "auth-token"}}}]}},
            }},
            "rateLimit": {"backend": {"type": "Redis", "redis": {"url": "spywatcher-rl.abc123.cache.amazonaws.com:6379",
                                                                 "tls": {}}},
                          "failClosed": False},
        }},
    }


def test_without_a_redis_the_controller_deploys_no_rate_limit_service() -> None:
    route = {"name": "api", "host": "api", "workload": "backend", "clientLimits": {"requestsPerSecond": None}}
    args = _gateway_args(_settings(gateway={"enabled": True}, routing={"routes": [route]}, **ONLY_GATEWAY))
    assert "rateLimit" not in build_values(args)["config"]["envoyGateway"]


def test_namespaces_enforce_the_chosen_level_and_audit_and_warn_restricted(tuned: Any) -> None:
    def expected(name: str, component: str, extra: dict[str, str]) -> dict[str, Any]:
        labels = {"app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/instance": "i",
                  "app.kubernetes.io/component": component, "app.kubernetes.io/part-of": "spywatcher",
                  "app.kubernetes.io/managed-by": "pulumi"}
        for mode, level in (("enforce", "baseline"), ("audit", "restricted"), ("warn", "restricted")):
            labels |= {f"pod-security.kubernetes.io/{mode}": level,
                       f"pod-security.kubernetes.io/{mode}-version": "v1.34"}
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels | extra}}

    assert build_namespaces(tuned) == [
        expected("envoy-gateway-system", "gateway-controller", {}),
        expected("spywatcher-gateway", "gateway-proxy", {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}),
    ]


def test_the_proxy_fleet_is_exact(tuned: Any) -> None:
    def metric(name: str, target: int) -> dict[str, Any]:
        return {"type": "Resource",
                "resource": {"name": name, "target": {"type": "Utilization", "averageUtilization": target}}}

    assert build_envoy_proxy(tuned)["spec"] == {
        "provider": {"type": "Kubernetes", "kubernetes": {
            "envoyService": {"name": "spywatcher-gateway", "type": "ClusterIP"},
            "envoyDeployment": {
                "pod": {"labels": {"app.kubernetes.io/part-of": "spywatcher"},
                        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                        "topologySpreadConstraints": _spread(PROXY_PODS)},
                "container": {
                    "image": ENVOY_IMAGE,
                    "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                        "privileged": False, "runAsNonRoot": True, "runAsUser": 65532,
                                        "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
                },
            },
            "envoyHpa": {
                "minReplicas": 3,
                "maxReplicas": 9,
                "metrics": [metric("cpu", 60), metric("memory", 75)],
                "behavior": {
                    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                        {"type": "Percent", "value": 100, "periodSeconds": 30},
                        {"type": "Pods", "value": 2, "periodSeconds": 30}]},
                    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min", "policies": [
                        {"type": "Percent", "value": 50, "periodSeconds": 60},
                        {"type": "Pods", "value": 1, "periodSeconds": 60}]},
                },
            },
            "envoyPDB": {"minAvailable": 1},  # the proxies', not the controller's 2
        }},
        "shutdown": {"minDrainDuration": "75s", "drainTimeout": "105s"},
    }


def test_the_gateway_admits_only_http_routes_from_the_app_namespace(tuned: Any) -> None:
    assert build_gateway(tuned)["spec"] == {
        "gatewayClassName": "spywatcher",
        "listeners": [{
            "name": "http",
            "protocol": "HTTP",
            "port": 80,
            "allowedRoutes": {
                "namespaces": {"from": "Selector",
                               "selector": {"matchLabels": {"kubernetes.io/metadata.name": "spywatcher"}}},
                "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
            },
        }],
    }
