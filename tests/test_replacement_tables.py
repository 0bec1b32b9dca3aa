"""The replacement rules of the providers and the engine (offline/forcenew/*.yaml, offline/replacement.py),
entry by entry.

Every entry is stated here a second time, as read from its source, and tested through the rules'
behaviour (a change at that input replaces the resource), so a dropped or altered entry fails a test
of its own; a table entry stated nowhere here fails too. The provider's own test cases
(pulumi-kubernetes provider/pkg/provider/diff_test.go, TestPatchToDiff) are transcribed below. A
new pin in requirements.txt fails until the tables are read again at that version.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import re
from typing import Any

import pytest

from offline.engine import Plan, run_stack
from offline.replacement import (
    ENGINE,
    HELM_RELEASE,
    Node,
    analyse,
    direct_causes,
    kubernetes_force_new,
    parse_path,
    table,
)
from tests.conftest import ROOT


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            found[name.strip()] = version.strip()
    return found


def test_each_table_was_read_for_the_pinned_version() -> None:
    pinned = pins()
    assert table("kubernetes")["checked_for"] == pinned["pulumi-kubernetes"]
    assert table("helm")["checked_for"] == pinned["pulumi-kubernetes"]
    assert table("aws")["checked_for"] == pinned["pulumi-aws"]
    assert ENGINE["checked_for"] == pinned["pulumi"]


def test_every_entry_names_where_it_was_read() -> None:
    assert table("kubernetes")["source"] == {"repository": "pulumi/pulumi-kubernetes",
                                             "read_at": "94977969d64112b04e19945818a7d5d5f38f631d"}
    assert table("aws")["bridges"]["repository"] == "hashicorp/terraform-provider-aws"
    for type_, entry in table("aws")["resources"].items():
        assert entry["path"].startswith("internal/service/"), type_
        assert re.fullmatch(r"[0-9a-f]{40}", entry["read_at"]), type_
    for entry in table("kubernetes")["kinds"]:
        assert entry["from"].startswith("diff.go: "), entry["kind"]
    assert ENGINE["repository"] == "pulumi/pulumi" and re.fullmatch(r"[0-9a-f]{40}", ENGINE["read_at"])


# --- pulumi-kubernetes -------------------------------------------------------------------------

SELECTOR = [".spec.selector", ".spec.selector.matchExpressions", ".spec.selector.matchExpressions.key",
            ".spec.selector.matchExpressions.operator", ".spec.selector.matchExpressions.values",
            ".spec.selector.matchLabels"]
CONTAINER = ["args", "command", "env", "env.value", "image", "imagePullPolicy", "lifecycle", "livenessProbe",
             "ports", "readinessProbe", "resources", "securityContext", "stdin", "stdinOnce",
             "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts",
             "workingDir"]
POD = [".spec.affinity", ".spec.automountServiceAccountToken", ".spec.dnsConfig", ".spec.dnsPolicy",
       ".spec.enableServiceLinks", ".spec.hostAliases", ".spec.hostIPC", ".spec.hostNetwork", ".spec.hostPID",
       ".spec.hostname", ".spec.imagePullSecrets", ".spec.nodeName", ".spec.nodeSelector", ".spec.overhead",
       ".spec.preemptionPolicy", ".spec.priority", ".spec.priorityClassName", ".spec.readinessGates",
       ".spec.restartPolicy", ".spec.runtimeClassName", ".spec.schedulerName", ".spec.securityContext",
       ".spec.serviceAccount", ".spec.serviceAccountName", ".spec.shareProcessNamespace", ".spec.subdomain",
       ".spec.terminationGracePeriodSeconds", ".spec.volumes",
       *(f".spec.{group}[*].{f}" for group in ("containers", "initContainers") for f in CONTAINER)]
PV_SOURCES = ["awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume",
              "flocker", "gcePersistentDisk", "glusterfs", "hostPath", "iscsi", "local", "nfs",
              "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume"]

# diff.go `forceNew`, read again: (apiVersion, kind) -> paths.
FORCE_NEW: dict[tuple[str, str], list[str]] = {
    **{(f"apps/{v}", "Deployment"): SELECTOR for v in ("v1", "v1beta2")},
    **{(f"apps/{v}", "DaemonSet"): SELECTOR for v in ("v1", "v1beta2")},
    **{(f"apps/{v}", "StatefulSet"): [".spec.podManagementPolicy", ".spec.revisionHistoryLimit", ".spec.serviceName",
                                      ".spec.volumeClaimTemplates", *SELECTOR] for v in ("v1", "v1beta1", "v1beta2")},
    **{(f"batch/{v}", "Job"): [".spec.completions", ".spec.parallelism", ".spec.template", *SELECTOR]
       for v in ("v1", "v1beta1", "v2alpha1")},
    ("policy/v1beta1", "PodDisruptionBudget"): [".spec"],
    **{(f"rbac.authorization.k8s.io/{v}", k): [".roleRef"] for v in ("v1", "v1beta1", "v1alpha1")
       for k in ("RoleBinding", "ClusterRoleBinding")},
    ("storage.k8s.io/v1", "StorageClass"): [".parameters", ".provisioner"],
    ("v1", "Service"): [".spec.clusterIP"],
    ("v1", "ResourceQuota"): [".spec.scopes"],
    ("v1", "Secret"): [".type"],
    ("v1", "PersistentVolumeClaim"): [".spec.accessModes", ".spec.storageClassName", ".spec.volumeName", *SELECTOR],
    ("v1", "PersistentVolume"): [f".spec.{s}" for s in PV_SOURCES],
    ("v1", "Pod"): POD,
}
ROWS = [(api, kind, path) for (api, kind), paths in FORCE_NEW.items() for path in paths]


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``obj`` with ``value`` at a JSONPath pattern (``[*]`` becomes the first list item)."""
    result = copy.deepcopy(obj)
    here: Any = result
    steps = parse_path(path)
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if step == "*":
            continue
        container: Any = [{}] if following == "*" else {}
        if following is None:
            here[step] = value
        else:
            here = here.setdefault(step, container)
            if isinstance(here, list):
                here = here[0]
    return result


