"""The drain budget: the rules that keep every drain of the stack inside the budget the next layer
gives it, where a plain inequality is clearer than a timeline (an NLB with the ALB's budget, route
timeouts beyond the grace period, a reload budget below the socket routes', a deregistration delay or
an ALB idle timeout shorter than a request). They add the high ends of the delays in
``config/delays.py``, the same data the zero-downtime model (``simulate/downtime``) runs at both ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .base import Problems
from .delays import (
    DELAYS,
    ENVOY_DEFAULT_ROUTE_TIMEOUT_SECONDS,
    EVICTION_RETRY_SECONDS,
    NGINX_DEFAULT_TIMEOUT_SECONDS,
    NGINX_KEEPALIVE_SECONDS,
    POST_SHUTDOWN_SECONDS,
    RECONNECT_WINDOW_SECONDS,
    Interval,
    Report,
    Source,
    deregistration_lag,
    high,
    propagation,
    upstream_lag,
    whole_seconds,
)
from .gateway import GatewaySettings
from .routing import RoutingSettings
from .traffic import IngressControllerSettings, LoadBalancerSettings
from .workload import WorkloadSettings


@dataclass(frozen=True)
class Drains:
    """The parts of a stack's settings every drain depends on."""

    controller: IngressControllerSettings
    load_balancer: LoadBalancerSettings
    gateway: GatewaySettings
    routing: RoutingSettings
    workloads: Mapping[str, WorkloadSettings]


__all__ = [
    "DELAYS",
    "ENVOY_DEFAULT_ROUTE_TIMEOUT_SECONDS",
    "EVICTION_RETRY_SECONDS",
    "NGINX_DEFAULT_TIMEOUT_SECONDS",
    "NGINX_KEEPALIVE_SECONDS",
    "POST_SHUTDOWN_SECONDS",
    "RECONNECT_WINDOW_SECONDS",
    "Drains",
    "Interval",
    "Report",
    "RequestLimit",
    "Source",
    "check_drains",
    "deregistration_lag",
    "high",
    "propagation",
    "request_limits",
    "upstream_lag",
    "whole_seconds",
]


# --- The rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestLimit:
    """The longest a request may take on one route through one routing backend, and the key that sets it."""

    seconds: int
    key: tuple[str | int, ...] | None
    """None: nothing in the stack sets it (Envoy's own default route timeout)."""
    route: str
    backend: str


def request_limits(stack: Drains) -> list[RequestLimit]:
    """Every route's longest request (WebSocket routes left out: a socket's budget is its own), per
    routing backend: ingress-nginx's read and send timeouts (the route's, else the controller's);
    Envoy's request timeout (the route's retries' time bound, else Envoy's default route timeout)."""
    controller, found = stack.controller, []
    for index, route in enumerate(stack.routing.routes):
        if route.websocket:
            continue
        if controller.enabled:
            where: tuple[str | int, ...] = ("routing", "routes", index, "timeouts")
            timeouts = route.timeouts
            if timeouts is None:
                timeouts, where = controller.timeouts, ("ingressController", "timeouts")
            field = "readSeconds" if timeouts.read_seconds >= timeouts.send_seconds else "sendSeconds"
            found.append(RequestLimit(max(timeouts.read_seconds, timeouts.send_seconds), (*where, field), route.name,
                                      "ingress-nginx"))
        if stack.gateway.enabled:
            retries = route.retries
            key: tuple[str | int, ...] = ("routing", "routes", index, "retries", "timeoutSeconds")
            if retries is None:
                retries, key = controller.retries, ("ingressController", "retries", "timeoutSeconds")
            if "off" not in retries.on and retries.timeout_seconds > 0:
                found.append(RequestLimit(retries.timeout_seconds, key, route.name, "Envoy"))
            else:
                found.append(RequestLimit(ENVOY_DEFAULT_ROUTE_TIMEOUT_SECONDS, None, route.name, "Envoy"))
    return found


def check_drains(stack: Drains, problems: Problems) -> None:
    """Every drain of the stack fits inside the budget the next layer gives it (see the module doc)."""
    _check_controller_drain(stack, problems)
    _check_app_drains(stack, problems)
    _check_load_balancer(stack, problems)


