"""What a real `pulumi up` would meet and the mocks do not: creation order, replacements, immutable
fields (offline.rules), on every stack and on plans broken the way the first reviews found them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from offline.engine import Plan, Registration, run_stack
from offline.plan_changes import Replacement, replacements
from offline.readiness import readiness_gate_order
from offline.rules import (
    REPLACING_DOC,
    ancestors,
    check_plan,
    fixed_names,
    immutable_references,
    pod_references,
    reference_order,
)
from tests.conftest import ROOT, STACKS, behind_nlb, stack_settings

EVERYTHING_ON: dict[str, Any] = {
    "canary": {"enabled": True, "image": f"ghcr.io/x/backend:v2.1.0@sha256:{'3' * 64}"},
    "backend": {"autoscaling": {"customMetrics": {"enabled": True}}},
    "monitoring": {"adapter": {"enabled": True}},
}
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
JOB = "kubernetes:batch/v1:Job"


def edited(plan: Plan, type_: str, name: str, change: Callable[[Registration], None]) -> Plan:
    resources = []
    for r in plan.resources:
        if r.type == type_ and r.name == name:
            r = copy.deepcopy(r)
            change(r)
        resources.append(r)
    return Plan(plan.stack, resources, plan.outputs, plan.logs)


def existing(stack: str) -> list[tuple[str, str, str]]:
    return stack_settings(stack).existing_objects()


# --- Every stack passes ------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_meets_the_rules(plans: dict[str, Plan], stack: str) -> None:
    assert check_plan(plans[stack], existing(stack)) == []


def test_every_feature_on_meets_the_rules() -> None:
    assert check_plan(run_stack("production", EVERYTHING_ON), existing("production")) == []


def test_the_stacks_are_not_vacuous(plans: dict[str, Plan]) -> None:
    """The order rule has pods reading registered objects to check: the migration Job and the
    Deployments read the backend ConfigMap, the schedules run under their ServiceAccount."""
    production = plans["production"]
    readers = {
        (r.type, ref.kind, ref.name)
        for r in production.resources
        if r.type in (JOB, "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob")
        for ref in pod_references(
            r.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            if r.type.endswith("CronJob")
            else r.inputs["spec"]["template"]["spec"]
        )
    }
    assert (JOB, "ConfigMap", "spywatcher-backend-config") in readers
    assert (JOB, "Secret", "spywatcher-migration-secrets") in readers
    assert ("kubernetes:apps/v1:Deployment", "ConfigMap", "spywatcher-backend-config") in readers
    assert any(kind == "ServiceAccount" for _, kind, _ in readers)


# --- 1. Creation order of pods and what they read ---------------------------------------------


def test_the_migration_job_waits_for_the_config_it_reads(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        job = plan.get(JOB, "migration-job")
        config_map = plan.get(CONFIG_MAP, "backend-config")
        assert config_map.urn in job.depends_on
        assert job.urn not in config_map.depends_on  # the first review's deadlock: config after the Job
        assert job.inputs["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}


# The staging migration Job and the ConfigMap it reads, as the rules name them.
MIGRATE = "Job spywatcher-staging/spywatcher-backend-migrate-231cc010aa (migration-job)"
CONFIG = "ConfigMap spywatcher-staging/spywatcher-backend-config (backend-config)"


def test_config_created_after_the_job_is_an_inverted_order(plans: dict[str, Plan]) -> None:
    """The defect as it was: the ConfigMap depended on the Job (through the Workload's dependsOn)."""
    plan = plans["staging"]
    job = plan.get(JOB, "migration-job")

    def after_job(r: Registration) -> None:
        r.depends_on = (*r.depends_on, job.urn)

    without_edge = edited(plan, JOB, "migration-job", lambda r: setattr(r, "depends_on", tuple(
        d for d in r.depends_on if d != plan.get(CONFIG_MAP, "backend-config").urn)))
    broken = edited(without_edge, CONFIG_MAP, "backend-config", after_job)
    assert reference_order(broken, existing("staging")) == [
        f"{MIGRATE} reads {CONFIG} (containers[migrate].envFrom), but {CONFIG} is created after it (it depends "
        f"on {MIGRATE}): a cycle or inverted order, the pods cannot start before it exists"]


def test_a_pod_not_waiting_for_its_config_is_reported(plans: dict[str, Plan]) -> None:
    plan = plans["staging"]
    urn = plan.get(CONFIG_MAP, "backend-config").urn
    broken = edited(plan, JOB, "migration-job",
                    lambda r: setattr(r, "depends_on", tuple(d for d in r.depends_on if d != urn)))
    assert reference_order(broken, existing("staging")) == [
        f"{MIGRATE} reads {CONFIG} (containers[migrate].envFrom) without depending on it: Pulumi may create the "
        "pods first"]


def test_a_secret_nobody_creates_or_declares_is_reported(plans: dict[str, Plan]) -> None:
    """Both stacks name an existing Secret; without that declaration, nothing would create it."""
    secret = "Secret spywatcher-staging/spywatcher-backend-secrets"
    never = "which this program neither creates nor declares as existing: its pods would never start"
    assert sorted(reference_order(plans["staging"], existing=())) == [
        f"Deployment spywatcher-staging/spywatcher-backend (backend-deployment) reads {secret} "
        f"(containers[backend].envFrom), {never}",
        f"{MIGRATE} reads Secret spywatcher-staging/spywatcher-migration-secrets (containers[migrate].envFrom), "
        f"{never}",
    ]


def test_pod_references_cover_every_way_a_pod_names_an_object() -> None:
    pod = {
        "serviceAccountName": "runner",
        "imagePullSecrets": [{"name": "pull"}],
        "initContainers": [{"name": "i", "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1"}}}]}],
        "containers": [
            {
                "name": "c",
                "env": [{"name": "B", "valueFrom": {"configMapKeyRef": {"name": "c1", "optional": True}}}],
                "envFrom": [{"configMapRef": {"name": "c2"}}, {"secretRef": {"name": "s2"}}],
            }
        ],
        "volumes": [
            {"name": "v1", "configMap": {"name": "c3"}},
            {"name": "v2", "secret": {"secretName": "s3"}},
            {"name": "v3", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "v4", "projected": {"sources": [{"configMap": {"name": "c4"}}, {"secret": {"name": "s4"}}]}},
        ],
    }
    assert sorted((r.kind, r.name, r.optional) for r in pod_references(pod)) == [
        ("ConfigMap", "c1", True), ("ConfigMap", "c2", False), ("ConfigMap", "c3", False),
        ("ConfigMap", "c4", False), ("PersistentVolumeClaim", "data", False), ("Secret", "pull", False),
        ("Secret", "s1", False), ("Secret", "s2", False), ("Secret", "s3", False), ("Secret", "s4", False),
        ("ServiceAccount", "runner", False),
    ]
    assert list(pod_references({"serviceAccountName": "default", "containers": []})) == []


