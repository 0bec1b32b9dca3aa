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
        "CloudWatch Container Insights",  # monitoring.cloudWatch: the dashboard's replicas widget
        "a CNI that enforces NetworkPolicies",
        "metrics-server",
    }
    assert found["Helm repository"] == {"https://kubernetes.github.io/ingress-nginx"}
    assert {"route53:ChangeResourceRecordSets", "elasticloadbalancing:CreateLoadBalancer"} <= found["AWS"]


def test_staging_needs_the_gateway_and_fewer_options(plans: dict[str, Plan]) -> None:
    found = by_section(prerequisites(plans["staging"]))
    assert found["CRD"] == {
        "prometheusrules.monitoring.coreos.com",
        "servicemonitors.monitoring.coreos.com",  # both data planes scraped
        "targetgroupbindings.elbv2.k8s.aws",
        # Envoy Gateway beside ingress-nginx (the migration's step 2).
        "backendtrafficpolicies.gateway.envoyproxy.io", "clienttrafficpolicies.gateway.envoyproxy.io",
        "envoyproxies.gateway.envoyproxy.io", "gatewayclasses.gateway.networking.k8s.io",
        "gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io",
    }
    # The gateway's chart comes from an OCI registry, named as the chart's own path.
    assert found["Helm repository"] == {"https://kubernetes.github.io/ingress-nginx", "oci://docker.io/envoyproxy"}
    assert "Redis at spywatcher-staging-rl.x7k2qp.ng.0001.use1.cache.amazonaws.com:6379" in found["controller"]
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


@pytest.mark.parametrize("metrics", ["absent", "empty"])
def test_an_hpa_without_metrics_still_needs_metrics_server(plans: dict[str, Plan], metrics: str) -> None:
    """The API server gives such an HPA the default: 80 % average CPU utilization, a resource metric."""
    plan = plans["production"]
    resources = copy.deepcopy(plan.resources)
    for r in resources:
        if r.is_kubernetes_object and r.inputs["kind"] == "HorizontalPodAutoscaler":
            if metrics == "absent":
                del r.inputs["spec"]["metrics"]
            else:
                r.inputs["spec"]["metrics"] = []
    items = {p.name: p for p in prerequisites(Plan(plan.stack, resources, plan.outputs, plan.logs))}
    assert items["metrics-server"].needed_by == (
        "HorizontalPodAutoscaler spywatcher-backend-hpa",
        "HorizontalPodAutoscaler spywatcher-frontend-hpa",
    )
    assert "a custom metrics API (custom.metrics.k8s.io)" not in items