def _check_load_balancer(stack: Drains, problems: Problems) -> None:
    """A request the ALB sends a target just before the target drains, or one that sends no byte for a
    while, must be allowed to finish: the deregistration delay and the ALB's idle timeout are at least
    the longest request a route allows. (An NLB cuts neither: the program turns its connection
    termination off, and it has no idle timeout of its own below 350 s.)"""
    lb, limits = stack.load_balancer, request_limits(stack)
    if not limits or lb.type != "application":
        return  # an NLB leaves a draining target's connections open (no connection termination)
    longest = max(limits, key=lambda limit: limit.seconds)
    which = f"route `{longest.route}` through {longest.backend}: " + (
        ".".join(str(k) if isinstance(k, str) else f"[{k}]" for k in longest.key).replace(".[", "[")
        if longest.key is not None else "Envoy's default route timeout"
    )
    if lb.deregistration_delay_seconds < longest.seconds:
        problems.add(
            ("loadBalancer", "deregistrationDelaySeconds"),
            lb.deregistration_delay_seconds,
            f"must be at least the {longest.seconds} s a request may take ({which}): the ALB sends a draining "
            "target no new request, but cuts the ones in flight when this delay ends",
        )
    if lb.idle_timeout_seconds < longest.seconds:
        problems.add(
            ("loadBalancer", "idleTimeoutSeconds"),
            lb.idle_timeout_seconds,
            f"must be at least the {longest.seconds} s a request may take ({which}): the ALB closes a "
            "connection that carried no byte for this long and answers 504 to a request still waiting",
        )
    if stack.controller.enabled and lb.idle_timeout_seconds >= NGINX_KEEPALIVE_SECONDS:
        problems.add(
            ("loadBalancer", "idleTimeoutSeconds"),
            lb.idle_timeout_seconds,
            f"must be below ingress-nginx's keep-alive ({NGINX_KEEPALIVE_SECONDS} s): otherwise nginx may close an "
            "idle connection just as the ALB sends a request on it, and the ALB answers 502",
        )


def _check_controller_drain(stack: Drains, problems: Problems) -> None:
    controller, lb, gateway = stack.controller, stack.load_balancer, stack.gateway
    delay = lb.deregistration_delay_seconds
    lag = whole_seconds(deregistration_lag(lb.type))
    if lb.type == "application":
        # The ALB stops sending new requests up to `lag` after the deletion and closes what is left a
        # deregistration delay later: the proxy serves until then.
        needed = lag

        def why(pod: str, proxy: str, formula: str) -> str:
            return (
                f"behind an application load balancer {pod} still gets new requests up to {lag} s after it is "
                "deleted (EndpointSlice, the AWS Load Balancer Controller's DeregisterTargets, the load balancer's "
                f"own propagation), and the load balancer drains it for loadBalancer.deregistrationDelaySeconds "
                f"({delay} s) from then; {proxy} must keep serving until that drain has ended ({formula})"
            )
    else:
        # An NLB opens new connections up to `lag` after the deletion, whatever the delay, and leaves
        # the open ones to the proxy (no connection termination): the proxy serves until then.
        needed = max(0, lag - delay)

        def why(pod: str, proxy: str, formula: str) -> str:
            return (
                f"behind a network load balancer {pod} still gets new connections up to {lag} s after it is "
                "deleted (EndpointSlice, the AWS Load Balancer Controller's DeregisterTargets, the load balancer's "
                "own propagation of about 120 s whatever loadBalancer.deregistrationDelaySeconds says, "
                f"aws-load-balancer-controller #2366 and #3270); {proxy} must keep serving that long ({formula}, "
                f"{delay} s + margin)"
            )

    if controller.enabled:
        if controller.shutdown_margin_seconds < needed:
            problems.add(
                ("ingressController", "shutdownMarginSeconds"),
                controller.shutdown_margin_seconds,
                f"must be at least {needed}: "
                + why("a controller pod", "nginx", "--shutdown-grace-period = delay + margin"),
            )
        drain = controller.shutdown_delay_seconds(delay) + controller.worker_shutdown_timeout_seconds
        drain += POST_SHUTDOWN_SECONDS
        if controller.termination_grace_period_seconds < drain:
            problems.add(
                ("ingressController", "terminationGracePeriodSeconds"),
                controller.termination_grace_period_seconds,
                f"must cover the load balancer's deregistration delay plus the controller's drain: "
                f"{delay} s (loadBalancer.deregistrationDelaySeconds) + "
                f"{controller.shutdown_margin_seconds} s margin + {controller.worker_shutdown_timeout_seconds} s "
                f"nginx drain + {POST_SHUTDOWN_SECONDS} s exit = {drain} s, or the kubelet kills pods "
                "that still hold connections",
            )
        sockets = [(i, r) for i, r in enumerate(stack.routing.routes) if r.websocket and r.timeouts is not None]
        for index, route in sockets:
            assert route.timeouts is not None
            budget = max(route.timeouts.read_seconds, route.timeouts.send_seconds)
            if controller.worker_shutdown_timeout_seconds < budget:
                problems.add(
                    ("ingressController", "workerShutdownTimeoutSeconds"),
                    controller.worker_shutdown_timeout_seconds,
                    f"must be at least the {budget} s a WebSocket route allows a socket (routing.routes[{index}] "
                    f"`{route.name}`): every nginx reload (an Ingress added or changed, the canary turned on) "
                    "leaves the open sockets on the old workers, which close them all at once when this "
                    "timeout ends (ingress-nginx #2461, #7115)",
                )
    if gateway.enabled and gateway.shutdown.margin_seconds < needed:
        problems.add(
            ("gateway", "shutdown", "marginSeconds"),
            gateway.shutdown.margin_seconds,
            f"must be at least {needed}: {why('an Envoy proxy pod', 'Envoy', 'minDrainDuration = delay + margin')}",
        )
    if gateway.enabled and lb.type == "network":
        # No connection termination: the NLB leaves a stopping proxy's sockets to Envoy, which closes
        # what is left when its drainTimeout (minDrainDuration + drainSeconds) ends.
        # One problem, for the longest socket budget: the value that fixes it fixes every route.
        budgets = [
            (max(route.timeouts.read_seconds, route.timeouts.send_seconds), index, route)
            for index, route in enumerate(stack.routing.routes)
            if route.websocket and route.timeouts is not None
        ]
        if budgets:
            budget, index, route = max(budgets, key=lambda socket: socket[0])  # the first of the longest
            if gateway.shutdown.drain_seconds < budget:
                problems.add(
                    ("gateway", "shutdown", "drainSeconds"),
                    gateway.shutdown.drain_seconds,
                    f"must be at least the {budget} s a WebSocket route allows a socket (routing.routes[{index}] "
                    f"`{route.name}`): behind a network load balancer a stopping proxy's sockets stay open until "
                    "Envoy closes them itself, when its drain times out",
                )


