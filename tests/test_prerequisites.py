"""What a stack needs in the cluster and the account, read off what it renders (offline.prerequisites)."""

from __future__ import annotations

import copy
import io

import pytest

from offline.engine import Plan, run_stack
from offline.prerequisites import AWS_ACTIONS, Prerequisite, main, prerequisites
from offline.preview import main as preview
from tests.conftest import ROOT


def by_section(items: list[Prerequisite]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for p in items:
        result.setdefault(p.section, set()).add(p.name)
    return result


def test_production_needs_what_its_options_render(plans: dict[str, Plan]) -> None:
    found = by_section(prerequisites(plans["production"]))
    assert found["CRD"] == {
        "prometheusrules.monitoring.coreos.com",  # monitoring.alerts
        "servicemonitors.monitoring.coreos.com",  # monitoring.serviceMonitor
        "targetgroupbindings.elbv2.k8s.aws",
        "verticalpodautoscalers.autoscaling.k8s.io",  # recommendations
    }
    assert found["controller"] == {
        "AWS Load Balancer Controller",
        "a CNI that enforces NetworkPolicies",
        "metrics-server",
    }
    assert found["Helm repository"] == {"https://kubernetes.github.io/ingress-nginx"}
    assert {"route53:ChangeResourceRecordSets", "elasticloadbalancing:CreateLoadBalancer"} <= found["AWS"]


def test_staging_needs_less(plans: dict[str, Plan]) -> None:
    found = by_section(prerequisites(plans["staging"]))
    assert found["CRD"] == {"prometheusrules.monitoring.coreos.com", "targetgroupbindings.elbv2.k8s.aws"}
    assert "route53:ChangeResourceRecordSets" not in found["AWS"]  # no hosted zone in staging


def test_every_option_on_is_known_and_needs_the_custom_metrics_api() -> None:
    found = by_section(prerequisites(run_stack("all-options")))
    assert "a custom metrics API (custom.metrics.k8s.io)" in found["controller"]
    assert "https://prometheus-community.github.io/helm-charts" in found["Helm repository"]
    # The adapter's serving certificate comes from cert-manager objects the chart renders.
    assert {"certificates.cert-manager.io", "issuers.cert-manager.io"} <= found["CRD"]


def test_each_requirement_names_what_needs_it(plans: dict[str, Plan]) -> None:
    items = {p.name: p for p in prerequisites(plans["production"])}
    assert items["verticalpodautoscalers.autoscaling.k8s.io"].needed_by == (
        "VerticalPodAutoscaler spywatcher-backend-vpa",
        "VerticalPodAutoscaler spywatcher-frontend-vpa",
    )
    assert items["metrics-server"].needed_by == (
        "HorizontalPodAutoscaler spywatcher-backend-hpa",
        "HorizontalPodAutoscaler spywatcher-frontend-hpa",
    )


def test_an_unknown_kind_or_aws_type_is_an_error_not_a_silent_gap(plans: dict[str, Plan]) -> None:
    plan = plans["staging"]
    extra = copy.deepcopy(plan.get("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "monitoring-alerts"))
    extra.inputs["apiVersion"], extra.inputs["kind"] = "example.com/v1", "Widget"
    with pytest.raises(KeyError, match=r"custom resource example\.com/Widget"):
        prerequisites(Plan(plan.stack, [*plan.resources, extra], plan.outputs, plan.logs))
    aws = copy.deepcopy(plan.get("aws:lb/targetGroup:TargetGroup", "edge-nginx"))
    aws.type = "aws:s3/bucket:Bucket"
    with pytest.raises(KeyError, match=r"AWS resource type aws:s3/bucket:Bucket"):
        prerequisites(Plan(plan.stack, [*plan.resources, aws], plan.outputs, plan.logs))


def test_every_iam_action_is_service_colon_action() -> None:
    for type_, actions in AWS_ACTIONS.items():
        assert actions and all(a.count(":") == 1 and a.split(":")[1][:1].isupper() for a in actions), type_


def test_the_verb_and_the_preview_print_them() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--stack", "production"], out=out, err=err) == 0
    text = out.getvalue()
    assert text.startswith("Prerequisites of stack production (the program creates none of these):")
    assert "    - verticalpodautoscalers.autoscaling.k8s.io: the Vertical Pod Autoscaler" in text
    assert main(["--stack", "qa"], out=io.StringIO(), err=err) == 2
    out = io.StringIO()
    assert preview(["--stack", "staging"], out=out, err=io.StringIO()) == 0
    head, _, rest = out.getvalue().partition("\n\n")
    assert head.startswith("Prerequisites of stack staging") and "targetgroupbindings.elbv2.k8s.aws" in head
    assert "Previewing stack staging offline" in rest


def test_the_readme_checklist_is_generated_from_the_stacks() -> None:
    from tooling.docs import PREREQUISITES_BEGIN, PREREQUISITES_END, prerequisites_checklist

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(PREREQUISITES_BEGIN, 1)[1].split(PREREQUISITES_END, 1)[0]
    assert block.strip() == prerequisites_checklist().strip()
    assert "- [ ] `verticalpodautoscalers.autoscaling.k8s.io` — the Vertical Pod Autoscaler" in block
    assert "(production only)" in block


def test_an_existing_secret_in_the_programs_namespace_says_how_to_make_it_on_the_first_deploy(
    plans: dict[str, Plan],
) -> None:
    from tests.conftest import stack_settings

    items = prerequisites(plans["staging"], stack_settings("staging").existing_objects())
    [secret] = [p for p in items if p.section == "existing"]
    assert secret.name == "Secret spywatcher-staging/spywatcher-backend-secrets"
    provider = (
        "urn:pulumi:staging::spywatcher::spywatcher:platform:Platform$pulumi:providers:kubernetes"
        "::spywatcher-kubernetes"
    )
    namespace = (
        "urn:pulumi:staging::spywatcher::spywatcher:platform:Platform$spywatcher:namespace:NamespaceBaseline"
        "$kubernetes:core/v1:Namespace::app-namespace"
    )
    assert f"`pulumi up --target '{provider}' --target '{namespace}'`" in secret.detail
    outside = prerequisites(plans["staging"], [("Secret", "elsewhere", "s")])
    assert [p.detail for p in outside if p.section == "existing"] == ["create it before `pulumi up`"]


def test_engine_urns_carry_every_ancestor_type(plans: dict[str, Plan]) -> None:
    """The SDK's mocks qualify a type by its parent's only; the engine by the whole chain."""
    from offline.prerequisites import engine_urn

    plan = plans["production"]
    job = plan.get("kubernetes:batch/v1:Job", "migration-job")
    assert job.urn.split("::")[2] == "spywatcher:migration:Migration$kubernetes:batch/v1:Job"
    assert engine_urn(plan, job.urn).split("::")[2] == (
        "spywatcher:platform:Platform$spywatcher:migration:Migration$kubernetes:batch/v1:Job"
    )
