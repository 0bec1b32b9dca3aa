"""Monitoring: the guide's alerts as a PrometheusRule, ServiceMonitors for the backend and for each
enabled data plane (ingress-nginx's controller, the Envoy Gateway proxies), and the Prometheus
Adapter that serves the HPAs' custom metrics. Needs the Prometheus Operator (CRDs and a Prometheus)
in the cluster; the adapter is installed here as a pinned Helm release.

The data planes' metrics, as their upstreams serve them:

- ingress-nginx: the chart's metrics Service (`controller.metrics.enabled`) `ingress-nginx-controller-
  metrics`, port `metrics` (10254), selected by the chart's controller labels; the chart's own
  ServiceMonitor selects it the same way (kubernetes/ingress-nginx, charts/ingress-nginx/templates/
  controller-service-metrics.yaml and controller-servicemonitor.yaml @ helm-chart-4.15.1). Ours is
  rendered here instead, so it is checked, previewed and diffed with the rest.
- Envoy Gateway: each proxy serves `/stats/prometheus` on its container port `metrics` (19001),
  which no Service of Envoy Gateway's exposes (envoyproxy/gateway, internal/infrastructure/
  kubernetes/proxy/resource.go and testdata/deployments/default.yaml @ v1.9.0): a headless Service
  here selects the proxy pods on that port for the ServiceMonitor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from config.operations import MonitoringSettings

from .k8s import child_opts, helm_release, labels, metadata, register
from .routes import ROUTE_LABEL
from .workload import METRICS_PORT_NAME, PORT_NAME, ROLLOUT_HASH_LABEL, WorkloadArgs

# kube-state-metrics series the alerts read, and the labels that identify one object.
HPA_CURRENT = "kube_horizontalpodautoscaler_status_current_replicas"
HPA_MAX = "kube_horizontalpodautoscaler_spec_max_replicas"
DEPLOYMENT_UPDATED = "kube_deployment_status_replicas_updated"
DEPLOYMENT_DESIRED = "kube_deployment_spec_replicas"


# ingress-nginx 4.15.1's metrics Service port (`controller.metrics.portName`).
NGINX_METRICS_PORT_NAME = "metrics"
# Envoy Gateway v1.9's proxy container port and path of its Prometheus stats.
ENVOY_METRICS_PORT_NAME = "metrics"
ENVOY_METRICS_PATH = "/stats/prometheus"


@dataclass(frozen=True)
class DataPlaneScrape:
    """Where one data plane's metrics are: its namespace and the labels of its pods (Envoy) or of
    its metrics Service (ingress-nginx)."""

    name: str  # "ingress-nginx" or "envoy"
    namespace: str
    selector: Mapping[str, str]
    port: int


@dataclass(frozen=True)
class MonitoringArgs:
    settings: MonitoringSettings
    namespace: str
    instance: str
    backend: WorkloadArgs
    data_planes: tuple[DataPlaneScrape, ...] = ()


def alert_rules(args: MonitoringArgs) -> list[dict[str, Any]]:
    """The guide's recommended alerts, scoped to the stack's namespace and written correctly:
    a replica count is a gauge, so frequent scaling counts its `changes()` (the guide's `rate()`
    of a gauge measures nothing)."""
    ns = f'namespace="{args.namespace}"'
    runbook = args.settings.alerts.runbook_base_url.rstrip("/")
    changes = args.settings.alerts.frequent_scaling_changes
    stuck = args.settings.alerts.rollout_stuck_for

    def rule(alert: str, expr: str, duration: str, severity: str, summary: str, description: str) -> dict[str, Any]:
        return {
            "alert": alert,
            "expr": expr,
            "for": duration,
            "labels": {"severity": severity, "namespace": args.namespace},
            "annotations": {
                "summary": summary,
                "description": description,
                "runbook_url": f"{runbook}/{alert}.md",
            },
        }

    return [
        rule(
            "HPAMaxedOut",
            f"{HPA_CURRENT}{{{ns}}}\n  >= on (namespace, horizontalpodautoscaler)\n{HPA_MAX}{{{ns}}}",
            "15m",
            "warning",
            "HPA has reached maximum replicas",
            "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has run at its maximum of "
            "{{ $value }} replicas for 15 minutes: demand may exceed what it can serve. Check load and "
            "raise maxReplicas (and the namespace quota) or the requests.",
        ),
        rule(
            "FrequentScaling",
            f"changes({HPA_CURRENT}{{{ns}}}[15m]) > {changes}",
            "30m",
            "warning",
            "HPA is scaling frequently",
            "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} changed its replica count "
            f"{{{{ $value }}}} times in 15 minutes (more than {changes}) for 30 minutes: it is flapping. "
            "Review the stabilization windows and the targets.",
        ),
        rule(
            "RolloutStuck",
            f"{DEPLOYMENT_UPDATED}{{{ns}}}\n  < on (namespace, deployment)\n{DEPLOYMENT_DESIRED}{{{ns}}}",
            stuck,
            "critical",
            "Deployment rollout is stuck",
            "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has had fewer updated replicas "
            f"than desired for {stuck}, longer than a normal rollout at maxReplicas takes. Check `kubectl "
            "rollout status`, pod events, the PDB and node resources.",
        ),
    ]


def build_prometheus_rule(args: MonitoringArgs) -> dict[str, Any] | None:
    if not args.settings.alerts.enabled:
        return None
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(
            "spywatcher-autoscaling", args.namespace, labels("monitoring", args.instance) | args.settings.rule_labels
        ),
        "spec": {"groups": [{"name": "spywatcher-autoscaling", "rules": alert_rules(args)}]},
    }


def build_service_monitor(args: MonitoringArgs) -> dict[str, Any] | None:
    """Scrapes the backend's own Service (not the per-route Services, which select the same pods)."""
    monitor = args.settings.service_monitor
    if not monitor.enabled:
        return None
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(
            args.backend.name, args.namespace, labels("monitoring", args.instance) | args.settings.rule_labels
        ),
        "spec": {
            "selector": {
                "matchLabels": args.backend.selector(),
                "matchExpressions": [{"key": ROUTE_LABEL, "operator": "DoesNotExist"}],
            },
            "namespaceSelector": {"matchNames": [args.namespace]},
            # Under Argo Rollouts each pod's ReplicaSet hash becomes the `rollouts_pod_template_hash`
            # label of its series (prometheus-operator sanitises the name): the canary analysis selects
            # the canary's pods by it.
            **({"podTargetLabels": [ROLLOUT_HASH_LABEL]} if args.backend.rollout else {}),
            "endpoints": [
                {
                    "port": PORT_NAME if args.backend.settings.metrics_port is None else METRICS_PORT_NAME,
                    "path": monitor.path,
                    "interval": monitor.interval,
                    "scrapeTimeout": monitor.scrape_timeout,
                }
            ],
        },
    }


