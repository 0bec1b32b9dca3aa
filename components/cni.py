"""Whether the cluster enforces the NetworkPolicies a stack creates, read before anything changes.

On EKS the policies are enforced by the VPC CNI only when its network policy support is on, and it
ships off: without it every NetworkPolicy is stored and ignored, silently. So with
`networkPolicy.enforcedBy: vpc-cni` (the default) the program reads the cluster's `vpc-cni` EKS
add-on through the AWS provider (`aws.eks.get_addon`: terraform-provider-aws
internal/service/eks/addon_data_source.go, `DescribeAddon`) at every `pulumi preview` and
`pulumi up`, and stops with :class:`EnforcementError` before any resource is created or changed
when the add-on does not enforce them.

The add-on's configuration values are the `aws-vpc-cni` Helm chart's values; what decides
enforcement, each as read in aws/amazon-vpc-cni-k8s at v1.23.0
(0c65d58cf2b490014e7aa19aac172a032f4e520a), is :data:`RULES`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from config.namespace import ClusterSettings

ADDON = "vpc-cni"
GET_ADDON = "aws:eks/getAddon:getAddon"
VPC_CNI = "aws/amazon-vpc-cni-k8s"
VPC_CNI_TAG = "v1.23.0"


@dataclass(frozen=True)
class Rule:
    """One condition of enforcement, and where it was read."""

    key: str
    rule: str
    path: str


RULES: tuple[Rule, ...] = (
    Rule(
        "enableNetworkPolicy",
        'must be "true": the default is "false"; the chart passes it to the node agent '
        "(`--enable-network-policy`) and to the network policy controller's ConfigMap "
        "(`enable-network-policy-controller`)",
        "charts/aws-vpc-cni/values.yaml; templates/daemonset.yaml; templates/configmap.yaml",
    ),
    Rule(
        "nodeAgent.enabled",
        "must not be false (the default is true): without it the `aws-eks-nodeagent` container, which "
        "enforces the policies on each node, is not in the `aws-node` pods",
        "charts/aws-vpc-cni/values.yaml; templates/daemonset.yaml",
    ),
    Rule(
        "addonVersion",
        "must be v1.14.0 or later: network policy support arrived in v1.14.0",
        "CHANGELOG.md (v1.14.0: introduces Kubernetes Network Policy support)",
    ),
)
MINIMUM_VERSION = (1, 14, 0)


class EnforcementError(pulumi.RunError):
    """The cluster would store the stack's NetworkPolicies and not enforce them."""


def _version(text: str) -> tuple[int, int, int] | None:
    found = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", text)
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def enforcement_problems(version: str, configuration: str | None) -> list[str]:
    """What keeps an add-on at ``version`` with ``configuration`` (its configuration values, JSON or
    YAML as EKS stores them) from enforcing NetworkPolicies; empty when it enforces them."""
    try:
        values: Any = yaml.safe_load(configuration or "") or {}
    except yaml.YAMLError:
        values = None
    if not isinstance(values, dict):
        return ["its configuration values are not a mapping (JSON or YAML), so enableNetworkPolicy cannot be read"]
    problems = []
    enabled = values.get("enableNetworkPolicy")
    if enabled not in ("true", True):
        shown = "not set" if enabled is None else json.dumps(enabled, default=str)
        problems.append(f'enableNetworkPolicy is {shown} (the default is "false"); it must be "true"')
    node_agent = values.get("nodeAgent")
    if isinstance(node_agent, dict) and node_agent.get("enabled") in (False, "false"):
        problems.append("nodeAgent.enabled is false: no node agent runs to enforce the policies")
    parsed = _version(version)
    if parsed is None or parsed < MINIMUM_VERSION:
        problems.append(f"version {version or '(none)'} is before v1.14.0, which brought network policy support")
    return problems


def _advice(cluster: ClusterSettings) -> str:
    return (
        f'Turn it on: add "enableNetworkPolicy": "true" to the add-on\'s configuration values (`aws eks '
        f"update-addon --cluster-name {cluster.name} --region {cluster.region} --addon-name {ADDON} "
        "--configuration-values '<its current values with \"enableNetworkPolicy\": \"true\">'`; the values "
        "replace the old ones whole), or, if another CNI enforces NetworkPolicies in this cluster, set "
        "networkPolicy.enforcedBy: other."
    )


def check_enforcement(cluster: ClusterSettings, provider: pulumi.ProviderResource) -> None:
    """Read the cluster's `vpc-cni` add-on and raise :class:`EnforcementError` unless it enforces
    NetworkPolicies (see :func:`enforcement_problems`)."""
    from pulumi_aws.eks import get_addon

    where = f"the {ADDON} add-on of EKS cluster {cluster.name} ({cluster.region})"
    try:
        addon = get_addon(addon_name=ADDON, cluster_name=cluster.name, opts=pulumi.InvokeOptions(provider=provider))
    except Exception as error:  # the provider's error, whatever it is, is the message
        raise EnforcementError(
            f"NetworkPolicies: could not read {where}: {error}. The stack's NetworkPolicies are enforced only when "
            "the VPC CNI's network policy support is on, so the run stops here. The role needs "
            f"eks:DescribeAddon on the add-on; if the VPC CNI is not installed as an EKS add-on (or another CNI "
            "enforces NetworkPolicies), set networkPolicy.enforcedBy: other and check enforcement yourself."
        ) from None
    problems = enforcement_problems(addon.addon_version or "", addon.configuration_values)
    if problems:
        raise EnforcementError(
            f"NetworkPolicies: {where} does not enforce them, so every policy this stack creates would be stored "
            f"and ignored: {'; '.join(problems)}. {_advice(cluster)}"
        )
