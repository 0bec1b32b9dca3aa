"""Network isolation of the app namespace: deny by default, then allow exactly the paths the
traffic path and the operations need (see ``config/network.py``)."""

from __future__ import annotations

from collections.abc import Mapping
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


def _policy(args: NetworkPolicyArgs, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"spywatcher-{name}", args.namespace, labels("network", args.instance)),
        "spec": spec,
    }


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def build_policies(args: NetworkPolicyArgs) -> list[dict[str, Any]]:
    s = args.settings
    if not s.enabled:
        return []
    policies = [
        # Nothing in, nothing out, unless a policy below allows it.
        _policy(args, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(
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
        ),
    ]
    for component, port in sorted(args.serving.items()):
        policies.append(
            _policy(
                args,
                f"{component}-from-ingress",
                {
                    "podSelector": _pods(args, [component]),
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: args.controller_namespace}},
                                    "podSelector": {"matchLabels": dict(args.controller_labels)},
                                }
                            ],
                            "ports": _tcp(port),
                        }
                    ],
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
                        "from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: args.monitoring_namespace}}}],
                        "ports": _tcp(args.metrics_port),
                    }
                ],
            },
        )
    )
    backend_egress = [
        {"to": [{"ipBlock": {"cidr": store.cidr}}], "ports": _tcp(*store.ports)} for store in s.data_stores
    ]
    if s.backend_https_cidrs:
        backend_egress.append({"to": [{"ipBlock": {"cidr": c}} for c in s.backend_https_cidrs], "ports": _tcp(443)})
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


class NetworkPolicies(pulumi.ComponentResource):
    """The app namespace's NetworkPolicies."""

    def __init__(self, name: str, args: NetworkPolicyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:network:NetworkPolicies", name, None, opts)
        for policy in build_policies(args):
            suffix = policy["metadata"]["name"].removeprefix("spywatcher-")
            register(policy, f"{name}-{suffix}", child_opts(self, opts))
        self.register_outputs({})