def test_an_unknown_kind_or_aws_type_is_an_error_not_a_silent_gap(plans: dict[str, Plan]) -> None:
    plan = plans["staging"]
    extra = copy.deepcopy(plan.get("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "monitoring-alerts"))
    extra.inputs["apiVersion"], extra.inputs["kind"] = "example.com/v1", "Widget"
    with pytest.raises(KeyError, match=r"custom resource example\.com/Widget"):
        prerequisites(Plan(plan.stack, [*plan.resources, extra], plan.outputs, plan.logs))
    aws = copy.deepcopy(plan.get("aws:lb/targetGroup:TargetGroup", "edge-nginx"))
    aws.type = "aws:sqs/queue:Queue"
    with pytest.raises(KeyError, match=r"AWS resource type aws:sqs/queue:Queue"):
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
    lines = out.getvalue().splitlines()
    # what the list has, counted here: the preview's last line must say the same numbers
    from offline.render import plan_settings

    plan = run_stack("staging")
    items = prerequisites(plan, plan_settings(plan).existing_objects())
    count = {section: sum(p.section == section for p in items)
             for section in ("namespace", "existing", "CRD", "controller", "Helm repository", "access", "AWS")}
    assert all(count.values()) and count["namespace"] == 1  # monitoring, where its Grafana dashboard goes
    assert lines[0].startswith("Previewing stack staging offline") and lines[-2:] == [
        "",
        "Before `pulumi up`, staging needs what it does not create: 1 namespace, "
        f"{count['existing']} existing objects, "
        f"{count['CRD']} CRDs, {count['controller']} controllers, {count['Helm repository']} chart repositories, "
        f"{count['access']} cluster access entry and {count['AWS']} AWS permissions "
        "(`make prerequisites STACK=staging` lists them).",
    ]
    assert "Prerequisites of stack" not in out.getvalue() and "targetgroupbindings" not in out.getvalue()


def test_the_preview_counts_every_section_by_its_own_name() -> None:
    from offline.prerequisites import SECTION_TITLES
    from offline.preview import COUNTED

    assert COUNTED.keys() == SECTION_TITLES.keys()


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
    """The targets are closed under the engine's rule (tests/test_targeting.py replays it): the
    Platform and NamespaceBaseline components, which the Namespace and the providers are children of."""
    from tests.conftest import stack_settings

    items = prerequisites(plans["staging"], stack_settings("staging").existing_objects())
    existing = {p.name: p for p in items if p.section == "existing"}
    assert sorted(existing) == ["Secret envoy-gateway-system/ratelimit-redis-auth",  # the rate limits' Redis AUTH
                                "Secret spywatcher-staging/spywatcher-backend-secrets",
                                "Secret spywatcher-staging/spywatcher-migration-secrets"]  # the migration's own
    secret = existing["Secret spywatcher-staging/spywatcher-backend-secrets"]
    assert existing["Secret spywatcher-staging/spywatcher-migration-secrets"].detail == secret.detail
    head = "urn:pulumi:staging::spywatcher::spywatcher:platform:Platform"
    targets = (f"{head}::spywatcher", f"{head}$spywatcher:namespace:NamespaceBaseline::app",
               f"{head}$spywatcher:namespace:NamespaceBaseline$kubernetes:core/v1:Namespace::app-namespace")
    assert secret.detail == (
        "the namespace is this program's: on the first deploy, `pulumi up "
        + " ".join(f"--target '{t}'" for t in targets)
        + "`, then create it, then `pulumi up`"
    )
    outside = prerequisites(plans["staging"], [("Secret", "elsewhere", "s")])
    assert [p.detail for p in outside if p.section == "existing"] == ["create it before `pulumi up`"]


def test_an_oci_chart_repository_prints_as_its_registry() -> None:
    from offline.prerequisites import chart_source, stack_prerequisites
    from tests.test_gateway import GATEWAY_ONLY

    assert chart_source({"chart": "oci://docker.io/envoyproxy/gateway-helm"}) == (
        "oci://docker.io/envoyproxy", "gateway-helm")
    assert chart_source({"chart": "ingress-nginx", "repositoryOpts": {"repo": "https://x.example"}}) == (
        "https://x.example", "ingress-nginx")
    with pytest.raises(KeyError, match="Helm release 'r' names no chart repository"):
        chart_source({"name": "r", "chart": "local-chart"})
    plan = run_stack("staging", GATEWAY_ONLY)
    [repository] = [p for p in prerequisites(plan) if p.section == "Helm repository"]
    assert (repository.name, repository.needed_by) == (
        "oci://docker.io/envoyproxy", ("oci://docker.io/envoyproxy/gateway-helm v1.9.0",))
    text = stack_prerequisites(plan, "staging")
    heading = "  Helm chart repositories (reachable from where `pulumi up` runs):\n"
    assert f"{heading}    - oci://docker.io/envoyproxy\n" in text
    assert "    - \n" not in text


def test_namespaces_written_into_but_not_created_are_listed(plans: dict[str, Plan]) -> None:
    """The dashboard ConfigMap (monitoring.dashboard.namespace) and the adapter's release go to the
    monitoring namespace, which belongs to the monitoring stack: listed, never created here."""
    from offline.prerequisites import stack_prerequisites

    [monitoring] = [p for p in prerequisites(run_stack("all-options")) if p.section == "namespace"]
    assert (monitoring.name, monitoring.needed_by) == (
        "Namespace monitoring", ("ConfigMap spywatcher-all-options-dashboard", "Helm release prometheus-adapter"))
    assert "    - Namespace monitoring: create it before `pulumi up` (or let its owner, e.g. kube-prometheus-stack, " \
           "create it); the program writes into it: ConfigMap spywatcher-production-dashboard\n" in (
               stack_prerequisites(plans["production"], "production"))
    no_dashboard = run_stack("staging", {"monitoring": {"dashboard": {"enabled": False}}})
    assert [p for p in prerequisites(no_dashboard) if p.section == "namespace"] == []
    moved = run_stack("staging", {"monitoring": {"dashboard": {"enabled": True, "namespace": "grafana"}}})
    assert [(p.name, p.needed_by) for p in prerequisites(moved) if p.section == "namespace"] == [
        ("Namespace grafana", ("ConfigMap spywatcher-staging-dashboard",))]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_deploy_role_can_finish_what_it_starts(plans: dict[str, Plan], stack: str) -> None:
    """Security group and load balancer deletes list network interfaces first (terraform-provider-aws,
    offline/iam.py); `make kubeconfig` reads the cluster; the role needs an access entry to write."""
    from offline.iam import CALLS, EKS_ACCESS, EKS_ACCESS_POLICY

    items = prerequisites(plans[stack])
    actions = {p.name: p.needed_by for p in items if p.section == "AWS"}
    assert actions["ec2:DescribeNetworkInterfaces"] == ("LoadBalancer", "SecurityGroup")
    assert actions["eks:DescribeCluster"] == (
        "make kubeconfig (`aws eks update-kubeconfig` reads the cluster's endpoint and CA)",)
    [access] = [p for p in items if p.section == "access"]
    assert (access.name, access.detail) == ("an EKS access entry for the deploy role", EKS_ACCESS)
    where = f"--cluster-name spywatcher-{stack} --region us-east-1 --principal-arn <deploy role ARN>"
    assert access.needed_by == (
        f"`aws eks create-access-entry {where}`, then `aws eks associate-access-policy {where} "
        f"--policy-arn {EKS_ACCESS_POLICY} --access-scope type=cluster`",
    )
    for type_, calls in CALLS.items():
        assert calls.path.startswith("internal/service/") and calls.path.endswith(".go"), type_
        assert calls.commit == "" or len(calls.commit) == 40, type_


def test_engine_urns_carry_every_ancestor_type(plans: dict[str, Plan]) -> None:
    """The SDK's mocks qualify a type by its parent's only; the engine by the whole chain."""
    from offline.prerequisites import engine_urn

    plan = plans["production"]
    job = plan.get("kubernetes:batch/v1:Job", "migration-job")
    assert job.urn.split("::")[2] == "spywatcher:migration:Migration$kubernetes:batch/v1:Job"
    assert engine_urn(plan, job.urn).split("::")[2] == (
        "spywatcher:platform:Platform$spywatcher:migration:Migration$kubernetes:batch/v1:Job"
    )
