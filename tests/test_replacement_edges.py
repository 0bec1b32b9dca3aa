"""offline/replacement.py where a rule has two parts or an edge: what counts as a change (a value of
another type), where a JSONPath wildcard stands for a list item and nothing else, which side of an
`ignoreChanges` path is ignored, a list of lists as one input, which rule names a cause, and the
refusals' conditions each on its own (both sides protected, the same fixed name, a value the table
names rather than any value, an optional reference, the first replaced resource a read names)."""

from __future__ import annotations

from typing import Any

from offline.replacement import (
    Node,
    analyse,
    deletion_refusals,
    direct_causes,
    leaf_changes,
    matches,
    node_of,
    parse_path,
    provider_delete_first,
)
from offline.snapshot import Resource

LB = "aws:lb/loadBalancer:LoadBalancer"
JOB = "kubernetes:batch/v1:Job"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's unknown value in a preview


def job(restart: str, **options: Any) -> Node:
    inputs = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "app"},
              "spec": {"template": {"spec": {"restartPolicy": restart}}}}
    return Node("job", JOB, inputs, options)


# --- What a change is ----------------------------------------------------------------------------


def test_a_value_of_another_type_is_a_change_even_when_python_calls_them_equal() -> None:
    assert list(leaf_changes({"a": 1}, {"a": True})) == [(("a",), True)]
    assert list(leaf_changes({"a": 1}, {"a": 1.0})) == [(("a",), 1.0)]
    assert list(leaf_changes({"a": 1}, {"a": 1})) == []


def test_a_wildcard_is_any_list_item_and_one_such_item_is_enough() -> None:
    """`.spec.containers[*].args` is found in a new list when one of its containers has args."""
    pattern = parse_path(".spec.containers[*].args")
    containers = [{"name": "a"}, {"name": "b", "args": ["x"]}]
    assert matches(pattern, ("spec", "containers"), containers)
    assert not matches(pattern, ("spec", "containers"), [{"name": "a"}])
    # A wildcard stands for a list index, never for a map key.
    assert matches(pattern, ("spec", "containers", 0, "args"))
    assert not matches(pattern, ("spec", "containers", "main", "args"))


def test_a_change_below_an_ignored_path_is_ignored_and_one_above_it_is_not() -> None:
    old, new = job("Never"), job("OnFailure")
    assert [c.path for c in direct_causes(new, old, {})] == ["spec.template.spec.restartPolicy"]
    ignoring_spec = job("OnFailure", ignoreChanges=["spec"])
    assert direct_causes(ignoring_spec, old, {}) == []
    ignoring_below = job("OnFailure", ignoreChanges=["spec.template.spec.restartPolicy.x"])
    assert [c.path for c in direct_causes(ignoring_below, old, {})] == ["spec.template.spec.restartPolicy"]


def test_a_list_of_lists_is_one_input() -> None:
    """A change inside a nested list is a change of the whole input, as a command is."""
    old = Node("m", "aws:s3/bucket:Bucket", {"matrix": [[1, 2]]}, {"replaceOnChanges": ["matrix"]})
    new = Node("m", "aws:s3/bucket:Bucket", {"matrix": [[1, 3]]}, {"replaceOnChanges": ["matrix"]})
    assert [(c.path, c.rule) for c in direct_causes(new, old, {})] == [("matrix", "replaceOnChanges [matrix]")]


def test_a_path_the_provider_already_forces_is_named_by_the_providers_rule_not_replace_on_changes() -> None:
    old = job("Never", replaceOnChanges=["spec"])
    new = job("OnFailure", replaceOnChanges=["spec"])
    found = direct_causes(new, old, {})
    assert [c.path for c in found] == ["spec.template.spec.restartPolicy"]
    assert found[0].rule.startswith("pulumi-kubernetes: ")


def test_a_config_map_marked_immutable_is_replaced_for_that_reason_with_the_setting_on() -> None:
    def config_map(value: str, **fields: Any) -> Node:
        inputs = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "app"},
                  "data": {"A": value}, **fields}
        return Node("cm", "kubernetes:core/v1:ConfigMap", inputs, {"provider": "p"})

    on = {"p": Node("p", "pulumi:providers:kubernetes", {"enableConfigMapMutable": True}, {})}
    found = direct_causes(config_map("2", immutable=True), config_map("1", immutable=True), on)
    assert [(c.path, c.rule) for c in found] == [("data.A", "pulumi-kubernetes: immutable: true")]
    found = direct_causes(config_map("2"), config_map("1"), {})
    assert [(c.path, c.rule) for c in found] == [("data.A", "pulumi-kubernetes: enableConfigMapMutable is off")]


def test_a_target_groups_protocol_is_read_as_the_enum_it_is() -> None:
    """The provider's DiffSuppressFunc compares the protocol with the enum's HTTP and HTTPS exactly."""
    tg = "aws:lb/targetGroup:TargetGroup"
    lower = {"protocol": "http", "protocolVersion": "HTTP1"}
    assert direct_causes(Node("tg", tg, {**lower, "protocolVersion": "HTTP2"}, {}), Node("tg", tg, lower, {}),
                         {}) == []
    https = {"protocol": "HTTPS", "protocolVersion": "HTTP1"}
    assert [c.path for c in direct_causes(Node("tg", tg, {**https, "protocolVersion": "GRPC"}, {}),
                                          Node("tg", tg, https, {}), {})] == ["protocolVersion"]


# --- Order and refusals ----------------------------------------------------------------------------