def node(obj: dict[str, Any], **options: Any) -> Node:
    type_ = f"kubernetes:{obj['apiVersion'] if '/' in obj['apiVersion'] else 'core/' + obj['apiVersion']}:{obj['kind']}"
    return Node(f"{type_}::x", type_, obj, {"provider": "p", **options})


PROVIDER = "p"


def causes(old: dict[str, Any], new: dict[str, Any], **settings: Any) -> list[str]:
    after = {PROVIDER: Node(PROVIDER, "pulumi:providers:kubernetes", settings, {})}
    return [c.path for c in direct_causes(node(new), node(old), after)]


def obj(api: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "x", "namespace": "ns"}, **fields}


@pytest.mark.parametrize(("api", "kind", "path"), ROWS, ids=[f"{k}({a}){p}" for a, k, p in ROWS])
def test_a_change_at_a_force_new_path_replaces(api: str, kind: str, path: str) -> None:
    old = _set(obj(api, kind), path, "a")
    new = _set(obj(api, kind), path, "b")
    found = causes(old, new)
    assert len(found) == 1 and re.sub(r"\[0\]", "[*]", found[0]) == path.lstrip(".")


def test_the_table_states_nothing_the_test_does_not() -> None:
    stated = {(api, kind, path) for api, kind, path in ROWS}
    for entry in table("kubernetes")["kinds"]:
        for version in entry["versions"]:
            api = version if entry["group"] == "core" else f"{entry['group']}/{version}"
            for path in entry["paths"]:
                assert (api, entry["kind"], path) in stated, (api, entry["kind"], path)


@pytest.mark.parametrize("path", [".metadata.name", ".metadata.namespace"])
@pytest.mark.parametrize(("api", "kind"), [("v1", "Namespace"), ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding"),
                                           ("apps/v1", "Deployment"), ("autoscaling/v2", "HorizontalPodAutoscaler")])
def test_a_new_name_or_namespace_replaces_any_object(api: str, kind: str, path: str) -> None:
    assert causes(_set(obj(api, kind), path, "a"), _set(obj(api, kind), path, "b")) == [path.lstrip(".")]


