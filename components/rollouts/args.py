"""What every part of progressive delivery shares: its settings bundle, and the names and labels
Argo Rollouts and its chart (argo-rollouts 2.41.0) give their objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config.network import NetworkPolicySettings
from config.rollouts import RolloutsSettings
from config.traffic import Route

from ..k8s import labels
from ..routes import RoutesArgs, ingress_name, stable_service_name
from ..workload import WorkloadArgs

RELEASE = "argo-rollouts"  # also the chart's fullname: the ServiceAccount and the metrics Service's prefix
CHART = "argo-rollouts"
SERVICE_ACCOUNT = RELEASE  # chart `argo-rollouts.serviceAccountName` (fullname)
# Labels of the controller pods (chart `argo-rollouts.selectorLabels` + `controller.component`).
CONTROLLER_SELECTOR = {
    "app.kubernetes.io/name": CHART,
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "rollouts-controller",
}
METRICS_PORT = 8090  # chart `controller.containerPorts.metrics`: /metrics, scraped by Prometheus
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
ROLLOUTS_API = "argoproj.io/v1alpha1"
CANARY_HASH_ARG = "canary-hash"  # the AnalysisTemplate's argument: the canary ReplicaSet's pod template hash


@dataclass(frozen=True)
class RolloutsArgs:
    settings: RolloutsSettings
    backend: WorkloadArgs
    routes: RoutesArgs
    network: NetworkPolicySettings
    monitoring_namespace: str
    prometheus_labels: Mapping[str, str]
    rule_labels: Mapping[str, str]  # what the Prometheus Operator's selectors match (ServiceMonitor, rules)
    scrape: bool  # monitoring.serviceMonitor.enabled: the controller's metrics are scraped too
    alerts: bool  # monitoring.alerts.enabled: the RolloutAborted alert is rendered
    runbook_base_url: str
    ingress_controller_namespace: str  # ingress-nginx's, the `controller_namespace` of its metrics
    kubernetes_version: str
    instance: str

    @property
    def namespace(self) -> str:
        """The app's namespace: the Rollout, its Services and AnalysisTemplate live there."""
        return self.backend.namespace

    @property
    def route(self) -> Route:
        return next(r for r in self.routes.routing.routes if r.name == self.settings.route)

    @property
    def rollout_name(self) -> str:
        return self.backend.name

    @property
    def stable_service(self) -> str:
        return stable_service_name(self.backend)

    @property
    def canary_service(self) -> str:
        return f"{self.backend.name}-canary"

    @property
    def stable_ingress(self) -> str:
        return ingress_name(self.route)

    @property
    def analysis_template(self) -> str:
        return f"{self.backend.name}-canary"

    def labels(self, component: str) -> dict[str, str]:
        return labels(f"rollouts-{component}", self.instance)
