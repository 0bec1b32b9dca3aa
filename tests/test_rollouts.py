"""Progressive delivery with Argo Rollouts (config/rollouts.py, components/rollouts/): the Rollout on
the backend Deployment, its Services, Ingress and HPA, the AnalysisTemplate, the controller's pinned
release and its least privilege, checked on the objects the program registers and against the real
upstream CRDs and chart values."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import Plan, reveal, run_stack
from offline.render import check, render_plan
from tests.conftest import config_error, problem_for
from tests.netpol import Peer, allowed
from tests.upstream import MISSING, upstream_dir, upstream_file

NS = "spywatcher"
CONTROLLER_NS = "argo-rollouts"
CONTROLLER = {"app.kubernetes.io/name": "argo-rollouts", "app.kubernetes.io/instance": "argo-rollouts",
              "app.kubernetes.io/component": "rollouts-controller"}
PROMETHEUS = {"app.kubernetes.io/name": "prometheus"}
ON = {"rollouts": {"enabled": True}}
BACKEND = {"app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/instance": "spywatcher-production",
           "app.kubernetes.io/component": "backend"}
ANALYSIS_STEP = {"analysis": {"templates": [{"templateName": "spywatcher-backend-canary"}],
                              "args": [{"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}}


@pytest.fixture(scope="module")
def production() -> Plan:
    return run_stack("production", ON)


@pytest.fixture(scope="module")
def fixture(fixture_plans: dict[str, Plan]) -> Plan:
    return fixture_plans["rollouts"]


@pytest.fixture(scope="module")
def without_dynamic_scale() -> Plan:
    """The rollouts test stack with `dynamicStableScale: false` (its quota holds twice maxReplicas)."""
    return run_stack("rollouts", {"rollouts": {"dynamicStableScale": False}})


# --- The Rollout and what it names -----------------------------------------------------------------


def test_the_rollout_points_at_the_deployment_with_the_canary_strategy(production: Plan) -> None:
    rollout = production.k8s("Rollout", "spywatcher-backend", NS)
    assert rollout["apiVersion"] == "argoproj.io/v1alpha1"
    assert rollout["spec"] == {
        "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "spywatcher-backend",
                        "scaleDown": "onsuccess"},
        "minReadySeconds": 0,
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
        "progressDeadlineAbort": True,
        "strategy": {
            "canary": {
                "stableService": "spywatcher-backend-stable",
                "canaryService": "spywatcher-backend-canary",
                "maxSurge": 1,
                "maxUnavailable": 0,
                "dynamicStableScale": True,
                "stableMetadata": {"labels": {"spywatcher.io/track": "stable"}},
                "canaryMetadata": {"labels": {"spywatcher.io/track": "canary"}},
                # The route's own balancing, which the controller's canary Ingress would not copy.
                "trafficRouting": {"nginx": {"stableIngress": "spywatcher-api",
                                             "additionalIngressAnnotations": {"load-balance": "ewma"}}},
                "steps": [{"setWeight": 10}, ANALYSIS_STEP, {"setWeight": 50}, ANALYSIS_STEP],
            }
        },
    }
    assert "replicas" not in rollout["spec"] and "template" not in rollout["spec"]


def test_steps_come_from_config(fixture: Plan, without_dynamic_scale: Plan) -> None:
    steps = fixture.k8s("Rollout", "spywatcher-backend", "spywatcher-rollouts")["spec"]["strategy"]["canary"]
    assert steps["steps"] == [{"setWeight": 5}, {"pause": {"duration": "2m"}}, ANALYSIS_STEP, {"setWeight": 25},
                              ANALYSIS_STEP, {"setWeight": 75}, ANALYSIS_STEP]
    assert steps["dynamicStableScale"] is True
    canary = without_dynamic_scale.k8s("Rollout", "spywatcher-backend", "spywatcher-rollouts")["spec"]["strategy"]
    assert canary["canary"] == {**steps, "dynamicStableScale": False}


def test_pulumi_waits_for_a_healthy_rollout_of_the_observed_deployment(production: Plan) -> None:
    annotations = production.k8s("Rollout", "spywatcher-backend", NS)["metadata"]["annotations"]
    assert json.loads(annotations["pulumi.com/waitFor"]) == [
        "jsonpath={.status.phase}=Healthy",
        "jsonpath={$[?@.workloadObservedGeneration && @.workloadObservedGeneration=="
        "$.metadata.annotations['rollout.argoproj.io/workload-generation']]}",
    ]
    rollout = production.get("kubernetes:argoproj.io/v1alpha1:Rollout", "rollouts-backend")
    # 2 weight steps + the promotion, each up to the progress deadline, 2 analyses of 4 minutes, 5 min margin.
    assert rollout.custom_timeouts == {"create": "2580s", "update": "2580s"}


def test_a_new_pod_template_is_an_update_of_the_rollout(production: Plan) -> None:
    """The template lives in the Deployment; the Rollout carries its hash, so `pulumi up` updates,
    and waits for, the Rollout whenever the Deployment's pods change."""
    before = production.k8s("Rollout", "spywatcher-backend", NS)["metadata"]["annotations"]
    image = "ghcr.io/subculture-collective/spywatcher-backend:v2.0.1"
    newer = run_stack("production", {**ON, "backend": {"image": image}})
    after = newer.k8s("Rollout", "spywatcher-backend", NS)["metadata"]["annotations"]
    assert before["spywatcher.io/pod-template"] != after["spywatcher.io/pod-template"]
    assert len(after["spywatcher.io/pod-template"]) == 64
    steps = run_stack("production", {"rollouts": {"enabled": True, "steps": [{"setWeight": 50}, {"analysis": True}]}})
    assert steps.k8s("Rollout", "spywatcher-backend", NS)["metadata"]["annotations"] == before


