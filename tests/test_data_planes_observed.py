"""Both data planes observed: ingress-nginx's controller and the Envoy Gateway proxies each have a
ServiceMonitor (checked against the upstream Prometheus Operator CRD), the Grafana dashboard charts
Envoy beside ingress-nginx with the units each exporter measures in (the queries evaluated by
promtool on synthetic series), and the data planes' readiness and replicas on one screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.ingress_controller import CONTROLLER_SELECTOR
from offline.engine import DELETE, Plan, run_stack
from tests.netpol import Peer, allowed
from tests.promtool import run
from tests.test_dashboards import dashboard
from tests.upstream import found_crds, schema_problems

# The labels Envoy Gateway v1.9 puts on staging's proxy pods (EnvoyAppLabel + owning gateway).
PROXY_POD = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
    "gateway.envoyproxy.io/owning-gateway-name": "spywatcher",
    "gateway.envoyproxy.io/owning-gateway-namespace": "spywatcher-gateway",
}
# The ingress-nginx chart's labels on its controller and metrics Services and controller pods.
NGINX_CONTROLLER = {**CONTROLLER_SELECTOR, "app.kubernetes.io/part-of": "ingress-nginx"}
PROMETHEUS = Peer("monitoring", {"app.kubernetes.io/name": "prometheus"})
MONITOR_LABELS = {
    "app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/instance": "spywatcher-staging",
    "app.kubernetes.io/component": "monitoring", "app.kubernetes.io/part-of": "spywatcher",
    "app.kubernetes.io/managed-by": "pulumi", "release": "kube-prometheus-stack",
}
ENDPOINT = {"interval": "30s", "scrapeTimeout": "10s"}


def test_ingress_nginx_is_scraped_on_the_charts_metrics_service(plans: dict[str, Plan]) -> None:
    """The chart (helm-chart-4.15.1, controller-service-metrics.yaml) serves 10254 as port `metrics`
    on `ingress-nginx-controller-metrics`, which carries the controller labels; its own
    ServiceMonitor template selects it the same way (controller-servicemonitor.yaml)."""
    for stack in ("staging", "production"):
        monitor = plans[stack].k8s("ServiceMonitor", "spywatcher-ingress-nginx", "ingress-nginx")
        assert monitor["spec"] == {
            "selector": {"matchLabels": CONTROLLER_SELECTOR},
            "namespaceSelector": {"matchNames": ["ingress-nginx"]},
            "endpoints": [{"port": "metrics", "path": "/metrics", **ENDPOINT}],
        }
        [release] = [r for r in plans[stack].of_type("kubernetes:helm.sh/v3:Release")
                     if r.inputs["chart"] == "ingress-nginx"]
        metrics = release.inputs["values"]["controller"]["metrics"]
        assert metrics == {"enabled": True}, "the chart's metrics Service (service.enabled defaults to true)"
    assert plans["staging"].k8s("ServiceMonitor", "spywatcher-ingress-nginx", "ingress-nginx")["metadata"][
        "labels"] == MONITOR_LABELS


def test_the_envoy_proxies_are_scraped_through_a_headless_service(plans: dict[str, Plan]) -> None:
    """Envoy Gateway v1.9's proxy container serves /stats/prometheus on its port `metrics` (19001),
    and no Service of Envoy Gateway's exposes it."""
    plan = plans["staging"]
    service = plan.k8s("Service", "spywatcher-envoy-metrics", "spywatcher-gateway")
    assert service["spec"] == {
        "clusterIP": "None",
        "selector": PROXY_POD,
        "ports": [{"name": "metrics", "port": 19001, "protocol": "TCP", "targetPort": "metrics"}],
    }
    monitor = plan.k8s("ServiceMonitor", "spywatcher-envoy", "spywatcher-gateway")
    assert monitor["metadata"]["labels"] == MONITOR_LABELS
    assert monitor["spec"] == {
        "selector": {"matchLabels": service["metadata"]["labels"]},
        "namespaceSelector": {"matchNames": ["spywatcher-gateway"]},
        "endpoints": [{"port": "metrics", "path": "/stats/prometheus", **ENDPOINT}],
    }
    # Nothing else in the proxies' namespace carries those labels: the monitor selects this Service only.
    services = {o["metadata"]["name"]: o["metadata"]["labels"] for o in plan.k8s_objects()
                if o["metadata"].get("namespace") == "spywatcher-gateway" and o["kind"] == "Service"}
    assert sorted(services) == ["spywatcher-envoy-metrics", "spywatcher-gateway-targets"]
    assert [name for name, labels in services.items()
            if all(labels.get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())] == [
        "spywatcher-envoy-metrics"]


