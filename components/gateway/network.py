"""Default-deny NetworkPolicies in both Envoy Gateway namespaces, opening only what the controller,
the proxies and the rate-limit service need."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..k8s import metadata
from .args import (
    CONTROLLER_METRICS_PORT,
    CONTROLLER_SELECTOR,
    NAMESPACE_LABEL,
    PROXY_METRICS_PORT,
    RATELIMIT_PORT,
    RATELIMIT_SELECTOR,
    RATELIMIT_XDS_PORT,
    XDS_PORT,
    GatewayArgs,
)
from .controller import proxy_pod_selector


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