def test_a_kind_or_version_diff_go_does_not_list_is_updated_in_place() -> None:
    """policy/v1 is not policy/v1beta1; an HPA, a CronJob and a custom resource have identity only."""
    assert causes(obj("policy/v1", "PodDisruptionBudget", spec={"minAvailable": 1}),
                  obj("policy/v1", "PodDisruptionBudget", spec={"minAvailable": 2})) == []
    assert causes(obj("policy/v1beta1", "PodDisruptionBudget", spec={"minAvailable": 1}),
                  obj("policy/v1beta1", "PodDisruptionBudget", spec={"minAvailable": 2})) == ["spec.minAvailable"]
    assert causes(obj("batch/v1", "CronJob", spec={"schedule": "1 * * * *"}),
                  obj("batch/v1", "CronJob", spec={"schedule": "2 * * * *"})) == []
    assert causes(obj("apps/v1", "Deployment", spec={"template": {"spec": {"containers": [{"image": "a"}]}}}),
                  obj("apps/v1", "Deployment", spec={"template": {"spec": {"containers": [{"image": "b"}]}}})) == []


def test_config_maps_and_secrets_follow_the_provider_settings() -> None:
    cm = obj("v1", "ConfigMap", data={"A": "1"})
    changed = obj("v1", "ConfigMap", data={"A": "2"})
    assert causes(cm, changed) == ["data.A"]
    assert causes(cm, changed, enableConfigMapMutable=True) == []
    frozen = {"immutable": True}
    assert causes({**cm, **frozen}, {**changed, **frozen}, enableConfigMapMutable=True) == ["data.A"]
    binary = obj("v1", "ConfigMap", binaryData={"A": "MQ=="})
    assert causes(binary, obj("v1", "ConfigMap", binaryData={"A": "Mg=="})) == ["binaryData.A"]
    secret = obj("v1", "Secret", type="Opaque", stringData={"A": "1"})
    rotated = obj("v1", "Secret", type="Opaque", stringData={"A": "2"})
    assert causes(secret, rotated) == ["stringData.A"]
    assert causes(secret, rotated, enableSecretMutable=True) == []
    assert causes({**secret, **frozen}, {**rotated, **frozen}, enableSecretMutable=True) == ["stringData.A"]
    assert causes(obj("v1", "Secret", data={"A": "MQ=="}), obj("v1", "Secret", data={"A": "Mg=="})) == ["data.A"]
    assert causes(secret, {**secret, "type": "kubernetes.io/tls"}, enableSecretMutable=True) == ["type"]


def test_the_provider_deletes_a_named_object_first_only_under_its_old_name() -> None:
    from offline.replacement import delete_first

    job = obj("batch/v1", "Job", spec={"template": {"spec": {"restartPolicy": "Never"}}})
    rerun = _set(job, ".spec.template.spec.restartPolicy", "OnFailure")
    assert delete_first(node(rerun), node(job))[0] is True
    renamed = {**rerun, "metadata": {"name": "y", "namespace": "ns"}}
    moved = {**rerun, "metadata": {"name": "x", "namespace": "other"}}
    assert delete_first(node(renamed), node(job))[0] is False
    assert delete_first(node(moved), node(job))[0] is False
    assert delete_first(node(renamed, deleteBeforeReplace=True), node(job)) == (
        True, "the resource option deleteBeforeReplace is true")
    as_set = Node("x", "kubernetes:batch/v1:Job", rerun, {"deleteBeforeReplace": False}, {}, True)
    assert delete_first(as_set, node(job)) == (False, "the resource option deleteBeforeReplace is false")


