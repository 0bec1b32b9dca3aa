"""Every number the guide states, where it lands in the objects the production stack registers.

One row per number: the guide's section, its words, the registered object, the path in it and the
exact value. A reader checks the table against the guide (reference/autoscaling-guide.md in the
shared design folder); the test checks it against the program. Production's stack file sets no
number of the guide, so its objects carry the guide's defaults from config/; the optional custom
metrics are read from the all-options test stack, which switches them on.

Where the program deliberately says something else than the guide, the row says so and why."""

from __future__ import annotations

import re
from typing import Any

import pytest

from offline.engine import Plan

HPA = "HorizontalPodAutoscaler/spywatcher-{}-hpa"
DEPLOYMENT = "Deployment/spywatcher-{}"
CONTAINER = "spec.template.spec.containers[0]"
PDB = "PodDisruptionBudget/spywatcher-{}-pdb"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup::edge-nginx"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer::edge"
NGINX = "kubernetes:helm.sh/v3:Release::ingress"
NGINX_CONFIG = "values.controller.config"
API = "Ingress/spywatcher-api"
SOCKETIO = "Ingress/spywatcher-socketio"
RULE = "PrometheusRule/spywatcher-autoscaling"
ALERT = "spec.groups[0].rules[{}]"
NS = 'namespace="spywatcher"'


def annotation(key: str) -> str:
    return f'metadata.annotations["nginx.ingress.kubernetes.io/{key}"]'


def utilization(resource: str, percent: int) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": resource, "target": {"type": "Utilization",
                                                                          "averageUtilization": percent}}}


SCALE_UP = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30},
                 {"type": "Pods", "value": 2, "periodSeconds": 30}],
}
SCALE_DOWN = {
    "stabilizationWindowSeconds": 300,
    "selectPolicy": "Min",
    "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60},
                 {"type": "Pods", "value": 1, "periodSeconds": 60}],
}


def probe(path: str, initial: int, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http", "scheme": "HTTP"}, "initialDelaySeconds": initial,
            "periodSeconds": period, "timeoutSeconds": timeout, "successThreshold": 1, "failureThreshold": failures}


