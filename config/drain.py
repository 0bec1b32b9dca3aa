"""The drain budget: how long each real system takes to let go of a pod, and the rules that keep every
drain of the stack inside its budget.

A pod leaves the traffic path through a chain of controllers, each with its own delay: the
EndpointSlice controller, ingress-nginx's sync (or Envoy Gateway's xDS push), the AWS Load Balancer
Controller's reconcile and the load balancer's own propagation. None of these delays is a constant;
each is an :class:`Interval` ``[low, high]`` named after the system that decides it, with the
upstream file (or report) it was read from. The zero-downtime model (``simulate/downtime``) runs
every scenario at both ends of every interval; the config rules here use the high ends, where a
plain inequality is clearer than a timeline (an NLB with the ALB's budget, route timeouts beyond
the grace period, a reload budget below the socket routes').

The numbers are data, read from these tags: kubernetes/ingress-nginx controller-v1.15.1,
kubernetes-sigs/aws-load-balancer-controller v3.5.0, envoyproxy/gateway v1.9.0, kubernetes/website
(the pod termination and EndpointSlice pages), kubernetes/kubectl (drain).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .base import Problems
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


@dataclass(frozen=True)
class Interval:
    """One delay of a real system: it takes anywhere from ``low`` to ``high`` (in ``unit``)."""

    name: str
    low: float
    high: float
    what: str
    source: str
    """Repository, path and tag (or the report) the interval is read from."""
    worst: str
    """Why the worst case of every property lies at one of the two ends (the model runs both)."""
    unit: str = "s"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and 0 <= self.low <= self.high):
            raise ValueError(f"interval {self.name}: [{self.low}, {self.high}] is not an interval of 0 or more")


_MONOTONE = (
    "every event downstream of it moves later as it grows and no property compares two events that "
    "both depend on it in opposite directions, so each comparison is extreme at an end"
)

DELAYS: dict[str, Interval] = {
    d.name: d
    for d in (
        Interval(
            "kubelet.notice",
            0,
            1,
            "a pod's deletion until its kubelet starts the preStop hook (and counts the grace period)",
            "kubernetes/website content/en/docs/concepts/workloads/pods/pod-termination.md (Pod Termination "
            "Flow: 'as soon as the kubelet sees that a Pod has been marked as terminating'); the watch has "
            "no upstream bound, 1 s is the budget allowed here",
            "SIGTERM and SIGKILL both move with it; an early SIGTERM is the worst case for a request still "
            "routed to the pod (low end), a late one for nothing (the grace period moves with it)",
        ),
        Interval(
            "k8s.endpoints",
            0,
            1,
            "a pod's change (Ready, deleted) until its EndpointSlice shows it (ready / terminating)",
            "kubernetes/website content/en/docs/concepts/workloads/pods/pod-termination.md ('the control "
            "plane evaluates whether to remove that shutting-down Pod from EndpointSlice objects'); "
            "kube-controller-manager --endpointslice-updates-batch-period defaults to 0 (no batching: "
            "content/en/docs/reference/command-line-tools-reference/kube-controller-manager.md); 1 s for the "
            "controller and the watches",
            _MONOTONE,
        ),
        Interval(
            "pod.start",
            0,
            5,
            "a new pod's creation until its containers run: scheduling and image pull",
            "the scaling simulator's defaults (scheduling 2 s, image pull 3 s: simulate/cli.py DEFAULTS), "
            "on a node with room",
            "a later start delays the rollout's next step, which only spreads the disruptions out; the "
            "early end packs them closest together",
        ),
        Interval(
            "probe.phase",
            0,
            1,
            "when a new container's first successful readiness probe lands within one probe period "
            "after initialDelaySeconds (the startup probe's, when one is defined)",
            "kubernetes/website content/en/docs/concepts/workloads/pods/probes.md (periodSeconds, "
            "initialDelaySeconds); the simulator's probe_startup_s takes the late end",
            "as for pod.start: it moves the rollout's steps only",
            unit="× periodSeconds",
        ),
        Interval(
            "nginx.sync",
            0,
            1 / 0.3,
            "an EndpointSlice change until the ingress-nginx controller syncs it (its sync rate limiter "
            "admits one sync per 1/0.3 s, burst 1)",
            "kubernetes/ingress-nginx pkg/flags/flags.go (--sync-rate-limit 0.3) and "
            "internal/ingress/controller/nginx.go (NewTokenBucketRateLimiter(SyncRateLimit, 1)) @ "
            "controller-v1.15.1",
            _MONOTONE,
        ),
        Interval(
            "nginx.worker_pickup",
            0,
            1,
            "a sync posted to nginx until every worker balances over the new endpoints",
            "kubernetes/ingress-nginx rootfs/etc/nginx/lua/balancer.lua (BACKENDS_SYNC_INTERVAL = 1) @ "
            "controller-v1.15.1",
            _MONOTONE,
        ),
        Interval(
            "envoy.xds",
            0,
            2,
            "an EndpointSlice change until Envoy's EDS has it (a terminating endpoint arrives as DRAINING "
            "and gets no new requests)",
            "envoyproxy/gateway internal/gatewayapi/route.go (getIREndpointsFromEndpointSlice: draining = "
            "terminating or not serving) and internal/xds/translator/cluster.go (HealthStatus_DRAINING) @ "
            "v1.9.0; no upstream bound on the push, 2 s allowed here",
            _MONOTONE,
        ),
        Interval(
            "lbc.reconcile",
            0,
            2,
            "an EndpointSlice change until the AWS Load Balancer Controller calls RegisterTargets or "
            "DeregisterTargets",
            "kubernetes-sigs/aws-load-balancer-controller controllers/elbv2/targetgroupbinding_controller.go "
            "(watches EndpointSlices and Services; 3 concurrent reconciles) and pkg/aws/throttle/defaults.go "
            "(Register/DeregisterTargets at 4/s, burst 20) @ v3.5.0",
            _MONOTONE,
        ),
        Interval(
            "lbc.health_poll",
            0,
            15,
            "a target turning healthy until the controller sets the pod's target-health readiness gate "
            "(it polls target health every 15 s while a gate is pending)",
            "kubernetes-sigs/aws-load-balancer-controller pkg/config/controller_config.go "
            "(defaultTargetGroupBindingRequeuDuration = 15 s) and pkg/targetgroupbinding/resource_manager.go "
            "('Requeue for target monitor target health') @ v3.5.0",
            "a later gate keeps the new pod unready longer: the rollout waits, the old target keeps "
            "serving; the low end lets the old pod go earliest",
        ),
        Interval(
            "tg.first_check",
            0,
            1,
            "a new target's registration until the target group's first health check of it",
            "the target group's healthCheck.intervalSeconds; healthy after healthyThreshold passes "
            "(kubernetes-sigs/aws-load-balancer-controller docs/deploy/pod_readiness_gate.md @ v3.5.0: "
            "'Initial health checks in progress')",
            "it moves the target's healthy instant, which only the readiness gate and healthy-target-always "
            "read, both monotone in it",
            unit="× intervalSeconds",
        ),
        Interval(
            "alb.propagation",
            0,
            10,
            "DeregisterTargets until the ALB stops sending the target new requests (its deregistration "
            "delay counted from then)",
            "kubernetes-sigs/aws-load-balancer-controller issues #1064 and #1719 (the ALB still sends after "
            "deregistration; 'ELB API propagation time: about 10s'), #2106",
            "later propagation moves both the last new request and the end of the drain later: the first "
            "is worst for the pods behind the target, the second for the target's own grace period",
        ),
        Interval(
            "nlb.propagation",
            0,
            120,
            "DeregisterTargets until the NLB stops opening new connections to the target, whatever the "
            "deregistration delay",
            "kubernetes-sigs/aws-load-balancer-controller issues #2366 ('deregistration takes at least 2 "
            "minutes regardless of the deregistration delay setting') and #3270; aws/containers-roadmap #470",
            "later propagation moves both the last new connection and the end of the drain later, as for the ALB: "
            "the first is worst for the controller's serving window, the second for its grace period",
        ),
        Interval(
            "app.socket_close",
            0,
            1,
            "SIGTERM until the backend has closed its Socket.IO connections with a close frame",
            "the guide's graceful shutdown ('Close persistent connections gracefully'): the app's SIGTERM "
            "handler, io.close(); 1 s allowed",
            "a later close is closer to SIGKILL (high end); an earlier one packs the closes of pods that "
            "stop together (low end)",
        ),
        Interval(
            "lbc.outage",
            60,
            600,
            "how long the AWS Load Balancer Controller (its pod-mutating webhook and its reconciler) is "
            "unavailable while pods are created",
            "kubernetes-sigs/aws-load-balancer-controller docs/deploy/pod_readiness_gate.md @ v3.5.0 "
            "(FailurePolicy: 'Ignore' by default since v2.11: 'Kubernetes may terminate application pods before "
            "the new pods have become healthy in the TargetGroups')",
            "a short outage ends while the first gate-less pods roll, a long one outlasts the whole rollout",
        ),
    )
}

# Fixed timings (not intervals) the model and the rules read, with their sources.
POST_SHUTDOWN_SECONDS = 10
"""ingress-nginx waits this long after nginx stopped before it exits: pkg/flags/flags.go
(--post-shutdown-grace-period 10) @ controller-v1.15.1."""
EVICTION_RETRY_SECONDS = 5
"""`kubectl drain` retries an eviction the PodDisruptionBudget refuses after this long: kubernetes/kubectl
pkg/drain/drain.go (EvictErrorRetryDelay, 5 s in cmd/drain)."""
RECONNECT_WINDOW_SECONDS = 5
"""A Socket.IO client reconnects within this long (reconnectionDelayMax 5000 ms, the socket.io-client
default): the window in which closed sockets come back together."""
NGINX_DEFAULT_TIMEOUT_SECONDS = 60
"""ingress-nginx's proxy-read-timeout and proxy-send-timeout when nothing sets them: docs of the
ConfigMap @ controller-v1.15.1 (default 60)."""


def high(*names: str) -> float:
    """The sum of the high ends of the named delays: the longest a chain of them takes."""
    return sum(DELAYS[name].high for name in names)


def propagation(load_balancer_type: str) -> str:
    """The name of the load balancer's own deregistration propagation delay."""
    return "alb.propagation" if load_balancer_type == "application" else "nlb.propagation"


def deregistration_lag(load_balancer_type: str) -> float:
    """Longest from a controller pod's deletion until its load balancer sends it no new request:
    EndpointSlice, the AWS Load Balancer Controller's DeregisterTargets, the load balancer's propagation.
    The load balancer's drain of the target ends a deregistration delay after that."""
    return high("k8s.endpoints", "lbc.reconcile", propagation(load_balancer_type))


def upstream_lag(backend: str) -> float:
    """Longest from an app pod's deletion until a routing backend sends it no new request."""
    if backend == "nginx":
        return high("k8s.endpoints", "nginx.sync", "nginx.worker_pickup")
    return high("k8s.endpoints", "envoy.xds")


def whole_seconds(value: float) -> int:
    return math.ceil(value - 1e-9)


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
