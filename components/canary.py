"""A canary of the backend: a second Deployment with the canary image and its own Service, behind
an ingress-nginx canary Ingress on the same host and path as the stable route.

The stable objects are not touched: turning the canary off removes the canary's own objects and
nothing else. The canary shares the backend's ConfigMap and Secret, and is not autoscaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from config.operations import CanarySettings
from config.traffic import Route

from .k8s import child_opts, register
from .routes import PREFIX, RoutesArgs, build_ingress
from .workload import WorkloadArgs, build_deployment, build_service


@dataclass(frozen=True)
class CanaryArgs:
    settings: CanarySettings
    stable: WorkloadArgs
    routes: RoutesArgs

    @property
    def workload(self) -> WorkloadArgs:
        """The backend with the canary image, as a variant that shares the backend's config."""
        assert self.settings.image is not None
        settings = self.stable.settings.model_copy(update={"image": self.settings.image})
        return WorkloadArgs(settings, self.stable.namespace, self.stable.instance, self.stable.secret_values, "canary")

    @property
    def route(self) -> Route:
        return next(r for r in self.routes.routing.routes if r.name == self.settings.route)


def build_canary_pdb(args: CanaryArgs) -> dict[str, Any]:
    """The canary runs a fixed, small number of pods: its budget lets a drain evict one at a time."""
    workload = args.workload
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": workload.metadata(f"{workload.name}-pdb"),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": workload.selector()},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def build_canary_ingress(args: CanaryArgs) -> dict[str, Any]:
    """The stable route's Ingress, pointed at the canary Service and marked as its canary."""
    route = args.route.model_copy(
        update={"name": f"{args.route.name}-canary", "load_balance": None, "retries": None, "timeouts": None}
    )
    workloads = {**args.routes.workloads, route.workload: args.workload}
    ingress = build_ingress(
        RoutesArgs(args.routes.routing, args.routes.ingress_class, workloads, args.routes.instance), route
    )
    annotations = {f"{PREFIX}/canary": "true", f"{PREFIX}/canary-weight": str(args.settings.weight)}
    if args.settings.header:
        annotations[f"{PREFIX}/canary-by-header"] = args.settings.header
    ingress["metadata"]["annotations"] = dict(sorted(annotations.items()))
    return ingress


class Canary(pulumi.ComponentResource):
    """Canary Deployment, Service, PodDisruptionBudget and canary Ingress."""

    def __init__(self, name: str, args: CanaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:canary:Canary", name, None, opts)
        workload = args.workload
        deployment = register(
            build_deployment(workload, replicas=args.settings.replicas), f"{name}-deployment", child_opts(self, opts)
        )
        service = register(build_service(workload), f"{name}-service", child_opts(self, opts))
        register(build_canary_pdb(args), f"{name}-pdb", child_opts(self, opts))
        if args.routes.ingresses:
            register(
                build_canary_ingress(args), f"{name}-ingress", child_opts(self, opts, depends_on=[deployment, service])
            )
        self.register_outputs({})
