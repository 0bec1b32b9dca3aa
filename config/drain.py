"""The drain budget: the rules that keep every drain of the stack inside the budget the next layer
gives it, where a plain inequality is clearer than a timeline (an NLB with the ALB's budget, route
timeouts beyond the grace period, a reload budget below the socket routes'). They add the high ends
of the delays in ``config/delays.py``, the same data the zero-downtime model (``simulate/downtime``)
runs at both ends.
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
    "Source",
    "check_drains",
    "deregistration_lag",
    "high",
    "propagation",
    "upstream_lag",
    "whole_seconds",
]


# --- The rules -----------------------------------------------------------------------------------


def check_drains(stack: Drains, problems: Problems) -> None:
    """Every drain of the stack fits inside the budget the next layer gives it (see the module doc)."""
    _check_controller_drain(stack, problems)
    _check_app_drains(stack, problems)


def _check_controller_drain(stack: Drains, problems: Problems) -> None:
    controller, lb, gateway = stack.controller, stack.load_balancer, stack.gateway
    delay = lb.deregistration_delay_seconds
    lag = whole_seconds(deregistration_lag(lb.type))
    kind = "an application load balancer" if lb.type == "application" else "a network load balancer"
    reports = " of about 120 s, aws-load-balancer-controller #2366 and #3270" if lb.type == "network" else ""
    def why(pod: str) -> str:
        return (
            f"behind {kind} {pod} still gets new requests up to {lag} s after it is deleted (EndpointSlice, the "
            f"AWS Load Balancer Controller's DeregisterTargets, the load balancer's own propagation{reports}), and "
            f"the load balancer drains it for loadBalancer.deregistrationDelaySeconds ({delay} s) from then"
        )

    if controller.enabled:
        if controller.shutdown_margin_seconds < lag:
            problems.add(
                ("ingressController", "shutdownMarginSeconds"),
                controller.shutdown_margin_seconds,
                f"must be at least {lag}: {why('a controller pod')}; nginx must keep serving until that drain has "
                "ended (--shutdown-grace-period = delay + margin)",
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
    if gateway.enabled and gateway.shutdown.margin_seconds < lag:
        problems.add(
            ("gateway", "shutdown", "marginSeconds"),
            gateway.shutdown.margin_seconds,
            f"must be at least {lag}: {why('an Envoy proxy pod')}; Envoy must keep serving until that drain has ended "
            "(minDrainDuration = delay + margin)",
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