# TestPatchToDiff (provider/pkg/provider/diff_test.go), the cases with known values: old and new
# object, provider settings, and the paths the provider marks *_REPLACE.
UPSTREAM = [
    ("Adding spec and nested field", "v1", "PersistentVolumeClaim",
     {"spec": {}}, {"spec": {"accessModes": {}}}, {}, ["spec.accessModes"]),
    ("Deleting spec and nested field", "v1", "PersistentVolumeClaim",
     {"spec": {"accessModes": {}}}, {"spec": {}}, {}, ["spec.accessModes"]),
    ("Changing image spec", "v1", "Pod",
     {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}},
     {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.15-alpine"}]}}, {}, ["spec.containers[0].image"]),
    ("Changing second image spec", "v1", "Pod",
     {"spec": {"containers": [{"name": "nginx", "image": "nginx"}, {"name": "nginx", "image": "nginx"}]}},
     {"spec": {"containers": [{"name": "nginx", "image": "nginx"}, {"name": "nginx", "image": "nginx:1.15-alpine"}]}},
     {}, ["spec.containers[1].image"]),
    ("Changing DNS policy and image spec", "v1", "Pod",
     {"spec": {"containers": [{"name": "nginx", "image": "nginx", "dnsPolicy": "Default"}]}},
     {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.15-alpine", "dnsPolicy": "None"}]}},
     {}, ["spec.containers[0].image"]),
    ("Adding DNS policy", "v1", "Pod",
     {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}},
     {"spec": {"containers": [{"name": "nginx", "image": "nginx", "dnsPolicy": "Default"}]}}, {}, []),
    ("Changing DNS policy", "v1", "Pod",
     {"spec": {"containers": [{"name": "nginx", "image": "nginx", "dnsPolicy": "Default"}]}},
     {"spec": {"containers": [{"name": "nginx", "image": "nginx", "dnsPolicy": "None"}]}}, {}, []),
    ("Deleting DNS policy", "v1", "Pod",
     {"spec": {"containers": [{"name": "nginx", "image": "nginx", "dnsPolicy": "Default"}]}},
     {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}, {}, []),
    ("PVC resources don't trigger a replace", "v1", "PersistentVolumeClaim",
     {"spec": {"resources": {"requests": {"storage": "10Gi"}}}},
     {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}, {}, []),
    ("ConfigMap mutable", "v1", "ConfigMap", {"data": {"property1": "3"}}, {"data": {"property1": "4"}},
     {"enableConfigMapMutable": True}, []),
    ("ConfigMap not mutable", "v1", "ConfigMap", {"data": {"property1": "3"}}, {"data": {"property1": "4"}},
     {}, ["data.property1"]),
    ("ConfigMap immutable even when mutable", "v1", "ConfigMap",
     {"data": {"property1": "3"}, "immutable": True}, {"data": {"property1": "4"}, "immutable": True},
     {"enableConfigMapMutable": True}, ["data.property1"]),
    ("Secret mutable", "v1", "Secret", {"data": {"property1": "3"}}, {"data": {"property1": "4"}},
     {"enableSecretMutable": True}, []),
    ("Secret not mutable", "v1", "Secret", {"data": {"property1": "3"}}, {"data": {"property1": "4"}},
     {}, ["data.property1"]),
    ("Secret type change even when mutable", "v1", "Secret",
     {"type": "kubernetes.io/dockerconfigjson", "data": {"property1": "3"}},
     {"type": "Opaque", "data": {"property1": "3"}}, {"enableSecretMutable": True}, ["type"]),
    ("Secret immutable even when mutable", "v1", "Secret",
     {"data": {"property1": "3"}, "immutable": True}, {"data": {"property1": "4"}, "immutable": True},
     {"enableSecretMutable": True}, ["data.property1"]),
    ("Removing array values", "v1", "Pod", {"spec": {"containers": [{"name": "nginx"}]}},
     {"spec": {"containers": []}}, {}, []),
    ("Removing a field that was nil", "tekton.dev/v1beta1", "Pipeline",
     {"taskSpec": {"spec": None, "steps": [{"name": "something"}]}},
     {"taskSpec": {"steps": [{"name": "something-else"}]}}, {}, []),
]


@pytest.mark.parametrize(("case", "api", "kind", "old", "new", "settings", "replaces"), UPSTREAM,
                         ids=[row[0] for row in UPSTREAM])
def test_the_providers_own_diff_cases(case: str, api: str, kind: str, old: dict[str, Any], new: dict[str, Any],
                                      settings: dict[str, Any], replaces: list[str]) -> None:
    before = {"apiVersion": api, "kind": kind, **old}
    after = {"apiVersion": api, "kind": kind, **new}
    assert causes(before, after, **settings) == replaces


def test_every_kind_the_program_registers_is_looked_up(every_plan: list[Plan]) -> None:
    rules = table("kubernetes")
    covered = {k["kind"] for k in rules["kinds"]} | set(rules["identity_only"]) | \
        {t["kind"] for t in rules["mutable_unless_configured"]}
    registered = {r.inputs["kind"] for plan in every_plan for r in plan if r.is_kubernetes_object}
    assert registered - covered == set()
    assert set(rules["identity_only"]) <= registered | {"ServiceAccount"}


def test_a_kubernetes_provider_replaced_with_its_cluster_replaces_what_it_manages() -> None:
    provider = {"context": "arn:aws:eks:us-east-1:111122223333:cluster/a", "enableServerSideApply": True}
    cm = obj("v1", "ConfigMap", data={"A": "1"})

    def side(context: str) -> dict[str, Node]:
        return {"prov": Node("prov", "pulumi:providers:kubernetes", {**provider, "context": context}, {}),
                "cm": Node("cm", "kubernetes:core/v1:ConfigMap", cm, {"provider": "prov"})}

    steps = analyse(side("arn:aws:eks:us-east-1:111122223333:cluster/a"),
                    side("arn:aws:eks:us-east-1:111122223333:cluster/b"))
    assert [c.path for c in steps["prov"].causes] == ["context"]
    assert steps["cm"].replaced and [c.rule for c in steps["cm"].causes] == ["its provider prov is replaced"]
    assert table("kubernetes")["provider_replaced_by"]["settings"] == [
        "kubeconfig", "context", "cluster", "renderYamlToDirectory"]


# --- terraform-provider-aws (through pulumi-aws) -------------------------------------------------

# The ForceNew attributes read again, by type: the Pulumi input each one is.
AWS_FORCE_NEW: dict[str, list[str]] = {
    "aws:lb/loadBalancer:LoadBalancer": ["name", "namePrefix", "internal", "loadBalancerType", "customerOwnedIpv4Pool"],
    "aws:lb/targetGroup:TargetGroup": ["name", "namePrefix", "port", "protocol", "targetType", "vpcId",
                                       "ipAddressType"],
    "aws:lb/listener:Listener": ["loadBalancerArn"],
    "aws:lb/listenerRule:ListenerRule": ["listenerArn"],
    "aws:lb/listenerCertificate:ListenerCertificate": ["listenerArn", "certificateArn"],
    "aws:ec2/securityGroup:SecurityGroup": ["name", "namePrefix", "description", "vpcId"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["securityGroupId"],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["securityGroupId"],
    "aws:wafv2/webAcl:WebAcl": ["name", "namePrefix", "scope"],
    "aws:wafv2/webAclAssociation:WebAclAssociation": ["resourceArn", "webAclArn"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["name"],
    "aws:cloudwatch/dashboard:Dashboard": ["dashboardName"],
    "aws:sns/topic:Topic": ["name", "namePrefix", "fifoTopic"],
    "aws:route53/record:Record": ["name", "zoneId"],
    "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix", "objectLockEnabled"],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["bucket"],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["bucket", "expectedBucketOwner"],
    "aws:s3/bucketPolicy:BucketPolicy": ["bucket"],
    "aws:cloudwatch/logGroup:LogGroup": ["name", "namePrefix"],
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": ["logDestinationConfigs", "resourceArn"],
    "aws:kms/key:Key": ["customerMasterKeySpec", "keyUsage", "multiRegion"],
    "aws:sns/topicPolicy:TopicPolicy": ["arn"],
}
AWS_ROWS = [(t, i) for t, inputs in AWS_FORCE_NEW.items() for i in inputs]


def aws(type_: str, inputs: dict[str, Any], rid: str = "x") -> Node:
    return Node(rid, type_, inputs, {})


@pytest.mark.parametrize(("type_", "key"), AWS_ROWS, ids=[f"{t.rsplit(':', 1)[1]}.{k}" for t, k in AWS_ROWS])
def test_a_change_of_a_force_new_attribute_replaces(type_: str, key: str) -> None:
    assert [c.path for c in direct_causes(aws(type_, {key: "b"}), aws(type_, {key: "a"}), {})] == [key]


def test_the_aws_table_states_nothing_the_test_does_not() -> None:
    for type_, entry in table("aws")["resources"].items():
        assert [i["input"] for i in entry.get("force_new", [])] == AWS_FORCE_NEW[type_], type_


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_each_input_is_an_argument_of_the_pinned_sdk_and_the_terraform_attribute_it_bridges() -> None:
    for type_, entry in table("aws")["resources"].items():
        _, module, cls = type_.split(":")
        resource = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), cls)
        args = getattr(importlib.import_module(resource.__module__), f"{cls}Args")
        arguments = set(inspect.signature(args).parameters)
        for item in [*entry.get("force_new", []), *entry.get("force_new_when", [])]:
            assert _snake(item["input"]) in arguments, (type_, item["input"])
            if "renamed" not in item:
                assert _snake(item["input"]) == item["terraform"], (type_, item)


