"""The stack's Grafana dashboard, built with Grafana's typed builders (grafana-foundation-sdk) and
delivered as a ConfigMap that the Grafana dashboard sidecar (kube-prometheus-stack's
`sidecar.dashboards`) loads: it watches ConfigMaps with a label (`grafana_dashboard: "1"` by default).

Panels: the guide's four Prometheus queries (request rate, p95 latency, running pods, HPA current
replicas), HPA current/desired/min/max per workload, scaling events; then the data planes: their
pods ready (a data-plane pod is Ready only once its target is healthy in its target group: the
readiness gates) and their HPAs' replicas; then each enabled data plane's requests, 5xx ratio and
p95 per route, and Envoy's healthy upstream endpoints. Every query is scoped to the stack: the
app's series by its namespace, ingress-nginx's by the controller's namespace (it serves only the
app's namespace) and the route Ingresses' names, Envoy's by the proxies' namespace and the app's
HTTPRoutes (Envoy Gateway names a route rule's cluster `httproute/<namespace>/<name>/rule/<index>`:
envoyproxy/gateway, internal/gatewayapi/helpers.go irRouteDestinationName @ v1.9.0).

Units, as each exporter measures: ingress-nginx's request duration in seconds, Envoy's
`*_rq_time` histograms in milliseconds (Envoy Gateway's own dashboards chart them in `ms`).
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
# Envoy's responses per cluster by status class (`cluster.<name>.upstream_rq_<N>xx`, the class a tag):
# charged once per request with the status sent downstream, its own 503 (no healthy endpoint) and
# 504 (route timeout) included; a response that is retried is charged under `retry.` instead, and
# `upstream_rq_total` counts each try that got a connection (envoyproxy/envoy
# source/common/router/router.cc chargeUpstreamCode, onUpstreamHeaders, sendNoHealthyUpstreamResponse
# @ 001b1c0c; source/common/conn_pool/conn_pool_base.cc attachStreamToClient @ 00dcf3fb).
ENVOY_RESPONSES = "envoy_cluster_upstream_rq_xx"
# The ingress-nginx chart's controller Deployment (`<release>-controller`): its pods' names.
NGINX_CONTROLLER_PODS = "ingress-nginx-controller-.+"


@dataclass(frozen=True)
class DashboardArgs:
    settings: GrafanaDashboardSettings
    namespace: str  # the app's
    instance: str  # spywatcher-<stack>
    hpas: tuple[tuple[str, str], ...]  # (workload, HPA name)
    controller_namespace: str | None  # ingress-nginx's, when it runs
    ingresses: tuple[tuple[str, str], ...]  # (route, Ingress name)
    gateway_namespace: str | None = None  # the Envoy proxies', when Envoy Gateway runs
    http_routes: tuple[str, ...] = ()  # the HTTPRoutes' names

    @property
    def uid(self) -> str:
        return self.instance[:40]

    @property
    def file_name(self) -> str:
        return f"{self.instance}.json"


# (row, panel title, unit or None for a plain count, [(expr, legend)])
PanelSpec = tuple[str, str, str | None, list[tuple[str, str]]]
DATA_PLANES = "Data planes: targets and replicas"
TRAFFIC = "Data planes: requests, errors, latency"
# With both data planes, each concern's ingress-nginx panel sits at the left of Envoy's.
SIDE_BY_SIDE = f"{TRAFFIC} (ingress-nginx left, Envoy right)"


def _data_plane_panels(args: DashboardArgs) -> list[PanelSpec]:
    planes = [(name, selector) for name, selector in (
        ("ingress-nginx", f'namespace="{args.controller_namespace}"' if args.controller_namespace else None),
        ("envoy", f'namespace="{args.gateway_namespace}"' if args.gateway_namespace else None),
    ) if selector is not None]
    if not planes:
        return []
    pods = {"ingress-nginx": f', pod=~"{NGINX_CONTROLLER_PODS}"', "envoy": ""}
    return [
        # kube_pod_status_ready is 1 for the pod's Ready condition's value: sum the "true" ones.
        (DATA_PLANES, "Data-plane pods ready (= healthy targets: readiness gates)", None, [
            (f'sum(kube_pod_status_ready{{{selector}{pods[name]}, condition="true"}})', name)
            for name, selector in planes
        ]),
        (DATA_PLANES, "Data-plane HPA replicas: current and desired", None, [
            (f"sum(kube_horizontalpodautoscaler_status_{which}_replicas{{{selector}}})", f"{name} {which}")
            for name, selector in planes for which in ("current", "desired")
        ]),
    ]


def _nginx_panels(args: DashboardArgs) -> list[PanelSpec]:
    if args.controller_namespace is None:
        return []
    routes = "|".join(name for _, name in args.ingresses)
    nginx = f'controller_namespace="{args.controller_namespace}", ingress=~"{routes}"'
    requests = f"nginx_ingress_controller_requests{{{nginx}}}"
    return [
        (f"{TRAFFIC} (ingress-nginx)", "ingress-nginx: requests per route (requests/s)", "reqps",
         [(f"sum by (ingress) (rate({requests}[{RATE}]))", "{{ingress}}")]),
        (f"{TRAFFIC} (ingress-nginx)", "ingress-nginx: 5xx ratio per route", "percentunit", [(
            f'sum by (ingress) (rate(nginx_ingress_controller_requests{{{nginx}, status=~"5.."}}[{RATE}]))\n'
            f"  / sum by (ingress) (rate({requests}[{RATE}]))",
            "{{ingress}}",
        )]),
        # Per route: the Socket.IO route's long polls would otherwise set the API's p95.
        (f"{TRAFFIC} (ingress-nginx)", "ingress-nginx: p95 request time per route (seconds)", "s", [(
            "histogram_quantile(0.95, sum by (ingress, le) "
            f"(rate(nginx_ingress_controller_request_duration_seconds_bucket{{{nginx}}}[{RATE}])))",
            "{{ingress}}",
        )]),
    ]


def _envoy_panels(args: DashboardArgs) -> list[PanelSpec]:
    if args.gateway_namespace is None:
        return []
    prefix = f"httproute/{args.namespace}/"
    clusters = f'{prefix}({"|".join(args.http_routes)})/rule/[0-9]+'
    envoy = f'namespace="{args.gateway_namespace}", envoy_cluster_name=~"{clusters}"'

    def per_route(vector: str, by: str = "route") -> str:
        """Sum a per-cluster vector by its route (the HTTPRoute's name out of the cluster's)."""
        return (f'sum by ({by}) (label_replace({vector}, "route", "$1", "envoy_cluster_name", '
                f'"{prefix}([^/]+)/rule/[0-9]+"))')

    return [
        # Requests as nginx counts them, once each with its final status: the response-class
        # counters, not `upstream_rq_total` (one per try; none when no endpoint is healthy).
        (f"{TRAFFIC} (Envoy)", "Envoy: requests per route (requests/s)", "reqps",
         [(per_route(f"rate({ENVOY_RESPONSES}{{{envoy}}}[{RATE}])"), "{{route}}")]),
        (f"{TRAFFIC} (Envoy)", "Envoy: 5xx ratio per route", "percentunit", [(
            per_route(f'rate({ENVOY_RESPONSES}{{{envoy}, envoy_response_code_class="5"}}[{RATE}])')
            + "\n  / " + per_route(f"rate({ENVOY_RESPONSES}{{{envoy}}}[{RATE}])"),
            "{{route}}",
        )]),
        (f"{TRAFFIC} (Envoy)", "Envoy: p95 upstream response time per route (milliseconds)", "ms", [(
            "histogram_quantile(0.95, "
            + per_route(f"rate(envoy_cluster_upstream_rq_time_bucket{{{envoy}}}[{RATE}])", "route, le") + ")",
            "{{route}}",
        )]),
        # Every proxy sees every endpoint: the worst proxy's healthy count over the endpoints known.
        (f"{TRAFFIC} (Envoy)", "Envoy: healthy upstream endpoints per route rule (ratio)", "percentunit", [(
            f"min by (envoy_cluster_name) (envoy_cluster_membership_healthy{{{envoy}}})\n"
            f"  / max by (envoy_cluster_name) (envoy_cluster_membership_total{{{envoy}}})",
            "{{envoy_cluster_name}}",
        )]),
    ]


def queries(args: DashboardArgs) -> list[PanelSpec]:
    """(row, panel title, unit, [(expr, legend)]) for every panel, in order."""
    ns = f'namespace="{args.namespace}"'
    hpa_ns = f"{{{ns}}}"
    panels: list[PanelSpec] = [
        ("Guide", "Request rate (requests/s)", "reqps",
         [(f"sum(rate(http_requests_total{{{ns}}}[{RATE}]))", "requests/s")]),
        (
            "Guide",
            "p95 latency (seconds)",
            "s",
            [
                (
                    "histogram_quantile(0.95, sum by (le) "
                    f"(rate(http_request_duration_seconds_bucket{{{ns}}}[{RATE}])))",
                    "p95",
                )
            ],
        ),
        # kube_pod_status_phase is 1 for a pod's current phase and 0 for the others: sum, not count.
        ("Guide", "Running pods", None, [(f'sum(kube_pod_status_phase{{{ns}, phase="Running"}})', "running")]),
        (
            "Guide",
            "HPA current replicas",
            None,
            [(f"kube_horizontalpodautoscaler_status_current_replicas{hpa_ns}", "{{horizontalpodautoscaler}}")],
        ),
    ]
    for workload, hpa in args.hpas:
        selector = f'{{{ns}, horizontalpodautoscaler="{hpa}"}}'
        panels.append(
            (
                "Autoscaling",
                f"HPA {workload}: current, desired, min, max",
                None,
                [
                    (f"kube_horizontalpodautoscaler_status_current_replicas{selector}", "current"),
                    (f"kube_horizontalpodautoscaler_status_desired_replicas{selector}", "desired"),
                    (f"kube_horizontalpodautoscaler_spec_min_replicas{selector}", "min"),
                    (f"kube_horizontalpodautoscaler_spec_max_replicas{selector}", "max"),
                ],
            )
        )
    panels.append(
        (
            "Autoscaling",
            f"Scaling events (replica changes per {RATE})",
            None,
            [
                (
                    f"changes(kube_horizontalpodautoscaler_status_current_replicas{hpa_ns}[{RATE}])",
                    "{{horizontalpodautoscaler}}",
                )
            ],
        )
    )
    nginx, envoy = _nginx_panels(args), _envoy_panels(args)
    if nginx and envoy:  # side by side: each nginx panel at the left of its Envoy counterpart
        traffic = [(SIDE_BY_SIDE, *panel[1:]) for pair in zip(nginx, envoy[: len(nginx)], strict=True)
                   for panel in pair]
        traffic += [(SIDE_BY_SIDE, *panel[1:]) for panel in envoy[len(nginx):]]
    else:
        traffic = nginx or envoy
    return [*panels, *_data_plane_panels(args), *traffic]


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
    for row_title, title, unit, targets in queries(args):
        if row_title != row:
            dashboard = dashboard.with_row(Row(row_title))
            row = row_title
        panel = Panel().title(title).datasource(source).height(8).span(12).min(0)
        if unit is not None:
            panel = panel.unit(unit)
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
