"""The optional parts of a stack at their edges (components/schedules.py, migration.py, canary.py,
namespace.py): what each object waits for, and the values the stack files keep equal or unset."""

from __future__ import annotations

import pytest

from offline.engine import DELETE, Plan, run_stack


@pytest.fixture(scope="module")
def all_options(fixture_plans: dict[str, Plan]) -> Plan:
    return fixture_plans["all-options"]


@pytest.mark.parametrize(
    ("workload", "schedules"), [("backend", ["weekday-peak", "off-peak"]), ("frontend", ["night"])]
)
def test_a_schedule_runs_only_once_its_account_may_patch_the_hpa(
    all_options: Plan, workload: str, schedules: list[str]
) -> None:
    """A CronJob that fired before its RoleBinding existed would fail with a 403: each waits for the
    binding, which waits for the ServiceAccount and the Role it binds."""
    def urn(type_: str, suffix: str) -> str:
        return all_options.get(type_, f"{workload}-schedules-{suffix}").urn

    binding = all_options.get("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", f"{workload}-schedules-binding")
    assert urn("kubernetes:core/v1:ServiceAccount", "account") in binding.depends_on
    assert urn("kubernetes:rbac.authorization.k8s.io/v1:Role", "role") in binding.depends_on
    for name in schedules:
        cron = all_options.get("kubernetes:batch/v1:CronJob", f"{workload}-schedules-{name}")
        assert binding.urn in cron.depends_on


def test_pulumi_waits_for_the_migration_past_its_deadline(all_options: Plan) -> None:
    """`pulumi up` waits for the Job two minutes longer than the Job may run (600 s by default), so a
    migration that hits its deadline fails the update with the Job's own reason, not Pulumi's timeout."""
    [job] = all_options.of_type("kubernetes:batch/v1:Job")
    assert job.custom_timeouts == {"create": "720s", "update": "720s"}


def test_the_canary_ingress_waits_for_the_canary_pods_and_service(all_options: Plan) -> None:
    """A canary Ingress before its Service would send its share of the requests nowhere (503s)."""
    ingress = all_options.get("kubernetes:networking.k8s.io/v1:Ingress", "canary-ingress")
    assert all_options.get("kubernetes:apps/v1:Deployment", "canary-deployment").urn in ingress.depends_on
    assert all_options.get("kubernetes:core/v1:Service", "canary-service").urn in ingress.depends_on


def test_without_ingress_nginx_the_canary_has_no_ingress() -> None:
    """Envoy Gateway alone splits the canary's share (an HTTPRoute weight): its Deployment, Service and
    budget stay, and no Ingress is left for a controller that is not there."""
    plan = run_stack("all-options", {"ingressController": {"enabled": False}, "loadBalancer": {"weights": DELETE}})
    canary = sorted(r.type.rsplit(":", 1)[1] for r in plan if r.is_kubernetes_object and r.name.startswith("canary-"))
    assert canary == ["Deployment", "PodDisruptionBudget", "Service"]
    assert [r.name for r in plan if r.is_kubernetes_object and r.inputs["kind"] == "Ingress"] == []
