"""`make check` and `make diff` agree. `make check` holds one render to the rules any replacement must
meet (offline/rules.py: fixed names, immutable references); `make diff` applies the same rules to a
change. So a stack `make check` passes never has a change refused for those reasons, and what
`make check` reports on a stack is what `make diff` refuses once a change replaces that resource.
Both read one table: offline.rules' NAME_LIMITS and IMMUTABLE_FIELDS."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Plan, Registration, run_stack
from offline.plan_changes import replacements
from offline.rules import check_plan, fixed_names, immutable_references
from tests.conftest import stack_settings
from tests.test_deploy_rules import REPLACING, edited

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
NEW_VPC = {"cluster": {"vpcId": "vpc-0a0b0c0d0e0f01234"}}


def _overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    from offline.engine import DELETE

    return {k: {kk: (DELETE if vv is None else vv) for kk, vv in v.items()} for k, v in overrides.items()}


@pytest.mark.parametrize(("change", "overrides"), [(c, o) for c, o, _ in REPLACING], ids=[c for c, _, _ in REPLACING])
def test_a_stack_make_check_passes_has_no_change_refused_for_its_rules(change: str, overrides: dict[str, Any]) -> None:
    before, after = run_stack("staging"), run_stack("staging", _overrides(overrides))
    existing = stack_settings("staging").existing_objects()
    assert check_plan(before, existing) == [] and check_plan(after, existing) == []
    assert [r.blocked for r in replacements(before, after) if r.blocked] == []


def _pinned(plan: Plan) -> Plan:
    return edited(plan, TARGET_GROUP, "edge-nginx", lambda r: r.inputs.update(name="spywatcher-staging-nginx"))


def test_a_fixed_name_make_check_reports_is_what_make_diff_refuses() -> None:
    before, after = _pinned(run_stack("staging")), _pinned(run_stack("staging", NEW_VPC))
    assert fixed_names(after) == [
        "TargetGroup edge-nginx has the fixed name 'spywatcher-staging-nginx' and is replaced create-before-delete: "
        "a replacement would fail because the name is taken (let Pulumi name it, or set deleteBeforeReplace)"]
    refused = {r.resource: r.blocked for r in replacements(before, after) if r.blocked}
    assert refused == {"TargetGroup edge-nginx": (
        "its fixed name 'spywatcher-staging-nginx' is still taken by the old one when the new one is created; "
        "let Pulumi name it (drop `name`), or set deleteBeforeReplace and accept the gap",)}


def test_an_immutable_reference_make_check_reports_is_what_make_diff_refuses() -> None:
    def unguarded(plan: Plan) -> Plan:
        def change(r: Registration) -> None:
            r.replace_on_changes = ()

        return edited(plan, BINDING, "ingress-targets", change)

    before, after = unguarded(run_stack("staging")), unguarded(run_stack("staging", NEW_VPC))
    assert [p.split(":")[0] for p in immutable_references(after)] == [
        "TargetGroupBinding ingress-nginx/ingress-nginx (ingress-targets)"]
    refused = {r.resource: r.blocked for r in replacements(before, after) if r.blocked}
    assert refused == {"TargetGroupBinding ingress-nginx/ingress-nginx (ingress-targets)": (
        "`spec.targetGroupARN` cannot change once created, and it reads aws:lb/targetGroup:TargetGroup::edge-nginx, "
        "which is replaced: the update is refused; give it replaceOnChanges [spec.targetGroupARN] with "
        "deleteBeforeReplace",)}
