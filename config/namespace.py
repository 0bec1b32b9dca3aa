"""Settings of the app namespace baseline and of the cluster this program deploys into."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Cidr, DnsLabel, Model, PositiveInt, Problems, Quantity, matching
from .workload import ResourceAmounts

KubernetesVersion = Annotated[
    str,
    matching(r"^1\.(3[0-9]|[4-9][0-9])$", 'a Kubernetes minor version such as "1.34" (1.30 or later)'),
]


class ResourceQuota(Model):
    """Namespace totals. Guide: 'Set namespace quotas — Prevent runaway scaling — Control costs'."""

    requests: ResourceAmounts = Field(
        ResourceAmounts(cpu="10", memory="12Gi"), description="`requests.cpu` / `requests.memory` hard limits."
    )
    limits: ResourceAmounts = Field(
        ResourceAmounts(cpu="20", memory="24Gi"), description="`limits.cpu` / `limits.memory` hard limits."
    )
    pods: PositiveInt | None = Field(40, description="Hard limit on the number of pods.")


class LimitRange(Model):
    """Container defaults and bounds, so a pod without requests still counts against the quota."""

    default_request: ResourceAmounts = Field(
        ResourceAmounts(cpu="100m", memory="128Mi"), description="Request given to containers that set none."
    )
    default: ResourceAmounts = Field(
        ResourceAmounts(cpu="500m", memory="256Mi"), description="Limit given to containers that set none."
    )
    max: ResourceAmounts = Field(
        ResourceAmounts(cpu="2", memory="2Gi"), description="Largest limit a container may set."
    )

    def container_defaults(self, resource: str) -> tuple[Decimal | None, Decimal | None]:
        """The (request, limit) of ``resource`` the LimitRanger gives a container that sets neither:
        a missing default limit is max, a missing default request the default limit
        (SetDefaults_LimitRangeItem, kubernetes/kubernetes pkg/apis/core/v1/defaults.go @ v1.34.0)."""
        limit = self.default.value(resource)
        if limit is None:
            limit = self.max.value(resource)
        request = self.default_request.value(resource)
        return (limit if request is None else request), limit

    @model_validator(mode="after")
    def _ordered(self) -> LimitRange:
        problems = Problems()
        for resource in ("cpu", "memory"):
            request, limit, ceiling = (
                self.default_request.value(resource),
                self.default.value(resource),
                self.max.value(resource),
            )
            if request is not None and limit is not None and request > limit:
                problems.add(
                    ("defaultRequest", resource),
                    getattr(self.default_request, resource),
                    f"must not exceed default.{resource} ({getattr(self.default, resource)})",
                )
            # ValidateLimitRange (kubernetes/kubernetes pkg/apis/core/validation/validation.go @ v1.34.0)
            # compares defaultRequest with max on its own, so it holds when default is unset too.
            if request is not None and ceiling is not None and request > ceiling:
                problems.add(
                    ("defaultRequest", resource),
                    getattr(self.default_request, resource),
                    f"must not exceed max.{resource} ({getattr(self.max, resource)})",
                )
            if limit is not None and ceiling is not None and limit > ceiling:
                problems.add(
                    ("default", resource),
                    getattr(self.default, resource),
                    f"must not exceed max.{resource} ({getattr(self.max, resource)})",
                )
        problems.raise_if_any("LimitRange")
        return self


class NamespaceSettings(Model):
    name: DnsLabel = Field("spywatcher", description="Namespace of the app (guide: `-n spywatcher`).")
    pod_security: Literal["restricted", "baseline"] = Field(
        "restricted",
        description="Pod Security Admission level, enforced, audited and warned at the cluster's version.",
    )
    resource_quota: ResourceQuota | None = Field(
        ResourceQuota(), description="ResourceQuota; must fit every workload at maxReplicas plus surge. `null`: none."
    )
    limit_range: LimitRange | None = Field(LimitRange(), description="LimitRange for containers. `null`: none.")


# "If you don't specify a block, Kubernetes assigns addresses from either the 10.100.0.0/16 or
# 172.20.0.0/16 CIDR blocks" (Amazon EKS API reference, KubernetesNetworkConfigRequest.serviceIpv4Cidr).
EKS_DEFAULT_SERVICE_CIDRS = ("10.100.0.0/16", "172.20.0.0/16")


class LoadBalancerController(Model):
    """What the stack relies on in the cluster's AWS Load Balancer Controller (installed separately)."""

    pod_mutator_failure_policy: Literal["Fail", "Ignore"] = Field(
        "Ignore",
        description="The `failurePolicy` of its pod-mutating webhook, which adds the target-health readiness "
        "gate (chart value `podMutatorWebhookConfig.failurePolicy`; `Ignore` by default since v2.11). With "
        "`Ignore`, a pod created while the controller is down gets no gate and a rollout can remove the last "
        "healthy target; `Fail` holds such pods back until it is up. State what the cluster runs: the "
        "zero-downtime model (`make downtime`) checks the stack against it.",
    )