def test_stable_and_canary_services_leave_the_selector_to_the_controller(production: Plan) -> None:
    for name in ("spywatcher-backend-stable", "spywatcher-backend-canary"):
        service = production.k8s("Service", name, NS)
        assert service["spec"] == {
            "type": "ClusterIP",
            "selector": BACKEND,
            "ports": [{"name": "http", "port": 3001, "targetPort": "http", "protocol": "TCP"}],
            "sessionAffinity": "None",
        }
        assert service["metadata"]["labels"]["spywatcher.io/route"] == "api"  # the ServiceMonitor skips it
        [registration] = [r for r in production.of_type("kubernetes:core/v1:Service")
                          if r.inputs["metadata"]["name"] == name]
        assert registration.ignore_changes == ("spec.selector",)


def test_the_route_ingress_sends_to_the_stable_service_and_waits_for_it(production: Plan) -> None:
    ingress = production.k8s("Ingress", "spywatcher-api", NS)
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": "spywatcher-backend-stable", "port": {"number": 3001}}
    registration = production.get("kubernetes:networking.k8s.io/v1:Ingress", "routes-api")
    stable = production.get("kubernetes:core/v1:Service", "rollout-services-spywatcher-backend-stable")
    assert stable.urn in registration.depends_on
    rollout = production.get("kubernetes:argoproj.io/v1alpha1:Rollout", "rollouts-backend")
    deployment = production.get("kubernetes:apps/v1:Deployment", "backend-deployment")
    release = production.get("kubernetes:helm.sh/v3:Release", "rollouts-controller")
    for needed in (registration, deployment, release, stable):
        assert needed.urn in rollout.depends_on


def test_the_hpa_and_the_vpa_scale_the_rollout(production: Plan) -> None:
    target = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "spywatcher-backend"}
    assert production.k8s("HorizontalPodAutoscaler", "spywatcher-backend-hpa", NS)["spec"]["scaleTargetRef"] == target
    assert production.k8s("VerticalPodAutoscaler", "spywatcher-backend-vpa", NS)["spec"]["targetRef"] == target
    frontend = production.k8s("HorizontalPodAutoscaler", "spywatcher-frontend-hpa", NS)["spec"]["scaleTargetRef"]
    assert frontend == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "spywatcher-frontend"}
    deployment = production.k8s("Deployment", "spywatcher-backend", NS)
    assert "replicas" not in deployment["spec"]


def test_socketio_and_the_budget_select_the_stable_pods_only(production: Plan, plans: dict[str, Plan]) -> None:
    stable = BACKEND | {"spywatcher.io/track": "stable"}
    assert production.k8s("Service", "spywatcher-backend-socketio", NS)["spec"]["selector"] == stable
    assert production.k8s("PodDisruptionBudget", "spywatcher-backend-pdb", NS)["spec"]["selector"] == {
        "matchLabels": stable}
    template = production.k8s("Deployment", "spywatcher-backend", NS)["spec"]["template"]
    # The Deployment's pods (before the first Rollout) and every promoted revision start as stable.
    assert template["metadata"]["labels"]["spywatcher.io/track"] == "stable"
    assert [c["matchLabelKeys"] for c in template["spec"]["topologySpreadConstraints"]] == [
        ["pod-template-hash", "rollouts-pod-template-hash"]] * 2
    # The Deployment's selector (immutable) is unchanged.
    off = plans["production"]
    assert production.k8s("Deployment", "spywatcher-backend", NS)["spec"]["selector"] == off.k8s(
        "Deployment", "spywatcher-backend", NS)["spec"]["selector"]
    assert "spywatcher.io/track" not in off.k8s("Deployment", "spywatcher-backend", NS)["spec"]["template"][
        "metadata"]["labels"]


