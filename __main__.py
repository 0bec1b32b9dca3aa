"""spywatcher: Spywatcher's backend and frontend on EKS, autoscaled and load balanced."""

import pulumi

from components.platform import Platform
from config import load_settings

settings = load_settings()  # a bad stack file ends the run here, before any resource exists
platform = Platform("spywatcher", settings)

pulumi.export("namespace", platform.namespace)
pulumi.export("loadBalancerDnsName", platform.load_balancer.dns_name)
pulumi.export("loadBalancerZoneId", platform.load_balancer.zone_id)
pulumi.export("targetGroupArn", platform.load_balancer.target_group_arn)
if "envoy" in platform.load_balancer.target_group_arns:  # Envoy Gateway's, while it runs (the runbooks read it)
    pulumi.export("envoyTargetGroupArn", platform.load_balancer.target_group_arns["envoy"])
pulumi.export("hosts", platform.hosts)
for component, workload in platform.workloads.items():
    pulumi.export(f"{component}Deployment", workload.deployment_name)
    pulumi.export(f"{component}Service", workload.service_name)
