"""The Grafana dashboard: built by grafana-foundation-sdk, delivered as a sidecar ConfigMap, every
query scoped to the stack and parsed by promtool."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from offline.engine import Plan, run_stack
from offline.preview import format_plan
from tests.promtool import check_rules

NAMESPACE = "spywatcher"


def config_map(plan: Plan, namespace: str | None = None) -> dict[str, Any]:
    return plan.k8s("ConfigMap", f"spywatcher-{plan.stack}-dashboard", namespace)


def dashboard(plan: Plan) -> dict[str, Any]:
    [(key, text)] = config_map(plan)["data"].items()
    assert key == f"spywatcher-{plan.stack}.json"
    return dict(json.loads(text))


def panels(board: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {
        p["title"]: [(t["expr"], t["legendFormat"]) for t in p["targets"]]
        for p in board["panels"]
        if p["type"] == "timeseries"
    }


def test_delivered_to_the_grafana_sidecar(plans: dict[str, Plan]) -> None:
    cm = config_map(plans["production"], "monitoring")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["labels"]["app.kubernetes.io/instance"] == "spywatcher-production"
    board = dashboard(plans["production"])
    assert (board["uid"], board["title"]) == ("spywatcher-production", "Spywatcher (spywatcher-production)")
    assert board["editable"] is False and board["refresh"] == "1m"
    assert [p["title"] for p in board["panels"] if p["type"] == "row"] == [
        "Guide", "Autoscaling", "Data planes: targets and replicas",
        "Data planes: requests, errors, latency (ingress-nginx)",
    ]
    for panel in board["panels"]:
        if panel["type"] == "timeseries":
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
    off = run_stack("staging", {"monitoring": {"dashboard": {"enabled": False}}})
    assert not [o for o in off.k8s_objects() if o["metadata"]["name"].endswith("-dashboard")]


def test_the_guides_queries_and_the_autoscaling_views(plans: dict[str, Plan]) -> None:
    ns = f'namespace="{NAMESPACE}"'
    found = panels(dashboard(plans["production"]))
    assert found["Request rate (requests/s)"] == [(f"sum(rate(http_requests_total{{{ns}}}[5m]))", "requests/s")]
    assert found["p95 latency (seconds)"] == [
        (f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{ns}}}[5m])))", "p95")
    ]
    assert found["Running pods"] == [(f'sum(kube_pod_status_phase{{{ns}, phase="Running"}})', "running")]
    assert found["HPA current replicas"] == [
        (f"kube_horizontalpodautoscaler_status_current_replicas{{{ns}}}", "{{horizontalpodautoscaler}}")
    ]
    for workload in ("backend", "frontend"):
        selector = f'{{{ns}, horizontalpodautoscaler="spywatcher-{workload}-hpa"}}'
        assert found[f"HPA {workload}: current, desired, min, max"] == [
            (f"kube_horizontalpodautoscaler_status_current_replicas{selector}", "current"),
            (f"kube_horizontalpodautoscaler_status_desired_replicas{selector}", "desired"),
            (f"kube_horizontalpodautoscaler_spec_min_replicas{selector}", "min"),
            (f"kube_horizontalpodautoscaler_spec_max_replicas{selector}", "max"),
        ]
    assert found["Scaling events (replica changes per 5m)"] == [
        (f"changes(kube_horizontalpodautoscaler_status_current_replicas{{{ns}}}[5m])", "{{horizontalpodautoscaler}}")
    ]
    routes = 'controller_namespace="ingress-nginx", ingress=~"spywatcher-frontend|spywatcher-api|spywatcher-socketio"'
    assert found["ingress-nginx: requests per route (requests/s)"] == [
        (f"sum by (ingress) (rate(nginx_ingress_controller_requests{{{routes}}}[5m]))", "{{ingress}}")
    ]
    assert found["ingress-nginx: 5xx ratio per route"] == [
        (f'sum by (ingress) (rate(nginx_ingress_controller_requests{{{routes}, status=~"5.."}}[5m]))\n'
         f"  / sum by (ingress) (rate(nginx_ingress_controller_requests{{{routes}}}[5m]))", "{{ingress}}")
    ]
    assert found["ingress-nginx: p95 request time per route (seconds)"] == [
        ("histogram_quantile(0.95, sum by (ingress, le) (rate(nginx_ingress_controller_request_duration_seconds_bucket"
         f"{{{routes}}}[5m])))", "{{ingress}}")
    ]
    assert found["Data-plane pods ready (= healthy targets: readiness gates)"] == [
        ('sum(kube_pod_status_ready{namespace="ingress-nginx", pod=~"ingress-nginx-controller-.+", '
         'condition="true"})', "ingress-nginx")
    ]
    assert found["Data-plane HPA replicas: current and desired"] == [
        (f'sum(kube_horizontalpodautoscaler_status_{which}_replicas{{namespace="ingress-nginx"}})',
         f"ingress-nginx {which}") for which in ("current", "desired")
    ]


def test_envoys_queries(plans: dict[str, Plan]) -> None:
    found = panels(dashboard(plans["staging"]))
    clusters = 'httproute/spywatcher-staging/(spywatcher-frontend|spywatcher-api|spywatcher-socketio)/rule/[0-9]+'
    envoy = f'namespace="spywatcher-gateway", envoy_cluster_name=~"{clusters}"'

    def per_route(vector: str, by: str = "route") -> str:
        return (f'sum by ({by}) (label_replace({vector}, "route", "$1", "envoy_cluster_name", '
                '"httproute/spywatcher-staging/([^/]+)/rule/[0-9]+"))')

    assert found["Envoy: requests per route (requests/s)"] == [
        (per_route(f"rate(envoy_cluster_upstream_rq_xx{{{envoy}}}[5m])"), "{{route}}")]
    assert found["Envoy: 5xx ratio per route"] == [(
        per_route(f'rate(envoy_cluster_upstream_rq_xx{{{envoy}, envoy_response_code_class="5"}}[5m])')
        + "\n  / " + per_route(f"rate(envoy_cluster_upstream_rq_xx{{{envoy}}}[5m])"), "{{route}}")]
    assert found["Envoy: p95 upstream response time per route (milliseconds)"] == [(
        "histogram_quantile(0.95, "
        + per_route(f"rate(envoy_cluster_upstream_rq_time_bucket{{{envoy}}}[5m])", "route, le") + ")", "{{route}}")]
    assert found["Envoy: healthy upstream endpoints per route rule (ratio)"] == [
        (f"min by (envoy_cluster_name) (envoy_cluster_membership_healthy{{{envoy}}})\n"
         f"  / max by (envoy_cluster_name) (envoy_cluster_membership_total{{{envoy}}})", "{{envoy_cluster_name}}")]
    assert found["Data-plane pods ready (= healthy targets: readiness gates)"][1] == (
        'sum(kube_pod_status_ready{namespace="spywatcher-gateway", condition="true"})', "envoy")


def test_every_app_query_is_scoped_to_the_stack(plans: dict[str, Plan], fixture_plans: dict[str, Plan]) -> None:
    """Every selector names one of the stack's own namespaces: the app's, or a data plane's."""
    for plan in (plans["production"], plans["staging"], fixture_plans["all-options"]):
        namespace = plan.k8s("Deployment", "spywatcher-backend")["metadata"]["namespace"]
        for title, targets in panels(dashboard(plan)).items():
            for expr, _ in targets:
                selectors = re.findall(r"\{([^}]*)\}", expr.replace("{{", "").replace("}}", ""))
                assert selectors, (title, expr)
                for selector in selectors:
                    scopes = (f'namespace="{namespace}"', 'controller_namespace="ingress-nginx"',
                              'namespace="ingress-nginx"', 'namespace="spywatcher-gateway"')
                    assert any(scope in selector for scope in scopes), (title, expr)


