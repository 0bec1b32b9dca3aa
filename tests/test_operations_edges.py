"""The optional parts of a stack at their edges (components/schedules.py, migration.py, canary.py,
namespace.py): what each object waits for, and the values the stack files keep equal or unset."""

from __future__ import annotations

import pytest

from offline.engine import Plan


@pytest.fixture(scope="module")
def all_options(fixture_plans: dict[str, Plan]) -> Plan:
    return fixture_plans["all-options"]


@pytest.mark.parametrize(("workload", "schedules"), [("backend", ["weekday-peak", "off-peak"]), ("frontend", ["night"])])
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