def test_every_aws_type_the_program_registers_is_in_the_table(every_plan: list[Plan]) -> None:
    registered = {r.type for plan in every_plan for r in plan if r.custom and r.type.startswith("aws:")}
    assert registered == set(table("aws")["resources"])


LB = "aws:lb/loadBalancer:LoadBalancer"


def test_a_network_load_balancer_is_replaced_when_a_subnet_goes_not_when_one_is_added() -> None:
    nlb = {"loadBalancerType": "network", "subnets": ["a", "b"]}
    assert [c.path for c in direct_causes(aws(LB, {**nlb, "subnets": ["a"]}), aws(LB, nlb), {})] == ["subnets"]
    assert [c.path for c in direct_causes(aws(LB, {**nlb, "subnets": ["a", "c"]}), aws(LB, nlb), {})] == ["subnets"]
    assert direct_causes(aws(LB, {**nlb, "subnets": ["a", "b", "c"]}), aws(LB, nlb), {}) == []
    alb = {"loadBalancerType": "application", "subnets": ["a", "b"]}
    assert direct_causes(aws(LB, {**alb, "subnets": ["a"]}), aws(LB, alb), {}) == []


def test_a_network_load_balancer_is_replaced_when_its_security_groups_appear_or_all_go() -> None:
    nlb = {"loadBalancerType": "network", "securityGroups": ["sg-1"]}
    assert [c.path for c in direct_causes(aws(LB, {**nlb, "securityGroups": []}), aws(LB, nlb), {})] == [
        "securityGroups"]
    assert [c.path for c in direct_causes(aws(LB, nlb), aws(LB, {**nlb, "securityGroups": []}), {})] == [
        "securityGroups"]
    assert direct_causes(aws(LB, {**nlb, "securityGroups": ["sg-2"]}), aws(LB, nlb), {}) == []
    alb = {"loadBalancerType": "application", "securityGroups": ["sg-1"]}
    assert direct_causes(aws(LB, {**alb, "securityGroups": []}), aws(LB, alb), {}) == []