def test_every_query_parses(plans: dict[str, Plan], fixture_plans: dict[str, Plan], tmp_path: Path) -> None:
    """promtool parses each query as the expression of a recording rule."""
    for plan in (plans["production"], plans["staging"], fixture_plans["all-options"]):
        rules = [
            {"record": f"spywatcher:dashboard:{index}_{ref}", "expr": expr}
            for index, (_, targets) in enumerate(panels(dashboard(plan)).items())
            for ref, (expr, _) in enumerate(targets)
        ]
        folder = tmp_path / plan.stack
        folder.mkdir()
        result = check_rules([{"name": "dashboard-queries", "rules": rules}], folder)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_a_broken_query_is_caught(tmp_path: Path) -> None:
    result = check_rules([{"name": "q", "rules": [{"record": "x:y", "expr": "sum(rate(a[5m])"}]}], tmp_path)
    assert result.returncode != 0


@pytest.mark.parametrize(
    ("overrides", "path"),
    [({"label": "bad label!"}, "label"), ({"namespace": "Monitoring"}, "namespace"),
     ({"datasourceUid": "has space"}, "datasourceUid")],
)
def test_bad_settings_name_their_key(overrides: dict[str, Any], path: str) -> None:
    from tests.conftest import config_error, problem_for

    problem_for(config_error("staging", {"monitoring": {"dashboard": {"enabled": True, **overrides}}}),
                f"monitoring.dashboard.{path}")


def test_label_namespace_and_datasource_are_configurable() -> None:
    plan = run_stack("staging", {"monitoring": {"dashboard": {
        "enabled": True, "namespace": "grafana", "label": "grafana.com/dashboard", "labelValue": "spywatcher",
        "datasourceUid": "prom-main"}}})
    cm = config_map(plan, "grafana")
    assert cm["metadata"]["labels"]["grafana.com/dashboard"] == "spywatcher"
    assert "grafana_dashboard" not in cm["metadata"]["labels"]
    board = dashboard(plan)
    assert {json.dumps(p["datasource"]) for p in board["panels"] if p["type"] == "timeseries"} == {
        json.dumps({"type": "prometheus", "uid": "prom-main"})
    }
    assert 'namespace="spywatcher-staging"' in panels(board)["Running pods"][0][0]


def test_preview_lists_the_dashboard(plans: dict[str, Plan]) -> None:
    text = format_plan(plans["production"])
    assert 'spywatcher-production-dashboard  Grafana dashboard "Spywatcher (spywatcher-production)": 12 panels' in text
    staging = format_plan(plans["staging"])
    assert 'spywatcher-staging-dashboard  Grafana dashboard "Spywatcher (spywatcher-staging)": 16 panels' in staging
    assert "label grafana_dashboard=1" in text


def test_the_dashboard_uid_is_the_instance_cut_to_grafanas_40_characters() -> None:
    """Grafana refuses a uid over 40 characters; a shorter one is kept whole, a longer one cut at 40."""
    from components.dashboards import DashboardArgs, build_dashboard
    from config.observability import GrafanaDashboardSettings

    def uid(instance: str) -> str:
        args = DashboardArgs(settings=GrafanaDashboardSettings(), namespace="ns", instance=instance, hpas=(),
                             controller_namespace=None, ingresses=())
        assert build_dashboard(args)["uid"] == args.uid
        return args.uid

    assert uid("spywatcher-" + "x" * 29) == "spywatcher-" + "x" * 29  # 40: whole
    assert uid("spywatcher-" + "x" * 30) == "spywatcher-" + "x" * 29  # 41: cut