def test_the_backend_service_monitor_labels_series_with_the_pod_template_hash(production: Plan,
                                                                              plans: dict[str, Plan]) -> None:
    monitor = production.k8s("ServiceMonitor", "spywatcher-backend", NS)
    assert monitor["spec"]["podTargetLabels"] == ["rollouts-pod-template-hash"]
    assert "podTargetLabels" not in plans["production"].k8s("ServiceMonitor", "spywatcher-backend", NS)["spec"]


def test_off_by_default_and_nothing_of_it_renders(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        assert not [o for o in plan.k8s_objects() if o["apiVersion"].startswith("argoproj.io")]
        assert not [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "argo-rollouts"]


# --- Analysis ---------------------------------------------------------------------------------------


def test_the_analysis_judges_5xx_and_p95_latency_on_prometheus(production: Plan) -> None:
    template = production.k8s("AnalysisTemplate", "spywatcher-backend-canary", NS)
    assert template["spec"]["args"] == [{"name": "canary-hash"}]
    canary = ('controller_namespace="ingress-nginx", ingress="spywatcher-api", '
              'canary="spywatcher-spywatcher-backend-canary-3001"')
    address = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    common = {"interval": "1m", "count": 5, "failureLimit": 1, "inconclusiveLimit": 2}
    assert template["spec"]["metrics"] == [
        {
            "name": "error-ratio", **common,
            "successCondition": "len(result) > 0 && result[0] <= 0.01",
            "failureCondition": "len(result) > 0 && result[0] > 0.01",
            "provider": {"prometheus": {"address": address, "query": (
                f'(sum(increase(nginx_ingress_controller_requests{{{canary}, status=~"5.."}}[2m])) or vector(0))\n'
                f"  / (sum(increase(nginx_ingress_controller_requests{{{canary}}}[2m])) >= 20)")}},
        },
        {
            "name": "p95-latency", **common,
            "successCondition": "len(result) > 0 && result[0] <= 1",
            "failureCondition": "len(result) > 0 && result[0] > 1",
            "provider": {"prometheus": {"address": address, "query": (
                "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
                '{namespace="spywatcher", rollouts_pod_template_hash="{{args.canary-hash}}"}[2m])))')}},
        },
    ]


def test_thresholds_and_limits_come_from_config(fixture: Plan) -> None:
    [errors, latency] = fixture.k8s("AnalysisTemplate", "spywatcher-backend-canary", "spywatcher-rollouts")["spec"][
        "metrics"]
    assert (errors["failureLimit"], latency["failureLimit"]) == (0, 0)
    assert errors["successCondition"] == "len(result) > 0 && result[0] <= 0.005"
    assert latency["failureCondition"] == "len(result) > 0 && result[0] > 0.8"


# --- The controller ----------------------------------------------------------------------------------


def _release(plan: Plan) -> dict[str, Any]:
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "argo-rollouts"]
    return release.inputs


def test_the_controller_is_a_pinned_release_without_crds_or_cluster_rights(production: Plan) -> None:
    inputs = _release(production)
    assert (inputs["name"], inputs["version"], inputs["namespace"], inputs["repositoryOpts"]) == (
        "argo-rollouts", "2.41.0", CONTROLLER_NS, {"repo": "https://argoproj.github.io/argo-helm"})
    values = inputs["values"]
    assert (values["installCRDs"], values["clusterInstall"], values["createClusterAggregateRoles"]) == (
        False, False, False)
    assert values["providerRBAC"] == {"enabled": False, "providers": {"gatewayAPI": False}}
    controller = values["controller"]
    assert controller["extraArgs"] == ["--namespace=spywatcher", "--nginx-ingress-classes=nginx"]
    assert (controller["replicas"], controller["image"], controller["pdb"]) == (
        2, {"tag": "v1.9.1"}, {"enabled": True, "minAvailable": 1})
    assert controller["metrics"] == {"enabled": True, "serviceMonitor": {
        "enabled": True, "additionalLabels": {"release": "kube-prometheus-stack"}}}
    assert not [o for o in production.k8s_objects() if o["kind"] in ("ClusterRole", "ClusterRoleBinding")
                and "rollouts" in o["metadata"]["name"]]


def _paths(values: Any, prefix: str = "") -> set[str]:
    if not isinstance(values, dict):
        return {prefix}
    return {p for k, v in values.items() for p in _paths(v, f"{prefix}.{k}" if prefix else k)} | {prefix}


