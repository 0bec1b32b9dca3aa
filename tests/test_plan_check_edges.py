"""The plan checks of `make check` at their edges. Selectors (offline/selectors.py): a Service with
an empty selector selects no pods (k8s.io/api core/v1 ServiceSpec.selector: "If empty or not
present, the service is assumed to have an external process managing its endpoints"), `Exists` on
an empty value, a CronJob's pods, a NetworkPolicy port given by name or one of several. Namespaces
(offline/namespaces.py): a release without one goes to `default`. Targets (offline/targeting.py):
the root stack is part of every operation (step_generator.go `generateSteps` targets it
implicitly), and each registration names its provider."""

from __future__ import annotations

import copy
from collections.abc import Callable

from offline.engine import Plan, Registration
from offline.namespaces import missing_namespaces
from offline.selectors import matches, selector_overlaps, workloads
from offline.targeting import Node, implicitly_targeted, plan_nodes, targeted_update
from tests.test_selectors import BACKEND
from tests.test_targeting import PROVIDER, PROVIDER_NODE, STACK, res

NS = "spywatcher-staging"


def _edited(plan: Plan, type_: str, name: str, change: Callable[[Registration], None]) -> Plan:
    resources = copy.deepcopy(plan.resources)
    [found] = [r for r in resources if r.type == type_ and r.name == name]
    change(found)
    return Plan(plan.stack, resources, plan.outputs, plan.logs)


def test_an_empty_or_absent_service_selector_selects_no_pods() -> None:
    assert not matches({}, BACKEND, plain=True)
    assert not matches(None, BACKEND, plain=True)
    assert matches({"app.kubernetes.io/component": "backend"}, BACKEND, plain=True)
    assert matches({}, BACKEND)  # an empty label selector (a Deployment's, a PDB's) selects every pod


def test_exists_holds_for_an_empty_value() -> None:
    assert matches({"matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"b": ""})
    assert not matches({"matchExpressions": [{"key": "b", "operator": "DoesNotExist"}]}, {"b": ""})
    assert matches({"matchExpressions": [{"key": "b", "operator": "NotIn", "values": ["x"]}]}, {"b": ""})
    assert not matches({"matchExpressions": [{"key": "b", "operator": "In", "values": ["x"]}]}, {"b": ""})


def test_a_service_without_a_selector_is_no_overlap(plans: dict[str, Plan]) -> None:
    plan = _edited(plans["staging"], "kubernetes:core/v1:Service", "backend-service",
                   lambda r: r.inputs["spec"].update(selector={}))
    assert selector_overlaps(plan) == []


def test_a_cronjobs_pods_count_as_a_workloads(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    cronjobs = [w for w in workloads(plan) if w.kind == "CronJob"]
    assert [w.name for w in cronjobs] == ["spywatcher-backend-weekday-peak", "spywatcher-backend-off-peak"]
    template = ("spec", "jobTemplate", "spec", "template", "metadata")

    def as_backend(r: Registration) -> None:
        meta = r.inputs
        for key in template:
            meta = meta[key]
        meta["labels"] = dict(BACKEND, **{"app.kubernetes.io/instance": "spywatcher-production"})

    [cron] = [r for r in plan.resources if r.type == "kubernetes:batch/v1:CronJob"
              and r.inputs["metadata"]["name"] == "spywatcher-backend-off-peak"]
    problems = selector_overlaps(_edited(plan, cron.type, cron.name, as_backend))
    assert "Deployment spywatcher/spywatcher-backend: its selector also picks the pods of CronJob " \
           "spywatcher/spywatcher-backend-off-peak" in problems


def test_a_policy_port_is_served_by_number_or_by_name_and_one_of_several_suffices(plans: dict[str, Plan]) -> None:
    def ports(*values: object) -> Callable[[Registration], None]:
        return lambda r: r.inputs["spec"]["ingress"][0].update(ports=[{"protocol": "TCP", "port": v} for v in values])

    plan = plans["staging"]
    name = "network-backend-from-ingress"
    kind = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
    assert selector_overlaps(_edited(plan, kind, name, ports("http"))) == []
    assert selector_overlaps(_edited(plan, kind, name, ports(3001, 12345))) == []
    assert selector_overlaps(_edited(plan, kind, name, ports("grpc", 12345))) == [
        f"NetworkPolicy {NS}/spywatcher-backend-from-ingress: lets traffic in on port(s) 12345, grpc to the pods of "
        f"Deployment {NS}/spywatcher-backend, which serve none of them"]


def test_every_custom_resource_names_its_provider(plans: dict[str, Plan]) -> None:
    """The explicit providers are the Platform's children: their engine URNs carry its type."""
    plan = plans["staging"]
    head = "urn:pulumi:staging::spywatcher::spywatcher:platform:Platform$pulumi:providers:"
    nodes = {n.urn.rsplit("::", 1)[-1]: n for n in plan_nodes(plan)}
    assert nodes["edge"].provider == f"{head}aws::spywatcher-aws"
    assert nodes["backend-deployment"].provider == f"{head}kubernetes::spywatcher-kubernetes"
    assert all(n.provider == "" for n in plan_nodes(plan) if n.type.startswith("spywatcher:"))


def test_a_release_without_a_namespace_writes_into_default(plans: dict[str, Plan]) -> None:
    plan = plans["staging"]
    [release] = [r for r in plan.resources if r.type == "kubernetes:helm.sh/v3:Release"
                 and r.inputs["name"] == "ingress-nginx"]
    moved = _edited(plan, release.type, release.name, lambda r: r.inputs.pop("namespace"))
    assert missing_namespaces(moved)["default"] == {f"Helm release {release.inputs['name']}"}
    assert "default" not in missing_namespaces(plan)


ROOT = Node(STACK, "pulumi:pulumi:Stack")


def test_the_root_stack_and_providers_are_always_targeted() -> None:
    assert implicitly_targeted(ROOT)
    assert implicitly_targeted(PROVIDER_NODE)
    assert not implicitly_targeted(res("a"))
    assert not implicitly_targeted(Node("urn:pulumi:test::test::pulumi:pulumi:StackReference::x",
                                        "pulumi:pulumi:StackReference"))


def test_a_child_of_the_root_stack_is_created_when_targeted() -> None:
    child = res("a", parent=STACK)
    outcome = targeted_update([ROOT, PROVIDER_NODE, child], [child.urn])
    assert outcome.steps == {STACK: "create", PROVIDER: "create", child.urn: "create"}
    assert outcome.errors == ()
    existing = targeted_update([ROOT, PROVIDER_NODE, child], [child.urn], existing=[STACK, PROVIDER])
    assert existing.steps == {STACK: "update", PROVIDER: "update", child.urn: "create"}


def test_an_object_without_a_name_is_listed_by_its_resource_name(plans: dict[str, Plan]) -> None:
    """Pulumi names an object without metadata.name after its resource (plus a suffix): the list names
    the resource, not None."""
    plan = plans["staging"]
    [hpa] = [r for r in plan.resources if r.is_kubernetes_object and r.inputs["kind"] == "HorizontalPodAutoscaler"
             and r.inputs["metadata"]["name"] == "spywatcher-backend-hpa"]

    def elsewhere(r: Registration) -> None:
        r.inputs["metadata"]["namespace"] = "elsewhere"
        del r.inputs["metadata"]["name"]

    moved = _edited(plan, hpa.type, hpa.name, elsewhere)
    assert missing_namespaces(moved)["elsewhere"] == {f"HorizontalPodAutoscaler {hpa.name}"}