# --- 3. Names and replacements ----------------------------------------------------------------


def test_no_aws_resource_has_a_fixed_name(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        for type_ in ("aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup",
                      "aws:ec2/securityGroup:SecurityGroup"):
            found = plan.of_type(type_)
            assert found, type_
            for r in found:
                assert "name" not in r.inputs and "namePrefix" not in r.inputs, (type_, r.name)


def test_a_fixed_name_without_delete_first_is_reported(plans: dict[str, Plan]) -> None:
    broken = edited(plans["staging"], "aws:lb/targetGroup:TargetGroup", "edge-nginx",
                    lambda r: r.inputs.update(name="spywatcher-staging-nginx"))
    assert fixed_names(broken) == [
        "TargetGroup edge-nginx has the fixed name 'spywatcher-staging-nginx' and is replaced create-before-delete: "
        "a replacement would fail because the name is taken (let Pulumi name it, or set deleteBeforeReplace)"]


def test_an_auto_name_prefix_too_long_for_aws_is_reported(plans: dict[str, Plan]) -> None:
    broken = edited(plans["staging"], "aws:lb/targetGroup:TargetGroup", "edge-nginx",
                    lambda r: setattr(r, "name", "spywatcher-staging-ingress"))  # 26 + 8 > 32
    assert fixed_names(broken) == [
        "TargetGroup spywatcher-staging-ingress: Pulumi auto-names it `spywatcher-staging-ingress-<7 hex>`, longer "
        "than AWS's 32 characters; shorten the logical name to 24 characters"]
    ok = edited(plans["staging"], "aws:lb/targetGroup:TargetGroup", "edge-nginx",
                lambda r: setattr(r, "name", "x" * 24))  # exactly fits
    assert fixed_names(ok) == []


def test_the_binding_is_replaced_with_its_target_group(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        binding = plan.get("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "ingress-targets")
        assert binding.replace_on_changes == ("spec.targetGroupARN",)
        assert binding.delete_before_replace is True
        target_group = plan.get("aws:lb/targetGroup:TargetGroup", "edge-nginx")
        assert binding.property_dependencies["spec"] == (target_group.urn,) or target_group.urn in (
            binding.property_dependencies["spec"]
        )
    # Staging's second data plane: Envoy's binding follows Envoy's target group the same way.
    envoy = plans["staging"].get("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "gateway-targets")
    assert (envoy.replace_on_changes, envoy.delete_before_replace) == (("spec.targetGroupARN",), True)
    envoy_group = plans["staging"].get("aws:lb/targetGroup:TargetGroup", "edge-envoy")
    assert envoy_group.urn in envoy.property_dependencies["spec"]
    broken = edited(plans["staging"], "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "ingress-targets",
                    lambda r: setattr(r, "replace_on_changes", ()))
    assert immutable_references(broken) == [
        "TargetGroupBinding ingress-nginx/ingress-nginx (ingress-targets): `spec.targetGroupARN` cannot change once "
        "created, and it is read from another resource; it needs replaceOnChanges [spec.targetGroupARN] with "
        "deleteBeforeReplace, or a replacement of that resource fails at `pulumi up`"]


def _replaced(before: Plan, after: Plan) -> dict[str, Replacement]:
    found = replacements(before, after)
    assert [r.resource for r in found] == sorted(r.resource for r in found)  # listed by resource, as documented
    return {r.resource.split(" ", 1)[1] if " " in r.resource else r.resource: r for r in found}


# Each config change that forces a replacement, what it replaces, and why.
REPLACING: list[tuple[str, dict[str, Any], dict[str, tuple[str, ...]]]] = [
    (
        "ALB to NLB",
        # An NLB forwards to one target group: Envoy Gateway (staging's second data plane) goes.
        behind_nlb({"loadBalancer": {"enableHttp2": None, "idleTimeoutSeconds": None,
                                     "dropInvalidHeaderFields": None, "weights": None}, "gateway": {"enabled": False}}),
        {
            "edge": ("loadBalancerType",),
            # protocolVersion is ForceNew too, but its DiffSuppressFunc hides it once the protocol is TCP.
            "edge-nginx": ("protocol",),
            "edge-https": ("loadBalancerArn",),
            "ingress-nginx/ingress-nginx (ingress-targets)": ("spec.targetGroupARN",),
            # Behind an NLB the backend's pods wait out its clients' connections (a longer preStop and
            # grace period): the migration Job, which copies the backend's pod spec, is replaced.
            "spywatcher-staging/spywatcher-backend-migrate-231cc010aa (migration-job)": (
                "spec.template.spec.terminationGracePeriodSeconds",
            ),
        },
    ),
    ("internal", {"loadBalancer": {"internal": True}}, {"edge": ("internal",), "edge-http": ("loadBalancerArn",),
                                                         "edge-https": ("loadBalancerArn",),
                                                         "edge-waf": ("resourceArn",)}),
    (
        "a new VPC",
        {"cluster": {"vpcId": "vpc-0a0b0c0d0e0f01234"}},
        {
            "edge-nginx": ("vpcId",),
            "edge-envoy": ("vpcId",),
            "edge-sg": ("vpcId",),
            # The rules belong to the group: they are replaced with it.
            "edge-in-443-0-0-0-0-0": ("securityGroupId",),
            "edge-in-80-0-0-0-0-0": ("securityGroupId",),
            "edge-out-controller": ("securityGroupId",),
            "edge-out-gateway": ("securityGroupId",),
            "ingress-nginx/ingress-nginx (ingress-targets)": ("spec.targetGroupARN",),
            "spywatcher-gateway/spywatcher-gateway (gateway-targets)": ("spec.targetGroupARN",),
        },
    ),
    (
        "a pinned name",
        {"loadBalancer": {"name": "spywatcher-lb"}},
        {"edge": ("name",), "edge-http": ("loadBalancerArn",), "edge-https": ("loadBalancerArn",),
         "edge-waf": ("resourceArn",)},
    ),
]


@pytest.mark.parametrize(("change", "overrides", "expected"), REPLACING, ids=[r[0] for r in REPLACING])
def test_a_replacement_can_proceed_in_staging(
    plans: dict[str, Plan], change: str, overrides: dict[str, Any], expected: dict[str, tuple[str, ...]]
) -> None:
    from offline.engine import DELETE

    overrides = {k: {kk: (DELETE if vv is None else vv) for kk, vv in v.items()} for k, v in overrides.items()}
    after = run_stack("staging", overrides)
    found = _replaced(plans["staging"], after)
    assert {k: v.changed for k, v in found.items()} == expected
    for name, replacement in found.items():
        assert replacement.blocked == (), f"{change}: {name} cannot be replaced: {replacement.blocked}"
    if change == "a pinned name":
        assert found["edge"].delete_first is True  # the old name must be free first


@pytest.mark.parametrize(("change", "overrides", "expected"), REPLACING[:2], ids=[r[0] for r in REPLACING[:2]])
def test_a_replacement_in_production_stops_at_protect_and_says_what_to_do(
    plans: dict[str, Plan], change: str, overrides: dict[str, Any], expected: dict[str, tuple[str, ...]]
) -> None:
    from offline.engine import DELETE

    overrides = {k: {kk: (DELETE if vv is None else vv) for kk, vv in v.items()} for k, v in overrides.items()}
    found = _replaced(plans["production"], run_stack("production", overrides))
    assert found["edge"].blocked and "protected" in found["edge"].blocked[0]
    assert REPLACING_DOC in found["edge"].blocked[0]
    page, anchor = REPLACING_DOC.split("#")
    text = (ROOT / page).read_text(encoding="utf-8")
    assert "## Replacing the load balancer or target group" in text and anchor
    assert "pulumi state unprotect" in text


def test_no_change_replaces_nothing(plans: dict[str, Plan]) -> None:
    assert replacements(plans["staging"], run_stack("staging")) == []


def test_ingresses_get_a_status_so_pulumi_stops_waiting(plans: dict[str, Plan]) -> None:
    """pulumi-kubernetes awaits an Ingress until `status.loadBalancer.ingress` is set. Behind a
    ClusterIP Service, ingress-nginx writes that Service's ClusterIP there (status.go,
    statusAddressFromService), but only with publish-service on (the chart's default) and status
    updates on: neither may be turned off, or every route's create waits out its 10 minutes."""
    for plan in plans.values():
        [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "ingress-nginx"]
        controller = release.inputs["values"]["controller"]
        assert controller.get("publishService", {}).get("enabled", True) is True
        assert str(controller.get("extraArgs", {}).get("update-status", "true")) == "true"
        assert controller["service"]["type"] == "ClusterIP"
        ingresses = plan.of_type("kubernetes:networking.k8s.io/v1:Ingress")
        assert ingresses and "pulumi.com/skipAwait" not in str([r.inputs for r in ingresses])


def test_an_immutable_field_set_from_a_literal_needs_no_replacement_option(plans: dict[str, Plan]) -> None:
    """A binding whose ARN is written out (not read from a resource) never changes with one."""

    def literal(r: Registration) -> None:
        r.replace_on_changes, r.property_dependencies = (), {}

    broken = edited(plans["staging"], "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "ingress-targets", literal)
    assert immutable_references(broken) == []


# --- Readiness gates: the pods a binding targets come after it -----------------------------------

BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE = "kubernetes:core/v1:Service"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"


@pytest.mark.parametrize("stack", STACKS)
def test_the_controller_release_waits_for_its_binding_and_the_binding_for_its_service(
        plans: dict[str, Plan], stack: str) -> None:
    plan = plans[stack]
    order = ancestors(plan)
    release, binding = plan.get(RELEASE, "ingress"), plan.get(BINDING, "ingress-targets")
    service = plan.get(SERVICE, "ingress-target-service")
    assert binding.urn in order[release.urn]
    assert service.urn in order[binding.urn]
    assert readiness_gate_order(plan, order) == []


def test_the_gateway_waits_for_the_proxies_binding(plans: dict[str, Plan]) -> None:
    """Envoy Gateway creates the proxies from the Gateway: it comes after the binding and its Service."""
    plan = plans["staging"]
    order = ancestors(plan)
    gateway, binding = plan.get(GATEWAY, "gateway-gateway"), plan.get(BINDING, "gateway-targets")
    assert binding.urn in order[gateway.urn]
    assert plan.get(SERVICE, "gateway-target-service").urn in order[binding.urn]


def test_a_gateway_created_before_its_proxies_binding_is_reported(plans: dict[str, Plan]) -> None:
    """The Gateway's proxies are pods the binding targets (their Service selects the owning Gateway's
    name): a Gateway that does not wait for the binding has its first proxies created without the gate."""
    plan = plans["staging"]
    binding = plan.get(BINDING, "gateway-targets")
    broken = edited(plan, GATEWAY, "gateway-gateway",
                    lambda r: setattr(r, "depends_on", tuple(d for d in r.depends_on if d != binding.urn)))
    assert readiness_gate_order(broken, ancestors(broken)) == [
        "Gateway spywatcher-gateway/spywatcher creates pods TargetGroupBinding spywatcher-gateway/spywatcher-gateway "
        "targets without waiting for it: its first pods get no target-health readiness gate "
        "(aws-load-balancer-controller #2982)"
    ]


def test_a_release_created_before_its_binding_is_reported(plans: dict[str, Plan]) -> None:
    """aws-load-balancer-controller #2982, the order as it was: the binding depended on the release,
    so the release's first pods were created before it, without the gate."""
    plan = plans["production"]
    binding, release = plan.get(BINDING, "ingress-targets"), plan.get(RELEASE, "ingress")
    before = edited(plan, RELEASE, "ingress",
                    lambda r: setattr(r, "depends_on", tuple(d for d in r.depends_on if d != binding.urn)))
    broken = edited(before, BINDING, "ingress-targets", lambda r: setattr(r, "depends_on", (release.urn,)))
    assert readiness_gate_order(broken, ancestors(broken)) == [
        "TargetGroupBinding ingress-nginx/ingress-nginx does not wait for its Service "
        "ingress-nginx/ingress-nginx-targets: pods created in between get no readiness gate",
        "Helm release ingress-nginx creates pods TargetGroupBinding ingress-nginx/ingress-nginx targets without "
        "waiting for it: its first pods get no target-health readiness gate (aws-load-balancer-controller #2982)",
    ]
    assert check_plan(broken, existing("production"))[-2:] == readiness_gate_order(broken, ancestors(broken))


def test_a_binding_to_a_service_the_chart_creates_is_reported(plans: dict[str, Plan]) -> None:
    """The chart's Service comes with its Deployment: a pod may be admitted before the webhook sees it."""
    plan = plans["production"]

    def to_chart_service(r: Registration) -> None:
        r.inputs["spec"]["serviceRef"] = {"name": "ingress-nginx-controller", "port": "http"}

    broken = edited(plan, BINDING, "ingress-targets", to_chart_service)
    assert readiness_gate_order(broken, ancestors(broken)) == [
        "TargetGroupBinding ingress-nginx/ingress-nginx targets Service ingress-nginx/ingress-nginx-controller, which "
        "this program does not create: the AWS Load Balancer Controller's webhook gives no readiness gate to pods "
        "created before it"
    ]


def test_each_way_a_pod_names_an_object_reads_its_optional_flag() -> None:
    """`optional: true` wherever the API has it (env and envFrom references, configMap and secret
    volumes and projected sources); a claim, a service account and a pull secret have none."""
    optional = {"optional": True}
    pod = {
        "serviceAccountName": "runner",
        "imagePullSecrets": [{"name": "pull"}],
        "containers": [{
            "name": "c",
            "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1", **optional}}},
                    {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "c1", **optional}}}],
            "envFrom": [{"configMapRef": {"name": "c2", **optional}}, {"secretRef": {"name": "s2", **optional}}],
        }],
        "volumes": [
            {"name": "v1", "configMap": {"name": "c3", **optional}},
            {"name": "v2", "secret": {"secretName": "s3", **optional}},
            {"name": "v3", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "v4", "projected": {"sources": [{"configMap": {"name": "c4", **optional}},
                                                     {"secret": {"name": "s4", **optional}}]}},
        ],
    }
    assert sorted((r.kind, r.name, r.where, r.optional) for r in pod_references(pod)) == [
        ("ConfigMap", "c1", "containers[c].env[B]", True),
        ("ConfigMap", "c2", "containers[c].envFrom", True),
        ("ConfigMap", "c3", "volumes[v1]", True),
        ("ConfigMap", "c4", "volumes[v4].projected", True),
        ("PersistentVolumeClaim", "data", "volumes[v3]", False),
        ("Secret", "pull", "imagePullSecrets", False),
        ("Secret", "s1", "containers[c].env[A]", True),
        ("Secret", "s2", "containers[c].envFrom", True),
        ("Secret", "s3", "volumes[v2]", True),
        ("Secret", "s4", "volumes[v4].projected", True),
        ("ServiceAccount", "runner", "serviceAccountName", False),
    ]