# (guide section, the guide's words, stack, object, path, exact value)
GUIDE: list[tuple[str, str, str, str, str, Any]] = [
    # --- Horizontal Pod Autoscaling (HPA) ---
    ("Backend HPA", "scales between 2 and 10 replicas", "production", HPA.format("backend"), "spec.minReplicas", 2),
    ("Backend HPA", "scales between 2 and 10 replicas", "production", HPA.format("backend"), "spec.maxReplicas", 10),
    ("Backend HPA", "CPU: 70% average utilization", "production", HPA.format("backend"), "spec.metrics[0]",
     utilization("cpu", 70)),
    ("Backend HPA", "Memory: 80% average utilization", "production", HPA.format("backend"), "spec.metrics[1]",
     utilization("memory", 80)),
    ("Backend HPA", "only CPU and memory unless custom metrics are configured", "production",
     HPA.format("backend"), "spec.metrics[2]", None),
    ("Backend HPA", "Scale Up: 100% increase or 2 pods every 30 seconds; no stabilization window", "production",
     HPA.format("backend"), "spec.behavior.scaleUp", SCALE_UP),
    ("Backend HPA", "Scale Down: 50% decrease or 1 pod every 60 seconds; 5-minute stabilization window",
     "production", HPA.format("backend"), "spec.behavior.scaleDown", SCALE_DOWN),
    ("Frontend HPA", "scales between 2 and 5 replicas", "production", HPA.format("frontend"), "spec.minReplicas", 2),
    ("Frontend HPA", "scales between 2 and 5 replicas", "production", HPA.format("frontend"), "spec.maxReplicas", 5),
    ("Frontend HPA", "CPU: 70% average utilization", "production", HPA.format("frontend"), "spec.metrics[0]",
     utilization("cpu", 70)),
    ("Frontend HPA", "Memory: 80% average utilization", "production", HPA.format("frontend"), "spec.metrics[1]",
     utilization("memory", 80)),
    ("Frontend HPA", "Same aggressive scale-up policy", "production", HPA.format("frontend"), "spec.behavior.scaleUp",
     SCALE_UP),
    ("Frontend HPA", "Conservative scale-down with 5-minute stabilization", "production", HPA.format("frontend"),
     "spec.behavior.scaleDown", SCALE_DOWN),
    # 1000 as the API server stores it: `1k` (components/quantity.py), so a second `up` sees no change.
    ("Custom Metrics (Optional)", "http_requests_per_second: scale at 1000 rps/pod", "all-options",
     HPA.format("backend"), "spec.metrics[2]",
     {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                               "target": {"type": "AverageValue", "averageValue": "1k"}}}),
    ("Custom Metrics (Optional)", "active_connections: scale at 100 connections/pod", "all-options",
     HPA.format("backend"), "spec.metrics[3]",
     {"type": "Pods", "pods": {"metric": {"name": "websocket_active_connections"},
                               "target": {"type": "AverageValue", "averageValue": "100"}}}),
    # --- Load Balancing Configuration ---
    ("NGINX Ingress Load Balancing", "EWMA", "production", NGINX, f"{NGINX_CONFIG}.load-balance", "ewma"),
    ("NGINX Ingress Load Balancing", "EWMA", "production", API, annotation("load-balance"), "ewma"),
    ("NGINX Ingress Load Balancing", "upstream-keepalive-connections: 100", "production", NGINX,
     f"{NGINX_CONFIG}.upstream-keepalive-connections", "100"),
    ("NGINX Ingress Load Balancing", "upstream-keepalive-timeout: 60s (the chart's value is in seconds)",
     "production", NGINX, f"{NGINX_CONFIG}.upstream-keepalive-timeout", "60"),
    ("NGINX Ingress Load Balancing", "upstream-keepalive-requests: 100", "production", NGINX,
     f"{NGINX_CONFIG}.upstream-keepalive-requests", "100"),
    ("NGINX Ingress Load Balancing", "Sticky sessions for WebSocket connections", "production", SOCKETIO,
     annotation("affinity"), "cookie"),
    ("NGINX Ingress Load Balancing", "3-hour timeout for backend sessions", "production", SOCKETIO,
     annotation("session-cookie-max-age"), "10800"),
    ("NGINX Ingress Load Balancing", "3-hour timeout for backend sessions", "production", SOCKETIO,
     annotation("session-cookie-expires"), "10800"),
    ("AWS Load Balancer", "Cross-zone load balancing", "production", LOAD_BALANCER, "enableCrossZoneLoadBalancing",
     True),
    ("AWS Load Balancer", "Cross-zone load balancing", "production", TARGET_GROUP, "loadBalancingCrossZoneEnabled",
     "true"),
    ("AWS Load Balancer", "Connection draining (60-second timeout for graceful shutdown)", "production",
     TARGET_GROUP, "deregistrationDelay", 60),
    ("AWS Load Balancer", "Health checks every 30 seconds", "production", TARGET_GROUP, "healthCheck.interval", 30),
    ("AWS Load Balancer", "HTTP/2 support enabled", "production", LOAD_BALANCER, "enableHttp2", True),
    ("AWS Load Balancer", "Deletion protection enabled", "production", LOAD_BALANCER, "enableDeletionProtection",
     True),
    ("AWS Load Balancer", "Path: /health/live", "production", TARGET_GROUP, "healthCheck.path", "/health/live"),
    ("AWS Load Balancer", "Interval: 30s", "production", TARGET_GROUP, "healthCheck.interval", 30),
    ("AWS Load Balancer", "Timeout: 5s", "production", TARGET_GROUP, "healthCheck.timeout", 5),
    ("AWS Load Balancer", "Healthy Threshold: 2", "production", TARGET_GROUP, "healthCheck.healthyThreshold", 2),
    ("AWS Load Balancer", "Unhealthy Threshold: 3", "production", TARGET_GROUP, "healthCheck.unhealthyThreshold", 3),
    ("Service-level Load Balancing", "ClusterIP", "production", "Service/spywatcher-backend", "spec.type",
     "ClusterIP"),
    ("Service-level Load Balancing", "sessionAffinity: ClientIP", "production", "Service/spywatcher-backend",
     "spec.sessionAffinity", "ClientIP"),
    ("Service-level Load Balancing", "timeoutSeconds: 10800 # 3 hours", "production", "Service/spywatcher-backend",
     "spec.sessionAffinityConfig", {"clientIP": {"timeoutSeconds": 10800}}),
    # --- Health-based Routing ---
    ("Health Check Configuration", "backend serves on port 3001 (the probes' named port `http`)", "production",
     DEPLOYMENT.format("backend"), f"{CONTAINER}.ports[0]", {"containerPort": 3001, "name": "http",
                                                               "protocol": "TCP"}),
    ("Health Check Configuration", "livenessProbe /health/live: 30, 10, 5, 3", "production",
     DEPLOYMENT.format("backend"), f"{CONTAINER}.livenessProbe", probe("/health/live", 30, 10, 5, 3)),
    ("Health Check Configuration", "readinessProbe /health/ready: 10, 5, 3, 3", "production",
     DEPLOYMENT.format("backend"), f"{CONTAINER}.readinessProbe", probe("/health/ready", 10, 5, 3, 3)),
    ("Health Check Configuration", "startupProbe /health/live: periodSeconds 10, failureThreshold 30 (5 minutes)",
     "production", DEPLOYMENT.format("backend"), f"{CONTAINER}.startupProbe", probe("/health/live", 0, 10, 1, 30)),
    ("Health Check Endpoints", "Frontend Liveness: `/`", "production", DEPLOYMENT.format("frontend"),
     f"{CONTAINER}.livenessProbe.httpGet.path", "/"),
    ("Health Check Endpoints", "Frontend Readiness: `/`", "production", DEPLOYMENT.format("frontend"),
     f"{CONTAINER}.readinessProbe.httpGet.path", "/"),
    ("Automatic Retry Logic", "proxy-next-upstream: 'error timeout http_502 http_503 http_504'", "production", NGINX,
     f"{NGINX_CONFIG}.proxy-next-upstream", "error timeout http_502 http_503 http_504"),
    ("Automatic Retry Logic", "proxy-next-upstream-tries: 3", "production", NGINX,
     f"{NGINX_CONFIG}.proxy-next-upstream-tries", "3"),
    ("Automatic Retry Logic", "proxy-next-upstream-timeout: 10s (seconds)", "production", NGINX,
     f"{NGINX_CONFIG}.proxy-next-upstream-timeout", "10"),
    ("Automatic Retry Logic", "proxy-next-upstream: 'error timeout http_502 http_503 http_504'", "production", API,
     annotation("proxy-next-upstream"), "error timeout http_502 http_503 http_504"),
    ("Automatic Retry Logic", "proxy-next-upstream-tries: 3", "production", API,
     annotation("proxy-next-upstream-tries"), "3"),
    ("Automatic Retry Logic", "proxy-next-upstream-timeout: 10s (seconds)", "production", API,
     annotation("proxy-next-upstream-timeout"), "10"),
    # --- Rolling Updates Strategy ---
    *(("Deployment Strategy", f"{w}: RollingUpdate, maxSurge: 1, maxUnavailable: 0", "production",
        DEPLOYMENT.format(w), "spec.strategy", {"type": "RollingUpdate",
                                                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
       for w in ("backend", "frontend")),
    *(("Update Process", f"{w}: Graceful shutdown (30s timeout)", "production", DEPLOYMENT.format(w),
        "spec.template.spec.terminationGracePeriodSeconds", 30) for w in ("backend", "frontend")),
    *(("Revision History", f"{w}: revisionHistoryLimit: 10", "production", DEPLOYMENT.format(w),
        "spec.revisionHistoryLimit", 10) for w in ("backend", "frontend")),
    # --- Zero-downtime Deployment ---
    *(("Pod Disruption Budget", f"{w}: minAvailable: 1", "production", PDB.format(w), "spec.minAvailable", 1)
       for w in ("backend", "frontend")),
    *(("Pod Disruption Budget", f"{w}: no maxUnavailable beside minAvailable", "production", PDB.format(w),
        "spec.maxUnavailable", None) for w in ("backend", "frontend")),
    # --- Monitoring and Metrics: Alerting Rules (scoped to the stack's namespace) ---
    ("Alerting Rules", "HPAMaxedOut: current_replicas >= max_replicas", "production", RULE,
     f"{ALERT.format(0)}.expr",
     f"kube_horizontalpodautoscaler_status_current_replicas{{{NS}}}\n  >= on (namespace, horizontalpodautoscaler)\n"
     f"kube_horizontalpodautoscaler_spec_max_replicas{{{NS}}}"),
    ("Alerting Rules", "HPAMaxedOut: for: 15m", "production", RULE, f"{ALERT.format(0)}.for", "15m"),
    ("Alerting Rules", "HPAMaxedOut: severity: warning", "production", RULE, f"{ALERT.format(0)}.labels.severity",
     "warning"),
    ("Alerting Rules", "HPAMaxedOut: summary", "production", RULE, f"{ALERT.format(0)}.annotations.summary",
     "HPA has reached maximum replicas"),
    ("Alerting Rules", "FrequentScaling over [15m]; the guide's rate() > 0.5 of a gauge measures nothing, so "
     "changes() > 5 (monitoring.alerts.frequentScalingChanges, docs/operations.md)", "production", RULE,
     f"{ALERT.format(1)}.expr", f"changes(kube_horizontalpodautoscaler_status_current_replicas{{{NS}}}[15m]) > 5"),
    ("Alerting Rules", "FrequentScaling: for: 30m", "production", RULE, f"{ALERT.format(1)}.for", "30m"),
    ("Alerting Rules", "FrequentScaling: severity: warning", "production", RULE,
     f"{ALERT.format(1)}.labels.severity", "warning"),
    ("Alerting Rules", "FrequentScaling: summary", "production", RULE, f"{ALERT.format(1)}.annotations.summary",
     "HPA is scaling frequently"),
    ("Alerting Rules", "RolloutStuck: replicas_updated < spec_replicas", "production", RULE,
     f"{ALERT.format(2)}.expr",
     f"kube_deployment_status_replicas_updated{{{NS}}}\n  < on (namespace, deployment)\n"
     f"kube_deployment_spec_replicas{{{NS}}}"),
    ("Alerting Rules", "RolloutStuck: for: 15m", "production", RULE, f"{ALERT.format(2)}.for", "15m"),
    ("Alerting Rules", "RolloutStuck: severity: critical", "production", RULE, f"{ALERT.format(2)}.labels.severity",
     "critical"),
    ("Alerting Rules", "RolloutStuck: summary", "production", RULE, f"{ALERT.format(2)}.annotations.summary",
     "Deployment rollout is stuck"),
]

_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[(\d+)\]|\["([^"]+)"\]')