def test_a_target_groups_protocol_version_forces_a_new_one_only_over_http() -> None:
    tg = "aws:lb/targetGroup:TargetGroup"
    http = {"protocol": "HTTP", "protocolVersion": "HTTP1"}
    assert [c.path for c in direct_causes(aws(tg, {**http, "protocolVersion": "HTTP2"}), aws(tg, http), {})] == [
        "protocolVersion"]
    tcp = {"protocol": "TCP", "protocolVersion": "HTTP1"}
    assert direct_causes(aws(tg, {**tcp, "protocolVersion": "HTTP2"}), aws(tg, tcp), {}) == []


@pytest.mark.parametrize("type_", ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                                   "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"])
def test_a_rules_source_kind_cannot_change_in_place(type_: str) -> None:
    v4 = {"cidrIpv4": "10.0.0.0/16", "fromPort": 80}
    assert [c.path for c in direct_causes(aws(type_, {"cidrIpv6": "::/0", "fromPort": 80}), aws(type_, v4), {})] == [
        "cidrIpv4", "cidrIpv6"]
    assert direct_causes(aws(type_, {**v4, "cidrIpv4": "10.1.0.0/16"}), aws(type_, v4), {}) == []
    for source in ("prefixListId", "referencedSecurityGroupId"):
        assert [c.path for c in direct_causes(aws(type_, {source: "x", "fromPort": 80}), aws(type_, v4), {})] == sorted(
            ["cidrIpv4", source])


