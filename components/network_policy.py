"""Network isolation of the app namespace and of the ingress controller's namespace: deny by
default, then allow exactly the paths the traffic path and the operations need (see
``config/network.py`` and docs/security.md)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from config.network import NetworkPolicySettings

from .k8s import PART_OF, child_opts, labels, metadata, register

NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace


@dataclass(frozen=True)
class NetworkPolicyArgs:
    settings: NetworkPolicySettings
    namespace: str
    instance: str
    serving: Mapping[str, int]  # component -> container port, for every Deployment behind a route
    backend_components: tuple[str, ...]  # components that run the backend's code (and reach its data)
    schedule_components: tuple[str, ...]
    controller_namespace: str
    controller_labels: Mapping[str, str]
    monitoring_namespace: str
    metrics_port: int
    prometheus_labels: Mapping[str, str]
    vpc_cidr: str
    # The cluster's Service CIDR(s): ClusterIPs the VPC CNI sees before kube-proxy translates them.
    service_cidrs: tuple[str, ...] = ()
    nginx: bool = True  # the ingress-nginx controller pods reach the serving ports
    # Envoy Gateway's proxy pods (namespace, labels) reach them too, when the gateway is on.
    gateway_proxies: tuple[str, Mapping[str, str]] | None = None
    # The migration Job's pods (component, names of the data stores they may reach), when enabled.
    migration: tuple[str, tuple[str, ...]] | None = None


def _pods(args: NetworkPolicyArgs, components: tuple[str, ...] | list[str] | None = None) -> dict[str, Any]:
    """A selector for the stack's pods, or only those of ``components``."""
    selector: dict[str, Any] = {
        "matchLabels": {"app.kubernetes.io/name": PART_OF, "app.kubernetes.io/instance": args.instance}
    }
    if components is not None:
        selector["matchExpressions"] = [
            {"key": "app.kubernetes.io/component", "operator": "In", "values": sorted(components)}
        ]
    return selector


def _policy(args: NetworkPolicyArgs | ControllerNetworkArgs, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"spywatcher-{name}", args.namespace, labels("network", args.instance)),
        "spec": spec,
    }


# Link-local addresses: the instance metadata service (169.254.169.254), the EKS Pod Identity agent
# (169.254.170.23) and the Amazon DNS/time endpoints; never a destination a pod's internet rule means.
LINK_LOCAL = ("169.254.0.0/16", "fe80::/10")


def outside(cidrs: Iterable[str], excluded: Iterable[str]) -> list[str]:
    """``cidrs`` with every ``excluded`` range cut out, as plain CIDR blocks.

    NetworkPolicy's `ipBlock.except` would say the same, but the AWS VPC CNI's policy agent has had
    bugs honouring it (aws-network-policy-agent #78, #180); explicit blocks mean the same to every CNI.
    """
    cut = [ipaddress.ip_network(c) for c in excluded]
    result: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for cidr in cidrs:
        pieces = [ipaddress.ip_network(cidr)]
        for hole in cut:
            next_pieces = []
            for piece in pieces:
                if piece.version != hole.version or not piece.overlaps(hole):
                    next_pieces.append(piece)
                elif not piece.subnet_of(hole):  # type: ignore[arg-type]
                    next_pieces.extend(piece.address_exclude(hole))  # type: ignore[arg-type]
            pieces = next_pieces
        result.extend(pieces)
    collapsed = [
        *ipaddress.collapse_addresses(n for n in result if n.version == 4),
        *ipaddress.collapse_addresses(n for n in result if n.version == 6),
    ]
    return [str(n) for n in collapsed]


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def build_policies(args: NetworkPolicyArgs) -> list[dict[str, Any]]:
    s = args.settings
    if not s.enabled:
        return []
    policies = [
        # Nothing in, nothing out, unless a policy below allows it.
        _policy(args, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _dns_policy(args),
    ]
    sources = []
    if args.nginx:
        sources.append(
            {
                "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: args.controller_namespace}},
                "podSelector": {"matchLabels": dict(args.controller_labels)},
            }
        )
    if args.gateway_proxies is not None:
        proxy_namespace, proxy_labels = args.gateway_proxies
        sources.append(
            {
                "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: proxy_namespace}},
                "podSelector": {"matchLabels": dict(proxy_labels)},
            }
        )
    for component, port in sorted(args.serving.items()):
        policies.append(
            _policy(
                args,
                f"{component}-from-ingress",
                {
                    "podSelector": _pods(args, [component]),
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [dict(source) for source in sources], "ports": _tcp(port)}],
                },
            )
        )
    policies.append(
        _policy(
            args,
            "backend-from-monitoring",
            {
                "podSelector": _pods(args, args.backend_components),
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: args.monitoring_namespace}},
                                "podSelector": {"matchLabels": dict(args.prometheus_labels)},
                            }
                        ],
                        "ports": _tcp(args.metrics_port),
                    }
                ],
            },
        )
    )
    backend_egress = [
        {"to": [{"ipBlock": {"cidr": store.cidr}}], "ports": _tcp(*store.ports)} for store in s.data_stores
    ]
    internet = outside(s.backend_https_cidrs, [args.vpc_cidr, *args.service_cidrs, *LINK_LOCAL])
    if internet:
        backend_egress.append({"to": [{"ipBlock": {"cidr": c}} for c in internet], "ports": _tcp(443)})
    if backend_egress:
        policies.append(
            _policy(
                args,
                "backend-egress",
                {
                    "podSelector": _pods(args, args.backend_components),
                    "policyTypes": ["Egress"],
                    "egress": backend_egress,
                },
            )
        )
    if args.migration is not None:
        component, names = args.migration
        stores = [store for store in s.data_stores if store.name in names]
        policies.append(
            _policy(
                args,
                "migration-egress",
                {
                    "podSelector": _pods(args, [component]),
                    "policyTypes": ["Egress"],
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": store.cidr}}], "ports": _tcp(*store.ports)} for store in stores
                    ],
                },
            )
        )
    if args.schedule_components and s.api_server_cidrs:
        policies.append(
            _policy(
                args,
                "schedules-to-api",
                {
                    "podSelector": _pods(args, args.schedule_components),
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"ipBlock": {"cidr": c}} for c in s.api_server_cidrs], "ports": _tcp(443)}],
                },
            )
        )
    return policies


