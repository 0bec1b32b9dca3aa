"""The stack's Grafana dashboard, built with Grafana's typed builders (grafana-foundation-sdk) and
delivered as a ConfigMap that the Grafana dashboard sidecar (kube-prometheus-stack's
`sidecar.dashboards`) loads: it watches ConfigMaps with a label (`grafana_dashboard: "1"` by default).

Panels: the guide's four Prometheus queries (request rate, p95 latency, running pods, HPA current
replicas), HPA current/desired/min/max per workload, scaling events, and ingress-nginx's request
rate and 5xx ratio per route. Every query is scoped to the stack: the app's series by its namespace,
ingress-nginx's by the controller's namespace (it serves only the app's namespace) and the route
Ingresses' names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
from grafana_foundation_sdk.builders.dashboard import Dashboard, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.timeseries import Panel
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from config.observability import GrafanaDashboardSettings

from .k8s import child_opts, labels, metadata, register

RATE = "5m"


@dataclass(frozen=True)
class DashboardArgs:
    settings: GrafanaDashboardSettings
    namespace: str  # the app's
    instance: str  # spywatcher-<stack>
    hpas: tuple[tuple[str, str], ...]  # (workload, HPA name)
    controller_namespace: str
    ingresses: tuple[tuple[str, str], ...]  # (route, Ingress name)

    @property
    def uid(self) -> str:
        return self.instance[:40]

    @property
    def file_name(self) -> str:
        return f"{self.instance}.json"


def queries(args: DashboardArgs) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(row, panel title, [(expr, legend)]) for every panel, in order."""
    ns = f'namespace="{args.namespace}"'
    hpa_ns = f"{{{ns}}}"
    routes = "|".join(name for _, name in args.ingresses)
    nginx = f'controller_namespace="{args.controller_namespace}", ingress=~"{routes}"'
    panels: list[tuple[str, str, list[tuple[str, str]]]] = [
        ("Guide", "Request rate (requests/s)", [(f"sum(rate(http_requests_total{{{ns}}}[{RATE}]))", "requests/s")]),
        (
            "Guide",
            "p95 latency (seconds)",
            [
                (
                    "histogram_quantile(0.95, sum by (le) "
                    f"(rate(http_request_duration_seconds_bucket{{{ns}}}[{RATE}])))",
                    "p95",
                )
            ],
        ),
        # kube_pod_status_phase is 1 for a pod's current phase and 0 for the others: sum, not count.
        ("Guide", "Running pods", [(f'sum(kube_pod_status_phase{{{ns}, phase="Running"}})', "running")]),
        (
            "Guide",
            "HPA current replicas",
            [(f"kube_horizontalpodautoscaler_status_current_replicas{hpa_ns}", "{{horizontalpodautoscaler}}")],
        ),
    ]
    for workload, hpa in args.hpas:
        selector = f'{{{ns}, horizontalpodautoscaler="{hpa}"}}'
        panels.append(
            (
                "Autoscaling",
                f"HPA {workload}: current, desired, min, max",
                [
                    (f"kube_horizontalpodautoscaler_status_current_replicas{selector}", "current"),
                    (f"kube_horizontalpodautoscaler_status_desired_replicas{selector}", "desired"),
                    (f"kube_horizontalpodautoscaler_spec_min_replicas{selector}", "min"),
                    (f"kube_horizontalpodautoscaler_spec_max_replicas{selector}", "max"),
                ],
            )
        )
    panels += [
        (
            "Autoscaling",
            f"Scaling events (replica changes per {RATE})",
            [
                (
                    f"changes(kube_horizontalpodautoscaler_status_current_replicas{hpa_ns}[{RATE}])",
                    "{{horizontalpodautoscaler}}",
                )
            ],
        ),
        (
            "Ingress (ingress-nginx)",
            "Requests per route (requests/s)",
            [(f"sum by (ingress) (rate(nginx_ingress_controller_requests{{{nginx}}}[{RATE}]))", "{{ingress}}")],
        ),
        (
            "Ingress (ingress-nginx)",
            "5xx ratio per route",
            [
                (
                    f'sum by (ingress) (rate(nginx_ingress_controller_requests{{{nginx}, status=~"5.."}}[{RATE}]))\n'
                    f"  / sum by (ingress) (rate(nginx_ingress_controller_requests{{{nginx}}}[{RATE}]))",
                    "{{ingress}}",
                )
            ],
        ),
    ]
    return panels


UNITS = {"Request rate (requests/s)": "reqps", "p95 latency (seconds)": "s", "5xx ratio per route": "percentunit",
         "Requests per route (requests/s)": "reqps"}


def build_dashboard(args: DashboardArgs) -> dict[str, Any]:
    """The dashboard JSON model, from Grafana's builders."""
    source = DataSourceRef(type_val="prometheus", uid=args.settings.datasource_uid)
    dashboard = (
        Dashboard(f"Spywatcher ({args.instance})")
        .uid(args.uid)
        .tags(["spywatcher", "generated", args.instance])
        .refresh("1m")
        .time("now-6h", "now")
        .readonly()
    )
    row = None
    for row_title, title, targets in queries(args):
        if row_title != row:
            dashboard = dashboard.with_row(Row(row_title))
            row = row_title
        panel = Panel().title(title).datasource(source).height(8).span(12).min(0)
        if title in UNITS:
            panel = panel.unit(UNITS[title])
        for index, (expr, legend) in enumerate(targets):
            panel = panel.with_target(
                Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + index)).datasource(source)
            )
        dashboard = dashboard.with_panel(panel)
    return dict(json.loads(json.dumps(dashboard.build(), cls=JSONEncoder, sort_keys=True)))


def build_config_map(args: DashboardArgs) -> dict[str, Any]:
    settings = args.settings
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(
            f"{args.instance}-dashboard",
            settings.namespace,
            labels("dashboard", args.instance) | {settings.label: settings.label_value},
        ),
        "data": {args.file_name: json.dumps(build_dashboard(args), sort_keys=True, indent=2)},
    }


class GrafanaDashboard(pulumi.ComponentResource):
    """The dashboard ConfigMap, in the namespace the Grafana sidecar watches."""

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:dashboards:GrafanaDashboard", name, None, opts)
        register(build_config_map(args), f"{name}-configmap", child_opts(self, opts))
        self.register_outputs({})
