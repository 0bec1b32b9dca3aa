"""NetworkPolicy enforcement is read, not assumed: every run reads the cluster's `vpc-cni` EKS add-on
and stops before any Kubernetes object when its network policy support is off; the preview role
may call exactly what a preview calls."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.cni import ADDON, GET_ADDON, MINIMUM_VERSION, RULES, VPC_CNI, VPC_CNI_TAG, enforcement_problems
from offline.engine import Plan, run_stack
from offline.iam import INVOKE_CALLS, PREVIEW_ACTIONS
from offline.mock_outputs import VPC_CNI_ADDON
from offline.prerequisites import prerequisites
from tests.conftest import ROOT

ADVICE = (
    'Turn it on: add "enableNetworkPolicy": "true" to the add-on\'s configuration values (`aws eks update-addon '
    "--cluster-name spywatcher-production --region us-east-1 --addon-name vpc-cni --configuration-values '<its "
    "current values with \"enableNetworkPolicy\": \"true\">'`; the values replace the old ones whole), or, if "
    "another CNI enforces NetworkPolicies in this cluster, set networkPolicy.enforcedBy: other."
)
WHERE = "the vpc-cni add-on of EKS cluster spywatcher-production (us-east-1)"


def refused(answer: dict[str, Any] | str, overrides: dict[str, Any] | None = None) -> tuple[str, Plan]:
    """The error a production run stops with when the add-on read answers ``answer``, and what was
    registered by then."""
    with pytest.raises(Exception) as caught:
        run_stack("production", overrides, calls={GET_ADDON: answer})
    assert type(caught.value).__name__ == "EnforcementError"
    return str(caught.value), caught.value.plan  # type: ignore[attr-defined]


def test_every_stack_reads_the_addon_before_any_kubernetes_object(plans: dict[str, Plan],
                                                                  fixture_plans: dict[str, Plan]) -> None:
    for stack, plan in {**plans, **fixture_plans}.items():
        cluster = plan.settings.cluster.name
        assert [i for i in plan.invokes if i[0] == GET_ADDON] == [
            (GET_ADDON, {"addonName": "vpc-cni", "clusterName": cluster})], stack
        assert re.fullmatch(r"spywatcher-[a-z-]+", cluster), "the preview policy names clusters spywatcher-*"


@pytest.mark.parametrize(("configuration", "problem"), [
    ("", 'enableNetworkPolicy is not set (the default is "false"); it must be "true"'),
    ('{"enableNetworkPolicy": "false"}',
     'enableNetworkPolicy is "false" (the default is "false"); it must be "true"'),
    ('{"env": {"ENABLE_PREFIX_DELEGATION": "true"}}',
     'enableNetworkPolicy is not set (the default is "false"); it must be "true"'),
    ('{"enableNetworkPolicy": "true", "nodeAgent": {"enabled": false}}',
     "nodeAgent.enabled is false: no node agent runs to enforce the policies"),
])
def test_a_cluster_that_would_ignore_the_policies_stops_the_run(configuration: str, problem: str) -> None:
    message, plan = refused({"configurationValues": configuration})
    assert message == (f"NetworkPolicies: {WHERE} does not enforce them, so every policy this stack creates would "
                       f"be stored and ignored: {problem}. {ADVICE}")
    # Nothing of the cluster's yet: only the component and the two providers the read needs.
    assert [r.type for r in plan.resources] == [
        "spywatcher:platform:Platform", "pulumi:providers:kubernetes", "pulumi:providers:aws"]


def test_an_addon_before_network_policy_support_stops_the_run() -> None:
    message, _ = refused({"addonVersion": "v1.13.4-eksbuild.1"})
    assert message == (f"NetworkPolicies: {WHERE} does not enforce them, so every policy this stack creates would "
                       "be stored and ignored: version v1.13.4-eksbuild.1 is before v1.14.0, which brought network "
                       f"policy support. {ADVICE}")


def test_an_addon_that_cannot_be_read_stops_the_run_with_the_providers_error() -> None:
    error = "reading EKS Add-On (spywatcher-production:vpc-cni): couldn't find resource"
    message, plan = refused(error)
    # The SDK's words for a failed invoke (pulumi/runtime/invoke.py; the mocks report no property).
    assert message == (
        f"NetworkPolicies: could not read {WHERE}: invoke of {GET_ADDON} failed: {error} (). The stack's "
        "NetworkPolicies are enforced only when the VPC CNI's network policy support is on, so the run stops here. "
        "The role needs eks:DescribeAddon on the add-on; if the VPC CNI is not installed as an EKS add-on (or "
        "another CNI enforces NetworkPolicies), set networkPolicy.enforcedBy: other and check enforcement yourself.")
    assert not [r for r in plan.resources if r.type.startswith("kubernetes:")]


def test_another_cni_or_no_policies_reads_nothing() -> None:
    off = {GET_ADDON: {"configurationValues": "{}"}}
    for overrides in ({"enforcedBy": "other"}, {"enabled": False}):
        plan = run_stack("production", {"networkPolicy": overrides}, calls=off)
        assert GET_ADDON not in {token for token, _ in plan.invokes}


@pytest.mark.parametrize(("version", "configuration", "enforces"), [
    ("v1.20.4-eksbuild.1", '{"enableNetworkPolicy":"true"}', True),
    # YAML, which EKS takes as well as JSON
    ("v1.14.0-eksbuild.3", "enableNetworkPolicy: \"true\"\nnodeAgent:\n  enabled: true\n", True),
    ("v1.20.4-eksbuild.1", "enableNetworkPolicy: true\n", True),  # the chart prints a boolean the same way
    ("v1.20.4-eksbuild.1", '{"enableNetworkPolicy":"True"}', False),  # only "true" is documented
    ("v1.20.4-eksbuild.1", "[1, 2]", False),
    ("v1.20.4-eksbuild.1", "{not: yaml: at all", False),
    ("v1.13.4-eksbuild.1", '{"enableNetworkPolicy":"true"}', False),
    ("", '{"enableNetworkPolicy":"true"}', False),
])
def test_what_counts_as_enforcing(version: str, configuration: str, enforces: bool) -> None:
    assert (enforcement_problems(version, configuration) == []) is enforces


def test_the_rules_name_where_they_were_read() -> None:
    assert (VPC_CNI, VPC_CNI_TAG, MINIMUM_VERSION) == ("aws/amazon-vpc-cni-k8s", "v1.23.0", (1, 14, 0))
    assert [rule.key for rule in RULES] == ["enableNetworkPolicy", "nodeAgent.enabled", "addonVersion"]
    assert all(rule.path and rule.rule for rule in RULES)
    assert ADDON == "vpc-cni" and enforcement_problems(VPC_CNI_ADDON["addonVersion"],
                                                       VPC_CNI_ADDON["configurationValues"]) == []


def test_the_deploy_and_preview_roles_may_read_the_addon(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        aws = {p.name: p.needed_by for p in prerequisites(plan) if p.section == "AWS"}
        assert aws["eks:DescribeAddon"] == (
            "the NetworkPolicy enforcement check reads the `vpc-cni` add-on (components/cni.py)",)
    assert INVOKE_CALLS[GET_ADDON].actions == ("eks:DescribeAddon",)


def test_an_invoke_the_tables_do_not_know_is_refused(plans: dict[str, Plan]) -> None:
    plan = plans["staging"]
    unknown = Plan(plan.stack, plan.resources, plan.outputs, plan.logs, plan.settings,
                   [*plan.invokes, ("aws:ec2/getVpc:getVpc", {})])
    with pytest.raises(KeyError, match=r"AWS invoke aws:ec2/getVpc:getVpc"):
        prerequisites(unknown)


# --- The preview role: what a preview calls, and nothing else ------------------------------------

def documented_preview_policy() -> dict[str, Any]:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    block = text.split("<!-- preview-role-policy -->", 1)[1]
    found = re.match(r"\s*```json\n(.*?)\n```", block, re.S)
    assert found, "the preview role's policy must follow its marker as a json block"
    return dict(json.loads(found[1]))


def test_the_documented_preview_policy_is_what_a_preview_calls(plans: dict[str, Plan]) -> None:
    policy = documented_preview_policy()
    statements = policy["Statement"]
    assert all(s["Effect"] == "Allow" and "*" not in json.dumps(s["Action"]) for s in statements)
    documented = {s["Action"] for s in statements}
    assert documented == {action for action, _, _ in PREVIEW_ACTIONS}
    called = {action for plan in plans.values() for token, _ in plan.invokes if token.startswith("aws:")
              for action in INVOKE_CALLS[token].actions}
    assert called <= documented
    resources = {s["Action"]: s["Resource"] for s in statements}
    assert resources["eks:DescribeAddon"] == "arn:aws:eks:us-east-1:111122223333:addon/spywatcher-*/vpc-cni/*"
    assert resources["eks:DescribeCluster"] == "arn:aws:eks:us-east-1:111122223333:cluster/spywatcher-*"
