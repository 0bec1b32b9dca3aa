"""What a provider would compute for a resource or an invoke, as the offline mocks answer it.

Only the outputs the program reads are modelled (ARNs, DNS names, zone ids); everything else
echoes the inputs. Values are deterministic, so two renders of one commit are identical.
"""

from __future__ import annotations

import hashlib
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
# The canonical hosted zone of application/network load balancers in us-east-1.
ELB_ZONE = {"application": "Z35SXDOTRQ7X7K", "network": "Z26RNL4JYFTOTI"}


def _suffix(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


AUTO_NAMED = {
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:ec2/securityGroup:SecurityGroup",
}


def auto_name(name: str) -> str:
    """Pulumi's auto-name of a resource without a `name`: the logical name, `-`, 7 hex characters
    (random for real; derived from the name here, so renders stay deterministic)."""
    return f"{name}-{_suffix(name)[:7]}"


def computed_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    physical = inputs.get("name") or auto_name(name)
    named = {"name": physical} if type_ in AUTO_NAMED else {}
    if type_ == "aws:lb/loadBalancer:LoadBalancer":
        kind = inputs.get("loadBalancerType", "application")
        short = "app" if kind == "application" else "net"
        return named | {
            "arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/{short}/{physical}/{_suffix(name)}",
            "arnSuffix": f"{short}/{physical}/{_suffix(name)}",
            "dnsName": f"{physical}-{_suffix(name)[:10]}.elb.{REGION}.amazonaws.com",
            "zoneId": ELB_ZONE[kind],
        }
    if type_ == "aws:lb/targetGroup:TargetGroup":
        return named | {
            "arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{physical}/{_suffix(name)}",
            "arnSuffix": f"targetgroup/{physical}/{_suffix(name)}",
        }
    if type_ == "aws:lb/listener:Listener":
        return {"arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/{_suffix(name)}"}
    if type_ == "aws:wafv2/webAcl:WebAcl":
        acl = inputs.get("name") or auto_name(name)
        return {
            "name": acl,
            "arn": f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/{acl}/{_suffix(name)}",
        }
    if type_ == "aws:ec2/securityGroup:SecurityGroup":
        group = f"sg-{_suffix(name)}"
        return named | {"id": group, "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group}"}
    if type_ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or auto_name(name)
        return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "id": bucket}
    if type_ == "aws:cloudwatch/logGroup:LogGroup":
        group = inputs.get("name") or auto_name(name)
        return {"arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"}
    if type_ == "aws:kms/key:Key":
        h = _suffix(name)
        key = f"{h[:8]}-{h[8:12]}-4{h[12:15]}-8{h[1:4]}-{h[:12]}"
        return {"arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}", "keyId": key}
    if type_ == "aws:sns/topic:Topic":
        return {"arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{inputs.get('name', name)}"}
    return {}


# Invokes the program makes, as AWS answers them for this account in us-east-1 (the ELB account of
# us-east-1 is 127311923021: Elastic Load Balancing user guide, "Enable access logs").
CALLS: dict[str, dict[str, Any]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": {
        "accountId": ACCOUNT, "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/spywatcher-ci/deploy",
        "userId": "AROAEXAMPLE", "id": ACCOUNT,
    },
    "aws:elb/getServiceAccount:getServiceAccount": {"arn": "arn:aws:iam::127311923021:root", "id": "127311923021"},
}
# The `vpc-cni` EKS add-on of a cluster set up as `make prerequisites` asks: network policy support on.
VPC_CNI_ADDON = {"addonVersion": "v1.20.4-eksbuild.1", "configurationValues": '{"enableNetworkPolicy":"true"}'}


def call_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    if token == "aws:eks/getAddon:getAddon":
        cluster, addon = args["clusterName"], args["addonName"]
        return {"addonName": addon, "clusterName": cluster, "id": f"{cluster}:{addon}", **VPC_CNI_ADDON}
    return dict(CALLS.get(token, {}))