def test_controller_values_are_keys_the_chart_reads(production: Plan) -> None:
    values_file = upstream_file("charts/argo-rollouts-2.41.0-values.yaml")
    refs_file = upstream_file("charts/argo-rollouts-2.41.0-template-refs.json")
    if values_file is None or refs_file is None:
        pytest.skip(MISSING)
    chart = yaml.safe_load(values_file.read_text())
    refs = json.loads(refs_file.read_text())["refs"]
    ours = _release(production)["values"]
    # Maps the chart passes on whole (toYaml) are not its keys.
    whole = sorted(k for k, v in refs.items() if v is True)
    leaves = {p for p in _paths(ours) if p and not any(p.startswith(f"{w}.") for w in whole)}
    assert leaves - _paths(chart) == set()
    read = {p for p in leaves if p in refs}
    unread = {p for p in leaves if not any(p == r or r.startswith(f"{p}.") for r in refs)}
    assert unread == set(), "values no template reads"
    assert {"installCRDs", "clusterInstall", "providerRBAC.enabled", "providerRBAC.providers.gatewayAPI",
            "controller.extraArgs", "controller.metrics.serviceMonitor.enabled"} <= read


def test_the_controller_role_in_the_app_namespace_reads_no_secrets(production: Plan) -> None:
    role = production.k8s("Role", "argo-rollouts-controller", NS)
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert "secrets" not in resources and "configmaps" not in resources
    assert not any("*" in rule["verbs"] or "*" in rule["resources"] for rule in role["rules"])
    assert {"rollouts", "replicasets", "deployments", "services", "ingresses", "analysisruns"} <= resources
    binding = production.k8s("RoleBinding", "argo-rollouts-controller", NS)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "argo-rollouts", "namespace": CONTROLLER_NS}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "argo-rollouts-controller"}


