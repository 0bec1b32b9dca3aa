"""The routing intent on Envoy Gateway: per route an HTTPRoute and a BackendTrafficPolicy (balancing,
retries, keepalive, timeouts, per-client rate limits)."""

from __future__ import annotations

from typing import Any

from config.traffic import Retries, Route

from ..k8s import labels, metadata
from ..routes import service_name
from .args import ENVOY_API, EVERY_CLIENT, GATEWAY_API, RETRY_TRIGGERS, GatewayArgs, seconds

# --- Routes ------------------------------------------------------------------------------------


def effective_retries(args: GatewayArgs, route: Route) -> Retries | None:
    """The route's retries, else the controller-wide default (nginx applies its ConfigMap's
    `proxy-next-upstream` to every route); `off` means none."""
    retries = route.retries if route.retries is not None else args.defaults.retries
    return None if "off" in retries.on else retries


def route_name(route: Route) -> str:
    return f"spywatcher-{route.name}"


def _backend(name: str, port: int, weight: int | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"group": "", "kind": "Service", "name": name, "port": port}
    if weight is not None:
        ref["weight"] = weight
    return ref


def build_http_route(args: GatewayArgs, route: Route) -> dict[str, Any]:
    workload = args.routes.workloads[route.workload]
    port = workload.settings.service.port
    service = service_name(args.routes, route)
    match = {"path": {"type": "PathPrefix" if route.path_type == "Prefix" else "Exact", "value": route.path}}
    rule: dict[str, Any] = {"matches": [match], "backendRefs": [_backend(service, port)]}
    retries = effective_retries(args, route)
    if route.websocket:
        # A WebSocket route: Envoy's default 15 s route timeout would cut every connection; it is off
        # here and the stream idle timeout bounds an idle one instead.
        rule["timeouts"] = {"request": "0s"}
    elif retries is not None and retries.timeout_seconds > 0:
        # The whole request, every try included, within the retries' time bound (guide: 10 s).
        rule["timeouts"] = {"request": seconds(retries.timeout_seconds)}
    if route.affinity == "cookie":
        rule["sessionPersistence"] = {
            "sessionName": route.cookie.name,
            "type": "Cookie",
            "absoluteTimeout": seconds(route.cookie.max_age_seconds),
            "cookieConfig": {"lifetimeType": "Permanent"},
        }
    rules = [rule]
    canary = args.canary
    if canary.enabled and canary.route == route.name and args.canary_service is not None:
        stable = _backend(service, port, 100 - canary.weight)
        rule["backendRefs"] = [stable, _backend(args.canary_service, port, canary.weight)]
        if canary.header:
            for value, target in (("always", args.canary_service), ("never", service)):
                pinned = {**rule, "backendRefs": [_backend(target, port)]}
                pinned["matches"] = [{**match, "headers": [{"type": "Exact", "name": canary.header, "value": value}]}]
                rules.append(pinned)
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "HTTPRoute",
        "metadata": metadata(route_name(route), workload.namespace, labels(f"route-{route.name}", args.instance)),
        "spec": {
            "parentRefs": [
                {
                    "group": GATEWAY_API,
                    "kind": "Gateway",
                    "name": args.settings.name,
                    "namespace": args.settings.proxy_namespace,
                    "sectionName": "http",
                }
            ],
            "hostnames": [args.routes.routing.host(route)],
            "rules": rules,
        },
    }


def load_balancer_of(args: GatewayArgs, route: Route) -> dict[str, Any]:
    """Envoy's balancing for a route: least-request is the nearest Envoy has to nginx's EWMA (it
    favours the endpoints with fewer requests in flight, which slow ones accumulate)."""
    if route.affinity == "clientIp":
        return {"type": "ConsistentHash", "consistentHash": {"type": "SourceIP"}}
    kind = route.load_balance or args.defaults.load_balance
    return {"type": "LeastRequest"} if kind == "ewma" else {"type": "RoundRobin"}


def retry_of(retries: Retries) -> dict[str, Any]:
    triggers: list[str] = []
    codes: list[int] = []
    for condition in retries.on:
        if condition.startswith("http_"):
            codes.append(int(condition[len("http_") :]))
        for trigger in RETRY_TRIGGERS.get(condition, ()):
            if trigger not in triggers:
                triggers.append(trigger)
    if codes:
        triggers.append("retriable-status-codes")
    retry_on: dict[str, Any] = {"triggers": triggers}
    if codes:
        retry_on["httpStatusCodes"] = sorted(codes)
    # nginx counts tries (the first one included); Envoy counts retries after the first.
    return {"numRetries": retries.tries - 1, "retryOn": retry_on}


def build_backend_policy(args: GatewayArgs, route: Route) -> dict[str, Any]:
    """How the proxies talk to a route's pods: balancing, retries, upstream keepalive, timeouts."""
    d = args.defaults
    http_timeouts: dict[str, Any] = {"connectionIdleTimeout": seconds(d.upstream_keepalive_timeout_seconds)}
    if route.timeouts is not None:
        http_timeouts["streamIdleTimeout"] = seconds(max(route.timeouts.read_seconds, route.timeouts.send_seconds))
    spec: dict[str, Any] = {
        "targetRefs": [{"group": GATEWAY_API, "kind": "HTTPRoute", "name": route_name(route)}],
        "loadBalancer": load_balancer_of(args, route),
        # Upstream keepalive as nginx's `upstream-keepalive-requests`, `-timeout`; Envoy keeps every
        # idle connection for reuse (it has no cap like `upstream-keepalive-connections`).
        "circuitBreaker": {"maxRequestsPerConnection": d.upstream_keepalive_requests},
        "timeout": {"http": http_timeouts},
    }
    if route.websocket:
        # WebSocket upgrades (Envoy Gateway's default on every route, stated where it is read).
        spec["httpUpgrade"] = [{"type": "websocket"}]
    retries = effective_retries(args, route)
    if retries is not None:
        spec["retry"] = retry_of(retries)
    rate = route.client_limits.requests_per_second
    if rate is not None:
        # Per client address, as nginx's `limit-rps` (the address comes from the ClientTrafficPolicy's
        # clientIPDetection or proxy protocol), but counted across every proxy replica.
        spec["rateLimit"] = {
            "global": {
                "rules": [
                    {
                        "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": block}}],
                        "limit": {"requests": rate, "unit": "Second"},
                    }
                    for block in EVERY_CLIENT
                ]
            }
        }
    return {
        "apiVersion": f"{ENVOY_API}/v1alpha1",
        "kind": "BackendTrafficPolicy",
        "metadata": metadata(route_name(route), args.app_namespace, labels(f"route-{route.name}", args.instance)),
        "spec": spec,
    }
