"""ingress-nginx with settings the shipped stacks leave at one value: a Pod Security level below
`restricted`, read and send timeouts that differ. Each must land in its own label or key."""

from __future__ import annotations

from offline.engine import Plan, run_stack
from tests.conftest import behind_nlb


def controller_config(plan: Plan) -> dict[str, str]:
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "ingress-nginx"]
    return dict(release.inputs["values"]["controller"]["config"])


def test_baseline_is_enforced_while_restricted_is_still_audited_and_warned() -> None:
    """`podSecurity: baseline` relaxes what is refused only: audit and warn stay at `restricted`, so a
    pod that would fail it is still logged and reported."""
    plan = run_stack("staging", {"ingressController": {"podSecurity": "baseline"}})
    labels = plan.k8s("Namespace", "ingress-nginx")["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k.startswith("pod-security.kubernetes.io/")} == {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": "v1.34",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "v1.34",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "v1.34",
    }


def test_read_and_send_timeouts_are_two_keys() -> None:
    """nginx's read timeout (waiting for the upstream's response) and send timeout (writing the
    request to it), each from its own setting, in seconds without a unit (nginx adds `s`)."""
    plan = run_stack("staging", {"ingressController": {"timeouts": {"readSeconds": 12, "sendSeconds": 5}}})
    config = controller_config(plan)
    assert (config["proxy-read-timeout"], config["proxy-send-timeout"]) == ("12", "5")


def test_nginx_adds_hsts_only_behind_an_nlb() -> None:
    """Behind an ALB the listener adds HSTS: no headers ConfigMap and no `add-headers`, or every
    response would carry the header twice. Behind an NLB, the ConfigMap nginx reads."""
    alb = run_stack("staging", {"loadBalancer": {"hsts": "max-age=1"}})
    assert [o["metadata"]["name"] for o in alb.k8s_objects() if o["kind"] == "ConfigMap"
            and o["metadata"]["name"] == "spywatcher-response-headers"] == []
    assert "add-headers" not in controller_config(alb)
    nlb = run_stack("production", behind_nlb({"loadBalancer": {"hsts": "max-age=1"}}))
    assert nlb.k8s("ConfigMap", "spywatcher-response-headers", "spywatcher") == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "spywatcher-response-headers", "namespace": "spywatcher", "labels": {
            "app.kubernetes.io/component": "ingress",
            "app.kubernetes.io/instance": "spywatcher-production",
            "app.kubernetes.io/managed-by": "pulumi",
            "app.kubernetes.io/name": "spywatcher",
            "app.kubernetes.io/part-of": "spywatcher",
        }},
        "data": {"Strict-Transport-Security": "max-age=1"},
    }