def test_the_controller_reaches_the_api_server_and_prometheus_only(production: Plan) -> None:
    controller = Peer(CONTROLLER_NS, CONTROLLER)
    prometheus = Peer("monitoring", PROMETHEUS)
    assert allowed(production, controller, Peer(None, ip="172.20.0.1"), 443)
    assert allowed(production, controller, prometheus, 9090)
    assert not allowed(production, controller, Peer(None, ip="8.8.8.8"), 443)
    assert not allowed(production, controller, Peer(NS, BACKEND), 3001)
    assert allowed(production, prometheus, controller, 8090)
    assert not allowed(production, Peer("monitoring", {"app.kubernetes.io/name": "grafana"}), controller, 8090)
    assert not allowed(production, Peer(NS, BACKEND), controller, 8090)
    deny = production.k8s("NetworkPolicy", "spywatcher-default-deny", CONTROLLER_NS)
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    namespace = production.k8s("Namespace", CONTROLLER_NS)["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_an_aborted_rollout_alerts_with_its_runbook(production: Plan) -> None:
    [rule] = production.k8s("PrometheusRule", "spywatcher-rollouts", NS)["spec"]["groups"][0]["rules"]
    assert (rule["alert"], rule["expr"], rule["for"], rule["labels"]) == (
        "RolloutAborted", 'rollout_info{exported_namespace="spywatcher", phase="Abort"} == 1', "1m",
        {"severity": "warning", "namespace": NS})
    assert rule["annotations"]["runbook_url"].endswith("/docs/runbooks/RolloutAborted.md")


# --- Upstream CRDs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["production", "rollouts"])
def test_every_argo_object_is_valid_against_the_upstream_crds(variant: str, production: Plan,
                                                             fixture: Plan) -> None:
    from offline.crd_check import CrdChecker

    folder = upstream_dir()
    if folder is None:
        pytest.skip(MISSING)
    crds = CrdChecker(folder / "crds")
    rendered = render_plan({"production": production, "rollouts": fixture}[variant], "1.34")
    assert check(rendered, crds) == []
    argo = [o for o in rendered.kubernetes_files.values() if o["apiVersion"].startswith("argoproj.io/")]
    assert sorted(o["kind"] for o in argo) == ["AnalysisTemplate", "Rollout"]
    broken = {**argo[1], "spec": {**argo[1]["spec"], "strategy": {"canary": {"steps": [{"setWeigth": 10}]}}}}
    assert any("setWeigth" in str(p) for p in crds.check(broken))


def test_render_check_with_the_upstream_crds_on_the_command_line(tmp_path: Path) -> None:
    import io

    from offline.render import main

    folder = upstream_dir()
    if folder is None:
        pytest.skip(MISSING)
    out, err = io.StringIO(), io.StringIO()
    code = main(["--stack", "rollouts", "--check", "--crds", str(folder / "crds"), "--out", str(tmp_path)],
                out=out, err=err)
    assert code == 0, err.getvalue()
    assert "custom resources against the CRDs" in out.getvalue() and ": valid" in out.getvalue()


def test_render_check_passes_for_production_with_rollouts_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `render --check --crds` says of production's own stack file with `rollouts.enabled: true`:
    every object valid against the upstream CRDs and schemas, and no `pulumi up` problem (creation
    order, selectors, the Rollout's rules)."""
    import io

    from offline.crd_check import CrdChecker
    from offline.render import render_one

    folder = upstream_dir()
    if folder is None:
        pytest.skip(MISSING)
    crds = CrdChecker(folder / "crds")
    # The stack file as read, with the one key a platform engineer would flip.
    monkeypatch.setattr("offline.render.run_stack", lambda stack: run_stack(stack, ON))
    out, err = io.StringIO(), io.StringIO()
    assert render_one("production", tmp_path, True, out, err, crds) == 0, err.getvalue()
    assert err.getvalue() == ""
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("checked production: ") and lines[1].endswith(
        f", {crds.checked} custom resources against the CRDs in {folder / 'crds'} "
        f"({crds.cel_rules} CEL rules in their schemas not evaluated): valid")
    assert lines[2] == ("checked production: creation order, namespaces, selectors, fixed names and immutable "
                        "references as `pulumi up` would meet them (what a change replaces or refuses: make diff): ok")
    rendered = {p.name for p in (tmp_path / "production" / "kubernetes" / NS).iterdir()}
    assert {"rollout-spywatcher-backend.yaml", "analysistemplate-spywatcher-backend-canary.yaml",
            "service-spywatcher-backend-stable.yaml", "service-spywatcher-backend-canary.yaml"} <= rendered


# --- Config rules ------------------------------------------------------------------------------------


def test_refused_together_with_the_manual_canary() -> None:
    image = f"ghcr.io/s/b:v2.1.0@sha256:{'3' * 64}"
    error = config_error("production", {**ON, "canary": {"enabled": True, "image": image}})
    assert problem_for(error, "rollouts.enabled") == (
        "rollouts.enabled: true — cannot be used with canary.enabled: both send a share of the API route to a "
        "second backend version through an ingress-nginx canary Ingress, and ingress-nginx serves one canary "
        "per host and path. Keep the automated canary (analysed, aborts by itself) and set canary.enabled: "
        "false, or keep the manual one and set rollouts.enabled: false")


@pytest.mark.parametrize("nginx", [True, False])
def test_refused_with_envoy_gateway_saying_why(nginx: bool) -> None:
    overrides: dict[str, Any] = {**ON, "gateway": {"enabled": True}, "ingressController": {"enabled": nginx}}
    if nginx:
        overrides["loadBalancer"] = {"weights": {"ingressNginx": 100, "envoyGateway": 0}}
    message = problem_for(config_error("production", overrides), "rollouts.enabled")
    only = "" if nginx else " (Envoy Gateway is the only routing backend)"
    assert message == (
        f"rollouts.enabled: true — cannot be used with gateway.enabled{only}: Argo Rollouts shifts traffic here "
        "through ingress-nginx (trafficRouting.nginx). Envoy Gateway would need Argo's Gateway API plugin "
        "(rollouts-plugin-trafficrouter-gatewayapi), which is alpha, and without it Envoy's routes send requests "
        "to canary pods outside the canary's weight and analysis. Finish or roll back the migration to Envoy "
        "Gateway first, or set rollouts.enabled: false")


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        ({"rollouts": {"enabled": True, "route": "socketio"}}, "rollouts.route",
         '"socketio" — must be a backend route without affinity: the canary splits requests, not sessions'),
        ({"rollouts": {"enabled": True, "route": "web"}}, "rollouts.route",
         '"web" — is not a route name (frontend, api, socketio)'),
        ({"rollouts": {"enabled": True}, "monitoring": {"serviceMonitor": {"enabled": False}}},
         "monitoring.serviceMonitor.enabled",
         "false — must be true with rollouts.enabled: the canary's p95 latency is read from the backend's "
         "metrics, which that ServiceMonitor scrapes (with each pod's rollouts-pod-template-hash); without it "
         "every analysis is inconclusive and every rollout pauses"),
        ({"rollouts": {"enabled": True, "controller": {"namespace": "monitoring"}}},
         "rollouts.controller.namespace",
         '"monitoring" — must differ from monitoring.namespace: each namespace carries its own network policies'),
        ({"rollouts": {"enabled": True, "analysis": {"window": "30s"}}}, "rollouts.analysis.window",
         '"30s" — must be at least twice monitoring.serviceMonitor.interval (30s): rate() needs two samples in '
         "its range, or the latency query returns nothing"),
        ({"rollouts": {"steps": [{"setWeight": 10, "analysis": True}]}}, "rollouts.steps[0]",
         "must set exactly one of setWeight, pause or analysis (it sets setWeight and analysis)"),
        ({"rollouts": {"steps": [{"setWeight": 10}, {"analysis": False}]}}, "rollouts.steps[1].analysis",
         "false — must be true, or the step left out: a step that does nothing is refused"),
        ({"rollouts": {"steps": [{"analysis": True}, {"setWeight": 10}]}}, "rollouts.steps[0].analysis",
         "true — comes before any setWeight: the canary has no traffic yet, so there is nothing to judge"),
        ({"rollouts": {"steps": [{"setWeight": 10}, {"pause": "5m"}]}}, "rollouts.steps",
         "must contain an `analysis: true` step after a setWeight: otherwise the canary becomes stable without "
         "being judged"),
        ({"rollouts": {"steps": [{"setWeight": 50}, {"analysis": True}, {"setWeight": 20}]}},
         "rollouts.steps[2].setWeight",
         "20 — must not be below an earlier step's weight (50): the canary would lose traffic it already served "
         "well"),
        ({"rollouts": {"analysis": {"count": 3, "failureLimit": 3}}}, "rollouts.analysis.failureLimit",
         "3 — must be below count (3), or a canary that fails every measurement still passes"),
        ({"rollouts": {"analysis": {"count": 3, "inconclusiveLimit": 3}}}, "rollouts.analysis.inconclusiveLimit",
         "3 — must be below count (3), or an analysis without any canary traffic passes"),
        ({"rollouts": {"controller": {"replicas": 2, "minAvailable": 2}}}, "rollouts.controller.minAvailable",
         "2 — must be below replicas (2), or a node drain can never evict a controller pod"),
    ],
)
def test_bad_rollouts_config_names_the_key(overrides: dict[str, Any], path: str, message: str) -> None:
    assert problem_for(config_error("production", overrides), path) == f"{path}: {message}"


