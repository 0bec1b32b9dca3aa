"""The second routing backend: Gateway API on Envoy Gateway, rendering the same routing intent as
ingress-nginx (``config/traffic.py``).

- the Envoy Gateway controller: its namespace and the pinned Helm release (``gateway-helm``), with
  the CRDs left out of it (see ``docs/gateway-migration.md``: Helm never upgrades CRDs);
- a GatewayClass whose parameters are an ``EnvoyProxy``: the proxy fleet's fixed-name ClusterIP
  Service, its HPA, PDB, zone spread, pod security and drain;
- one Gateway (plain HTTP; TLS ends at the load balancer) in the proxies' namespace, with a
  ClientTrafficPolicy: the load balancer's health check answered by the listener itself, client
  addresses from the ALB's ``X-Forwarded-For`` trusted from the VPC only (proxy protocol behind an
  NLB), the downstream idle timeout;
- per route an HTTPRoute (hosts, path, Service, cookie session persistence, route timeouts, the
  canary's weighted ``backendRefs``) and a BackendTrafficPolicy (balancing, retries, keepalive,
  stream idle timeout);
- a TargetGroupBinding that registers the proxy pods in the load balancer's second target group;
- default-deny NetworkPolicies in both Envoy Gateway namespaces, opening only what they need.

Every object is a pure builder's dict, checked against the real upstream CRDs by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from config.gateway import GatewaySettings
from config.network import NetworkPolicySettings
from config.operations import CanarySettings
from config.traffic import IngressControllerSettings, LoadBalancerSettings, Retries, Route

from .k8s import (
    child_opts,
    helm_release,
    labels,
    metadata,
    register,
    resource_requirements,
    scaling_rules,
    spread_constraints,
)
from .routes import RoutesArgs, service_name

RELEASE = "envoy-gateway"
CHART = "gateway-helm"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_API = "gateway.networking.k8s.io"
ENVOY_API = "gateway.envoyproxy.io"
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
XDS_PORT = 18000  # the controller's xDS server the proxies connect to (chart `deployment.ports` grpc)
CONTROLLER_METRICS_PORT = 19001  # the controller's metrics (chart `deployment.ports` metrics)
PROXY_METRICS_PORT = 19001  # each proxy's Prometheus endpoint (/stats/prometheus)
# The global rate-limit service Envoy Gateway deploys in its namespace (internal/infrastructure/
# kubernetes/ratelimit: InfraName, InfraGRPCPort, rateLimitLabels); it takes its rules from the
# controller's rate-limit xDS server (chart `deployment.ports` ratelimit).
RATELIMIT_SELECTOR = {
    "app.kubernetes.io/name": "envoy-ratelimit",
    "app.kubernetes.io/component": "ratelimit",
    "app.kubernetes.io/managed-by": "envoy-gateway",
}
RATELIMIT_PORT = 8081
RATELIMIT_XDS_PORT = 18001
# Every client address, each counted apart (`Distinct`): IPv4 and IPv6.
EVERY_CLIENT = ("0.0.0.0/0", "::/0")
PROXY_USER = 65532  # the user Envoy Gateway runs its proxy containers as
# Labels of the controller pods (chart `eg.selectorLabels` + `control-plane`).
CONTROLLER_SELECTOR = {
    "control-plane": "envoy-gateway",
    "app.kubernetes.io/name": CHART,
    "app.kubernetes.io/instance": RELEASE,
}
# Labels Envoy Gateway puts on every proxy pod (internal/infrastructure/kubernetes/proxy EnvoyAppLabel).
PROXY_SELECTOR = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
}
OWNING_GATEWAY_NAME = "gateway.envoyproxy.io/owning-gateway-name"
OWNING_GATEWAY_NAMESPACE = "gateway.envoyproxy.io/owning-gateway-namespace"

# nginx `proxy-next-upstream` conditions -> Envoy retry triggers. `error` (a connection could not
# be made, or broke before the response header) is connect-failure + reset; a connect timeout is a
# connect-failure too. Status conditions become retriable status codes.
RETRY_TRIGGERS = {
    "error": ("connect-failure", "reset"),
    "timeout": ("connect-failure",),
    "invalid_header": ("reset",),
}


@dataclass(frozen=True)
class GatewayArgs:
    settings: GatewaySettings
    # The controller-wide defaults of the routing intent (balancing, keepalive, retries), which
    # ingress-nginx reads from its ConfigMap: Envoy Gateway renders them per route.
    defaults: IngressControllerSettings
    load_balancer: LoadBalancerSettings
    routes: RoutesArgs
    canary: CanarySettings
    canary_service: str | None  # the canary's Service when it is enabled
    network: NetworkPolicySettings
    serving: Mapping[str, int]  # app component -> container port the proxies may reach
    app_namespace: str
    monitoring_namespace: str
    prometheus_labels: Mapping[str, str]
    kubernetes_version: str
    instance: str

    @property
    def behind_nlb(self) -> bool:
        return self.load_balancer.type == "network"

    @property
    def proxy_name(self) -> str:
        return f"{self.settings.name}-proxy"

    def labels(self, component: str) -> dict[str, str]:
        return labels(f"gateway-{component}", self.instance)


def seconds(value: int) -> str:
    """A Gateway API / Envoy Gateway duration (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`) of whole seconds."""
    hours, rest = divmod(value, 3600)
    if hours and not rest:
        return f"{hours}h"
    return f"{value}s" if value < 100_000 else f"{hours}h{rest}s"


# --- Namespaces and the controller -------------------------------------------------------------


def build_namespaces(args: GatewayArgs) -> list[dict[str, Any]]:
    """The controller's namespace and the proxies' namespace, both under Pod Security Admission;
    the proxies' namespace also gets the AWS Load Balancer Controller's readiness gates."""
    s = args.settings
    result = []
    for name, component in ((s.namespace, "controller"), (s.proxy_namespace, "proxy")):
        ns_labels = args.labels(component)
        for mode, level in (("enforce", s.pod_security), ("audit", "restricted"), ("warn", "restricted")):
            ns_labels[f"pod-security.kubernetes.io/{mode}"] = level
            ns_labels[f"pod-security.kubernetes.io/{mode}-version"] = f"v{args.kubernetes_version}"
        if component == "proxy":
            # A new proxy pod counts as ready only once its target is healthy in the target group.
            ns_labels[READINESS_GATE_LABEL] = "enabled"
        result.append({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(name, None, ns_labels)})
    return result


def build_values(args: GatewayArgs) -> dict[str, Any]:
    """Helm values of the `gateway-helm` chart (keys as in its values.yaml)."""
    s = args.settings
    return {
        # The CRDs are not this release's: Helm installs a chart's crds/ once and never upgrades them.
        "crds": {"enabled": False},
        "deployment": {
            "replicas": s.controller.replicas,
            "envoyGateway": {"resources": resource_requirements(s.controller.resources)},
            "pod": {
                "labels": {"app.kubernetes.io/part-of": "spywatcher"},
                "topologySpreadConstraints": spread_constraints(CONTROLLER_SELECTOR),
            },
        },
        "podDisruptionBudget": {"minAvailable": s.controller.min_available},
        # Zone-aware routing is not used: no mutating webhook for the API server to reach.
        "topologyInjector": {"enabled": False},
        "config": {"envoyGateway": envoy_gateway_config(args)},
    }


def envoy_gateway_config(args: GatewayArgs) -> dict[str, Any]:
    """The controller's EnvoyGateway configuration (chart `config.envoyGateway`)."""
    config: dict[str, Any] = {
        "gateway": {"controllerName": CONTROLLER_NAME},
        "provider": {"type": "Kubernetes", "kubernetes": {"deploy": {"type": "GatewayNamespace"}}},
    }
    redis = args.settings.rate_limit.redis_url
    if redis is not None:
        # Deploys the global rate-limit service, counting in this Redis.
        config["rateLimit"] = {"backend": {"type": "Redis", "redis": {"url": redis}}}
    return config


# --- GatewayClass, EnvoyProxy, Gateway, ClientTrafficPolicy ------------------------------------


def build_gateway_class(args: GatewayArgs) -> dict[str, Any]:
    s = args.settings
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "GatewayClass",
        "metadata": metadata(s.gateway_class, None, args.labels("class")),
        "spec": {
            "controllerName": CONTROLLER_NAME,
            "parametersRef": {
                "group": ENVOY_API,
                "kind": "EnvoyProxy",
                "name": args.proxy_name,
                "namespace": s.proxy_namespace,
            },
        },
    }


def proxy_pod_selector(args: GatewayArgs) -> dict[str, str]:
    """The labels of this Gateway's proxy pods."""
    return {
        **PROXY_SELECTOR,
        OWNING_GATEWAY_NAME: args.settings.name,
        OWNING_GATEWAY_NAMESPACE: args.settings.proxy_namespace,
    }


def build_envoy_proxy(args: GatewayArgs) -> dict[str, Any]:
    """The proxy fleet: a ClusterIP Service with a fixed name, ≥ 2 pods under their own HPA and PDB,
    spread over zones, restricted pod security, and a drain that outlasts the deregistration delay."""
    s = args.settings
    scaling = s.autoscaling
    delay = args.load_balancer.deregistration_delay_seconds
    container_security = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "runAsNonRoot": True,
        "runAsUser": PROXY_USER,
        "runAsGroup": PROXY_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return {
        "apiVersion": f"{ENVOY_API}/v1alpha1",
        "kind": "EnvoyProxy",
        "metadata": metadata(args.proxy_name, s.proxy_namespace, args.labels("proxy")),
        "spec": {
            "provider": {
                "type": "Kubernetes",
                "kubernetes": {
                    "envoyService": {"name": s.service_name, "type": "ClusterIP"},
                    "envoyDeployment": {
                        "pod": {
                            "labels": {"app.kubernetes.io/part-of": "spywatcher"},
                            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                            "topologySpreadConstraints": spread_constraints(dict(proxy_pod_selector(args))),
                        },
                        # Applies to the envoy and the shutdown-manager containers alike.
                        "container": {
                            "resources": resource_requirements(s.resources),
                            "securityContext": container_security,
                        },
                    },
                    "envoyHpa": {
                        "minReplicas": scaling.min_replicas,
                        "maxReplicas": scaling.max_replicas,
                        "metrics": [
                            {
                                "type": "Resource",
                                "resource": {
                                    "name": resource,
                                    "target": {"type": "Utilization", "averageUtilization": utilization},
                                },
                            }
                            for resource, utilization in (
                                ("cpu", scaling.cpu_utilization),
                                ("memory", scaling.memory_utilization),
                            )
                        ],
                        "behavior": {
                            "scaleUp": scaling_rules(scaling.scale_up),
                            "scaleDown": scaling_rules(scaling.scale_down),
                        },
                    },
                    "envoyPDB": {"minAvailable": s.min_available},
                },
            },
            # On SIGTERM the shutdown manager fails the health check and drains the listeners, keeps
            # serving for at least minDrainDuration (the load balancer's deregistration delay + a
            # margin), then exits once connections are gone or drainTimeout has passed. Envoy Gateway
            # sets the pods' terminationGracePeriodSeconds to drainTimeout + 300 s.
            "shutdown": {
                "minDrainDuration": seconds(s.min_drain_seconds(delay)),
                "drainTimeout": seconds(s.drain_timeout_seconds(delay)),
            },
        },
    }


def build_gateway(args: GatewayArgs) -> dict[str, Any]:
    s = args.settings
    return {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "Gateway",
        "metadata": metadata(s.name, s.proxy_namespace, args.labels("gateway")),
        "spec": {
            "gatewayClassName": s.gateway_class,
            "listeners": [
                {
                    "name": "http",
                    "protocol": "HTTP",
                    "port": s.listener_port,
                    # Only the app namespace may attach routes.
                    "allowedRoutes": {
                        "namespaces": {
                            "from": "Selector",
                            "selector": {"matchLabels": {NAMESPACE_LABEL: args.app_namespace}},
                        },
                        "kinds": [{"group": GATEWAY_API, "kind": "HTTPRoute"}],
                    },
                }
            ],
        },
    }


def build_client_policy(args: GatewayArgs) -> dict[str, Any]:
    """How the listener treats clients (the load balancer): health check, client addresses, idle."""
    s = args.settings
    lb = args.load_balancer
    spec: dict[str, Any] = {
        "targetRefs": [{"group": GATEWAY_API, "kind": "Gateway", "name": s.name}],
        # Envoy's health-check filter answers this path itself with 200 (503 once the proxy drains),
        # whatever the Host header: the target group's check proves this proxy serves.
        "healthCheck": {"path": lb.health_check.path},
        "timeout": {
            # Longer than the ALB's idle timeout, so the ALB, not Envoy, closes idle connections
            # (as nginx's 75 s keepalive does): no 502 on a reused socket.
            "http": {"idleTimeout": seconds(lb.idle_timeout_seconds + 15)}
        },
        # Like nginx (ignore_invalid_headers), drop request headers with underscores.
        "headers": {"withUnderscoresAction": "DropHeader"},
    }
    if args.behind_nlb:
        # The NLB sends the client address in a proxy protocol v2 header, health checks included.
        spec["proxyProtocol"] = {"optional": False}
    else:
        # The ALB appends the client address to X-Forwarded-For; believe it only from the load
        # balancer's subnets (as ingress-nginx's `proxy-real-ip-cidr`).
        spec["clientIPDetection"] = {"xForwardedFor": {"trustedCIDRs": list(lb.subnet_cidrs)}}
    return {
        "apiVersion": f"{ENVOY_API}/v1alpha1",
        "kind": "ClientTrafficPolicy",
        "metadata": metadata(s.name, s.proxy_namespace, args.labels("gateway")),
        "spec": spec,
    }


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
    if route.timeouts is not None:
        # A long-lived route (WebSockets): Envoy's default 15 s route timeout would cut every
        # connection; it is off here and the stream idle timeout bounds an idle one instead.
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
    if route.timeouts is not None:
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


# --- Load balancer targets and network policies ------------------------------------------------


def build_target_group_binding(args: GatewayArgs, target_group_arn: Any, security_group_id: Any) -> dict[str, Any]:
    """Registers the proxy pods (the fixed Service's endpoints) as ip targets of the second target
    group, and lets the load balancer's security group reach their container port."""
    s = args.settings
    return {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": metadata(s.service_name, s.proxy_namespace, args.labels("proxy")),
        "spec": {
            "serviceRef": {"name": s.service_name, "port": s.listener_port},
            "targetGroupARN": target_group_arn,
            "targetType": "ip",
            "networking": {
                "ingress": [
                    {
                        "from": [{"securityGroup": {"groupID": security_group_id}}],
                        "ports": [{"protocol": "TCP", "port": s.container_port}],
                    }
                ]
            },
        },
    }


def _policy(args: GatewayArgs, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"spywatcher-{name}", namespace, args.labels("network")),
        "spec": spec,
    }


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _peer(namespace: str, pods: Mapping[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}}}
    if pods is not None:
        peer["podSelector"] = {"matchLabels": dict(pods)}
    return peer


def build_network_policies(args: GatewayArgs) -> list[dict[str, Any]]:
    """Deny everything in both Envoy Gateway namespaces, then allow: DNS; the controller to the
    Kubernetes API and from the proxies (xDS) and monitoring; the proxies from the VPC (the load
    balancer) on their listener, to the controller's xDS and to the app's serving ports."""
    s, net = args.settings, args.network
    if not net.enabled:
        return []
    dns = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: net.dns_namespace}},
                "podSelector": {"matchLabels": dict(net.dns_pod_labels)},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    proxies = proxy_pod_selector(args)
    policies = []
    for namespace in (s.namespace, s.proxy_namespace):
        policies += [
            _policy(args, namespace, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            _policy(args, namespace, "allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]}),
        ]
    controller = {"matchLabels": dict(CONTROLLER_SELECTOR)}
    prometheus = _peer(args.monitoring_namespace, args.prometheus_labels)
    policies += [
        # The controller (and its certgen Job) watch and write the Kubernetes API.
        _policy(
            args,
            s.namespace,
            "to-api-server",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": c}} for c in net.api_server_cidrs], "ports": _tcp(443)}],
            },
        ),
        _policy(
            args,
            s.namespace,
            "controller-from-proxies",
            {
                "podSelector": controller,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [_peer(s.proxy_namespace, proxies)], "ports": _tcp(XDS_PORT)}],
            },
        ),
        _policy(
            args,
            s.namespace,
            "controller-from-monitoring",
            {
                "podSelector": controller,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [prometheus], "ports": _tcp(CONTROLLER_METRICS_PORT)}],
            },
        ),
        # Only the load balancer's nodes (its subnets) reach the listener; the TargetGroupBinding's
        # security group rule narrows that to the load balancer itself at the ENI.
        _policy(
            args,
            s.proxy_namespace,
            "proxies-from-load-balancer",
            {
                "podSelector": {"matchLabels": proxies},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"ipBlock": {"cidr": c}} for c in args.load_balancer.subnet_cidrs],
                        "ports": _tcp(s.container_port),
                    }
                ],
            },
        ),
        _policy(
            args,
            s.proxy_namespace,
            "proxies-from-monitoring",
            {
                "podSelector": {"matchLabels": proxies},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [prometheus], "ports": _tcp(PROXY_METRICS_PORT)}],
            },
        ),
        _policy(
            args,
            s.proxy_namespace,
            "proxies-egress",
            {
                "podSelector": {"matchLabels": proxies},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [_peer(s.namespace, CONTROLLER_SELECTOR)], "ports": _tcp(XDS_PORT)},
                    {
                        "to": [_peer(args.app_namespace)],
                        "ports": _tcp(*sorted(set(args.serving.values()))),
                    },
                    *(
                        [{"to": [_peer(s.namespace, RATELIMIT_SELECTOR)], "ports": _tcp(RATELIMIT_PORT)}]
                        if s.rate_limit.redis_url is not None
                        else []
                    ),
                ],
            },
        ),
    ]
    return policies + rate_limit_policies(args)


def rate_limit_policies(args: GatewayArgs) -> list[dict[str, Any]]:
    """The rate-limit service: asked by the proxies, configured by the controller, counting in Redis."""
    s = args.settings
    limit = s.rate_limit
    if limit.redis_port is None:
        return []
    ratelimit = {"matchLabels": dict(RATELIMIT_SELECTOR)}
    return [
        _policy(
            args,
            s.namespace,
            "ratelimit-from-proxies",
            {
                "podSelector": ratelimit,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [_peer(s.proxy_namespace, proxy_pod_selector(args))], "ports": _tcp(RATELIMIT_PORT)}
                ],
            },
        ),
        _policy(
            args,
            s.namespace,
            "controller-from-ratelimit",
            {
                "podSelector": {"matchLabels": dict(CONTROLLER_SELECTOR)},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": ratelimit}], "ports": _tcp(RATELIMIT_XDS_PORT)}],
            },
        ),
        _policy(
            args,
            s.namespace,
            "ratelimit-egress",
            {
                "podSelector": ratelimit,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"podSelector": {"matchLabels": dict(CONTROLLER_SELECTOR)}}],
                        "ports": _tcp(RATELIMIT_XDS_PORT),
                    },
                    {"to": [{"ipBlock": {"cidr": c}} for c in limit.redis_cidrs], "ports": _tcp(limit.redis_port)},
                ],
            },
        ),
    ]


class Gateway(pulumi.ComponentResource):
    """Envoy Gateway, its Gateway and routes, bound to the load balancer's second target group."""

    namespace: str
    service_name: str

    def __init__(
        self,
        name: str,
        args: GatewayArgs,
        target_group_arn: pulumi.Input[str],
        security_group_id: pulumi.Input[str],
        workloads: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("spywatcher:gateway:Gateway", name, None, opts)
        s = args.settings
        namespaces = [
            register(ns, f"{name}-namespace-{ns['metadata']['name']}", child_opts(self, opts))
            for ns in build_namespaces(args)
        ]
        policies = [
            register(
                policy,
                f"{name}-{policy['metadata']['namespace']}-{policy['metadata']['name'].removeprefix('spywatcher-')}",
                child_opts(self, opts, depends_on=namespaces),
            )
            for policy in build_network_policies(args)
        ]
        release = helm_release(
            name,
            release=RELEASE,
            chart=CHART,
            version=s.chart_version,
            repository=s.chart_repository,
            namespace=s.namespace,
            values=build_values(args),
            opts=child_opts(self, opts, depends_on=[*namespaces, *policies]),
        )
        after_release = child_opts(self, opts, depends_on=[release])
        proxy = register(build_envoy_proxy(args), f"{name}-proxy", after_release)
        gateway_class = register(
            build_gateway_class(args), f"{name}-class", child_opts(self, opts, depends_on=[release, proxy])
        )
        gateway = register(build_gateway(args), f"{name}-gateway", child_opts(self, opts, depends_on=[gateway_class]))
        register(build_client_policy(args), f"{name}-client-policy", child_opts(self, opts, depends_on=[gateway]))
        for route in args.routes.routing.routes:
            http_route = register(
                build_http_route(args, route),
                f"{name}-route-{route.name}",
                child_opts(self, opts, depends_on=[gateway, *workloads]),
            )
            register(
                build_backend_policy(args, route),
                f"{name}-route-{route.name}-policy",
                child_opts(self, opts, depends_on=[http_route]),
            )
        # As for ingress-nginx's binding: `spec.targetGroupARN` is immutable, so a replaced target
        # group replaces the binding, the old one deleted first (fixed name; deleting deregisters).
        register(
            build_target_group_binding(args, target_group_arn, security_group_id),
            f"{name}-targets",
            child_opts(
                self,
                opts,
                depends_on=[gateway],
                replace_on_changes=["spec.targetGroupARN"],
                delete_before_replace=True,
            ),
        )
        self.namespace = s.proxy_namespace
        self.service_name = s.service_name
        self.register_outputs({"namespace": self.namespace, "serviceName": self.service_name})
