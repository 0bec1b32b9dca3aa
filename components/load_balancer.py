"""The AWS load balancer in front of ingress-nginx: security group, load balancer, target group,
listeners and optional Route53 aliases.

The target group has target type `ip`: the AWS Load Balancer Controller registers the ingress-nginx
controller pods in it (a TargetGroupBinding, see ``ingress_controller.py``), so traffic goes from
the load balancer straight to the pods, and the pods' readiness gates wait for healthy targets.
Builders return the keyword arguments of each pulumi_aws resource; the component registers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_aws import cloudwatch, ec2, elb, get_caller_identity_output, lb, route53, s3, vpc, wafv2

from config.traffic import LoadBalancerSettings

from .edge_logs import (
    access_log_prefix,
    bucket_policy,
    build_bucket_args,
    build_lifecycle_args,
    build_public_access_block_args,
    build_waf_log_group_args,
    build_waf_logging_args,
)
from .k8s import child_opts

# ingress-nginx serves plain HTTP on this container port; TLS ends at the load balancer.
CONTROLLER_HTTP_PORT = 80


@dataclass(frozen=True)
class LoadBalancerArgs:
    settings: LoadBalancerSettings
    vpc_id: str
    vpc_cidr: str
    hosts: tuple[str, ...]
    tags: tuple[tuple[str, str], ...] = ()
    # What the AWS console shows in the `Name` tag (the physical names are Pulumi's auto-names).
    label: str = "spywatcher"
    nginx: bool = True  # ingress-nginx is a backend: its target group exists
    gateway_port: int | None = None  # Envoy Gateway is a backend: its proxies' container port
    # The canary's header and the client addresses that may send it (the canary is enabled).
    canary_header: str | None = None
    canary_header_cidrs: tuple[str, ...] = ()

    @property
    def alb(self) -> bool:
        return self.settings.type == "application"

    def tag_map(self, name: str) -> dict[str, str]:
        return {**dict(self.tags), "Name": name}

    def backends(self) -> list[str]:
        """The target groups there are: `nginx`, `envoy` or both."""
        return [b for b, on in (("nginx", self.nginx), ("envoy", self.gateway_port is not None)) if on]

    def weight(self, backend: str) -> int:
        """Percent of requests the listener sends to a backend's target group."""
        if backend not in self.backends():
            return 0
        weights = self.settings.weights
        if weights is None or len(self.backends()) == 1:
            return 100
        return weights.ingress_nginx if backend == "nginx" else weights.envoy_gateway


def build_security_group_args(args: LoadBalancerArgs) -> dict[str, Any]:
    """No `name`: Pulumi auto-names the group, so a replacement (a new VPC) creates the new group
    before deleting the old one without a name clash. The description forces a replacement too, so
    it is constant."""
    return {
        "description": "spywatcher: clients to the load balancer, load balancer to ingress-nginx pods",
        "vpc_id": args.vpc_id,
        "revoke_rules_on_delete": True,
        "tags": args.tag_map(f"{args.label}-lb"),
    }


def listener_ports(args: LoadBalancerArgs) -> list[int]:
    """Ports clients reach: 80 (redirected to 443) and 443 on an ALB; 443 only on an NLB, which
    cannot redirect."""
    return [80, 443] if args.alb else [443]


def build_ingress_rule_args(args: LoadBalancerArgs) -> dict[str, dict[str, Any]]:
    """One ingress rule per (listener port, allowed CIDR), keyed by a stable name."""
    rules = {}
    for port in listener_ports(args):
        for cidr in args.settings.allowed_cidrs:
            key = f"{port}-{cidr.replace('/', '-').replace(':', '-').replace('.', '-')}"
            family = "cidr_ipv6" if ":" in cidr else "cidr_ipv4"
            rules[key] = {
                family: cidr,
                "from_port": port,
                "to_port": port,
                "ip_protocol": "tcp",
                "description": f"clients to port {port}",
            }
    return rules


