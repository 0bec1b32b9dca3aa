"""Settings of network isolation in the app namespace (Kubernetes NetworkPolicies).

Ingress is denied by default and opened only from the ingress-nginx controller (to the serving
ports) and from the monitoring namespace (to the backend's metrics). Egress is denied by default
and opened for DNS, the data stores, HTTPS where the backend needs it, and the Kubernetes API for
the schedule pods. Needs a CNI that enforces NetworkPolicies (on EKS: the VPC CNI with network
policy support enabled), which the program reads at every preview and update (`enforcedBy`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import Cidr, DnsLabel, Model, Port

LabelMap = dict[Annotated[str, Field(min_length=1, max_length=253)], Annotated[str, Field(max_length=63)]]


class DataStore(Model):
    name: DnsLabel = Field(description="What it is, for the policy and the reader (e.g. `postgres`).")
    cidr: Cidr = Field(description="Where it is: a subnet or a /32.")
    ports: list[Port] = Field(min_length=1, description="TCP ports the backend may open to it.")


class NetworkPolicySettings(Model):
    enabled: bool = Field(True, description="Deny by default in the app namespace and allow only the paths below.")
    enforced_by: Literal["vpc-cni", "other"] = Field(
        "vpc-cni",
        description="What enforces the policies. `vpc-cni`: the cluster's `vpc-cni` EKS add-on, read at every "
        "`pulumi preview` and `pulumi up` (`eks:DescribeAddon`); the run stops before any change when its network "
        "policy support is off (`enableNetworkPolicy` not `\"true\"`, the node agent disabled, or a version before "
        "v1.14.0), because every policy would be stored and ignored. `other`: another CNI (Calico, Cilium) "
        "enforces them; nothing is read, and checking it stays with you.",
    )
    dns_namespace: DnsLabel = Field("kube-system", description="Namespace of the cluster DNS.")
    dns_pod_labels: LabelMap = Field({"k8s-app": "kube-dns"}, description="Labels of the cluster DNS pods.")
    data_stores: list[DataStore] = Field(
        default_factory=list, description="Databases and caches the backend (and its migration) may reach."
    )
    backend_https_cidrs: list[Cidr] = Field(
        ["0.0.0.0/0"],
        description="Where the backend may open HTTPS (443) connections, e.g. the Discord API. `[]`: nowhere. "
        "The VPC (`cluster.vpcCidr`) and link-local addresses (instance metadata, the EKS Pod Identity "
        "agent) are always cut out of these ranges: name in-VPC destinations in `dataStores`. To narrow "
        "the internet by domain, see docs/security.md (egress proxy, AWS Network Firewall).",
    )
    api_server_cidrs: list[Cidr] = Field(
        min_length=1,
        description="The Kubernetes API server as pods reach it: the ClusterIP of the `kubernetes` Service "
        "(`default` namespace) as a /32, because the VPC CNI enforces egress before kube-proxy translates "
        "it, and the API endpoint's private addresses (the control plane's network interfaces in the "
        "cluster subnets). Only the schedule pods, the ingress controller and its admission-webhook jobs "
        "may reach them, on 443.",
    )
    control_plane_cidrs: list[Cidr] = Field(
        min_length=1,
        description="Where the control plane's calls to admission webhooks come from: the CIDRs of the "
        "subnets given to the EKS cluster, where EKS places its control-plane network interfaces. Only "
        "they reach the ingress controller's admission webhook (8443).",
    )
