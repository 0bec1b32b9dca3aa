"""offline.prerequisites on hand-made plans and lists: what each release value and HPA metric type
asks for, the Load Balancer Controller's webhook policy, and the exact text and README lines the
list prints (a section with nothing in it is left out; AWS actions on one line; the stacks that
need a row when not all do). The shipped stacks reach only the values they set."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from offline.engine import Plan, Registration
from offline.prerequisites import Prerequisite, format_markdown, format_text, prerequisites
from tests.conftest import registration

RELEASE = "kubernetes:helm.sh/v3:Release"


def release(chart: str, values: dict[str, Any]) -> Registration:
    return registration(RELEASE, chart, {
        "name": chart, "namespace": "ops", "chart": chart, "version": "1.0.0",
        "repositoryOpts": {"repo": "https://charts.example"}, "values": values})


def hpa(metrics: list[dict[str, Any]]) -> Registration:
    return registration("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "h", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"metrics": metrics}})


def needs(*resources: Registration, settings: Any = None, sections: tuple[str, ...] = ("CRD", "controller")
          ) -> list[tuple[str, str, tuple[str, ...]]]:
    plan = Plan("s", list(resources), {}, [], settings=settings)
    return [(p.section, p.name, p.needed_by) for p in prerequisites(plan) if p.section in sections]


@pytest.mark.parametrize(("type_", "needed"), [
    ("Resource", "metrics-server"),
    ("ContainerResource", "metrics-server"),  # one container's CPU or memory: the same resource metrics API
    ("Pods", "a custom metrics API (custom.metrics.k8s.io)"),
    ("Object", "a custom metrics API (custom.metrics.k8s.io)"),
    ("External", "a custom metrics API (custom.metrics.k8s.io)"),
])
def test_each_hpa_metric_type_needs_its_metrics_api(type_: str, needed: str | None) -> None:
    assert needs(hpa([{"type": type_}])) == ([("controller", needed, ("HorizontalPodAutoscaler web",))]
                                             if needed else [])


def test_release_values_that_render_objects_of_other_apis_need_their_crds_and_services() -> None:
    values = {"controller": {"metrics": {"serviceMonitor": {"enabled": True}}}, "certManager": {"enabled": True},
              "config": {"envoyGateway": {"rateLimit": {"backend": {"redis": {"url": "redis.ops:6379"}}}}}}
    assert needs(release("adapter", values)) == [
        ("CRD", "certificates.cert-manager.io", ("adapter 1.0.0",)),
        ("CRD", "issuers.cert-manager.io", ("adapter 1.0.0",)),
        ("CRD", "servicemonitors.monitoring.coreos.com", ("adapter 1.0.0",)),
        ("controller", "Redis at redis.ops:6379", ("adapter 1.0.0",)),
    ]


@pytest.mark.parametrize("values", [
    {},
    {"controller": {"metrics": {"serviceMonitor": {"enabled": False}}}, "certManager": {"enabled": False},
     "config": {"envoyGateway": {"rateLimit": {"backend": None}}}},
    {"controller": {"metrics": None}, "certManager": None, "config": {"envoyGateway": {"rateLimit": {}}}},
    {"config": {"envoyGateway": {"rateLimit": {"backend": {}}}}},  # an empty backend is no Redis
])
def test_release_values_switched_off_or_absent_need_nothing(values: dict[str, Any]) -> None:
    assert needs(release("adapter", values)) == []


def test_only_the_argo_rollouts_chart_needs_the_controllers_runtime_crds() -> None:
    assert [name for _, name, _ in needs(release("argo-rollouts", {}))] == [
        "analysisruns.argoproj.io", "clusteranalysistemplates.argoproj.io", "experiments.argoproj.io"]
    assert needs(release("argo-workflows", {})) == []


BINDING = Registration(type="kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", name="b", urn="urn:b", parent="",
                       custom=True, inputs={"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
                                            "metadata": {"name": "web", "namespace": "ops"}})
NAMESPACE = Registration(type="kubernetes:core/v1:Namespace", name="n", urn="urn:n", parent="", custom=True,
                         inputs={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}})


@pytest.mark.parametrize(("policy", "said"), [
    ("Fail", "; its pod-mutating webhook fails closed (chart value `podMutatorWebhookConfig.failurePolicy: Fail`), "
             "as `cluster.loadBalancerController` declares"),
    ("Ignore", ""),
    (None, ""),
])
def test_the_controller_line_says_the_webhook_fails_closed_only_when_declared(policy: str | None, said: str) -> None:
    settings = SimpleNamespace(cluster=SimpleNamespace(
        name="c", region="eu-west-1", load_balancer_controller=SimpleNamespace(pod_mutator_failure_policy=policy)))
    plan = Plan("s", [NAMESPACE, BINDING], {}, [], settings=settings)
    [controller] = [p for p in prerequisites(plan) if p.section == "controller"]
    assert controller.detail == "registers the targets and injects the pod readiness gates" + said


def test_the_list_is_in_the_order_of_its_sections_then_by_name() -> None:
    """Namespaces, existing objects, CRDs, controllers, chart repositories, cluster access, AWS."""
    settings = SimpleNamespace(cluster=SimpleNamespace(name="c", region="eu-west-1", load_balancer_controller=None))
    elsewhere = Registration(type="kubernetes:core/v1:ConfigMap", name="m", urn="urn:m", parent="", custom=True,
                             inputs={"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "m", "namespace": "monitoring"}})
    plan = Plan("s", [NAMESPACE, BINDING, elsewhere, release("adapter", {})], {}, [], settings=settings)
    sections = [p.section for p in prerequisites(plan, [("Secret", "elsewhere", "db")])]
    assert list(dict.fromkeys(sections)) == ["namespace", "existing", "CRD", "controller", "Helm repository", "access",
                                             "AWS"]
    aws = [p.name for p in prerequisites(plan) if p.section == "AWS"]
    assert aws == sorted(aws)


def test_an_existing_object_outside_the_programs_namespaces_is_made_before_the_first_up() -> None:
    plan = Plan("s", [NAMESPACE], {}, [])
    [item] = [p for p in prerequisites(plan, [("Secret", "elsewhere", "db")]) if p.section == "existing"]
    assert (item.name, item.detail) == ("Secret elsewhere/db", "create it before `pulumi up`")


# --- The text `make prerequisites` prints and the README's checklist ------------------------------

ITEMS = [
    Prerequisite("namespace", "Namespace monitoring", "create it first", ("ConfigMap a", "ConfigMap b")),
    Prerequisite("controller", "metrics-server", "serves metrics.k8s.io", ("HorizontalPodAutoscaler web",)),
    Prerequisite("Helm repository", "https://charts.example", "", ("adapter 1.0.0",)),
    Prerequisite("access", "an EKS access entry", "how", ("arn:aws:eks:eu-west-1:1:cluster/c",)),
    Prerequisite("AWS", "ec2:DescribeVpcs", "", ("deploy",)),
    Prerequisite("AWS", "elasticloadbalancing:CreateTargetGroup", "", ("TargetGroup",)),
]


def test_the_list_prints_each_section_that_has_items_in_its_own_form() -> None:
    assert format_text("qa", ITEMS).splitlines() == [
        "Prerequisites of stack qa (the program creates none of these):",
        "  Namespaces the stack writes into but does not create:",
        "    - Namespace monitoring: create it first: ConfigMap a, ConfigMap b",
        "  Controllers:",
        "    - metrics-server: serves metrics.k8s.io",
        "  Helm chart repositories (reachable from where `pulumi up` runs):",
        "    - https://charts.example",
        "  Cluster access of the deploy role:",
        "    - an EKS access entry: arn:aws:eks:eu-west-1:1:cluster/c",
        "  AWS permissions of the deploy role:",
        "    ec2:DescribeVpcs, elasticloadbalancing:CreateTargetGroup",
    ]


def test_the_checklist_names_the_stacks_of_a_row_not_every_stack_needs() -> None:
    crd = Prerequisite("CRD", "rollouts.argoproj.io", "Argo Rollouts", ("Rollout web",))
    crd2 = Prerequisite("CRD", "analysistemplates.argoproj.io", "Argo Rollouts", ("AnalysisTemplate web",))
    by_stack = {"staging": ITEMS, "production": [*ITEMS[:3], ITEMS[4], crd, crd2]}
    assert format_markdown(by_stack).splitlines() == [
        "Namespaces the stack writes into but does not create:",
        "",
        "- [ ] `Namespace monitoring` — create it first",
        "",
        "CRDs (and the controllers that serve them):",
        "",
        "- [ ] `analysistemplates.argoproj.io`, `rollouts.argoproj.io` — Argo Rollouts (production only)",
        "",
        "Controllers:",
        "",
        "- [ ] metrics-server — serves metrics.k8s.io",
        "",
        "Helm chart repositories (reachable from where `pulumi up` runs):",
        "",
        "- [ ] `https://charts.example`",
        "",
        "Cluster access of the deploy role:",
        "",
        "- [ ] an EKS access entry — how (staging only)",
        "",
        "AWS permissions of the deploy role:",
        "",
        "- [ ] `ec2`: DescribeVpcs",
        "- [ ] `elasticloadbalancing`: CreateTargetGroup (staging only)",
    ]


def test_an_analysis_template_without_a_spec_or_prometheus_needs_only_its_crd() -> None:
    def template(spec: dict[str, Any] | None) -> Registration:
        body = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": "web"}}
        return registration("kubernetes:argoproj.io/v1alpha1:AnalysisTemplate", "t",
                            body if spec is None else {**body, "spec": spec})

    crd = ("CRD", "analysistemplates.argoproj.io", ("AnalysisTemplate web",))
    assert needs(template(None)) == [crd]
    assert needs(template({"metrics": [{"name": "m", "provider": {"job": {}}}]})) == [crd]
    assert needs(template({"metrics": [{"name": "m", "provider": {"prometheus": {"address": "http://p:9090"}}}]})) == [
        crd, ("controller", "Prometheus at http://p:9090", ("AnalysisTemplate web",))]
