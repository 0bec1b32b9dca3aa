"""How long each real system takes to let go of a pod (or to take a new one in): the delays the
zero-downtime model (``simulate/downtime``) runs at both ends and the drain rules (``config/drain.py``)
add up.

A pod leaves the traffic path through a chain of controllers, each with its own delay: the
EndpointSlice controller, ingress-nginx's sync (or Envoy Gateway's xDS push), the AWS Load Balancer
Controller's reconcile and the load balancer's own propagation. None of these delays is a constant;
each is an :class:`Interval` ``[low, high]`` named after the system that decides it, with the
upstream files it was read from (:class:`Source`: repository, path, tag) or, where the behaviour is
only reported, the reports (:class:`Report`), and with what its ends rest on where no upstream file
bounds it (``basis``).

Why the worst case lies at an end: most event times of the model are sums of delays along one chain
of controllers, and every property compares two such times, so the comparison is linear in each
delay and extreme at an end; each entry's ``worst`` says which end is the worst for what. Where a
maximum or a minimum of two chains enters, the suite samples the interior too (docs/downtime.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

K8S, K8S_TAG = "kubernetes/kubernetes", "v1.34.0"
NGINX, NGINX_TAG = "kubernetes/ingress-nginx", "controller-v1.15.1"
LBC, LBC_TAG = "kubernetes-sigs/aws-load-balancer-controller", "v3.5.0"
ENVOY_GATEWAY, ENVOY_GATEWAY_TAG = "envoyproxy/gateway", "v1.9.0"


@dataclass(frozen=True)
class Source:
    """An upstream file that decides (part of) a delay, or a rule of another system (a controller's)."""

    repository: str
    path: str
    tag: str
    reads: str
    """What the file says that the interval takes from it."""

    def __str__(self) -> str:
        return f"{self.repository} {self.path} @ {self.tag} ({self.reads})"


@dataclass(frozen=True)
class Report:
    """A public report of a behaviour no upstream file documents (a load balancer's own timing)."""

    repository: str
    numbers: tuple[int, ...]
    says: str

    def __str__(self) -> str:
        numbers = ", ".join(f"#{n}" for n in self.numbers)
        return f"{self.repository} issues {numbers} ({self.says})"


@dataclass(frozen=True)
class Interval:
    """One delay of a real system: it takes anywhere from ``low`` to ``high`` (in ``unit``)."""

    name: str
    low: float
    high: float
    what: str
    sources: tuple[Source | Report, ...]
    """The upstream files (repository, path, tag), or the reports, the interval is read from."""
    worst: str
    """Why the worst case of every property lies at one of the two ends (the model runs both)."""
    basis: str = ""
    """What an end rests on where no upstream file bounds it (a budget this project allows)."""
    unit: str = "s"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and 0 <= self.low <= self.high):
            raise ValueError(f"interval {self.name}: [{self.low}, {self.high}] is not an interval of 0 or more")
        if not self.sources and not self.basis:
            raise ValueError(f"interval {self.name}: neither an upstream source nor a basis")

    @property
    def source(self) -> str:
        """The sources and the basis in one sentence (the docs' table)."""
        return "; ".join([*(str(s) for s in self.sources), *([self.basis] if self.basis else [])])


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
            (Source(K8S, "pkg/kubelet/kuberuntime/kuberuntime_container.go", K8S_TAG,
                    "killContainer runs the preStop hook within the grace period, then stops the container "
                    "(SIGTERM) with what is left of it"),),
            "SIGTERM and SIGKILL both move with it; an early SIGTERM is the worst case for a request still "
            "routed to the pod (low end), a late one for nothing (the grace period moves with it)",
            basis="the kubelet learns of the deletion through its watch, which no upstream bounds: 1 s allowed",
        ),
        Interval(
            "k8s.endpoints",
            0,
            1,
            "a pod's change (Ready, deleted) until its EndpointSlice shows it (ready / terminating)",
            (Source(K8S, "cmd/kube-controller-manager/app/options/endpointslicecontroller.go", K8S_TAG,
                    "--endpointslice-updates-batch-period delays pod changes only when set (0 unless given)"),),
            _MONOTONE,
            basis="the EndpointSlice controller's sync and the watches have no upstream bound: 1 s allowed",
        ),
        Interval(
            "pod.start",
            0,
            5,
            "a new pod's creation until its containers run: scheduling and image pull",
            (),
            "a later start delays the rollout's next step, which only spreads the disruptions out; the "
            "early end packs them closest together",
            basis="a cluster's own figure, not an upstream one: the scaling simulator's defaults (scheduling 2 s, "
            "image pull 3 s: simulate/cli.py DEFAULTS), on a node with room",
        ),
        Interval(
            "probe.phase",
            0,
            1,
            "when a new container's first successful readiness probe lands within one probe period "
            "after initialDelaySeconds (the startup probe's, when one is defined)",
            (Source(K8S, "pkg/kubelet/prober/worker.go", K8S_TAG,
                    "a worker probes every periodSeconds once initialDelaySeconds have passed"),),
            "as for pod.start: it moves the rollout's steps only",
            unit="× periodSeconds",
        ),
        Interval(
            "nginx.sync",
            0,
            1 / 0.3,
            "an EndpointSlice change until the ingress-nginx controller syncs it (its sync rate limiter "
            "admits one sync per 1/0.3 s, burst 1)",
            (Source(NGINX, "pkg/flags/flags.go", NGINX_TAG, "--sync-rate-limit 0.3"),
             Source(NGINX, "internal/ingress/controller/nginx.go", NGINX_TAG,
                    "NewTokenBucketRateLimiter(SyncRateLimit, 1)")),
            _MONOTONE,
        ),
        Interval(
            "nginx.worker_pickup",
            0,
            1,
            "a sync posted to nginx until every worker balances over the new endpoints",
            (Source(NGINX, "rootfs/etc/nginx/lua/balancer.lua", NGINX_TAG, "BACKENDS_SYNC_INTERVAL = 1"),),
            _MONOTONE,
        ),
        Interval(
            "envoy.xds",
            0,
            2,
            "an EndpointSlice change until Envoy's EDS has it (a terminating endpoint arrives as DRAINING "
            "and gets no new requests)",
            (Source(ENVOY_GATEWAY, "internal/gatewayapi/route.go", ENVOY_GATEWAY_TAG,
                    "getIREndpointsFromEndpointSlice: draining = terminating or not serving"),
             Source(ENVOY_GATEWAY, "internal/xds/translator/cluster.go", ENVOY_GATEWAY_TAG,
                    "HealthStatus_DRAINING")),
            _MONOTONE,
            basis="no upstream bound on the push: 2 s allowed",
        ),
        Interval(
            "lbc.reconcile",
            0,
            2,
            "an EndpointSlice change until the AWS Load Balancer Controller calls RegisterTargets or "
            "DeregisterTargets",
            (Source(LBC, "controllers/elbv2/targetgroupbinding_controller.go", LBC_TAG,
                    "watches EndpointSlices and Services; 3 concurrent reconciles"),
             Source(LBC, "pkg/aws/throttle/defaults.go", LBC_TAG, "Register/DeregisterTargets at 4/s, burst 20")),
            _MONOTONE,
        ),
        Interval(
            "lbc.health_poll",
            0,
            15,
            "a target turning healthy until the controller sets the pod's target-health readiness gate "
            "(it polls target health every 15 s while a gate is pending)",
            (Source(LBC, "pkg/config/controller_config.go", LBC_TAG, "defaultTargetGroupBindingRequeuDuration = 15 s"),
             Source(LBC, "pkg/targetgroupbinding/resource_manager.go", LBC_TAG,
                    "'Requeue for target monitor target health'")),
            "a later gate keeps the new pod unready longer: the rollout waits, the old target keeps "
            "serving; the low end lets the old pod go earliest",
        ),
        Interval(
            "tg.first_check",
            0,
            1,
            "a new target's registration until the target group's first health check of it",
            (Source(LBC, "docs/deploy/pod_readiness_gate.md", LBC_TAG,
                    "'Initial health checks in progress': healthy after healthyThreshold passes, one each "
                    "healthCheck.intervalSeconds"),),
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
            (Report(LBC, (1064, 1719, 2106),
                    "the ALB still sends after deregistration; 'ELB API propagation time: about 10s'"),),
            "later propagation moves both the last new request and the end of the drain later: the first "
            "is worst for the pods behind the target, the second for the target's own grace period",
            basis="the ALB's own timing, which AWS does not document: the reports' figure",
        ),
        Interval(
            "nlb.propagation",
            0,
            120,
            "DeregisterTargets until the NLB stops opening new connections to the target, whatever the "
            "deregistration delay",
            (Report(LBC, (2366, 3270), "'deregistration takes at least 2 minutes regardless of the "
                    "deregistration delay setting'"),
             Report("aws/containers-roadmap", (470,), "NLB forwards to unused targets")),
            "later propagation moves both the last new connection and the end of the drain later, as for the ALB: "
            "the first is worst for the controller's serving window, the second for its grace period",
            basis="the NLB's own timing, which AWS does not document (its docs say new connections stop at once): "
            "the reports' figure",
        ),
        Interval(
            "app.socket_close",
            0,
            1,
            "SIGTERM until the backend has closed its Socket.IO connections with a close frame",
            (),
            "a later close is closer to SIGKILL (high end); an earlier one packs the closes of pods that "
            "stop together (low end)",
            basis="the app's own figure: the guide's graceful shutdown ('Close persistent connections "
            "gracefully': the SIGTERM handler's io.close()); 1 s allowed",
        ),
        Interval(
            "lbc.outage",
            60,
            600,
            "how long the AWS Load Balancer Controller (its pod-mutating webhook and its reconciler) is "
            "unavailable while pods are created",
            (Source(LBC, "docs/deploy/pod_readiness_gate.md", LBC_TAG,
                    "FailurePolicy 'Ignore' by default since v2.11: 'Kubernetes may terminate application pods "
                    "before the new pods have become healthy in the TargetGroups'"),),
            "a short outage ends while the first gate-less pods roll, a long one outlasts the whole rollout",
            basis="an outage's length is the cluster's: from a controller restart (60 s) to a failed upgrade "
            "noticed and rolled back (600 s)",
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
NGINX_KEEPALIVE_SECONDS = 75
"""How long ingress-nginx keeps an idle client connection (the load balancer's) open: ConfigMap
`keep-alive`, default 75 (kubernetes/ingress-nginx docs/user-guide/nginx-configuration/configmap.md @
controller-v1.15.1); the program leaves it at its default."""
ENVOY_DEFAULT_ROUTE_TIMEOUT_SECONDS = 15
"""Envoy's request timeout on a route whose HTTPRoute sets none: envoyproxy/gateway
internal/gatewayapi/route.go (HTTPRequestTimeout = "15s", Envoy's own RouteAction default) @ v1.9.0."""


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