def test_each_rollouts_rule_accepts_its_edge_value() -> None:
    """Just inside each rule the bad-config cases above cross: limits one below count, a controller budget one
    below its replicas, a step holding the weight before it, an analysis window of exactly two scrapes (30s)."""
    plan = run_stack("production", {"rollouts": {
        "enabled": True,
        "analysis": {"count": 3, "failureLimit": 2, "inconclusiveLimit": 2, "window": "1m"},
        "controller": {"replicas": 2, "minAvailable": 1},
        "steps": [{"setWeight": 50}, {"analysis": True}, {"setWeight": 50}, {"analysis": True}],
    }})
    [rollout] = [o for o in plan.k8s_objects() if o["kind"] == "Rollout"]
    weights = [s["setWeight"] for s in rollout["spec"]["strategy"]["canary"]["steps"] if "setWeight" in s]
    assert weights == [50, 50]
    [template] = [o for o in plan.k8s_objects() if o["kind"] == "AnalysisTemplate"]
    assert {(m["count"], m["failureLimit"], m["inconclusiveLimit"]) for m in template["spec"]["metrics"]} == {(3, 2, 2)}
    controller = reveal(plan.get("kubernetes:helm.sh/v3:Release", "rollouts-controller").inputs)["values"]["controller"]
    assert (controller["replicas"], controller["pdb"]) == (2, {"enabled": True, "minAvailable": 1})


def test_the_quota_holds_the_canarys_peak() -> None:
    """With dynamicStableScale the peak is the step from 50 % to the promotion: 10 canary + 5 stable
    backend pods at maxReplicas 10; without it twice maxReplicas, beyond production's quota."""
    from config.rollouts import peak_backend_pods
    from tests.conftest import stack_settings

    settings = stack_settings("production")
    dynamic = settings.model_copy(update={"rollouts": settings.rollouts.model_copy(update={"enabled": True})})
    assert peak_backend_pods(dynamic) == 15
    run_stack("production", ON)  # accepted
    error = config_error("production", {"rollouts": {"enabled": True, "dynamicStableScale": False}})
    assert "backend 20 x 500m" in problem_for(error, "namespace.resourceQuota.requests.cpu")


# --- The diff -----------------------------------------------------------------------------------------


def _snapshot(plan: Plan) -> Any:
    from offline.snapshot import snapshot_from_files

    return snapshot_from_files(render_plan(plan, "1.34").files)


def test_a_step_change_is_an_update_of_the_rollout_alone(production: Plan) -> None:
    from offline.changes import ROLLOUT_STRATEGY, Change, diff_snapshots

    steps = [{"setWeight": 10}, {"analysis": True}, {"setWeight": 60}, {"analysis": True}]
    after = run_stack("production", {"rollouts": {"enabled": True, "steps": steps}})
    diff = diff_snapshots("production", _snapshot(production), _snapshot(after))
    [change] = diff.resources
    assert (change.op, change.resource.id) == ("update", "kubernetes:argoproj.io/v1alpha1:Rollout::rollouts-backend")
    assert change.changes == (Change("spec.strategy.canary.steps[2].setWeight", 50, 60),)
    assert change.notes == (ROLLOUT_STRATEGY,)


def test_turning_rollouts_off_says_to_scale_the_deployment_first(production: Plan, plans: dict[str, Plan]) -> None:
    from offline.changes import ROLLOUT_DELETED, diff_snapshots

    diff = diff_snapshots("production", _snapshot(production), _snapshot(plans["production"]))
    [deleted] = [c for c in diff.resources if c.resource.id.endswith("Rollout::rollouts-backend")]
    assert (deleted.op, deleted.notes) == ("delete", (ROLLOUT_DELETED,))
    hpa = next(c for c in diff.resources if c.resource.id.endswith("HorizontalPodAutoscaler::backend-hpa"))
    assert [(c.path, c.new) for c in hpa.changes] == [("spec.scaleTargetRef.apiVersion", "apps/v1"),
                                                      ("spec.scaleTargetRef.kind", "Deployment")]