def test_prometheus_may_reach_both_data_planes_metrics_and_nothing_else_may(plans: dict[str, Plan]) -> None:
    plan = plans["staging"]
    nginx, proxy = Peer("ingress-nginx", NGINX_CONTROLLER), Peer("spywatcher-gateway", PROXY_POD)
    assert allowed(plan, PROMETHEUS, nginx, 10254) and allowed(plan, PROMETHEUS, proxy, 19001)
    grafana = Peer("monitoring", {"app.kubernetes.io/name": "grafana"})
    assert not allowed(plan, grafana, nginx, 10254) and not allowed(plan, grafana, proxy, 19001)


def test_the_monitors_match_the_upstream_crd_and_wait_for_their_namespaces(plans: dict[str, Plan]) -> None:
    plan = plans["staging"]
    monitors = [o for o in plan.k8s_objects() if o["kind"] == "ServiceMonitor"]
    assert sorted(o["metadata"]["name"] for o in monitors) == [
        "spywatcher-backend", "spywatcher-envoy", "spywatcher-ingress-nginx"]
    assert schema_problems(monitors) == []
    crds = found_crds()
    if crds is not None:  # against the Prometheus Operator v0.93.0 CRD itself, not only offline/crds/
        assert [p for o in monitors for p in crds.check(o)] == []
    # Each monitor lives in a namespace another component creates: the monitoring waits for it.
    monitoring = plan.get("spywatcher:monitoring:Monitoring", "monitoring")
    namespaces = {r.name: r.urn for r in plan.of_type("kubernetes:core/v1:Namespace")}
    for namespace in ("gateway-namespace-spywatcher-gateway", "ingress-namespace"):
        assert namespaces[namespace] in monitoring.depends_on, namespace


def test_each_data_plane_is_scraped_only_while_it_runs() -> None:
    only_envoy = run_stack("staging", {"ingressController": {"enabled": False}, "loadBalancer": {"weights": DELETE}})
    names = sorted(o["metadata"]["name"] for o in only_envoy.k8s_objects() if o["kind"] == "ServiceMonitor")
    assert names == ["spywatcher-backend", "spywatcher-envoy"]
    off = run_stack("staging", {"monitoring": {"serviceMonitor": {"enabled": False}}})
    assert not [o for o in off.k8s_objects() if o["kind"] == "ServiceMonitor"
                or o["metadata"]["name"] == "spywatcher-envoy-metrics"]


# --- The Grafana dashboard charts both --------------------------------------------------------------