def _monitor(args: MonitoringArgs, name: str, namespace: str, selector: Mapping[str, str], port: str,
             path: str) -> dict[str, Any]:
    monitor = args.settings.service_monitor
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(name, namespace, labels("monitoring", args.instance) | args.settings.rule_labels),
        "spec": {
            "selector": {"matchLabels": dict(selector)},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [
                {"port": port, "path": path, "interval": monitor.interval, "scrapeTimeout": monitor.scrape_timeout}
            ],
        },
    }


ENVOY_METRICS_SERVICE = "spywatcher-envoy-metrics"


def build_data_plane_scrapes(args: MonitoringArgs) -> list[tuple[str, dict[str, Any]]]:
    """(part, object): a ServiceMonitor per enabled data plane, and for Envoy the headless Service
    it selects."""
    if not args.settings.service_monitor.enabled:
        return []
    objects: list[tuple[str, dict[str, Any]]] = []
    for plane in args.data_planes:
        if plane.name == "ingress-nginx":
            # The chart's metrics Service carries the controller's labels, as does the controller
            # Service; only the metrics Service has the `metrics` port, so only it is scraped.
            objects.append(("ingress-nginx", _monitor(args, "spywatcher-ingress-nginx", plane.namespace,
                                                      plane.selector, NGINX_METRICS_PORT_NAME, "/metrics")))
            continue
        service_labels = labels("envoy-metrics", args.instance)
        objects.append(("envoy-metrics", {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(ENVOY_METRICS_SERVICE, plane.namespace, service_labels),
            "spec": {
                # Headless: Prometheus scrapes each proxy pod; nothing sends traffic through it.
                "clusterIP": "None",
                "selector": dict(plane.selector),
                "ports": [{"name": ENVOY_METRICS_PORT_NAME, "port": plane.port, "protocol": "TCP",
                           "targetPort": ENVOY_METRICS_PORT_NAME}],
            },
        }))
        objects.append(("envoy", _monitor(args, "spywatcher-envoy", plane.namespace, service_labels,
                                          ENVOY_METRICS_PORT_NAME, ENVOY_METRICS_PATH)))
    return objects