@pytest.mark.parametrize("source", ["cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"])
def test_a_rule_left_without_its_source_is_a_change_of_kind_too(source: str) -> None:
    """The provider compares which source attribute is set: none set is a kind of its own."""
    type_ = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    before = aws(type_, {source: "x", "fromPort": 80})
    assert [c.path for c in direct_causes(aws(type_, {"fromPort": 80}), before, {})] == [source]
    assert direct_causes(aws(type_, {source: "y", "fromPort": 80}), before, {}) == []


def test_the_conditional_entries_are_the_ones_tested_above() -> None:
    conditional = {(t, i["input"], i["when"]) for t, e in table("aws")["resources"].items()
                   for i in e.get("force_new_when", [])}
    rules = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
             "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert conditional == {
        (LB, "subnets", "nlb-subnets-not-only-added"),
        (LB, "securityGroups", "nlb-security-groups-added-or-all-removed"),
        ("aws:lb/targetGroup:TargetGroup", "protocolVersion", "protocol-is-http-or-https"),
        *((t, i, "rule-source-kind-changes") for t in rules
          for i in ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")),
    }


# --- Helm releases -----------------------------------------------------------------------------

CLUSTER_SCOPED = {
    "ingress-nginx": ["ClusterRole", "ClusterRoleBinding", "IngressClass", "ValidatingWebhookConfiguration"],
    "gateway-helm": ["ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"],
    "prometheus-adapter": ["APIService", "ClusterRole", "ClusterRoleBinding"],
    "argo-rollouts": [],  # every cluster-scoped template is behind a switch the program turns off
}
# argo-helm charts/argo-rollouts/templates @ argo-rollouts-2.41.0: the switches each cluster-scoped
# template (ClusterRoles, ClusterRoleBindings, CRDs) is behind.
ARGO_ROLLOUTS_CLUSTER_SWITCHES = ("clusterInstall", "installCRDs", "createClusterAggregateRoles")


def release(**inputs: Any) -> Node:
    return Node("r", HELM_RELEASE, {"chart": "ingress-nginx", "name": "ingress-nginx", "namespace": "ingress-nginx",
                                    "values": {}, **inputs}, {})


@pytest.mark.parametrize("key", ["name", "namespace"])
def test_a_releases_name_or_namespace_replaces_it_new_first_and_helm_refuses(key: str) -> None:
    steps = analyse({"r": release()}, {"r": release(**{key: "moved"})})
    step = steps["r"]
    assert step.replaced and [c.path for c in step.causes] == [key] and step.delete_first is False
    assert len(step.refusals) == 1 and "invalid ownership metadata" in step.refusals[0].reason
    assert "docs/traffic.md#moving-a-helm-release-to-another-namespace" in step.refusals[0].what_to_do


def test_new_values_update_a_release_in_place() -> None:
    assert direct_causes(release(values={"a": 2}), release(values={"a": 1}), {}) == []


def test_the_helm_table() -> None:
    helm = table("helm")
    assert helm["force_new"] == [".name", ".namespace"] and helm["delete_before_replace"] is False
    assert {chart: entry["kinds"] for chart, entry in helm["cluster_scoped"].items()} == CLUSTER_SCOPED


def test_argo_rollouts_renders_nothing_cluster_wide_so_a_moved_release_installs(every_plan: list[Plan]) -> None:
    values = next(r.inputs["values"] for plan in every_plan for r in plan.of_type(HELM_RELEASE)
                  if str(r.inputs["chart"]).endswith("argo-rollouts"))
    assert {key: values[key] for key in ARGO_ROLLOUTS_CLUSTER_SWITCHES} == dict.fromkeys(
        ARGO_ROLLOUTS_CLUSTER_SWITCHES, False)
    moved = analyse({"r": release(chart="argo-rollouts")}, {"r": release(chart="argo-rollouts", namespace="argo2")})
    assert moved["r"].replaced and moved["r"].delete_first is False and moved["r"].refusals == ()