# --- The ingress controller's namespace --------------------------------------------------------


@dataclass(frozen=True)
class ControllerNetworkArgs:
    """What the ingress controller's pods must reach and be reached by (CVE-2025-1974 was a pod
    reaching the admission webhook: here only the control plane does)."""

    settings: NetworkPolicySettings
    namespace: str
    instance: str
    controller_labels: Mapping[str, str]
    webhook_job_labels: Mapping[str, str]  # the chart's certgen Jobs (Helm hooks) patch the webhook
    proxy_port: int
    webhook_port: int
    metrics_port: int
    load_balancer_cidrs: tuple[str, ...]
    monitoring_namespace: str
    prometheus_labels: Mapping[str, str]
    app_namespace: str
    app_pod_labels: Mapping[str, str]
    serving_ports: tuple[int, ...]


def _ip_blocks(cidrs: Iterable[str]) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": c}} for c in cidrs]


def _dns_policy(args: NetworkPolicyArgs | ControllerNetworkArgs) -> dict[str, Any]:
    s = args.settings
    return _policy(
        args,
        "allow-dns",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: s.dns_namespace}},
                            "podSelector": {"matchLabels": dict(s.dns_pod_labels)},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
    )


def build_controller_policies(args: ControllerNetworkArgs) -> list[dict[str, Any]]:
    """Default deny in the controller's namespace; the proxy port only from the load balancer's
    subnets, the admission webhook only from the control plane, the metrics only from Prometheus;
    out only to DNS, the API server and the app's serving ports."""
    s = args.settings
    if not s.enabled:
        return []
    controller = {"matchLabels": dict(args.controller_labels)}
    api_server = {"to": _ip_blocks(s.api_server_cidrs), "ports": _tcp(443)}
    return [
        _policy(args, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _dns_policy(args),
        _policy(
            args,
            "controller-ingress",
            {
                "podSelector": controller,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": _ip_blocks(args.load_balancer_cidrs), "ports": _tcp(args.proxy_port)},
                    {"from": _ip_blocks(s.control_plane_cidrs), "ports": _tcp(args.webhook_port)},
                    {
                        "from": [
                            {
                                "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: args.monitoring_namespace}},
                                "podSelector": {"matchLabels": dict(args.prometheus_labels)},
                            }
                        ],
                        "ports": _tcp(args.metrics_port),
                    },
                ],
            },
        ),
        _policy(
            args,
            "controller-egress",
            {
                "podSelector": controller,
                "policyTypes": ["Egress"],
                "egress": [
                    api_server,
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: args.app_namespace}},
                                "podSelector": {"matchLabels": dict(args.app_pod_labels)},
                            }
                        ],
                        "ports": _tcp(*sorted(set(args.serving_ports))),
                    },
                ],
            },
        ),
        _policy(
            args,
            "webhook-jobs-to-api",
            {
                "podSelector": {"matchLabels": dict(args.webhook_job_labels)},
                "policyTypes": ["Egress"],
                "egress": [api_server],
            },
        ),
    ]


class NetworkPolicies(pulumi.ComponentResource):
    """The app namespace's NetworkPolicies."""

    def __init__(self, name: str, args: NetworkPolicyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:network:NetworkPolicies", name, None, opts)
        for policy in build_policies(args):
            suffix = policy["metadata"]["name"].removeprefix("spywatcher-")
            register(policy, f"{name}-{suffix}", child_opts(self, opts))
        self.register_outputs({})