def _check_app_drains(stack: Drains, problems: Problems) -> None:
    controller, lb = stack.controller, stack.load_balancer
    # A backend keeps sending an app pod new requests until it has seen the pod go. ingress-nginx also
    # freezes its upstreams once told to stop (internal/ingress/controller/nginx.go drops every update
    # while isShuttingDown), so a controller pod evicted with an app pod (a node drain) keeps sending
    # it requests for as long as the load balancer sends the controller new ones.
    windows = []
    if controller.enabled:
        windows.append((upstream_lag("nginx"), "ingress-nginx sees it go that late (EndpointSlice, sync, workers)"))
        frozen = "a controller pod evicted with it (a node drain) stops updating its upstreams when told to stop"
        if lb.type == "application":
            window, held = deregistration_lag(lb.type), "the ALB still sends that controller new requests"
        else:
            window = lb.deregistration_delay_seconds + controller.shutdown_margin_seconds
            held = "an NLB's clients keep sending that controller requests on their connections until nginx quits"
        windows.append((window, f"{frozen}, and {held}"))
    if stack.gateway.enabled:
        windows.append((upstream_lag("envoy"), "Envoy sees it go that late (EndpointSlice, xDS)"))
    reported: set[tuple[str | int, ...]] = set()
    for name, workload in stack.workloads.items():
        shutdown = workload.shutdown
        if windows:
            window, reason = max(windows)
            needed = whole_seconds(window)
            if shutdown.pre_stop_sleep_seconds < needed:
                problems.add(
                    (name, "shutdown", "preStopSleepSeconds"),
                    shutdown.pre_stop_sleep_seconds,
                    f"must be at least {needed}: a new request can reach the pod up to {needed} s after its "
                    f"deletion, and it must still be serving then: {reason}",
                )
        left = shutdown.termination_grace_period_seconds - shutdown.pre_stop_sleep_seconds
        routes = {route.name: route for route in stack.routing.routes if route.workload == name}
        for limit in request_limits(stack):
            if limit.backend != "Envoy" or limit.route not in routes or limit.seconds <= left:
                continue
            envoy_key = limit.key or (name, "shutdown", "terminationGracePeriodSeconds")
            if envoy_key in reported:
                continue
            reported.add(envoy_key)
            serve = (
                f"the {left} s {name} pods serve after SIGTERM ({name}.shutdown.terminationGracePeriodSeconds "
                f"{shutdown.termination_grace_period_seconds} - preStopSleepSeconds {shutdown.pre_stop_sleep_seconds})"
            )
            if limit.key is not None:
                value, text = limit.seconds, (
                    f"must not exceed {serve}: it is Envoy's request timeout on route `{limit.route}` (the retries' "
                    "time bound), and a request admitted just before SIGTERM would be killed mid-flight"
                )
            else:
                value, text = shutdown.termination_grace_period_seconds, (
                    f"must leave the {limit.seconds} s Envoy lets a request on route `{limit.route}` run (its default "
                    "route timeout: the route has no retries to bound it) after the preStop sleep "
                    f"({shutdown.pre_stop_sleep_seconds} s), but leaves {left} s: a request admitted just before "
                    "SIGTERM would be killed mid-flight"
                )
            problems.add(envoy_key, value, text)
        for index, route in enumerate(stack.routing.routes):
            if route.workload != name or route.websocket:
                continue
            where: tuple[str | int, ...] = ("routing", "routes", index, "timeouts")
            timeouts = route.timeouts
            if timeouts is None and controller.enabled:
                timeouts, where = controller.timeouts, ("ingressController", "timeouts")
            if timeouts is None:
                continue
            for field, key in (("read_seconds", "readSeconds"), ("send_seconds", "sendSeconds")):
                value = getattr(timeouts, field)
                if value > left and (*where, key) not in reported:
                    reported.add((*where, key))
                    problems.add(
                        (*where, key),
                        value,
                        f"must not exceed the {left} s {name} pods serve after SIGTERM "
                        f"({name}.shutdown.terminationGracePeriodSeconds {shutdown.termination_grace_period_seconds} "
                        f"- preStopSleepSeconds {shutdown.pre_stop_sleep_seconds}; route `{route.name}`): a "
                        "request admitted just before SIGTERM would be killed mid-flight",
                    )
