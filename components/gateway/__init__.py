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

import pulumi

from ..k8s import child_opts, helm_release, register
from .args import CHART, RELEASE, GatewayArgs
from .controller import (
    build_client_policy,
    build_envoy_proxy,
    build_gateway,
    build_gateway_class,
    build_namespaces,
    build_target_group_binding,
    build_target_service,
    build_values,
)
from .network import build_network_policies
from .routes import build_backend_policy, build_http_route

__all__ = ["Gateway", "GatewayArgs"]


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
        # The target Service and the binding exist before the Gateway, from which Envoy Gateway creates
        # the proxies: every proxy pod gets its readiness gate. As for ingress-nginx's binding:
        # `spec.targetGroupARN` is immutable, so a replaced target group replaces the binding, the old
        # one deleted first (fixed name; deleting deregisters).
        service = register(build_target_service(args), f"{name}-target-service", child_opts(self, opts,
                                                                                             depends_on=namespaces))
        binding = register(
            build_target_group_binding(args, target_group_arn, security_group_id),
            f"{name}-targets",
            child_opts(
                self,
                opts,
                depends_on=[service],
                replace_on_changes=["spec.targetGroupARN"],
                delete_before_replace=True,
            ),
        )
        gateway = register(
            build_gateway(args), f"{name}-gateway", child_opts(self, opts, depends_on=[gateway_class, binding])
        )
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
        self.namespace = s.proxy_namespace
        self.service_name = s.service_name
        self.register_outputs({"namespace": self.namespace, "serviceName": self.service_name})