class ClusterSettings(Model):
    """The EKS cluster is a prerequisite this program reads, not one it creates."""

    name: Annotated[
        str,
        matching(
            r"^[0-9A-Za-z][A-Za-z0-9_-]*$",
            "an EKS cluster name: letters, digits, - and _, starting with a letter or digit",
            min_length=1,
            max_length=100,
        ),
    ] = Field(description="EKS cluster name.")
    kubernetes_version: KubernetesVersion = Field(
        "1.34",
        description="Kubernetes minor version of the cluster (1.30 or later): the schemas rendered "
        "objects are checked against and the Pod Security version.",
    )
    region: Annotated[str, matching(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", "an AWS region such as us-east-1")] = Field(
        description="AWS region of the cluster and of the load balancer."
    )
    vpc_id: Annotated[str, matching(r"^vpc-[0-9a-f]{8,17}$", "a VPC id such as vpc-0a1b2c3d4e5f60000")] = Field(
        description="VPC of the cluster."
    )
    vpc_cidr: Cidr = Field(
        description="The VPC's CIDR: the load balancer's only egress; cut out of the backend's internet egress, "
        "and contains `loadBalancer.subnetCidrs`."
    )
    service_cidr: Cidr | None = Field(
        None,
        description="The cluster's Service CIDR (`aws eks describe-cluster --query "
        "cluster.kubernetesNetworkConfig.serviceIpv4Cidr`): every ClusterIP, the Kubernetes API's included. "
        "Cut out of the backend's internet egress, because the VPC CNI checks egress before kube-proxy "
        "translates a ClusterIP. `null`: both blocks EKS picks from when none was given at creation "
        "(10.100.0.0/16 and 172.20.0.0/16) are cut out.",
    )
    load_balancer_controller: LoadBalancerController = Field(
        LoadBalancerController(), description="The cluster's AWS Load Balancer Controller, as the stack relies on it."
    )
    context: Annotated[str, Field(min_length=1, max_length=253)] | None = Field(
        None,
        description="Context of the local kubeconfig to deploy with (`make kubeconfig` names it by the "
        "cluster's ARN). Alternatively set the whole kubeconfig as the secret `spywatcher:kubeconfig`: then "
        "its current context is used and this key is ignored.",
    )

    @model_validator(mode="after")
    def _service_cidr(self) -> ClusterSettings:
        # The EKS API's rules for serviceIpv4Cidr (API reference, KubernetesNetworkConfigRequest).
        problems = Problems()
        if self.service_cidr is not None:
            block = ipaddress.ip_network(self.service_cidr)
            private = [ipaddress.ip_network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
            if block.version != 4 or not any(block.subnet_of(p) for p in private):  # type: ignore[arg-type]
                problems.add(("serviceCidr",), self.service_cidr,
                             "must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (EKS allows no other)")
            elif not 12 <= block.prefixlen <= 24:
                problems.add(("serviceCidr",), self.service_cidr, "must be between /12 and /24 (EKS allows no other)")
            elif block.overlaps(ipaddress.ip_network(self.vpc_cidr)):
                problems.add(("serviceCidr",), self.service_cidr,
                             f"must not overlap cluster.vpcCidr ({self.vpc_cidr}); EKS refuses it")
        problems.raise_if_any("ClusterSettings")
        return self

    @property
    def service_cidrs(self) -> tuple[str, ...]:
        """The Service CIDR, or both blocks EKS may have picked when none was set."""
        return (self.service_cidr,) if self.service_cidr is not None else EKS_DEFAULT_SERVICE_CIDRS


__all__ = ["ClusterSettings", "LimitRange", "LoadBalancerController", "NamespaceSettings", "Quantity", "ResourceQuota"]