def build_egress_rule_args(args: LoadBalancerArgs) -> dict[str, Any]:
    """The load balancer may only reach the controller pods' HTTP port inside the VPC (traffic and
    health checks)."""
    return {
        "cidr_ipv4": args.vpc_cidr,
        "from_port": CONTROLLER_HTTP_PORT,
        "to_port": CONTROLLER_HTTP_PORT,
        "ip_protocol": "tcp",
        "description": "to ingress-nginx pods (traffic and health checks)",
    }


def build_gateway_egress_rule_args(args: LoadBalancerArgs) -> dict[str, Any] | None:
    """With Envoy Gateway on, the load balancer may also reach the proxies' container port."""
    if args.gateway_port is None:
        return None
    return {
        "cidr_ipv4": args.vpc_cidr,
        "from_port": args.gateway_port,
        "to_port": args.gateway_port,
        "ip_protocol": "tcp",
        "description": "to Envoy Gateway proxy pods (traffic and health checks)",
    }


def build_load_balancer_args(args: LoadBalancerArgs) -> dict[str, Any]:
    s = args.settings
    result: dict[str, Any] = {
        "load_balancer_type": s.type,
        "internal": s.internal,
        "subnets": list(s.subnet_ids),
        "ip_address_type": "ipv4",
        "enable_deletion_protection": s.deletion_protection,
        # An NLB has cross-zone load balancing off unless it is set. An ALB always has it on: the
        # provider never sends this attribute for one ("it must always be true", terraform-provider-aws
        # internal/service/elbv2/load_balancer.go), so it states true, and `crossZone: false` turns it
        # off where an ALB can, on its target groups.
        "enable_cross_zone_load_balancing": True if args.alb else s.cross_zone,
        "tags": args.tag_map(s.name or args.label),
    }
    if s.name is not None:  # pinned by the user; otherwise Pulumi names it
        result["name"] = s.name
    if args.alb:
        result.update(
            enable_http2=s.enable_http2,
            idle_timeout=s.idle_timeout_seconds,
            drop_invalid_header_fields=s.drop_invalid_header_fields,
            desync_mitigation_mode="defensive",
        )
    return result


def build_target_group_args(args: LoadBalancerArgs) -> dict[str, Any]:
    s = args.settings
    check = s.health_check
    # No `name`: Pulumi auto-names it, so a change that replaces it (type, VPC, protocol) creates the
    # new target group before deleting the old one, and the binding follows (see ingress_controller).
    result: dict[str, Any] = {
        "target_type": "ip",
        "port": CONTROLLER_HTTP_PORT,
        "protocol": "HTTP" if args.alb else "TCP",
        "vpc_id": args.vpc_id,
        "deregistration_delay": s.deregistration_delay_seconds,
        "load_balancing_cross_zone_enabled": "true" if s.cross_zone else "false",
        "health_check": {
            "enabled": True,
            "protocol": "HTTP",
            "port": "traffic-port",
            "path": check.path,
            "interval": check.interval_seconds,
            "timeout": check.timeout_seconds,
            "healthy_threshold": check.healthy_threshold,
            "unhealthy_threshold": check.unhealthy_threshold,
            "matcher": check.matcher,
        },
        "tags": args.tag_map(f"{args.label}-nginx"),
    }
    if args.alb:
        result["protocol_version"] = "HTTP1"
    else:
        # An NLB passes the client address to nginx in a proxy protocol v2 header (health checks
        # carry it too), so nginx must read it: `use-proxy-protocol` in the controller ConfigMap.
        result["proxy_protocol_v2"] = True
        # A deregistered target keeps its open connections past the delay: nginx closes them itself
        # once it quits (idle ones at once, busy ones after their request). An NLB that reset them at
        # the end of the delay would cut the requests nginx still takes on them until then, since it
        # serves past the delay for as long as the NLB may open new connections (make downtime).
        result["connection_termination"] = False
    return result


def build_gateway_target_group_args(args: LoadBalancerArgs) -> dict[str, Any] | None:
    """The Envoy proxies' target group: the same health check and draining as ingress-nginx's, on
    the port the proxy container really listens on."""
    if args.gateway_port is None:
        return None
    result = build_target_group_args(args)
    result.update(port=args.gateway_port, tags=args.tag_map(f"{args.label}-envoy"))
    return result


