"""Config rules at their edges: the value at the edge and just past it, a list's length against its
distinct items, the first of several duplicates named, a rule that fires only when a key is left
out. Whole messages, and nothing registered (``config_error``)."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import DELETE, run_stack
from tests.conftest import behind_nlb, config_error, problem_for

SUBNET = "subnet-0f1e2d3c4b5a60001"


def test_two_zones_means_two_distinct_subnets() -> None:
    error = config_error("staging", {"loadBalancer": {"subnetIds": [SUBNET, SUBNET]}})
    assert problem_for(error, "loadBalancer.subnetIds") == (
        f'loadBalancer.subnetIds: ["{SUBNET}", "{SUBNET}"] — an application load balancer needs subnets in at '
        "least two zones")
    assert run_stack("staging", {"loadBalancer": {"subnetIds": [SUBNET, "subnet-0f1e2d3c4b5a60002"]}}).resources


def test_only_the_internal_dash_prefix_is_reserved_for_a_load_balancer_name() -> None:
    plan = run_stack("staging", {"loadBalancer": {"name": "internaledge"}})
    assert [lb.inputs["name"] for lb in plan.of_type("aws:lb/loadBalancer:LoadBalancer")] == ["internaledge"]


@pytest.mark.parametrize("window", [60, 120, 300, 600])
def test_the_waf_windows_aws_offers_are_accepted(window: int) -> None:
    plan = run_stack("production", {"loadBalancer": {"waf": {"evaluationWindowSeconds": window}}})
    [acl] = plan.of_type("aws:wafv2/webAcl:WebAcl")
    [rule] = [r for r in acl.inputs["rules"] if "rateBasedStatement" in r["statement"]]
    assert rule["statement"]["rateBasedStatement"]["evaluationWindowSec"] == window


@pytest.mark.parametrize("window", [90, 180, 420])
def test_any_other_waf_window_is_refused(window: int) -> None:
    error = config_error("production", {"loadBalancer": {"waf": {"evaluationWindowSeconds": window}}})
    assert problem_for(error, "loadBalancer.waf.evaluationWindowSeconds") == (
        f"loadBalancer.waf.evaluationWindowSeconds: {window} — must be 60, 120, 300 or 600: the windows AWS WAF "
        "offers")


@pytest.mark.parametrize(("window", "message"), [(59, "must be at least 60"), (601, "must be at most 600")])
def test_a_waf_window_outside_the_range_says_the_bound(window: int, message: str) -> None:
    error = config_error("production", {"loadBalancer": {"waf": {"evaluationWindowSeconds": window}}})
    assert problem_for(error, "loadBalancer.waf.evaluationWindowSeconds") == (
        f"loadBalancer.waf.evaluationWindowSeconds: {window} — {message}")


def test_an_unprotected_load_balancer_must_say_whether_aws_guards_it() -> None:
    error = config_error("staging", {"loadBalancer": {"deletionProtection": DELETE}})
    assert problem_for(error, "loadBalancer.deletionProtection") == (
        "loadBalancer.deletionProtection: must be set explicitly when `protect` is false: with AWS deletion "
        "protection on (the default), `pulumi destroy` and a replacement of the load balancer fail with "
        "OperationNotPermitted; say `false` to let Pulumi delete it, or `true` to keep AWS's guard")


@pytest.mark.parametrize(("protect", "deletion", "enabled"), [
    (False, True, True), (False, False, False), (True, DELETE, True), (True, False, False)])
def test_deletion_protection_as_said(protect: bool, deletion: Any, enabled: bool) -> None:
    plan = run_stack("staging", {"loadBalancer": {"protect": protect, "deletionProtection": deletion}})
    [balancer] = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert balancer.inputs["enableDeletionProtection"] is enabled
    assert balancer.protect is protect


def test_a_third_route_on_a_taken_host_and_path_names_the_first() -> None:
    routes = [{"name": n, "host": "api", "workload": "backend"} for n in ("a", "b", "c")]
    error = config_error("staging", {"routing": {"routes": routes}})
    for index in (1, 2):
        assert problem_for(error, f"routing.routes[{index}].path") == (
            f'routing.routes[{index}].path: "/" — is already routed on api.staging.spywatcher.example.com by '
            "routes[0]: the controller would serve only one of them")


@pytest.mark.parametrize("hsts", [None, "max-age=60"])
def test_behind_an_nlb_nginx_sends_hsts_unless_it_is_null(hsts: str | None) -> None:
    """The NLB adds no header, so ingress-nginx adds the one `hsts` names (`add-headers`); `hsts:
    null` says none, and nginx adds nothing."""
    plan = run_stack("production", behind_nlb({"loadBalancer": {"hsts": hsts, "waf": {"enabled": False}}}))
    headers = [o["data"] for o in plan.k8s_objects()
               if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "spywatcher-response-headers"]
    assert headers == ([] if hsts is None else [{"Strict-Transport-Security": "max-age=60"}])
