"""The ingress-nginx annotations of a route (components/routes.py) with every pair of values the
stack files keep equal made different: connections and requests per second, read and send
timeouts, retry tries and timeout; a cookie that is not `Secure`; and each annotation absent when
its setting is."""

from __future__ import annotations

from typing import Any

from components.routes import RoutesArgs, build_ingress, route_annotations
from components.workload import WorkloadArgs
from config.routing import Route
from offline.engine import Plan

N = "nginx.ingress.kubernetes.io"


def route(**fields: Any) -> Route:
    return Route.model_validate({"name": "r", "host": "api", "workload": "backend", **fields})


def test_each_setting_reaches_its_own_annotation() -> None:
    assert route_annotations(route(
        path="/api",
        loadBalance="round_robin",
        retries={"on": ["error", "http_503"], "tries": 2, "timeoutSeconds": 7},
        clientLimits={"connections": 20, "requestsPerSecond": 9},
        timeouts={"readSeconds": 30, "sendSeconds": 45},
    )) == {
        f"{N}/load-balance": "round_robin",
        f"{N}/proxy-next-upstream": "error http_503",
        f"{N}/proxy-next-upstream-tries": "2",
        f"{N}/proxy-next-upstream-timeout": "7",
        f"{N}/limit-connections": "20",
        f"{N}/limit-rps": "9",
        f"{N}/proxy-read-timeout": "30",
        f"{N}/proxy-send-timeout": "45",
    }


def test_a_cookie_route_on_a_sub_path_with_an_insecure_cookie() -> None:
    """Every cookie setting as given: the path is the route's, `Secure` off says `false`."""
    assert route_annotations(route(
        path="/socket.io",
        affinity="cookie",
        cookie={"name": "SID", "maxAgeSeconds": 600, "sameSite": "Strict", "secure": False},
        clientLimits={"connections": None, "requestsPerSecond": None},
    )) == {
        f"{N}/affinity": "cookie",
        f"{N}/affinity-mode": "persistent",
        f"{N}/session-cookie-name": "SID",
        f"{N}/session-cookie-max-age": "600",
        f"{N}/session-cookie-expires": "600",
        f"{N}/session-cookie-path": "/socket.io",
        f"{N}/session-cookie-samesite": "Strict",
        f"{N}/session-cookie-secure": "false",
        f"{N}/session-cookie-change-on-failure": "true",
    }


def test_client_ip_affinity_hashes_the_client_address_only() -> None:
    limits = {"connections": None, "requestsPerSecond": 5}
    assert route_annotations(route(affinity="clientIp", clientLimits=limits)) == {
        f"{N}/upstream-hash-by": "$remote_addr",
        f"{N}/limit-rps": "5",
    }


def test_nothing_set_is_no_annotation() -> None:
    assert route_annotations(route(clientLimits={"connections": None, "requestsPerSecond": None})) == {}


def test_an_affinity_routes_ingress_waits_for_its_own_service(fixture_plans: dict[str, Plan]) -> None:
    """The socket.io route sends to a Service of its own: created first, or ingress-nginx would
    answer 503 for the route until it exists."""
    plan = fixture_plans["all-options"]
    ingress = plan.get("kubernetes:networking.k8s.io/v1:Ingress", "routes-socketio")
    assert plan.get("kubernetes:core/v1:Service", "routes-socketio-service").urn in ingress.depends_on
    api = plan.get("kubernetes:networking.k8s.io/v1:Ingress", "routes-api")
    assert not [urn for urn in api.depends_on if urn.endswith("-service") and "spywatcher:routes:Routes" in urn]


def test_an_affinity_routes_own_service_is_exact(plans: dict[str, Plan]) -> None:
    """The socket.io route's Service: the backend's pods and port, marked as the route's, and no
    ClusterIP affinity (ingress-nginx picks the endpoint itself, by the cookie)."""
    service = plans["staging"].k8s("Service", "spywatcher-backend-socketio", "spywatcher-staging")
    assert service["metadata"]["labels"]["spywatcher.io/route"] == "socketio"
    assert service["spec"] == {
        "type": "ClusterIP",
        "selector": {"app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/instance": "spywatcher-staging",
                     "app.kubernetes.io/component": "backend"},
        "ports": [{"name": "http", "port": 3001, "targetPort": "http", "protocol": "TCP"}],
        "sessionAffinity": "None",
    }


def test_an_exact_path_stays_exact(plans: dict[str, Plan]) -> None:
    """A route's `pathType` reaches its Ingress as given (the stacks use Prefix only)."""
    settings = plans["staging"].settings
    workloads = {name: WorkloadArgs(s, "ns", "spywatcher-test") for name, s in settings.workloads().items()}
    exact = settings.routing.routes[0].model_copy(update={"path": "/healthz", "path_type": "Exact"})
    ingress = build_ingress(RoutesArgs(settings.routing, "nginx", workloads, "spywatcher-test"), exact)
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/healthz", "Exact")