SIDE_BY_SIDE = "Data planes: requests, errors, latency (ingress-nginx left, Envoy right)"
DATA_PLANES = "Data planes: targets and replicas"
# Staging's data-plane panels: (row, title, unit, x, y). Units as each exporter measures: nginx's
# request duration in seconds, Envoy's *_rq_time in milliseconds, ratios 0-1 as `percentunit`.
STAGING_PANELS = [
    (DATA_PLANES, "Data-plane pods ready (= healthy targets: readiness gates)", None, 0, 35),
    (DATA_PLANES, "Data-plane HPA replicas: current and desired", None, 12, 35),
    (SIDE_BY_SIDE, "ingress-nginx: requests per route (requests/s)", "reqps", 0, 44),
    (SIDE_BY_SIDE, "Envoy: requests per route (requests/s)", "reqps", 12, 44),
    (SIDE_BY_SIDE, "ingress-nginx: 5xx ratio per route", "percentunit", 0, 52),
    (SIDE_BY_SIDE, "Envoy: 5xx ratio per route", "percentunit", 12, 52),
    (SIDE_BY_SIDE, "ingress-nginx: p95 request time per route (seconds)", "s", 0, 60),
    (SIDE_BY_SIDE, "Envoy: p95 upstream response time per route (milliseconds)", "ms", 12, 60),
    (SIDE_BY_SIDE, "Envoy: healthy upstream endpoints per route rule (ratio)", "percentunit", 0, 68),
]


def data_plane_panels(board: dict[str, Any]) -> list[tuple[str, str, str | None, int, int]]:
    row, found = "", []
    for panel in board["panels"]:
        if panel["type"] == "row":
            row = panel["title"]
        elif row.startswith("Data planes"):
            found.append((row, panel["title"], panel["fieldConfig"]["defaults"].get("unit"),
                          panel["gridPos"]["x"], panel["gridPos"]["y"]))
    return found


def test_staging_charts_envoy_beside_ingress_nginx(plans: dict[str, Plan]) -> None:
    assert data_plane_panels(dashboard(plans["staging"])) == STAGING_PANELS


def test_one_data_plane_charts_only_its_own() -> None:
    envoy = run_stack("staging", {"ingressController": {"enabled": False}, "loadBalancer": {"weights": DELETE}})
    assert [p[1:3] for p in data_plane_panels(dashboard(envoy))] == [
        ("Data-plane pods ready (= healthy targets: readiness gates)", None),
        ("Data-plane HPA replicas: current and desired", None),
        ("Envoy: requests per route (requests/s)", "reqps"),
        ("Envoy: 5xx ratio per route", "percentunit"),
        ("Envoy: p95 upstream response time per route (milliseconds)", "ms"),
        ("Envoy: healthy upstream endpoints per route rule (ratio)", "percentunit"),
    ]
    assert {p[0] for p in data_plane_panels(dashboard(envoy))} == {
        DATA_PLANES, "Data planes: requests, errors, latency (Envoy)"}