def test_every_chart_the_program_installs_is_in_the_table(every_plan: list[Plan]) -> None:
    charts = {str(r.inputs["chart"]).rsplit("/", 1)[-1] for plan in every_plan
              for r in plan.of_type(HELM_RELEASE)}
    assert charts == set(CLUSTER_SCOPED)


# --- The engine --------------------------------------------------------------------------------


def test_replace_on_changes_replaces_for_a_change_at_or_below_its_path() -> None:
    tgb = obj("elbv2.k8s.aws/v1beta1", "TargetGroupBinding", spec={"targetGroupARN": "a", "targetType": "ip"})
    options = {"replaceOnChanges": ["spec.targetGroupARN"]}
    moved = _set(tgb, ".spec.targetGroupARN", "b")
    assert [c.rule for c in direct_causes(node(moved, **options), node(tgb, **options), {})] == [
        "replaceOnChanges [spec.targetGroupARN]"]
    other = _set(tgb, ".spec.targetType", "instance")
    assert direct_causes(node(other, **options), node(tgb, **options), {}) == []


def test_protect_refuses_a_replacement_only_while_both_sides_are_protected() -> None:
    lb = {"loadBalancerType": "application", "internal": False}
    moved = {**lb, "internal": True}
    guarded = analyse({"lb": Node("lb", LB, lb, {"protect": True})}, {"lb": Node("lb", LB, moved, {"protect": True})})
    assert [r.reason.split(":")[0] for r in guarded["lb"].refusals] == ["it is protected (`protect`)"]
    lifted = analyse({"lb": Node("lb", LB, lb, {"protect": True})}, {"lb": Node("lb", LB, moved, {"protect": False})})
    assert lifted["lb"].replaced and lifted["lb"].refusals == ()


def test_a_dependent_reading_a_replaced_resource_in_a_force_new_input_is_replaced_with_it() -> None:
    lb = {"loadBalancerType": "application", "internal": False}
    listener = {"loadBalancerArn": "arn:lb", "port": 443}
    record = {"name": "api", "aliases": [{"name": "lb.example"}]}
    reads = {"loadBalancerArn": ("lb",)}

    def side(internal: bool) -> dict[str, Node]:
        return {"lb": Node("lb", LB, {**lb, "internal": internal}, {}),
                "l": Node("l", "aws:lb/listener:Listener", listener, {}, reads),
                "r": Node("r", "aws:route53/record:Record", record, {}, {"aliases[0].name": ("lb",)})}

    steps = analyse(side(False), side(True))
    assert steps["l"].replaced and [c.path for c in steps["l"].causes] == ["loadBalancerArn"]
    assert not steps["r"].replaced and steps["r"].unknown == (("aliases[0].name", "lb"),)


def test_the_program_registers_what_these_tests_cover(every_plan: list[Plan]) -> None:
    """Sanity: the plans below hold the load balancer, Helm releases and the gateway's kinds."""
    kinds = {r.inputs.get("kind") for plan in every_plan for r in plan if r.is_kubernetes_object}
    assert {"Gateway", "HTTPRoute", "TargetGroupBinding", "Job", "ConfigMap"} <= kinds
    identity = "pulumi-kubernetes: identity"
    assert kubernetes_force_new(node(obj("v1", "Namespace")), {}) == [
        (("metadata", "name"), identity), (("metadata", "namespace"), identity)]


@pytest.fixture(scope="module")
def every_plan(plans: dict[str, Plan]) -> list[Plan]:
    """Every stack, and staging with Envoy Gateway beside ingress-nginx (its kinds and chart)."""
    from tests.test_gateway import GW

    gateway = {"gateway": GW, "loadBalancer": {"weights": {"ingressNginx": 50, "envoyGateway": 50}}}
    return [*plans.values(), run_stack("all-options"), run_stack("rollouts"), run_stack("staging", gateway)]
