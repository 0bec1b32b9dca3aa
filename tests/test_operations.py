"""Operations: alerts, scraping, custom metrics, recommendations, migrations, canary, schedules.

Each feature is asserted on and off in both stacks, schema-checked, and each rule refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from offline.engine import Plan, run_stack
from tests.conftest import config_error, problem_for
from tests.upstream import schema_problems

NAMESPACE = {"production": "spywatcher", "staging": "spywatcher-staging"}
EVERYTHING_ON: dict[str, Any] = {
    "backend": {
        "autoscaling": {"customMetrics": {"enabled": True}},
        "recommendations": {"enabled": True},
        "schedules": [{"name": "night", "cron": "0 22 * * *", "minReplicas": 2}],
    },
    "frontend": {"recommendations": {"enabled": True}},
    "monitoring": {"alerts": {"enabled": True}, "serviceMonitor": {"enabled": True}, "adapter": {"enabled": True}},
    "migration": {"enabled": True, "existingSecret": "spywatcher-migration-secrets"},
    # A test digest of the right shape (nothing here pulls an image); the header from one office range.
    "canary": {"enabled": True,
               "image": f"ghcr.io/subculture-collective/spywatcher-backend:v2.1.0-rc.1@sha256:{'3' * 64}",
               "header": "X-Spywatcher-Canary", "headerSourceCidrs": ["203.0.113.0/24"]},
}
# Staging's quota is sized for its own features; with everything on it needs room for the canary.
STAGING_ROOM = {
    "namespace": {"resourceQuota": {"requests": {"cpu": "4", "memory": "4Gi"}, "limits": {"cpu": "8", "memory": "8Gi"}}}
}
EVERYTHING_OFF: dict[str, Any] = {
    "backend": {"recommendations": {"enabled": False}, "schedules": []},
    "frontend": {"recommendations": {"enabled": False}},
    "monitoring": {"alerts": {"enabled": False}, "serviceMonitor": {"enabled": False}},
    "migration": {"enabled": False},
}


@pytest.fixture(scope="module")
def variants() -> dict[tuple[str, str], Plan]:
    """Every feature on, and every feature off, per stack."""
    return {
        (stack, mode): run_stack(stack, {**copy.deepcopy(overrides), **(STAGING_ROOM if stack == "staging" else {})})
        for stack in ("staging", "production")
        for mode, overrides in (("on", EVERYTHING_ON), ("off", EVERYTHING_OFF))
    }


def kinds(plan: Plan) -> set[str]:
    """Kinds of the app's objects (the ingress controller's own RBAC is always there)."""
    controller = {
        r.inputs["metadata"]["name"] for r in plan if r.is_kubernetes_object and r.name.startswith("ingress-")
    }
    return {o["kind"] for o in plan.k8s_objects() if o["metadata"]["name"] not in controller}


OPTIONAL_KINDS = {
    "PrometheusRule",
    "ServiceMonitor",
    "VerticalPodAutoscaler",
    "Job",
    "CronJob",
    "Role",
    "RoleBinding",
    "ServiceAccount",
}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_features_on_and_off(variants: dict[tuple[str, str], Plan], stack: str) -> None:
    on, off = variants[(stack, "on")], variants[(stack, "off")]
    assert kinds(on) >= OPTIONAL_KINDS
    assert not OPTIONAL_KINDS & kinds(off)
    routing = {"production": ["ingress"], "staging": ["gateway", "ingress"]}[stack]  # staging runs both
    assert sorted(r.name for r in on.of_type("kubernetes:helm.sh/v3:Release")) == [*routing, "monitoring-adapter"]
    assert sorted(r.name for r in off.of_type("kubernetes:helm.sh/v3:Release")) == routing
    for plan in (on, off):
        assert schema_problems(plan.k8s_objects()) == []


def test_stack_files_enable_what_the_issue_asks(plans: dict[str, Plan]) -> None:
    production, staging = kinds(plans["production"]), kinds(plans["staging"])
    assert production & OPTIONAL_KINDS == OPTIONAL_KINDS  # the schedules bring CronJob and its RBAC
    # Staging scrapes both data planes it runs (the migration's step 2): ServiceMonitors too.
    assert staging & OPTIONAL_KINDS == {"PrometheusRule", "Job", "ServiceMonitor"}


# --- Alerts ----------------------------------------------------------------------------------


def alerts(plan: Plan) -> dict[str, dict[str, Any]]:
    rule = plan.k8s("PrometheusRule", "spywatcher-autoscaling", NAMESPACE[plan.stack])
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    [group] = rule["spec"]["groups"]
    return {r["alert"]: r for r in group["rules"]}


def test_alerts_are_the_guides(plan: Plan) -> None:
    rules = alerts(plan)
    assert {name: (r["for"], r["labels"]["severity"]) for name, r in rules.items()} == {
        "HPAMaxedOut": ("15m", "warning"),
        "FrequentScaling": ("30m", "warning"),
        "RolloutStuck": ("15m", "critical"),
    }
    for name, rule in rules.items():
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert rule["annotations"]["runbook_url"] == (
            f"https://github.com/subculture-collective/spywatcher/blob/main/docs/runbooks/{name}.md")
    assert rules["FrequentScaling"]["expr"] == (
        f'changes(kube_horizontalpodautoscaler_status_current_replicas{{namespace="{NAMESPACE[plan.stack]}"}}[15m])'
        " > 5")


def test_rollout_stuck_waits_longer_than_a_rollout_at_peak(plans: dict[str, Plan]) -> None:
    """The series, scoping and timing of every alert are tested by promtool (tests/test_promtool.py);
    here: RolloutStuck's `for` is the configured one, and production's estimate leaves it room."""
    from config.operations import rollout_estimate
    from tests.conftest import stack_settings

    settings = stack_settings("production")
    assert {n: rollout_estimate(w, 30).seconds for n, w in settings.workloads().items()} == {
        "backend": 10 * (30 + 10 + 5),
        "frontend": 5 * (30 + 5 + 5),
    }
    plan = run_stack("production", {"monitoring": {"alerts": {"rolloutStuckFor": "20m"}}})
    assert alerts(plan)["RolloutStuck"]["for"] == "20m"
    assert alerts(plan)["RolloutStuck"]["annotations"]["description"] == (
        "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has had fewer updated replicas than desired "
        "for 20m, longer than a normal rollout at maxReplicas takes. Check `kubectl rollout status`, pod events, "
        "the PDB and node resources.")


def test_scraping_skips_the_route_services(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    monitor = plan.k8s("ServiceMonitor", "spywatcher-backend", "spywatcher")
    spec = monitor["spec"]
    assert spec["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}]
    assert spec["namespaceSelector"] == {"matchNames": ["spywatcher"]}
    assert spec["selector"] == {
        "matchLabels": {"app.kubernetes.io/component": "backend", "app.kubernetes.io/instance": "spywatcher-production",
                        "app.kubernetes.io/name": "spywatcher"},
        "matchExpressions": [{"key": "spywatcher.io/route", "operator": "DoesNotExist"}],
    }

    def selected(service: dict[str, Any]) -> bool:
        """The selector above, as the API server evaluates it (DoesNotExist: the label is absent)."""
        labels = service["metadata"]["labels"]
        matched = all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items())
        return matched and "spywatcher.io/route" not in labels

    assert selected(plan.k8s("Service", "spywatcher-backend", "spywatcher"))
    assert not selected(plan.k8s("Service", "spywatcher-backend-socketio", "spywatcher"))
    assert not selected(plan.k8s("Service", "spywatcher-frontend", "spywatcher"))


# --- Custom metrics --------------------------------------------------------------------------


def test_custom_metrics_are_served_by_the_adapter(variants: dict[tuple[str, str], Plan]) -> None:
    plan = variants[("production", "on")]
    hpa = plan.k8s("HorizontalPodAutoscaler", "spywatcher-backend-hpa")
    used = {m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"}
    assert used == {"http_requests_per_second", "websocket_active_connections"}
    [adapter] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.name == "monitoring-adapter"]
    assert (adapter.inputs["chart"], adapter.inputs["version"]) == ("prometheus-adapter", "5.3.0")
    assert adapter.inputs["namespace"] == "monitoring"
    rules = adapter.inputs["values"]["rules"]
    assert rules["default"] is False
    served = {r["name"]["as"]: r for r in rules["custom"]}
    assert used <= set(served)
    rps = served["http_requests_per_second"]
    assert rps["seriesQuery"] == 'http_requests_total{namespace!="",pod!=""}'
    assert rps["metricsQuery"] == "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"
    assert (
        served["websocket_active_connections"]["metricsQuery"]
        == "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"
    )


# --- Recommendations -------------------------------------------------------------------------


def test_vpa_only_recommends(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    for workload in ("backend", "frontend"):
        vpa = plan.k8s("VerticalPodAutoscaler", f"spywatcher-{workload}-vpa", "spywatcher")["spec"]
        assert vpa["updatePolicy"] == {"updateMode": "Off"}
        assert vpa["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"spywatcher-{workload}"}
        [policy] = vpa["resourcePolicy"]["containerPolicies"]
        assert policy["containerName"] == workload


# --- Migrations ------------------------------------------------------------------------------


def migration_job(plan: Plan) -> dict[str, Any]:
    [job] = [o for o in plan.k8s_objects() if o["kind"] == "Job"]
    return job


def test_migration_runs_before_the_backend(plan: Plan) -> None:
    job = migration_job(plan)
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    deployment = plan.k8s("Deployment", "spywatcher-backend", NAMESPACE[plan.stack])
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == app["image"]
    assert container["command"] == ["npx", "--no-install", "prisma", "migrate", "deploy"]
    # The backend's config, and a credential of its own instead of the backend's Secret.
    assert container["envFrom"] == [*(e for e in app["envFrom"] if "secretRef" not in e),
                                    {"secretRef": {"name": "spywatcher-migration-secrets"}}]
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    assert "livenessProbe" not in container and "ports" not in container
    job_urn = plan.get("kubernetes:batch/v1:Job", "migration-job").urn
    assert job_urn in plan.get("kubernetes:apps/v1:Deployment", "backend-deployment").depends_on
    assert job_urn not in plan.get("kubernetes:apps/v1:Deployment", "frontend-deployment").depends_on


def test_the_migration_component_outputs_its_jobs_name(plan: Plan) -> None:
    """The component's one output (kept with it in the stack's state) names the Job it registered."""
    job = plan.get("kubernetes:batch/v1:Job", "migration-job")
    assert plan.component_outputs[job.parent] == {"jobName": migration_job(plan)["metadata"]["name"]}


def test_a_new_image_runs_a_new_migration(plans: dict[str, Plan]) -> None:
    before = migration_job(plans["staging"])["metadata"]["name"]
    after_plan = run_stack("staging", {"backend": {"image": "ghcr.io/subculture-collective/spywatcher-backend:v2.0.1"}})
    assert migration_job(after_plan)["metadata"]["name"] != before
    assert migration_job(after_plan)["metadata"]["name"].startswith("spywatcher-backend-migrate-")


def test_no_migration_no_dependency(variants: dict[tuple[str, str], Plan]) -> None:
    plan = variants[("staging", "off")]
    deployment = plan.get("kubernetes:apps/v1:Deployment", "backend-deployment")
    assert not any("Job" in urn or "Migration" in urn for urn in deployment.depends_on)


# --- Canary ----------------------------------------------------------------------------------


def test_canary_splits_the_api_route(variants: dict[tuple[str, str], Plan]) -> None:
    plan = variants[("staging", "on")]
    ns = "spywatcher-staging"
    deployment = plan.k8s("Deployment", "spywatcher-backend-canary", ns)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == EVERYTHING_ON["canary"]["image"]
    stable_selector = plan.k8s("Deployment", "spywatcher-backend", ns)["spec"]["selector"]["matchLabels"]
    canary_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert not all(canary_labels.get(k) == v for k, v in stable_selector.items()), "stable must not select canary pods"
    ingress = plan.k8s("Ingress", "spywatcher-api-canary", ns)
    stable = plan.k8s("Ingress", "spywatcher-api", ns)
    assert ingress["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "10",
        "nginx.ingress.kubernetes.io/canary-by-header": "X-Spywatcher-Canary",
    }
    [rule], [stable_rule] = ingress["spec"]["rules"], stable["spec"]["rules"]
    assert rule["host"] == stable_rule["host"]
    assert rule["http"]["paths"][0]["path"] == stable_rule["http"]["paths"][0]["path"]
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "spywatcher-backend-canary"
    plan.k8s("Service", "spywatcher-backend-canary", ns)
    # The canary reuses the backend's config rather than its own copy.
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert (
        container["envFrom"]
        == plan.k8s("Deployment", "spywatcher-backend", ns)["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    )


def test_removing_the_canary_leaves_the_stable_route_untouched(
    variants: dict[tuple[str, str], Plan], plans: dict[str, Plan]
) -> None:
    with_canary = variants[("staging", "on")].k8s("Ingress", "spywatcher-api")
    assert with_canary == plans["staging"].k8s("Ingress", "spywatcher-api")
    assert not [o for o in plans["staging"].k8s_objects() if "canary" in o["metadata"]["name"]]


# --- Schedules -------------------------------------------------------------------------------


def test_schedules_patch_only_their_hpa(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    jobs = {o["metadata"]["name"]: o for o in plan.k8s_objects() if o["kind"] == "CronJob"}
    assert set(jobs) == {"spywatcher-backend-weekday-peak", "spywatcher-backend-off-peak"}
    peak = jobs["spywatcher-backend-weekday-peak"]["spec"]
    assert (peak["schedule"], peak["timeZone"], peak["concurrencyPolicy"]) == ("0 7 * * 1-5", "UTC", "Forbid")
    pod = peak["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    command = container["command"]
    assert command[:4] == ["kubectl", "patch", "horizontalpodautoscaler", "spywatcher-backend-hpa"]
    body = json.loads(command[command.index("--patch") + 1])
    assert body == {"spec": {"minReplicas": 4}}
    # Its own field manager owns minReplicas afterwards; Pulumi drops an ignored field another manager owns.
    assert command[command.index("--type") + 1] == "merge"
    assert command[command.index("--field-manager") + 1] == "spywatcher-schedule"
    assert pod["serviceAccountName"] == "spywatcher-backend-schedule"
    role = plan.k8s("Role", "spywatcher-backend-schedule", "spywatcher")
    assert role["rules"] == [
        {
            "apiGroups": ["autoscaling"],
            "resources": ["horizontalpodautoscalers"],
            "resourceNames": ["spywatcher-backend-hpa"],
            "verbs": ["get", "patch"],
        }
    ]
    binding = plan.k8s("RoleBinding", "spywatcher-backend-schedule", "spywatcher")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "spywatcher-backend-schedule", "namespace": "spywatcher"}
    ]


def test_pulumi_up_leaves_a_schedules_minimum_alone(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    assert plan.get("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "backend-hpa").ignore_changes == (
        "spec.minReplicas",
    )
    # Without schedules Pulumi keeps managing the minimum.
    assert plan.get("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "frontend-hpa").ignore_changes == ()


# --- Rules -----------------------------------------------------------------------------------

RULES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "custom metric without the adapter",
        {"backend": {"autoscaling": {"customMetrics": {"enabled": True}}}},
        "backend.autoscaling.customMetrics.requestsPerSecond.metricName",
        ("backend.autoscaling.customMetrics.requestsPerSecond.metricName: \"http_requests_per_second\" — is not "
         "served by the Prometheus Adapter (monitoring.adapter is not enabled): the HPA would report the metric as"
         " unknown and never scale on it"),
    ),
    (
        "custom metric without an adapter rule",
        {
            "backend": {"autoscaling": {"customMetrics": {"enabled": True, "activeConnections": None}}},
            "monitoring": {
                "adapter": {
                    "enabled": True,
                    "rules": [{"metricName": "queue_depth", "series": "queue_depth", "kind": "gauge"}],
                }
            },
        },
        "backend.autoscaling.customMetrics.requestsPerSecond.metricName",
        ("backend.autoscaling.customMetrics.requestsPerSecond.metricName: \"http_requests_per_second\" — is not "
         "served by the Prometheus Adapter (no monitoring.adapter.rules entry serves it): the HPA would report the"
         " metric as unknown and never scale on it"),
    ),
    (
        "two adapter rules for one metric",
        {
            "monitoring": {
                "adapter": {
                    "rules": [
                        {"metricName": "a", "series": "x", "kind": "gauge"},
                        {"metricName": "a", "series": "y", "kind": "gauge"},
                    ]
                }
            }
        },
        "monitoring.adapter.rules[1].metricName",
        "monitoring.adapter.rules[1].metricName: \"a\" — is served by another rule already",
    ),
    ("canary needs an image", {"canary": {"enabled": True}}, "canary.image",
     "canary.image: is required when the canary is enabled"),
    (
        "canary image pinned",
        {"canary": {"enabled": True, "image": "ghcr.io/x/backend:latest"}},
        "canary.image",
        ("canary.image: \"ghcr.io/x/backend:latest\" — must be pinned with a tag other than `latest` (it moves under"
         " a running Deployment), or a digest"),
    ),
    (
        "canary route exists",
        {"canary": {"enabled": True, "image": f"b:2@sha256:{'3' * 64}", "route": "admin"}},
        "canary.route",
        "canary.route: \"admin\" — is not a route name (frontend, api, socketio)",
    ),
    (
        "canary on a sticky route",
        {"canary": {"enabled": True, "image": f"b:2@sha256:{'3' * 64}", "route": "socketio"}},
        "canary.route",
        ("canary.route: \"socketio\" — must be a backend route without affinity: the canary splits requests, not "
         "sessions"),
    ),
    ("canary weight", {"canary": {"weight": 101}}, "canary.weight", "canary.weight: 101 — must be at most 100"),
    (
        "quota counts the canary",
        {"canary": {"enabled": True, "image": f"b:2@sha256:{'3' * 64}", "replicas": 4}},
        "namespace.resourceQuota.requests.cpu",
        ("namespace.resourceQuota.requests.cpu: \"2\" — is below the 2950m the stack's pods need at their peak, the "
         "workloads at maxReplicas plus rollout surge (backend 5 x 250m, frontend 4 x 50m, canary 5 x 250m, "
         "migration 1 x 250m); the HPA would silently stop short of its maximum"),
    ),
    ("migration image pinned", {"migration": {"image": "ghcr.io/x/backend"}}, "migration.image",
     ("migration.image: \"ghcr.io/x/backend\" — must be pinned with a tag other than `latest` (it moves under a "
      "running Deployment), or a digest")),
    (
        "schedule within maxReplicas",
        {"backend": {"schedules": [{"name": "peak", "cron": "0 8 * * *", "minReplicas": 5}]}},
        "backend.schedules[0].minReplicas",
        "backend.schedules[0].minReplicas: 5 — must not exceed autoscaling.maxReplicas (4)",
    ),
    (
        "schedule leaves room for a drain",
        {"frontend": {"schedules": [{"name": "night", "cron": "0 1 * * *", "minReplicas": 1}]}},
        "frontend.schedules[0].minReplicas",
        ("frontend.schedules[0].minReplicas: 1 — must exceed disruptionBudget.minAvailable (1), or a node drain "
         "can never evict a pod while the schedule holds"),
    ),
    (
        "schedule cron",
        {"backend": {"schedules": [{"name": "x", "cron": "every day", "minReplicas": 2}]}},
        "backend.schedules[0].cron",
        "backend.schedules[0].cron: \"every day\" — must be a five-field cron expression such as `0 22 * * 1-5`",
    ),
    (
        "schedule cron ranges",
        {"backend": {"schedules": [{"name": "x", "cron": "0 25 * * *", "minReplicas": 2}]}},
        "backend.schedules[0].cron",
        "backend.schedules[0].cron: \"0 25 * * *\" — field `25` must stay within 0-23",
    ),
    (
        "schedule names",
        {
            "backend": {
                "schedules": [
                    {"name": "x", "cron": "0 1 * * *", "minReplicas": 2},
                    {"name": "x", "cron": "0 2 * * *", "minReplicas": 3},
                ]
            }
        },
        "backend.schedules[1].name",
        "backend.schedules[1].name: \"x\" — is used by another schedule",
    ),
    (
        "RolloutStuck shorter than a rollout at peak",
        {"monitoring": {"alerts": {"rolloutStuckFor": "3m"}}},
        "monitoring.alerts.rolloutStuckFor",
        ("monitoring.alerts.rolloutStuckFor: \"3m\" — must exceed the 180 s a normal rollout of backend takes at its"
         " maxReplicas (4 batches of 1 pod(s) (maxReplicas 4, maxSurge + maxUnavailable 1) x 45 s per pod (30 s "
         "start + 10 s readiness initialDelaySeconds + 1 x 5 s readiness periodSeconds + 0 s minReadySeconds) = "
         "180 s), or RolloutStuck fires on an ordinary rollout at peak"),
    ),
    (
        "RolloutStuck counts the surge",
        {
            "monitoring": {"alerts": {"rolloutStuckFor": "150s"}},
            "backend": {"rollout": {"maxSurge": 2, "minReadySeconds": 40}},
        },
        "monitoring.alerts.rolloutStuckFor",
        ("monitoring.alerts.rolloutStuckFor: \"150s\" — must exceed the 170 s a normal rollout of backend takes at "
         "its maxReplicas (2 batches of 2 pod(s) (maxReplicas 4, maxSurge + maxUnavailable 2) x 85 s per pod (30 s"
         " start + 10 s readiness initialDelaySeconds + 1 x 5 s readiness periodSeconds + 40 s minReadySeconds) = "
         "170 s), or RolloutStuck fires on an ordinary rollout at peak"),
    ),
    (
        "alert threshold",
        {"monitoring": {"alerts": {"frequentScalingChanges": 0}}},
        "monitoring.alerts.frequentScalingChanges",
        "monitoring.alerts.frequentScalingChanges: 0 — must be at least 1",
    ),
]


@pytest.mark.parametrize(("overrides", "path", "message"), [c[1:] for c in RULES], ids=[c[0] for c in RULES])
def test_operations_rules(overrides: dict[str, Any], path: str, message: str) -> None:
    assert problem_for(config_error("staging", overrides), path) == message