def targets(board: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {p["title"]: [(t["expr"], t["legendFormat"]) for t in p["targets"]]
            for p in board["panels"] if p["type"] == "timeseries"}


# Synthetic series over 10 minutes at 1m steps, and what each panel must then read: a ratio panel
# reads 0.05 (5 %, as `percentunit` shows it; `percent` would show 0.05 %), Envoy's p95 of the API
# reads 242.5 (ms: requests spread between its 100 and 250 ms buckets), nginx's 0.2425 (s), each
# route's p95 apart from the Socket.IO long polls' (both routes in one would read about 13.6 s).
APP, GW = "spywatcher-staging", "spywatcher-gateway"
API = f"httproute/{APP}/spywatcher-api/rule/0"
NGINX = 'controller_namespace="ingress-nginx", ingress="spywatcher-api"'
SOCKETIO = f"httproute/{APP}/spywatcher-socketio/rule/0"
SOCKETIO_NGINX = 'controller_namespace="ingress-nginx", ingress="spywatcher-socketio"'
SERIES = [
    (f'nginx_ingress_controller_requests{{{NGINX}, status="200"}}', "0+570x10"),
    (f'nginx_ingress_controller_requests{{{NGINX}, status="503"}}', "0+30x10"),
    (f'nginx_ingress_controller_request_duration_seconds_bucket{{{NGINX}, le="0.1"}}', "0+0x10"),
    (f'nginx_ingress_controller_request_duration_seconds_bucket{{{NGINX}, le="0.25"}}', "0+600x10"),
    (f'nginx_ingress_controller_request_duration_seconds_bucket{{{NGINX}, le="30"}}', "0+600x10"),
    (f'nginx_ingress_controller_request_duration_seconds_bucket{{{NGINX}, le="+Inf"}}', "0+600x10"),
    # Socket.IO's long polls, 60 a minute between 0.25 and 30 s: their own p95, not the API's.
    *((f'nginx_ingress_controller_request_duration_seconds_bucket{{{SOCKETIO_NGINX}, le="{le}"}}', values)
      for le, values in (("0.1", "0+0x10"), ("0.25", "0+0x10"), ("30", "0+60x10"), ("+Inf", "0+60x10"))),
    # Another controller's and another stack's series: out of scope.
    ('nginx_ingress_controller_requests{controller_namespace="other", ingress="spywatcher-api", status="503"}',
     "0+600x10"),
    # 150 tries a minute for 120 requests: 30 were answered 503 and retried. Envoy charges the retried
    # answers under `retry.`, the final ones by class; the requests panel reads requests, not tries.
    (f'envoy_cluster_upstream_rq_total{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1"}}', "0+150x10"),
    (f'envoy_cluster_retry_upstream_rq_xx{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1", '
     'envoy_response_code_class="5"}', "0+30x10"),
    (f'envoy_cluster_upstream_rq_xx{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1", '
     'envoy_response_code_class="2"}', "0+114x10"),
    (f'envoy_cluster_upstream_rq_xx{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1", '
     'envoy_response_code_class="5"}', "0+6x10"),
    (f'envoy_cluster_upstream_rq_time_bucket{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1", le="100"}}',
     "0+0x10"),
    (f'envoy_cluster_upstream_rq_time_bucket{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1", le="250"}}',
     "0+120x10"),
    (f'envoy_cluster_upstream_rq_time_bucket{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1", le="30000"}}',
     "0+120x10"),
    (f'envoy_cluster_upstream_rq_time_bucket{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1", le="+Inf"}}',
     "0+120x10"),
    *((f'envoy_cluster_upstream_rq_time_bucket{{namespace="{GW}", envoy_cluster_name="{SOCKETIO}", pod="p1", '
       f'le="{le}"}}', values)
      for le, values in (("100", "0+0x10"), ("250", "0+0x10"), ("30000", "0+60x10"), ("+Inf", "0+60x10"))),
    # The rate limiter's own cluster, not a route's: out of scope.
    (f'envoy_cluster_upstream_rq_xx{{namespace="{GW}", envoy_cluster_name="ratelimit_cluster", pod="p1", '
     'envoy_response_code_class="5"}', "0+6000x10"),
    (f'envoy_cluster_membership_healthy{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1"}}', "3x10"),
    (f'envoy_cluster_membership_healthy{{namespace="{GW}", envoy_cluster_name="{API}", pod="p2"}}', "4x10"),
    (f'envoy_cluster_membership_total{{namespace="{GW}", envoy_cluster_name="{API}", pod="p1"}}', "4x10"),
    (f'envoy_cluster_membership_total{{namespace="{GW}", envoy_cluster_name="{API}", pod="p2"}}', "4x10"),
    ('kube_pod_status_ready{namespace="ingress-nginx", pod="ingress-nginx-controller-7d9f-a", condition="true"}',
     "1x10"),
    ('kube_pod_status_ready{namespace="ingress-nginx", pod="ingress-nginx-controller-7d9f-b", condition="true"}',
     "0x10"),
    ('kube_pod_status_ready{namespace="ingress-nginx", pod="ingress-nginx-admission-patch-x", condition="true"}',
     "1x10"),
    (f'kube_pod_status_ready{{namespace="{GW}", pod="envoy-spywatcher-1", condition="true"}}', "1x10"),
    (f'kube_pod_status_ready{{namespace="{GW}", pod="envoy-spywatcher-2", condition="true"}}', "1x10"),
    ('kube_horizontalpodautoscaler_status_current_replicas{namespace="ingress-nginx", '
     'horizontalpodautoscaler="ingress-nginx-controller"}', "2x10"),
    ('kube_horizontalpodautoscaler_status_desired_replicas{namespace="ingress-nginx", '
     'horizontalpodautoscaler="ingress-nginx-controller"}', "3x10"),
    (f'kube_horizontalpodautoscaler_status_current_replicas{{namespace="{GW}", horizontalpodautoscaler="envoy"}}',
     "2x10"),
    (f'kube_horizontalpodautoscaler_status_desired_replicas{{namespace="{GW}", horizontalpodautoscaler="envoy"}}',
     "2x10"),
]
# panel title -> [(labels of the sample, value)] per query of the panel, in order
EXPECTED: dict[str, list[list[tuple[str, float]]]] = {
    "Data-plane pods ready (= healthy targets: readiness gates)": [[("{}", 1)], [("{}", 2)]],
    "Data-plane HPA replicas: current and desired": [[("{}", 2)], [("{}", 3)], [("{}", 2)], [("{}", 2)]],
    "ingress-nginx: requests per route (requests/s)": [[('{ingress="spywatcher-api"}', 10)]],
    "Envoy: requests per route (requests/s)": [[('{route="spywatcher-api"}', 2)]],
    "ingress-nginx: 5xx ratio per route": [[('{ingress="spywatcher-api"}', 0.05)]],
    "Envoy: 5xx ratio per route": [[('{route="spywatcher-api"}', 0.05)]],
    "ingress-nginx: p95 request time per route (seconds)": [[('{ingress="spywatcher-api"}', 0.2425),
                                                             ('{ingress="spywatcher-socketio"}', 28.5125)]],
    "Envoy: p95 upstream response time per route (milliseconds)": [[('{route="spywatcher-api"}', 242.5),
                                                                    ('{route="spywatcher-socketio"}', 28512.5)]],
    "Envoy: healthy upstream endpoints per route rule (ratio)": [[(f'{{envoy_cluster_name="{API}"}}', 0.75)]],
}


def test_the_data_plane_queries_read_what_their_units_say(plans: dict[str, Plan], tmp_path: Path) -> None:
    """promtool evaluates every data-plane panel's queries on synthetic series of both exporters."""
    found = targets(dashboard(plans["staging"]))
    assert sorted(EXPECTED) == sorted(title for _, title, *_ in STAGING_PANELS)
    checks = [
        {"expr": expr, "eval_time": "10m",
         "exp_samples": [{"labels": labels, "value": value} for labels, value in samples]}
        for title, per_query in EXPECTED.items()
        for (expr, _), samples in zip(found[title], per_query, strict=True)
    ]
    tests = {"rule_files": [], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": series, "values": values} for series, values in SERIES],
        "promql_expr_test": checks,
    }]}
    (tmp_path / "panels.test.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = run("test", "rules", "panels.test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # A ratio scaled to percent reads 100x off under `percentunit`: promtool catches it.
    checks[4]["exp_samples"][0]["value"] = 5
    (tmp_path / "panels.test.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    assert run("test", "rules", "panels.test.yaml", cwd=tmp_path).returncode != 0


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_every_data_plane_query_is_scoped_to_the_stacks_namespaces(plans: dict[str, Plan], stack: str) -> None:
    app = {"staging": "spywatcher-staging", "production": "spywatcher"}[stack]
    for title, queries in targets(dashboard(plans[stack])).items():
        for expr, _ in queries:
            if "envoy_" in expr:
                assert f'namespace="{GW}", envoy_cluster_name=~"httproute/{app}/(' in expr, title
            elif "nginx_ingress_controller" in expr:
                assert 'controller_namespace="ingress-nginx", ingress=~"' in expr, title
