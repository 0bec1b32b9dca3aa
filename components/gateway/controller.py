"""The Envoy Gateway controller and its data plane: the namespaces, the pinned Helm release, the
GatewayClass and its EnvoyProxy (the proxy fleet), the Gateway with its ClientTrafficPolicy, and the
TargetGroupBinding that registers the proxies in the load balancer's second target group."""

from __future__ import annotations

from typing import Any

from ..k8s import metadata, resource_requirements, scaling_rules, spread_constraints
from .args import (
    CONTROLLER_NAME,
    CONTROLLER_SELECTOR,
    ENVOY_API,
    GATEWAY_API,
    NAMESPACE_LABEL,
    OWNING_GATEWAY_NAME,
    OWNING_GATEWAY_NAMESPACE,
    PROXY_SELECTOR,
    PROXY_USER,
    READINESS_GATE_LABEL,
    GatewayArgs,
    seconds,
)

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
    images: dict[str, Any] = {"envoyProxy": {"image": s.images.proxy, "pullPolicy": "IfNotPresent"}}
    for key, image in (("envoyGateway", s.images.controller), ("ratelimit", s.images.rate_limit)):
        if image is not None:
            images[key] = {"image": image, "pullPolicy": "IfNotPresent"}
    return {
        # Each image by digest where the stack pins one (`gateway.images`); the chart's own tags otherwise.
        "global": {"images": images},
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


def watched_namespaces(args: GatewayArgs) -> list[str]:
    """The namespaces the controller watches: the Gateway's (and its proxies') and the routes' (the
    app's Services and EndpointSlices). Its own is always included by Envoy Gateway."""
    return [args.settings.proxy_namespace, args.app_namespace]


def envoy_gateway_config(args: GatewayArgs) -> dict[str, Any]:
    """The controller's EnvoyGateway configuration (chart `config.envoyGateway`).

    `watch` scopes the controller to the namespaces it serves: with `type: Namespaces` and a list,
    gateway-helm v1.9.0 renders its namespaced rules (Secrets, Services, Deployments, …) as a Role in
    each watched namespace and in its own, and keeps only cluster-scoped reads (nodes, namespaces,
    GatewayClasses, ServiceImports) and TokenReview creation in ClusterRoles
    (envoyproxy/gateway charts/gateway-helm/templates/envoy-gateway-rbac.yaml, infra-manager-rbac.yaml,
    namespaced-infra-manager-rbac.yaml @ v1.9.0). Without it, Secret reads and Deployment,
    ServiceAccount and Service writes are cluster-wide."""
    kubernetes: dict[str, Any] = {
        "deploy": {"type": "GatewayNamespace"},
        "watch": {"type": "Namespaces", "namespaces": watched_namespaces(args)},
    }
    config: dict[str, Any] = {
        "gateway": {"controllerName": CONTROLLER_NAME},
        "provider": {"type": "Kubernetes", "kubernetes": kubernetes},
    }
    rate_limit = args.settings.rate_limit
    if rate_limit.redis_url is not None:
        # Deploys the global rate-limit service, counting in this Redis over TLS (`REDIS_TLS`, the
        # system roots), with the AUTH token from a Secret (envoyproxy/ratelimit `REDIS_AUTH`;
        # Envoy Gateway appends the container's env to its own, internal/infrastructure/kubernetes/
        # ratelimit/resource.go @ v1.9.0).
        tls: dict[str, Any] = {}
        if rate_limit.client_certificate_secret is not None:
            tls["certificateRef"] = {"kind": "Secret", "name": rate_limit.client_certificate_secret}
        config["rateLimit"] = {
            "backend": {"type": "Redis", "redis": {"url": rate_limit.redis_url, "tls": tls}},
            "failClosed": rate_limit.fail_closed,
        }
        if rate_limit.auth is not None:
            secret = {"name": rate_limit.auth.name, "key": rate_limit.auth.key}
            kubernetes["rateLimitDeployment"] = {
                "container": {"env": [{"name": "REDIS_AUTH", "valueFrom": {"secretKeyRef": secret}}]}
            }
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
                        # Resources and security context apply to the envoy and the shutdown-manager
                        # containers alike; the image to envoy only (the shutdown manager runs the
                        # controller's image).
                        "container": {
                            "image": s.images.proxy,
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
        # Like nginx (ignore_invalid_headers), drop request headers with underscores. nginx sets
        # X-Forwarded-Host itself; Envoy would pass a client's on to the backend (reset links,
        # redirects, cache keys chosen by the client): remove it before routing.
        "headers": {
            "withUnderscoresAction": "DropHeader",
            "earlyRequestHeaders": {"remove": ["X-Forwarded-Host"]},
        },
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


# --- Load balancer targets and network policies ------------------------------------------------


def target_service_name(args: GatewayArgs) -> str:
    return f"{args.settings.service_name}-targets"


def build_target_service(args: GatewayArgs) -> dict[str, Any]:
    """The proxy pods' listener, as the load balancer's targets: the Service the TargetGroupBinding
    names. Envoy Gateway creates its own Service after the proxies' Deployment
    (internal/infrastructure/kubernetes/infra.go createOrUpdate @ v1.9.0), too late for the AWS Load
    Balancer Controller's webhook, which gives a pod its readiness gate only if a Service selecting it
    and a binding naming that Service exist when the pod is created (docs/deploy/pod_readiness_gate.md
    @ v3.5.0). This one exists before the Gateway, so no proxy pod misses its gate."""
    s = args.settings
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(target_service_name(args), s.proxy_namespace, args.labels("proxy")),
        "spec": {
            "type": "ClusterIP",
            "selector": proxy_pod_selector(args),
            "ports": [{"name": "http", "port": s.listener_port, "targetPort": s.container_port, "protocol": "TCP"}],
        },
    }


def build_target_group_binding(args: GatewayArgs, target_group_arn: Any, security_group_id: Any) -> dict[str, Any]:
    """Registers the proxy pods (the target Service's endpoints) as ip targets of the second target
    group, and lets the load balancer's security group reach their container port."""
    s = args.settings
    return {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": metadata(s.service_name, s.proxy_namespace, args.labels("proxy")),
        "spec": {
            "serviceRef": {"name": target_service_name(args), "port": s.listener_port},
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