def build_adapter_values(args: MonitoringArgs) -> dict[str, Any]:
    """prometheus-adapter chart values: only the stack's rules, served as custom metrics of pods."""
    adapter = args.settings.adapter
    return {
        "prometheus": {"url": adapter.prometheus_url, "port": adapter.prometheus_port},
        "replicas": adapter.replicas,
        # The APIService verifies the adapter's certificate (cert-manager's CA, injected), instead of
        # the chart's default `insecureSkipTLSVerify: true`.
        "certManager": {"enabled": adapter.cert_manager},
        "rules": {
            "default": False,
            "custom": [
                {
                    "seriesQuery": f'{r.series}{{namespace!="",pod!=""}}',
                    "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
                    "name": {"matches": f"^{r.series}$", "as": r.metric_name},
                    "metricsQuery": r.metrics_query(),
                }
                for r in adapter.rules
            ],
        },
    }


def build_adapter_value_files(args: MonitoringArgs) -> tuple[str, ...]:
    """The adapter's PodDisruptionBudget, as a values file. The chart (5.3.0) defaults to
    `maxUnavailable: 1` and renders every field that is set; Helm merges these values over its
    defaults, so `minAvailable` alone would leave both in the PDB, which the API server rejects.
    `maxUnavailable: null` deletes the default; it has to travel in a YAML document because the
    Python SDK drops `None` from inline values."""
    adapter = args.settings.adapter
    budget = {
        "podDisruptionBudget": {
            "enabled": adapter.replicas > 1,
            "minAvailable": 1,
            "maxUnavailable": None,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        }
    }
    return (yaml.safe_dump(budget, sort_keys=True),)


class Monitoring(pulumi.ComponentResource):
    """Alerts, scraping and the custom metrics API, each only when enabled."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:monitoring:Monitoring", name, None, opts)
        for suffix, obj in (("alerts", build_prometheus_rule(args)), ("backend", build_service_monitor(args))):
            if obj is not None:
                register(obj, f"{name}-{suffix}", child_opts(self, opts))
        for part, obj in build_data_plane_scrapes(args):
            register(obj, f"{name}-{part}", child_opts(self, opts))
        adapter = args.settings.adapter
        if adapter.enabled:
            helm_release(
                f"{name}-adapter",
                release="prometheus-adapter",
                chart="prometheus-adapter",
                version=adapter.chart_version,
                repository=adapter.chart_repository,
                namespace=args.settings.namespace,
                values=build_adapter_values(args),
                value_files=build_adapter_value_files(args),
                opts=child_opts(self, opts),
            )
        self.register_outputs({})
