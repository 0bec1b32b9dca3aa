"""What `pulumi up` refuses or orders beyond one resource's own force-new rules: a replaced provider
(the engine decides, pulumi/pulumi step_generator.go providerChanged) and the cloud's refusal to
delete (offline/forcenew/aws.yaml `delete_refused_when`), each stated here as read from its source."""

from __future__ import annotations

from typing import Any

from offline.replacement import REPLACING_DOC, Node, analyse, deletion_refusals, table

LB = "aws:lb/loadBalancer:LoadBalancer"
PROVIDER = "pulumi:providers:kubernetes"
CONTEXT = "arn:aws:eks:us-east-1:111122223333:cluster/"


def k8s(kind: str, api: str = "v1", namespace: str = "app", **rest: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": kind.lower(), "namespace": namespace}, **rest}


def cluster(name: str, **options: Any) -> dict[str, Node]:
    """A Kubernetes provider for cluster ``name`` and what it manages: a named Deployment, a ConfigMap
    and an ingress-nginx release, whose own rules would delete first or refuse."""
    managed = {"provider": "prov", **options}
    return {
        "prov": Node("prov", PROVIDER, {"context": CONTEXT + name}, {}),
        "deploy": Node("deploy", "kubernetes:apps/v1:Deployment", k8s("Deployment", "apps/v1"), managed),
        "cm": Node("cm", "kubernetes:core/v1:ConfigMap", k8s("ConfigMap", data={"A": "1"}), managed),
        "ingress": Node("ingress", "kubernetes:helm.sh/v3:Release",
                        {"chart": "ingress-nginx", "name": "ingress-nginx", "namespace": "ingress-nginx"}, managed),
    }


def test_a_new_cluster_gets_every_object_first_and_the_old_one_is_deleted_after() -> None:
    steps = analyse(cluster("a"), cluster("b"))
    for rid in ("deploy", "cm", "ingress"):
        step = steps[rid]
        assert step.replaced and [c.rule for c in step.causes] == ["its provider prov is replaced"], rid
        assert step.delete_first is False, rid
        assert step.order == ("the engine creates it through the new provider before deleting the old one "
                              "through the old provider"), rid
        assert step.refusals == (), rid  # the new release's cluster has no objects of the old one


def test_a_change_under_a_replaced_provider_is_still_only_the_providers_replacement() -> None:
    after = cluster("b")
    after["deploy"] = Node("deploy", after["deploy"].type, k8s("Deployment", "apps/v1", namespace="moved"),
                           after["deploy"].options)
    step = analyse(cluster("a"), after)["deploy"]
    assert [c.path for c in step.causes] == ["(provider)"] and step.delete_first is False


def test_the_resource_option_still_orders_a_replacement_the_provider_causes() -> None:
    step = analyse(cluster("a", deleteBeforeReplace=True), cluster("b", deleteBeforeReplace=True))["deploy"]
    assert step.delete_first is True and step.order == "the resource option deleteBeforeReplace is true"


def test_protect_still_refuses_a_replacement_the_provider_causes() -> None:
    step = analyse(cluster("a", protect=True), cluster("b", protect=True))["cm"]
    assert [r.reason.split(":")[0] for r in step.refusals] == ["it is protected (`protect`)"]


# --- The cloud refuses a delete ------------------------------------------------------------------


def test_the_table_names_the_load_balancers_deletion_protection() -> None:
    entries = {t: e["delete_refused_when"] for t, e in table("aws")["resources"].items() if "delete_refused_when" in e}
    assert {t: [(i["input"], i["terraform"], i["value"], i["from"]) for i in e] for t, e in entries.items()} == {
        LB: [("enableDeletionProtection", "enable_deletion_protection", True, "resourceLoadBalancerDelete")]}


def lb(internal: bool, deletion_protection: bool, protect: bool = False) -> Node:
    inputs = {"loadBalancerType": "application", "internal": internal,
              "enableDeletionProtection": deletion_protection}
    return Node("lb", LB, inputs, {"protect": protect})


def test_a_load_balancer_with_deletion_protection_on_cannot_be_replaced() -> None:
    step = analyse({"lb": lb(False, True)}, {"lb": lb(True, True)})["lb"]
    assert step.replaced and [(r.reason, r.what_to_do) for r in step.refusals] == [(
        "`enableDeletionProtection` is true on the one that exists: AWS refuses to delete it (OperationNotPermitted: "
        "deletion protection is enabled), so `pulumi up` fails after creating the new one and leaves the old one "
        "pending deletion",
        "turn AWS deletion protection off (`loadBalancer.deletionProtection: false`, `pulumi up`) in a change of its "
        f"own first, as {REPLACING_DOC} describes")]


def test_turning_deletion_protection_off_in_the_same_change_does_not_help() -> None:
    """The old load balancer is deleted as it is: the new setting only reaches the new one."""
    step = analyse({"lb": lb(False, True)}, {"lb": lb(True, False)})["lb"]
    assert len(step.refusals) == 1 and step.refusals[0].reason.startswith("`enableDeletionProtection` is true")


def test_without_deletion_protection_the_replacement_proceeds() -> None:
    step = analyse({"lb": lb(False, False)}, {"lb": lb(True, True)})["lb"]
    assert step.replaced and step.refusals == ()


def test_protect_and_deletion_protection_are_both_named() -> None:
    step = analyse({"lb": lb(False, True, protect=True)}, {"lb": lb(True, True, protect=True)})["lb"]
    assert [r.reason.split(":")[0] for r in step.refusals] == [
        "it is protected (`protect`)", "`enableDeletionProtection` is true on the one that exists"]


def test_removing_a_load_balancer_with_deletion_protection_on_is_refused() -> None:
    assert [r.reason for r in deletion_refusals(lb(False, True))] == [
        "`enableDeletionProtection` is true on the one that exists: AWS refuses to delete it (OperationNotPermitted: "
        "deletion protection is enabled), so `pulumi up` fails there"]
    assert deletion_refusals(lb(False, False)) == []


def test_a_list_that_changes_is_named_once_as_the_input_that_forces_the_replacement() -> None:
    """A Job's command (a list under its pod template, diff.go's `job`) changed in every item."""
    def job(command: list[str]) -> Node:
        container = {"name": "migrate", "image": "app:v1", "command": command}
        return Node("job", "kubernetes:batch/v1:Job", k8s("Job", "batch/v1", spec={
            "template": {"spec": {"containers": [container], "restartPolicy": "Never"}}}), {})

    step = analyse({"job": job(["npx", "prisma", "migrate"])}, {"job": job(["npm", "run", "migrate", "--all"])})["job"]
    assert [(c.path, c.rule) for c in step.causes] == [
        ("spec.template.spec.containers[0].command", "pulumi-kubernetes: diff.go: job")]


def test_deleted_first_the_refused_delete_stops_pulumi_up_before_the_new_one_exists() -> None:
    """A pinned name (`loadBalancer.name`) sets deleteBeforeReplace: the delete comes first and fails."""
    old, new = lb(False, True), lb(True, True)
    first = {"lb": Node("lb", LB, new.inputs, {"deleteBeforeReplace": True})}
    step = analyse({"lb": old}, first)["lb"]
    assert step.delete_first and [r.reason for r in step.refusals] == [
        "`enableDeletionProtection` is true on the one that exists: AWS refuses to delete it (OperationNotPermitted: "
        "deletion protection is enabled), so `pulumi up` fails at that delete, before the new one is created"]
