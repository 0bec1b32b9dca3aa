"""The app namespace baseline: Namespace with Pod Security Admission, ResourceQuota, LimitRange."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from config.namespace import NamespaceSettings
from config.workload import ResourceAmounts

from .k8s import child_opts, labels, metadata, register
from .quantity import canonical


@dataclass(frozen=True)
class NamespaceArgs:
    settings: NamespaceSettings
    instance: str
    kubernetes_version: str


def _amounts(prefix: str, amounts: ResourceAmounts) -> dict[str, str]:
    return {
        f"{prefix}{resource}": canonical(value)
        for resource in ("cpu", "memory")
        if (value := getattr(amounts, resource)) is not None
    }


def build_namespace(args: NamespaceArgs) -> dict[str, Any]:
    level, version = args.settings.pod_security, f"v{args.kubernetes_version}"
    ns_labels = labels("namespace", args.instance)
    for mode in ("enforce", "audit", "warn"):
        ns_labels[f"pod-security.kubernetes.io/{mode}"] = level
        ns_labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(args.settings.name, None, ns_labels)}


def build_resource_quota(args: NamespaceArgs) -> dict[str, Any] | None:
    quota = args.settings.resource_quota
    if quota is None:
        return None
    hard = {**_amounts("requests.", quota.requests), **_amounts("limits.", quota.limits)}
    if quota.pods is not None:
        hard["pods"] = str(quota.pods)
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": metadata(f"{args.settings.name}-quota", args.settings.name, labels("namespace", args.instance)),
        "spec": {"hard": hard},
    }


def build_limit_range(args: NamespaceArgs) -> dict[str, Any] | None:
    limits = args.settings.limit_range
    if limits is None:
        return None
    item: dict[str, Any] = {"type": "Container"}
    for key, amounts in (("defaultRequest", limits.default_request), ("default", limits.default), ("max", limits.max)):
        values = _amounts("", amounts)
        if values:
            item[key] = values
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": metadata(f"{args.settings.name}-limits", args.settings.name, labels("namespace", args.instance)),
        "spec": {"limits": [item]},
    }


class NamespaceBaseline(pulumi.ComponentResource):
    """The namespace the workloads run in, with its admission policy, quota and limits."""

    name: pulumi.Output[str]

    def __init__(self, name: str, args: NamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:namespace:NamespaceBaseline", name, None, opts)
        namespace = register(build_namespace(args), f"{name}-namespace", child_opts(self, opts))
        inside = child_opts(self, opts, depends_on=[namespace])
        for suffix, obj in (("quota", build_resource_quota(args)), ("limits", build_limit_range(args))):
            if obj is not None:
                register(obj, f"{name}-{suffix}", inside)
        self.name = namespace.metadata.apply(lambda m: m["name"])
        self.register_outputs({"name": self.name})