# --- The policy pack ----------------------------------------------------------------------------------

ROLLOUT_TYPE = "kubernetes:argoproj.io/v1alpha1:Rollout"


def _canary(r: Any) -> dict[str, Any]:
    return dict(r.inputs["spec"]["strategy"]["canary"])


@pytest.mark.parametrize(
    ("type_", "name", "change", "policy", "message"),
    [
        (ROLLOUT_TYPE, "rollouts-backend", lambda r: r.inputs["spec"].update(replicas=4),
         "rollout-zero-downtime-canary",
         "Rollout rollouts-backend sets spec.replicas: its HPA owns the count (`pulumi up` would reset it)."),
        (ROLLOUT_TYPE, "rollouts-backend", lambda r: r.inputs["spec"]["strategy"]["canary"].pop("maxUnavailable"),
         "rollout-zero-downtime-canary",
         "Rollout rollouts-backend must set maxUnavailable: 0, so every pod stays available during a rollout."),
        (ROLLOUT_TYPE, "rollouts-backend", lambda r: r.inputs["spec"]["strategy"]["canary"].update(maxSurge=0),
         "rollout-zero-downtime-canary",
         "Rollout rollouts-backend must set maxSurge of at least 1, or a rollout with maxUnavailable 0 never starts."),
        (ROLLOUT_TYPE, "rollouts-backend",
         lambda r: r.inputs["spec"]["strategy"]["canary"].update(steps=[{"setWeight": 10}]),
         "rollout-zero-downtime-canary",
         "Rollout rollouts-backend has no analysis: its canary would become stable without being judged."),
        ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "backend-hpa",
         lambda r: r.inputs["spec"].update(scaleTargetRef={"apiVersion": "apps/v1", "kind": "Deployment",
                                                           "name": "spywatcher-backend"}),
         "hpa-scales-the-rollout",
         "Deployment backend-deployment is run by Rollout rollouts-backend but scaled by an HPA: the HPA would "
         "scale it back up from the 0 replicas the Argo Rollouts controller sets, beside the Rollout's pods."),
        ("kubernetes:helm.sh/v3:Release", "rollouts-controller", lambda r: r.inputs["values"].pop("clusterInstall"),
         "no-cluster-wide-secret-access",
         "argo-rollouts release rollouts-controller must set clusterInstall: false: otherwise the chart's "
         "ClusterRole lets the controller read every Secret in the cluster."),
        ("kubernetes:policy/v1:PodDisruptionBudget", "backend-pdb",
         lambda r: r.inputs["spec"].update(minAvailable=2),
         "disruption-budget-allows-drain",
         "PodDisruptionBudget backend-pdb leaves no room for a node drain at spywatcher-backend's minimum scale of 2 "
         "(minAvailable must be below it, or maxUnavailable at least 1)."),
    ],
)
def test_the_policy_pack_reports_a_broken_rollout(production: Plan, type_: str, name: str, change: Any,
                                                  policy: str, message: str) -> None:
    from tests.test_policy import check, edited

    assert check(production.resources) == []
    assert check(edited(production, type_, name, change)) == [(policy, message)]


# --- The vendored schemas `render --check` uses without --crds ------------------------------------------