def test_an_explicit_delete_before_replace_false_keeps_a_provider_replacement_create_first() -> None:
    node = Node("d", DEPLOYMENT, {}, {"deleteBeforeReplace": False}, delete_before_replace_set=True)
    assert provider_delete_first(node) == (False, "the resource option deleteBeforeReplace is false")
    node = Node("d", DEPLOYMENT, {}, {"deleteBeforeReplace": True}, delete_before_replace_set=True)
    assert provider_delete_first(node) == (True, "the resource option deleteBeforeReplace is true")


def test_protect_set_only_on_the_new_side_refuses_nothing() -> None:
    lb = {"loadBalancerType": "application", "internal": False}
    steps = analyse({"lb": Node("lb", LB, lb, {})}, {"lb": Node("lb", LB, {**lb, "internal": True}, {"protect": True})})
    assert steps["lb"].replaced and steps["lb"].refusals == ()


def test_only_the_tables_value_refuses_a_delete_not_any_value() -> None:
    """A load balancer whose deletion protection is unknown in the preview (or off) is not refused."""
    for value in (UNKNOWN, False, None):
        assert deletion_refusals(Node("lb", LB, {"enableDeletionProtection": value}, {})) == [], value
    assert len(deletion_refusals(Node("lb", LB, {"enableDeletionProtection": True}, {}))) == 1


def test_a_fixed_name_refuses_create_first_only_while_it_stays_the_same() -> None:
    lb = {"loadBalancerType": "application", "internal": False, "name": "edge"}
    same = analyse({"lb": Node("lb", LB, lb, {})}, {"lb": Node("lb", LB, {**lb, "internal": True}, {})})
    assert [r.reason for r in same["lb"].refusals] == [
        "its fixed name 'edge' is still taken by the old one when the new one is created"]
    renamed = analyse({"lb": Node("lb", LB, lb, {})},
                      {"lb": Node("lb", LB, {**lb, "internal": True, "name": "edge-2"}, {})})
    assert renamed["lb"].replaced and renamed["lb"].refusals == ()


def _moved(reference: dict[str, Any]) -> dict[str, Any]:
    def deployment(namespace: str) -> Node:
        container = {"name": "app", "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": reference}}]}
        inputs = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": namespace},
                  "spec": {"template": {"spec": {"containers": [container]}}}}
        return Node("app", DEPLOYMENT, inputs, {})

    return analyse({"app": deployment("old")}, {"app": deployment("new")})


def test_a_moved_workload_is_refused_for_a_secret_it_needs_and_not_for_an_optional_one() -> None:
    needed = _moved({"name": "tokens", "key": "t"})["app"]
    assert [r.reason for r in needed.refusals] == [
        "its pods in new read Secret tokens, which this program does not create there (declared as existing): "
        "they never start, and `pulumi up` fails waiting for them"]
    assert _moved({"name": "tokens", "key": "t", "optional": True})["app"].refusals == ()


def test_a_read_of_two_replaced_resources_names_the_first() -> None:
    lb = {"loadBalancerType": "application", "internal": False}
    before = {"a": Node("a", LB, lb, {}), "b": Node("b", LB, lb, {}),
              "r": Node("r", "aws:lb/listener:Listener", {"defaultActions": "x"}, {})}
    after = {"a": Node("a", LB, {**lb, "internal": True}, {}), "b": Node("b", LB, {**lb, "internal": True}, {}),
             "r": Node("r", "aws:lb/listener:Listener", {"defaultActions": "x"}, {},
                       reads={"defaultActions": ("a", "b")})}
    assert analyse(before, after)["r"].unknown == (("defaultActions", "a"),)


def test_a_read_above_an_immutable_field_is_refused_like_one_at_it() -> None:
    """`spec` read from a replaced target group covers `spec.targetGroupARN`, which cannot change."""
    tg = "aws:lb/targetGroup:TargetGroup"
    http = {"protocol": "HTTP", "port": 80}
    binding = {"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
               "metadata": {"name": "b", "namespace": "app"}, "spec": {"targetGroupARN": "arn"}}
    tgb = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
    for read in ("spec", "spec.targetGroupARN"):
        before = {"tg": Node("tg", tg, http, {}), "tgb": Node("tgb", tgb, binding, {})}
        after = {"tg": Node("tg", tg, {**http, "port": 81}, {}),
                 "tgb": Node("tgb", tgb, binding, {}, reads={read: ("tg",)})}
        step = analyse(before, after)["tgb"]
        assert not step.replaced, read
        assert [r.reason.split(",")[0] for r in step.refusals] == [
            "`spec.targetGroupARN` cannot change once created"], read


# --- Reading a render ------------------------------------------------------------------------------


def test_a_render_without_types_takes_the_type_from_the_id_after_its_parent() -> None:
    resource = Resource("spywatcher:app:Backend$kubernetes:apps/v1:Deployment::backend", {}, {"kind": "Deployment"})
    assert node_of(resource).type == DEPLOYMENT
    assert node_of(Resource("kubernetes:apps/v1:Deployment::backend", {}, {})).type == DEPLOYMENT


def test_a_render_says_whether_delete_before_replace_was_set() -> None:
    hinted = Resource(f"{DEPLOYMENT}::a", {}, {}, DEPLOYMENT, {"deleteBeforeReplaceSet": True})
    assert node_of(hinted).delete_before_replace_set is True
    assert node_of(Resource(f"{DEPLOYMENT}::a", {}, {}, DEPLOYMENT)).delete_before_replace_set is False
