"""The routes: one `networking.k8s.io/v1` Ingress of class nginx per route, with the per-route
ingress-nginx annotations, plus a Service of its own for every route with affinity.

ingress-nginx balances per upstream, and an upstream is a Service port: cookie affinity or
`upstream-hash-by` on one Ingress would also take over every other Ingress that sends traffic to
the same Service, silently replacing its EWMA. So an affinity route points at a dedicated Service
(same pods, same port) and the EWMA route keeps the workload's own Service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from config.traffic import Route, RoutingSettings

from .k8s import child_opts, labels, metadata, register
from .workload import PORT_NAME, WorkloadArgs

PREFIX = "nginx.ingress.kubernetes.io"
ROUTE_LABEL = "spywatcher.io/route"  # marks a route's own Service, so monitors can skip it


@dataclass(frozen=True)
class RoutesArgs:
    routing: RoutingSettings
    ingress_class: str
    workloads: Mapping[str, WorkloadArgs]
    instance: str
    # False when ingress-nginx is off: the routes' own Services stay (Envoy Gateway routes to them
    # too), the Ingresses go.
    ingresses: bool = True


def service_name(args: RoutesArgs, route: Route) -> str:
    """The Service a route sends traffic to. Under Argo Rollouts a route without a Service of its
    own reaches the stable version only: the Rollout's stable Service (components/rollouts)."""
    workload = args.workloads[route.workload]
    if route.dedicated_service:
        return f"{workload.name}-{route.name}"
    return stable_service_name(workload) if workload.rollout else workload.name


def stable_service_name(workload: WorkloadArgs) -> str:
    """The Service Argo Rollouts points at the stable ReplicaSet (`strategy.canary.stableService`)."""
    return f"{workload.name}-stable"


def route_annotations(route: Route) -> dict[str, str]:
    """The ingress-nginx annotations that carry the route's choices, exactly as the controller reads them."""
    result: dict[str, str] = {}
    if route.load_balance is not None:
        result[f"{PREFIX}/load-balance"] = route.load_balance
    if route.affinity == "cookie":
        cookie = route.cookie
        result.update(
            {
                f"{PREFIX}/affinity": "cookie",
                # persistent: scaling out does not move existing sessions (balanced would re-shuffle them).
                f"{PREFIX}/affinity-mode": "persistent",
                f"{PREFIX}/session-cookie-name": cookie.name,
                f"{PREFIX}/session-cookie-max-age": str(cookie.max_age_seconds),
                f"{PREFIX}/session-cookie-expires": str(cookie.max_age_seconds),
                f"{PREFIX}/session-cookie-path": route.path,
                f"{PREFIX}/session-cookie-samesite": cookie.same_site,
                f"{PREFIX}/session-cookie-secure": "true" if cookie.secure else "false",
                # A pod that fails gets the client a new one instead of an error.
                f"{PREFIX}/session-cookie-change-on-failure": "true",
            }
        )
    elif route.affinity == "clientIp":
        # With the real client address restored from the load balancer (see the controller config).
        result[f"{PREFIX}/upstream-hash-by"] = "$remote_addr"
    if route.retries is not None:
        result.update(
            {
                f"{PREFIX}/proxy-next-upstream": route.retries.conditions(),
                f"{PREFIX}/proxy-next-upstream-tries": str(route.retries.tries),
                f"{PREFIX}/proxy-next-upstream-timeout": str(route.retries.timeout_seconds),
            }
        )
    limits = route.client_limits
    if limits.connections is not None:
        result[f"{PREFIX}/limit-connections"] = str(limits.connections)
    if limits.requests_per_second is not None:
        result[f"{PREFIX}/limit-rps"] = str(limits.requests_per_second)
    if route.timeouts is not None:
        result.update(
            {
                f"{PREFIX}/proxy-read-timeout": str(route.timeouts.read_seconds),
                f"{PREFIX}/proxy-send-timeout": str(route.timeouts.send_seconds),
            }
        )
    return result


def ingress_name(route: Route) -> str:
    """The Ingress of a route (also the `ingress` label of ingress-nginx's metrics)."""
    return f"spywatcher-{route.name}"


def build_ingress(args: RoutesArgs, route: Route) -> dict[str, Any]:
    workload = args.workloads[route.workload]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(
            ingress_name(route),
            workload.namespace,
            labels(f"route-{route.name}", args.instance),
            annotations=dict(sorted(route_annotations(route).items())),
        ),
        "spec": {
            "ingressClassName": args.ingress_class,
            "rules": [
                {
                    "host": args.routing.host(route),
                    "http": {
                        "paths": [
                            {
                                "path": route.path,
                                "pathType": route.path_type,
                                "backend": {
                                    "service": {
                                        "name": service_name(args, route),
                                        "port": {"number": workload.settings.service.port},
                                    }
                                },
                            }
                        ]
                    },
                }
            ],
        },
    }


def build_route_service(args: RoutesArgs, route: Route) -> dict[str, Any] | None:
    """The dedicated Service of an affinity route: the workload's pods and port, an upstream of its own."""
    if not route.dedicated_service:
        return None
    workload = args.workloads[route.workload]
    meta = workload.metadata(service_name(args, route))
    meta["labels"][ROUTE_LABEL] = route.name
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": workload.stable_selector(),
            "ports": [
                {"name": PORT_NAME, "port": workload.settings.service.port, "targetPort": PORT_NAME, "protocol": "TCP"}
            ],
            "sessionAffinity": "None",
        },
    }


class Routes(pulumi.ComponentResource):
    """Every route of the stack, as Ingresses the ingress-nginx controller serves."""

    hosts: list[str]

    def __init__(self, name: str, args: RoutesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:routes:Routes", name, None, opts)
        for route in args.routing.routes:
            service = build_route_service(args, route)
            depends = []
            if service is not None:
                depends.append(register(service, f"{name}-{route.name}-service", child_opts(self, opts)))
            if args.ingresses:
                register(build_ingress(args, route), f"{name}-{route.name}", child_opts(self, opts, depends_on=depends))
        self.hosts = sorted(set(args.routing.used_hosts().values()))
        self.register_outputs({"hosts": self.hosts})