def _schema_paths(node: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every property path of a JSON schema (`[]` for array items) with its node."""
    found = {prefix: node}
    for key, child in (node.get("properties") or {}).items():
        found |= _schema_paths(child, (*prefix, key))
    if isinstance(node.get("items"), dict):
        found |= _schema_paths(node["items"], (*prefix, "[]"))
    return found


def _kind_of(node: dict[str, Any]) -> str:
    if node.get("x-kubernetes-int-or-string") or "anyOf" in node:
        return "int-or-string"
    if "enum" in node:
        return "string"
    return str(node.get("type"))


@pytest.mark.parametrize(("kind", "crd"), [("rollout", "rollouts"), ("analysistemplate", "analysistemplates")])
def test_the_vendored_schema_allows_only_what_the_upstream_crd_does(kind: str, crd: str) -> None:
    from offline.schema import CRD_DIR

    path = upstream_file(f"crds/argoproj.io_{crd}.yaml")
    if path is None:
        pytest.skip(MISSING)
    [version] = yaml.safe_load(path.read_text())["spec"]["versions"]
    upstream = _schema_paths(version["schema"]["openAPIV3Schema"])
    ours = _schema_paths(json.loads((CRD_DIR / f"{kind}-argoproj.io-v1alpha1.json").read_text()))
    compared = 0
    for field, node in ours.items():
        if not field or field[0] in ("apiVersion", "kind", "metadata"):
            continue
        assert field in upstream, f"{'.'.join(field)} is not in the upstream CRD"
        assert _kind_of(node) == _kind_of(upstream[field]), ".".join(field)
        compared += 1
    assert compared > 20


def test_render_check_without_crds_checks_the_argo_objects_strictly(fixture: Plan) -> None:
    from offline.schema import check_object

    rendered = render_plan(fixture, "1.34")
    [rollout] = [o for o in rendered.kubernetes_files.values() if o["kind"] == "Rollout"]
    assert check_object(rollout, "1.34") == []
    broken = copy.deepcopy(rollout)
    broken["spec"]["strategy"]["canary"]["steps"][0] = {"setWeigth": 5}
    broken["spec"]["workloadRef"]["scaleDown"] = "always"
    problems = [str(p) for p in check_object(broken, "1.34")]
    assert len(problems) == 2 and "'setWeigth' was unexpected" in problems[0] + problems[1], problems


# --- The zero-downtime model (make downtime): the backend rolls through its canary steps ---------------


def test_the_model_reads_the_canary_off_the_rollout(fixture: Plan) -> None:
    from simulate.downtime import load_topology
    from simulate.downtime.topology import CanaryPlan

    backend = load_topology(fixture).fleets["spywatcher-backend"]
    # Each analysis: 5 measurements a minute apart, the first at once (240 s); the pause 2m.
    assert backend.canary == CanaryPlan(
        (("weight", 5.0), ("wait", 120.0), ("wait", 240.0), ("weight", 25.0), ("wait", 240.0), ("weight", 75.0),
         ("wait", 240.0)),
        True,
        30.0,
    )
    assert backend.replicas == 2  # the minimum of the HPA on the Rollout
    assert load_topology(fixture).fleets["spywatcher-frontend"].canary is None


def _events(plan: Plan) -> list[tuple[float, str]]:
    from simulate.downtime import SCENARIOS, Corner, load_topology, new_sim

    sim = new_sim(load_topology(plan), SCENARIOS["app-rollout"], Corner())
    return [(e.t, e.what) for e in sim.events if "spywatcher-backend" in " ".join(e.objects)
            and ("canary" in e.what or e.what.startswith("created"))]


def test_app_rollout_runs_the_canary_steps_and_every_backend_property_holds(production: Plan) -> None:
    from simulate.downtime import SCENARIOS, check_scenario, load_topology

    events = _events(production)
    # At every delay's low end: a canary pod Ready at 10 s, the analysis, 50 % (one stable pod of two
    # goes), the analysis, the promotion, the old stable pod 30 s later.
    assert [(t, what) for t, what in events if "canary" in what] == [
        (10.0, "canary step 1: waits 240 s"),
        (250.0, "deleted (canary at 50 %: stable scaled down)"),
        (250.0, "canary step 3: waits 240 s"),
        (500.0, "canary promoted: stable Service moved, old pods deleted at 530 s"),
        (530.0, "deleted (canary promoted: old stable scaled down)"),
    ]
    # One canary pod at 10 % and at 50 % of 2 replicas, a second one for the promotion.
    assert sum(1 for _, what in events if what.startswith("created")) == 2
    result = check_scenario(load_topology(production), SCENARIOS["app-rollout"])
    failing = {p.name: p.detail for p in result.properties if not p.holds}
    assert all("spywatcher-backend" not in detail for detail in failing.values()), failing
    assert "websocket-budget" not in failing


def test_without_dynamic_stable_scale_the_promotion_closes_every_socket_at_once(
        fixture: Plan, without_dynamic_scale: Plan) -> None:
    """The controller scales the whole old stable ReplicaSet down scaleDownDelaySeconds after the
    promotion (rollout/canary.go scaleDownOldReplicaSetsForCanary): with `dynamicStableScale: false`
    every stable pod goes at once, and so do their sockets; with it, one at a time."""
    from simulate.downtime import SCENARIOS, check_scenario, load_topology

    result = check_scenario(load_topology(without_dynamic_scale), SCENARIOS["app-rollout"])
    assert {p.name: p.detail.split("; at ")[0] for p in result.properties if not p.holds} == {
        "websocket-budget": (
            "t=905 s: 100% of the sockets are closed before their budget within 5 s (at most 50%, one replica's "
            "share): ingress-nginx-controller-0 → spywatcher-backend-0, ingress-nginx-controller-0 → "
            "spywatcher-backend-1, ingress-nginx-controller-1 → spywatcher-backend-0, ingress-nginx-controller-1 → "
            "spywatcher-backend-1"
        )
    }
    result = check_scenario(load_topology(fixture), SCENARIOS["app-rollout"])
    assert [p.name for p in result.properties if not p.holds] == []
