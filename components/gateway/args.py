"""What every part of the Envoy Gateway backend shares: its settings bundle, the names and labels
Envoy Gateway and its chart give their objects, and the duration format of its APIs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config.gateway import GatewaySettings
from config.network import NetworkPolicySettings
from config.operations import CanarySettings
from config.traffic import IngressControllerSettings, LoadBalancerSettings

from ..k8s import labels
from ..routes import RoutesArgs

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