def dig(value: Any, path: str) -> Any:
    """The value at ``path`` (`a.b[0]["k.with.dots"]`); None where a key or index is absent."""
    steps = _STEP.findall("." + path)
    assert "".join(f".{k}" if k else f"[{i}]" if i else f'["{q}"]' for k, i, q in steps) == "." + path, path
    for key, index, quoted in steps:
        if index:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        else:
            value = value.get(key or quoted) if isinstance(value, dict) else None
    return value


def registered(plan: Plan, where: str) -> Any:
    """A Kubernetes object by `Kind/name`, or any resource's inputs by `type::name`."""
    if "::" in where:
        type_, name = where.split("::")
        return plan.get(type_, name).inputs
    kind, name = where.split("/")
    return plan.k8s(kind, name)


@pytest.fixture(scope="module")
def stacks(plans: dict[str, Plan], fixture_plans: dict[str, Plan]) -> dict[str, Plan]:
    return {**plans, **fixture_plans}


@pytest.mark.parametrize(("stack", "where", "path", "expected"), [row[2:] for row in GUIDE],
                         ids=[f"{row[0]}: {row[1]} [{row[3]} {row[4]}]" for row in GUIDE])
def test_the_guide_number_is_on_the_registered_object(stacks: dict[str, Plan], stack: str, where: str, path: str,
                                                      expected: Any) -> None:
    assert dig(registered(stacks[stack], where), path) == expected


def test_the_table_has_every_row() -> None:
    """A row lost in an edit (or a comprehension that yields nothing) fails here."""
    assert len(GUIDE) == 71
    assert len({repr(row[1:]) for row in GUIDE}) == len(GUIDE)


def test_dig_reads_keys_indexes_and_quoted_keys() -> None:
    value = {"a": [{"b.c": {"d-e": 1}}]}
    assert dig(value, 'a[0]["b.c"].d-e') == 1
    assert (dig(value, "a[1]"), dig(value, "x.y"), dig(value, "a[0].b")) == (None, None, None)