def build_forward_action(args: LoadBalancerArgs, arns: dict[str, Any]) -> dict[str, Any]:
    """The HTTPS listener's forward action: to the one target group there is, or, with both
    backends on, to both with the configured weights and target-group stickiness, so a client stays
    on the data plane that holds its Socket.IO session and affinity cookie. Changing a weight
    updates this action in place."""
    if len(arns) == 1:
        return {"type": "forward", "target_group_arn": next(iter(arns.values()))}
    return {
        "type": "forward",
        "forward": {
            "target_groups": [{"arn": arns[b], "weight": args.weight(b)} for b in args.backends()],
            "stickiness": {"enabled": True, "duration": args.settings.stickiness_seconds},
        },
    }


def build_listener_args(args: LoadBalancerArgs) -> dict[str, dict[str, Any]]:
    """Listener arguments by port; ``load_balancer_arn`` and ``target_group_arn`` are filled in by
    the component."""
    s = args.settings
    listeners: dict[str, dict[str, Any]] = {}
    if args.alb:
        listeners["http"] = {
            "port": 80,
            "protocol": "HTTP",
            "default_actions": [
                {"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}
            ],
        }
    listeners["https"] = {
        "port": 443,
        "protocol": "HTTPS" if args.alb else "TLS",
        "ssl_policy": s.ssl_policy,
        "certificate_arn": s.certificate.arn,
        "default_actions": [{"type": "forward"}],
    }
    if args.alb and s.hsts is not None:
        # TLS ends here, so nginx never sends HSTS; the ALB adds it to every HTTPS response.
        listeners["https"]["routing_http_response_strict_transport_security_header_value"] = s.hsts
    return listeners


def build_canary_gate_rules(args: LoadBalancerArgs) -> dict[str, dict[str, Any]]:
    """HTTPS listener rules that let only `canary.headerSourceCidrs` choose the canary by header: a
    request with the header from those addresses is forwarded as usual (the `forward` action is
    filled in by the component), any other request with it is answered 403. The header's value is
    not matched (`*`): the controllers read `always` and `never`."""
    if args.canary_header is None or not args.alb:
        return {}
    header = {"http_header": {"http_header_name": args.canary_header, "values": ["*"]}}
    return {
        "canary-allowed": {
            "priority": 1,
            "conditions": [header, {"source_ip": {"values": list(args.canary_header_cidrs)}}],
            "actions": [{"type": "forward"}],
        },
        "canary-refused": {
            "priority": 2,
            "conditions": [header],
            "actions": [{
                "type": "fixed-response",
                "fixed_response": {
                    "content_type": "text/plain",
                    "status_code": "403",
                    "message_body": f"{args.canary_header} is not accepted from this address\n",
                },
            }],
        },
    }


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def build_web_acl_args(args: LoadBalancerArgs) -> dict[str, Any] | None:
    """The ALB's WAFv2 web ACL: a rate limit per client address first (unauthenticated clients
    holding WebSockets could otherwise keep the backend at its maximum), then the AWS managed rule
    groups. Requests that no rule blocks are allowed."""
    s = args.settings
    if not s.waf_on():
        return None
    waf, label = s.waf, args.label
    rules: list[dict[str, Any]] = [
        {
            "name": "rate-limit-per-client",
            "priority": 0,
            "action": {"block": {}},
            "statement": {
                "rate_based_statement": {
                    # The ALB is the first hop: the connection's source address is the client's.
                    "aggregate_key_type": "IP",
                    "limit": waf.rate_limit,
                    "evaluation_window_sec": waf.evaluation_window_seconds,
                }
            },
            "visibility_config": _visibility(f"{label}-rate-limit"),
        }
    ]
    for index, group in enumerate(waf.managed_rule_groups, start=1):
        statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
        if waf.count_only_rules:
            statement["rule_action_overrides"] = [
                {"name": rule, "action_to_use": {"count": {}}} for rule in waf.count_only_rules
            ]
        rules.append(
            {
                "name": group,
                "priority": index,
                "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": statement},
                "visibility_config": _visibility(f"{label}-{group}"),
            }
        )
    return {
        "description": f"{label}: rate limit per client and AWS managed rules in front of ingress-nginx",
        "scope": "REGIONAL",
        "default_action": {"allow": {}},
        "rules": rules,
        "visibility_config": _visibility(label),
        "tags": args.tag_map(label),
    }


