"""Network isolation: the rendered NetworkPolicies, evaluated as a CNI would, allow exactly the
paths the traffic path and the operations need."""

from __future__ import annotations

import pytest

from offline.engine import Plan, run_stack
from tests.netpol import Peer, allowed

NAMESPACE = {"production": "spywatcher", "staging": "spywatcher-staging"}
CONTROLLER = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/instance": "ingress-nginx",
    "app.kubernetes.io/component": "controller",
}


def app_pod(plan: Plan, component: str) -> Peer:
    return Peer(
        NAMESPACE[plan.stack],
        {
            "app.kubernetes.io/name": "spywatcher",
            "app.kubernetes.io/instance": f"spywatcher-{plan.stack}",
            "app.kubernetes.io/component": component,
        },
    )


def test_default_deny_both_ways(plan: Plan) -> None:
    deny = plan.k8s("NetworkPolicy", "spywatcher-default-deny", NAMESPACE[plan.stack])
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_only_the_controller_reaches_the_serving_ports(plan: Plan) -> None:
    controller = Peer("ingress-nginx", CONTROLLER)
    stranger = Peer("default", {"app": "curl"})
    backend, frontend = app_pod(plan, "backend"), app_pod(plan, "frontend")
    assert allowed(plan, controller, backend, 3001)
    assert allowed(plan, controller, frontend, 80)
    assert not allowed(plan, controller, backend, 5432)
    assert not allowed(plan, Peer("ingress-nginx", {"app": "other"}), backend, 3001)
    assert not allowed(plan, stranger, backend, 3001)
    assert not allowed(plan, frontend, backend, 3001), "the frontend's pods do not call the API directly"


def test_monitoring_scrapes_the_backend_only(plan: Plan) -> None:
    prometheus = Peer("monitoring", {"app.kubernetes.io/name": "prometheus"})
    assert allowed(plan, prometheus, app_pod(plan, "backend"), 9464)  # backend.metricsPort
    assert not allowed(plan, prometheus, app_pod(plan, "backend"), 3001)
    assert not allowed(plan, prometheus, app_pod(plan, "frontend"), 80)


def test_egress_is_dns_data_stores_and_https(plan: Plan) -> None:
    dns = Peer("kube-system", {"k8s-app": "kube-dns"})
    backend, frontend = app_pod(plan, "backend"), app_pod(plan, "frontend")
    postgres = Peer(None, ip="10.0.64.10" if plan.stack == "production" else "10.1.64.10")
    redis = Peer(None, ip="10.0.65.10" if plan.stack == "production" else "10.1.65.10")
    discord = Peer(None, ip="162.159.135.232")
    for pod in (backend, frontend):
        assert allowed(plan, pod, dns, 53, "UDP") and allowed(plan, pod, dns, 53, "TCP")
        assert not allowed(plan, pod, Peer("kube-system", {"k8s-app": "other"}), 53, "UDP")
    assert allowed(plan, backend, postgres, 5432) and allowed(plan, backend, redis, 6379)
    assert not allowed(plan, backend, postgres, 6379)
    assert not allowed(plan, frontend, postgres, 5432)
    assert allowed(plan, backend, discord, 443)
    assert not allowed(plan, backend, discord, 80)
    assert not allowed(plan, frontend, discord, 443)


def test_schedule_pods_reach_only_the_api_server(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    schedule = app_pod(plan, "backend-schedule")
    # The `kubernetes` Service's ClusterIP (before DNAT) and the endpoint in the cluster subnets.
    assert allowed(plan, schedule, Peer(None, ip="172.20.0.1"), 443)
    assert allowed(plan, schedule, Peer(None, ip="10.0.16.10"), 443)
    assert not allowed(plan, schedule, Peer(None, ip="172.20.0.2"), 443)
    assert not allowed(plan, schedule, Peer(None, ip="140.82.112.3"), 443), "only the API server"
    assert not allowed(plan, schedule, Peer(None, ip="10.0.64.10"), 5432)
    jobs = [o for o in plan.k8s_objects() if o["kind"] == "CronJob"]
    assert jobs and all(
        j["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        == "backend-schedule"
        for j in jobs
    )


def test_the_canary_shares_the_backends_paths_and_the_migration_reaches_the_database_only() -> None:
    image = f"ghcr.io/x/backend:v2.1.0@sha256:{'3' * 64}"  # a test digest
    plan = run_stack("production", {"canary": {"enabled": True, "image": image}})
    canary = app_pod(plan, "backend-canary")
    assert allowed(plan, Peer("ingress-nginx", CONTROLLER), canary, 3001)
    assert allowed(plan, canary, Peer(None, ip="10.0.64.10"), 5432)
    [job] = [o for o in plan.k8s_objects() if o["kind"] == "Job"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "migration"
    migrate = Peer(NAMESPACE["production"], labels)
    postgres, redis = Peer(None, ip="10.0.64.10"), Peer(None, ip="10.0.65.10")
    dns = Peer("kube-system", {"k8s-app": "kube-dns"})
    assert allowed(plan, migrate, postgres, 5432) and allowed(plan, migrate, dns, 53, "UDP")
    assert not allowed(plan, migrate, redis, 6379), "migration.dataStores: postgres only"
    assert not allowed(plan, migrate, Peer(None, ip="162.159.135.232"), 443), "no internet"
    # Nothing reaches it: it serves nothing.
    assert not allowed(plan, Peer("ingress-nginx", CONTROLLER), migrate, 3001)
    assert not allowed(plan, Peer("monitoring", {"app.kubernetes.io/name": "prometheus"}), migrate, 9464)


@pytest.mark.parametrize("https", [[], ["104.16.0.0/12"]])
def test_backend_https_is_configurable(https: list[str]) -> None:
    plan = run_stack("staging", {"networkPolicy": {"backendHttpsCidrs": https}})
    backend = app_pod(plan, "backend")
    assert allowed(plan, backend, Peer(None, ip="104.16.1.1"), 443) is bool(https)
    assert not allowed(plan, backend, Peer(None, ip="8.8.8.8"), 443)


def test_isolation_can_be_turned_off() -> None:
    plan = run_stack("staging", {"networkPolicy": {"enabled": False}})
    assert not [o for o in plan.k8s_objects() if o["kind"] == "NetworkPolicy"]
