"""The policy pack's rules on edge inputs: label selectors (null, empty, expressions), RBAC rules
with wildcards, and the int-or-percent and stack-name helpers. Each expected value is stated here
from the upstream rule it follows (named beside it), not read from the pack's own tables."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "policy"))
import spywatcher_policies as pack

APP = {"app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/component": "backend"}


# --- Label selectors (policy/v1 PodDisruptionBudgetSpec.selector; meta/v1 LabelSelector) -----------


@pytest.mark.parametrize(("selector", "selects"), [
    (None, False),  # a null selector selects no pod
    ({}, True),  # an empty one, every pod of the namespace (policy/v1)
    ({"matchLabels": {}}, True),
    ({"matchLabels": {"app.kubernetes.io/name": "spywatcher"}}, True),
    ({"matchLabels": APP}, True),
    ({"matchLabels": {**APP, "extra": "x"}}, False),
    ({"matchLabels": {"app.kubernetes.io/component": "frontend"}}, False),
    ({"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["backend"]}]}, True),
    ({"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["frontend"]}]}, False),
    ({"matchExpressions": [{"key": "absent", "operator": "In", "values": [""]}]}, False),
    ({"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["x"]}]}, True),
    ({"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["backend"]}]},
     False),
    ({"matchExpressions": [{"key": "absent", "operator": "NotIn", "values": ["x"]}]}, True),
    ({"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "Exists"}]}, True),
    ({"matchExpressions": [{"key": "absent", "operator": "Exists"}]}, False),
    ({"matchExpressions": [{"key": "absent", "operator": "DoesNotExist"}]}, True),
    ({"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "DoesNotExist"}]}, False),
    ({"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "Gt", "values": ["1"]}]}, False),
    # matchLabels and matchExpressions must both hold
    ({"matchLabels": APP, "matchExpressions": [{"key": "absent", "operator": "Exists"}]}, False),
    ({"matchLabels": {"x": "y"}, "matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "Exists"}]},
     False),
])
def test_a_budget_selector_selects_as_policy_v1_does(selector: dict[str, Any] | None, selects: bool) -> None:
    assert pack._selects(selector, APP) is selects


# --- Reading Secrets (RBAC: "" is the core group, "*" every group, resource or verb) ----------------


@pytest.mark.parametrize(("rule", "reads"), [
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}, True),
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}, True),
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["watch"]}, True),
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}, True),
    ({"apiGroups": ["*"], "resources": ["secrets"], "verbs": ["get"]}, True),
    ({"apiGroups": [""], "resources": ["*"], "verbs": ["list"]}, True),
    ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, True),
    ({"apiGroups": ["apps", ""], "resources": ["deployments", "secrets"], "verbs": ["create", "watch"]}, True),
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "update", "patch", "delete"]}, False),
    ({"apiGroups": ["apps"], "resources": ["secrets"], "verbs": ["get"]}, False),
    ({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}, False),
    ({"apiGroups": [""], "resources": ["secrets/status"], "verbs": ["get"]}, False),
    ({"apiGroups": [""], "resources": ["secrets"]}, False),
    ({"resources": ["secrets"], "verbs": ["get"]}, False),
    ({}, False),
])
def test_reading_secrets_counts_every_read_verb_and_wildcard(rule: dict[str, Any], reads: bool) -> None:
    assert pack._reads_secrets(rule) is reads


# --- int-or-percent ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "allows"), [
    (0, False), (1, True), (2, True), (-1, False),
    ("0%", False), ("1%", True), ("100%", True), ("%", False), ("x%", False), ("1", False), ("1.5%", False),
    (None, False), (1.0, False),
])
def test_at_least_one_pod(value: Any, allows: bool) -> None:
    """maxSurge / maxUnavailable as an int or a percentage (rounded up for a surge, so any
    positive percentage allows a pod)."""
    assert pack._at_least_one(value) is allows


@pytest.mark.parametrize(("value", "zero"), [(0, True), ("0%", True), (1, False), ("0", False), (None, False),
                                             ("1%", False)])
def test_zero_is_the_int_or_the_percentage(value: Any, zero: bool) -> None:
    assert pack._is_zero(value) is zero


# --- Default deny: which NetworkPolicy denies a whole namespace -------------------------------------


def _deny_check(spec: dict[str, Any]) -> list[str]:
    resources = [
        SimpleNamespace(resource_type=pack.NETWORK_POLICY, urn="urn:deny", name="deny",
                        props={"metadata": {"namespace": "apps", "name": "deny"}, "spec": spec}),
        SimpleNamespace(resource_type=pack.NAMESPACE, urn="urn:apps", name="apps",
                        props={"metadata": {"name": "apps"}}),
    ]
    found: list[str] = []
    pack._namespaces_deny_by_default(SimpleNamespace(resources=resources),  # type: ignore[arg-type]
                                     lambda message, urn=None: found.append(message))
    return found


OPEN = ("Namespace apps has no default-deny NetworkPolicy (every pod, Ingress and Egress, no rules): its pods are "
        "reachable from, and reach, the whole cluster.")


@pytest.mark.parametrize(("spec", "denied"), [
    ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, True),
    ({"policyTypes": ["Egress", "Ingress"]}, True),
    ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}, True),
    ({"podSelector": {}, "policyTypes": ["Ingress"]}, False),
    ({"podSelector": {}, "policyTypes": ["Egress"]}, False),
    ({"podSelector": {"matchLabels": {"a": "b"}}, "policyTypes": ["Ingress", "Egress"]}, False),
    ({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}, "policyTypes": ["Ingress", "Egress"]},
     False),
    ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}]}, False),
    ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{"to": []}]}, False),
])
def test_only_a_policy_over_every_pod_both_ways_without_rules_denies(spec: dict[str, Any], denied: bool) -> None:
    assert _deny_check(spec) == ([] if denied else [OPEN])