class LoadBalancer(pulumi.ComponentResource):
    """The internet-facing ALB (or NLB) whose targets are the ingress-nginx controller pods."""

    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    arn: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    target_group_arns: dict[str, pulumi.Output[str]]
    target_group_arn_suffixes: dict[str, pulumi.Output[str]]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:loadbalancer:LoadBalancer", name, None, opts)
        protect = args.settings.protect
        group = ec2.SecurityGroup(f"{name}-sg", **build_security_group_args(args), opts=child_opts(self, opts))
        for key, rule in build_ingress_rule_args(args).items():
            vpc.SecurityGroupIngressRule(
                f"{name}-in-{key}", security_group_id=group.id, **rule, opts=child_opts(self, opts)
            )
        if args.nginx:
            vpc.SecurityGroupEgressRule(
                f"{name}-out-controller",
                security_group_id=group.id,
                **build_egress_rule_args(args),
                opts=child_opts(self, opts),
            )
        gateway_egress = build_gateway_egress_rule_args(args)
        if gateway_egress is not None:
            vpc.SecurityGroupEgressRule(
                f"{name}-out-gateway", security_group_id=group.id, **gateway_egress, opts=child_opts(self, opts)
            )
        log_args: dict[str, Any] = {}
        log_ready: list[pulumi.Resource] = []
        if args.alb and args.settings.access_logs.enabled:
            bucket, bucket_policy_resource = self._access_log_bucket(name, args, opts)
            log_args["access_logs"] = {
                "bucket": bucket.bucket, "enabled": True, "prefix": access_log_prefix(args.label)}
            # ELB checks that it may write to the bucket when access logs are turned on.
            log_ready.append(bucket_policy_resource)
        # A pinned name cannot be taken twice: its replacement deletes the old load balancer first.
        balancer = lb.LoadBalancer(
            name,
            security_groups=[group.id],
            **build_load_balancer_args(args),
            **log_args,
            opts=child_opts(
                self, opts, protect=protect, delete_before_replace=args.settings.name is not None, depends_on=log_ready
            ),
        )
        # A target group whose weight is 0 is not protected, so the last step of a migration (turning
        # that backend off) can delete it.
        groups: dict[str, lb.TargetGroup] = {}
        if args.nginx:
            groups["nginx"] = lb.TargetGroup(
                f"{name}-nginx",
                **build_target_group_args(args),
                opts=child_opts(self, opts, protect=protect and args.weight("nginx") > 0),
            )
        gateway_group = build_gateway_target_group_args(args)
        if gateway_group is not None:
            groups["envoy"] = lb.TargetGroup(
                f"{name}-envoy",
                **gateway_group,
                opts=child_opts(self, opts, protect=protect and args.weight("envoy") > 0),
            )
        forward = build_forward_action(args, {b: g.arn for b, g in groups.items()})
        https = None
        for key, listener in build_listener_args(args).items():
            actions = [forward if a["type"] == "forward" else a for a in listener["default_actions"]]
            created = lb.Listener(
                f"{name}-{key}",
                load_balancer_arn=balancer.arn,
                **{**listener, "default_actions": actions},
                opts=child_opts(self, opts),
            )
            if key == "https":
                https = created
        assert https is not None
        for key, rule in build_canary_gate_rules(args).items():
            actions = [forward if a["type"] == "forward" else a for a in rule["actions"]]
            lb.ListenerRule(
                f"{name}-{key}",
                listener_arn=https.arn,
                **{**rule, "actions": actions},
                opts=child_opts(self, opts),
            )
        for index, certificate in enumerate(args.settings.additional_certificates):
            lb.ListenerCertificate(
                f"{name}-certificate-{index}",
                listener_arn=https.arn,
                certificate_arn=certificate.arn,
                opts=child_opts(self, opts),
            )
        acl_args = build_web_acl_args(args)
        if acl_args is not None:
            acl = wafv2.WebAcl(f"{name}-waf", **acl_args, opts=child_opts(self, opts))
            wafv2.WebAclAssociation(
                f"{name}-waf", resource_arn=balancer.arn, web_acl_arn=acl.arn, opts=child_opts(self, opts)
            )
            waf_logs = args.settings.waf.logging
            if waf_logs.enabled:
                log_group = cloudwatch.LogGroup(
                    f"{name}-waf-logs",
                    **build_waf_log_group_args(args.label, waf_logs.retention_days, args.tag_map(args.label)),
                    opts=child_opts(self, opts),
                )
                wafv2.WebAclLoggingConfiguration(
                    f"{name}-waf-logs",
                    resource_arn=acl.arn,
                    log_destination_configs=[log_group.arn],
                    **build_waf_logging_args(),
                    opts=child_opts(self, opts),
                )
        if args.settings.route53_zone_id:
            for host in args.hosts:
                route53.Record(
                    f"{name}-{host}",
                    zone_id=args.settings.route53_zone_id,
                    name=host,
                    type="A",
                    aliases=[{"name": balancer.dns_name, "zone_id": balancer.zone_id, "evaluate_target_health": True}],
                    opts=child_opts(self, opts),
                )
        self.dns_name = balancer.dns_name
        self.zone_id = balancer.zone_id
        self.arn = balancer.arn
        self.arn_suffix = balancer.arn_suffix  # the CloudWatch `LoadBalancer` dimension
        self.target_group_arns = {b: g.arn for b, g in groups.items()}
        # ingress-nginx's target group while it runs, else Envoy Gateway's.
        serving = groups.get("nginx") or groups["envoy"]
        self.target_group_arn = serving.arn
        # The CloudWatch `TargetGroup` dimension of each.
        self.target_group_arn_suffixes = {b: g.arn_suffix for b, g in groups.items()}
        self.security_group_id = group.id
        outputs: dict[str, Any] = {"dnsName": self.dns_name, "zoneId": self.zone_id}
        if args.nginx:
            outputs["targetGroupArn"] = self.target_group_arns["nginx"]
        if "envoy" in groups:
            outputs["gatewayTargetGroupArn"] = self.target_group_arns["envoy"]
        self.register_outputs(outputs)

    def _access_log_bucket(
        self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None
    ) -> tuple[s3.Bucket, s3.BucketPolicy]:
        """The access logs' bucket: private, expiring, written only by Elastic Load Balancing, over TLS."""
        logs = args.settings.access_logs
        # Protected like the load balancer: its logs outlive a replacement.
        bucket = s3.Bucket(
            f"{name}-logs",
            **build_bucket_args(args.label, dict(args.tags)),
            opts=child_opts(self, opts, protect=args.settings.protect),
        )
        s3.BucketPublicAccessBlock(
            f"{name}-logs", bucket=bucket.id, **build_public_access_block_args(), opts=child_opts(self, opts)
        )
        s3.BucketLifecycleConfiguration(
            f"{name}-logs", bucket=bucket.id, **build_lifecycle_args(logs.retention_days), opts=child_opts(self, opts)
        )
        invoke = pulumi.InvokeOptions(parent=self)
        elb_account = elb.get_service_account_output(opts=invoke)
        account = get_caller_identity_output(opts=invoke).account_id
        policy = pulumi.Output.all(bucket.arn, elb_account.arn, account).apply(
            lambda values: bucket_policy(values[0], values[1], values[2], args.label)
        )
        return bucket, s3.BucketPolicy(f"{name}-logs", bucket=bucket.id, policy=policy, opts=child_opts(self, opts))
