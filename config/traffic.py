"""Settings of the traffic path: the AWS load balancer and the ingress-nginx controller.

client → ALB/NLB (TLS) → ingress-nginx controller pods (ip targets) → Services → pods.
Every setting is modelled where the real system reads it: keepalive, EWMA and retries in the
controller's ConfigMap, health checks and draining on the target group. The routes themselves are
the routing intent (:mod:`config.routing`); their names stay importable from here.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Cidr, DnsLabel, HttpPath, Model, PositiveInt, Problems, int32, matching
from .routing import (
    DEFAULT_ROUTES,
    ClientLimits,
    Cookie,
    Hostname,
    Retries,
    RetryCondition,
    Route,
    RoutingSettings,
    Timeouts,
)
from .workload import Resources, ScaleDownRules, ScaleUpRules, Utilization

AwsName = Annotated[
    str,
    matching(
        r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$",
        "an AWS load balancer or target group name: letters, digits and inner hyphens",
        min_length=1,
        max_length=32,
    ),
]
"""An ELB load balancer or target group name: at most 32 letters, digits and inner hyphens."""
DomainPattern = Annotated[
    str,
    matching(
        r"^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$",
        "a DNS name such as example.com or *.example.com",
        max_length=253,
    ),
]
CertificateArn = Annotated[
    str,
    matching(
        r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$",
        "an ACM certificate ARN such as arn:aws:acm:us-east-1:111122223333:certificate/<id>",
    ),
]
SubnetId = Annotated[str, matching(r"^subnet-[0-9a-f]{8,17}$", "a subnet id such as subnet-0a1b2c3d4e5f60001")]


def covers(pattern: str, host: str) -> bool:
    """Whether a certificate domain (``example.com`` or ``*.example.com``) covers ``host``.

    A wildcard covers exactly one label, as in TLS (RFC 6125): ``*.example.com`` covers
    ``api.example.com`` but neither ``example.com`` nor ``a.b.example.com``.
    """
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


# --- AWS load balancer -----------------------------------------------------------------------


class HealthCheck(Model):
    path: HttpPath = Field(
        "/health/live",
        description="Guide: 'Path: /health/live'. ingress-nginx answers it itself on the traffic port "
        "(its health-check path), so the check proves the controller pod serves.",
    )
    interval_seconds: Annotated[int, int32(ge=5, le=300)] = Field(
        30, description="Guide: 'Interval: 30s' (AWS: 5-300)."
    )
    timeout_seconds: Annotated[int, int32(ge=2, le=120)] = Field(
        5, description="Guide: 'Timeout: 5s' (AWS: 2-120, shorter than the interval)."
    )
    healthy_threshold: Annotated[int, int32(ge=2, le=10)] = Field(
        2, description="Guide: 'Healthy Threshold: 2' consecutive successes (AWS: 2-10)."
    )
    unhealthy_threshold: Annotated[int, int32(ge=2, le=10)] = Field(
        3, description="Guide: 'Unhealthy Threshold: 3' consecutive failures (AWS: 2-10)."
    )
    matcher: Annotated[
        str,
        matching(
            r"^[2-4]\d\d(-[2-4]\d\d)?(,[2-4]\d\d(-[2-4]\d\d)?)*$", "HTTP status codes such as 200, 200-299 or 200,302"
        ),
    ] = Field("200", description="HTTP codes that count as healthy.")

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheck:
        problems = Problems()
        if self.timeout_seconds >= self.interval_seconds:
            problems.add(
                ("timeoutSeconds",),
                self.timeout_seconds,
                f"must be shorter than healthCheck.intervalSeconds ({self.interval_seconds}); AWS rejects it otherwise",
            )
        problems.raise_if_any("HealthCheck")
        return self


class Certificate(Model):
    arn: CertificateArn = Field(description="ACM certificate ARN.")
    domains: list[DomainPattern] = Field(
        min_length=1,
        description="The certificate's domain names (subject and SANs), as issued; every route host "
        "must be covered by one of them.",
    )


# CloudWatch Logs accepts only these retention periods (days), as its PutRetentionPolicy API lists them.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)


class EdgeLogs(Model):
    enabled: bool = Field(True, description="Keep these logs (`false`: none).")
    retention_days: Annotated[int, int32(ge=1, le=3653)] = Field(
        90, description="Days the logs are kept, then deleted (one of CloudWatch Logs' retention periods)."
    )

    @model_validator(mode="after")
    def _retention(self) -> EdgeLogs:
        problems = Problems()
        if self.retention_days not in LOG_RETENTION_DAYS:
            periods = ", ".join(map(str, LOG_RETENTION_DAYS))
            problems.add(("retentionDays",), self.retention_days,
                         f"must be one of {periods} (the periods CloudWatch Logs offers)")
        problems.raise_if_any("EdgeLogs")
        return self


class WafSettings(Model):
    """An AWS WAFv2 web ACL (regional) associated with the ALB: a per-client rate limit and AWS managed
    rule groups, before any request reaches ingress-nginx."""

    enabled: bool | None = Field(
        None,
        description="Associate a web ACL with the load balancer. `null` (default): on for an ALB, off for an "
        "NLB, which cannot have one; `false` turns it off (staging may).",
    )
    rate_limit: Annotated[int, int32(ge=10, le=2_000_000_000)] = Field(
        1000,
        description="Requests one client address may send per evaluation window before the rate-based rule "
        "blocks it (AWS: 10 or more).",
    )
    evaluation_window_seconds: Annotated[int, int32(ge=60, le=600)] = Field(
        300, description="Window the rate-based rule counts requests over: 60, 120, 300 or 600 seconds."
    )
    managed_rule_groups: list[
        Annotated[str, matching(r"^AWSManagedRules[A-Za-z0-9]+$", "an AWS managed rule group such as "
                                "AWSManagedRulesCommonRuleSet")]
    ] = Field(
        ["AWSManagedRulesCommonRuleSet"],
        min_length=1,
        description="AWS managed rule groups, in priority order after the rate limit. The common rule set "
        "(OWASP-style checks: bad bots, size limits, XSS, LFI/RFI) at least.",
    )
    count_only_rules: list[
        Annotated[str, matching(r"^[A-Za-z0-9_]+$", "a managed rule's name such as SizeRestrictions_BODY")]
    ] = Field(
        default_factory=list,
        description="Rules of the managed groups to count instead of block, e.g. `SizeRestrictions_BODY` "
        "when the API takes request bodies over 8 KB.",
    )

    logging: EdgeLogs = Field(
        EdgeLogs(),
        description="Log every request the web ACL sees to a CloudWatch Logs group `aws-waf-logs-<stack>`, "
        "the `authorization` and `cookie` headers redacted.",
    )

    @model_validator(mode="after")
    def _aws_windows(self) -> WafSettings:
        problems = Problems()
        if self.evaluation_window_seconds not in (60, 120, 300, 600):
            problems.add(
                ("evaluationWindowSeconds",),
                self.evaluation_window_seconds,
                "must be 60, 120, 300 or 600: the windows AWS WAF offers",
            )
        problems.raise_if_any("WafSettings")
        return self


class Weights(Model):
    ingress_nginx: Annotated[int, int32(ge=0, le=100)] = Field(
        description="Share of requests (percent) the load balancer sends to ingress-nginx."
    )
    envoy_gateway: Annotated[int, int32(ge=0, le=100)] = Field(
        description="Share of requests (percent) the load balancer sends to Envoy Gateway."
    )

    @model_validator(mode="after")
    def _sum(self) -> Weights:
        problems = Problems()
        if self.ingress_nginx + self.envoy_gateway != 100:
            problems.add(
                ("envoyGateway",),
                self.envoy_gateway,
                f"must sum to 100 with ingressNginx ({self.ingress_nginx}); got "
                f"{self.ingress_nginx + self.envoy_gateway}",
            )
        problems.raise_if_any("Weights")
        return self


class LoadBalancerSettings(Model):
    type: Literal["application", "network"] = Field(
        "application", description="`application` (ALB, default) or `network` (NLB). Guide: 'the ALB/NLB'."
    )
    name: AwsName | None = Field(
        None,
        description="A fixed load balancer name. Default: none, and Pulumi names it `edge-<7 random hex>`, so a "
        "change that replaces the load balancer (type, `internal`) creates the new one before deleting the old. A "
        "fixed name makes such a replacement delete the old load balancer first: an outage.",
    )
    internal: bool = Field(False, description="`false`: internet-facing in `subnetIds`.")
    subnet_ids: list[SubnetId] = Field(min_length=1, description="Public subnets, one per availability zone.")
    subnet_cidrs: list[Cidr] = Field(
        min_length=1,
        description="CIDRs of `subnetIds`: the addresses the load balancer's nodes connect from. Only they "
        "reach the ingress controller's proxy port, and only their forwarded client addresses "
        "(`X-Forwarded-For`, proxy protocol) are believed (`proxy-real-ip-cidr`).",
    )
    access_logs: EdgeLogs = Field(
        EdgeLogs(),
        description="ALB access logs (every request: client, target, status, timings, TLS) to an S3 bucket of "
        "this stack's, encrypted (SSE-S3, the only encryption ALB log delivery supports), private, TLS-only, "
        "deleted after `retentionDays`. Application load balancer only.",
    )
    allowed_cidrs: list[Cidr] = Field(
        ["0.0.0.0/0"], min_length=1, description="Client CIDRs allowed to reach ports 80 and 443."
    )
    certificate: Certificate = Field(description="Default TLS certificate of the 443 listener.")
    additional_certificates: list[Certificate] = Field(
        default_factory=list, description="More certificates on the 443 listener (SNI)."
    )
    ssl_policy: Annotated[
        str,
        matching(
            r"^ELBSecurityPolicy-TLS13-1-(2-Res|3)(-[A-Z]+)?-\d{4}-\d{2}$",
            "a TLS security policy without CBC ciphers: ELBSecurityPolicy-TLS13-1-2-Res-2021-06 (TLS 1.3, and "
            "TLS 1.2 with GCM only), a -PQ- or -FIPS- variant of it, or TLS 1.3 only "
            "(ELBSecurityPolicy-TLS13-1-3-2021-06)",
        ),
    ] = Field(
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        description="TLS policy of the 443 listener: TLS 1.3, and TLS 1.2 with AEAD (GCM) ciphers only. Only "
        "policies without CBC ciphers are accepted (`...-1-2-Res-...` or TLS 1.3 only `...-1-3-...`).",
    )
    hsts: (
        Annotated[
            str,
            matching(
                r"^max-age=\d+(; ?includeSubDomains)?(; ?preload)?$",
                "a Strict-Transport-Security value such as max-age=31536000; includeSubDomains",
            ),
        ]
        | None
    ) = Field(
        "max-age=31536000; includeSubDomains",
        description="`Strict-Transport-Security` on every HTTPS response: the ALB adds it (listener attribute "
        "`routing.http.response.strict_transport_security.header_value`; TLS ends there, so nginx never "
        "would); behind an NLB, ingress-nginx adds it (`add-headers`), and Envoy Gateway alone behind an NLB "
        "is refused. `null`: none.",
    )
    waf: WafSettings = Field(WafSettings(), description="AWS WAF web ACL on the ALB.")
    deletion_protection: bool = Field(
        True,
        description="Guide: 'Deletion protection enabled'. AWS then refuses to delete the load balancer, so "
        "`pulumi destroy` and a replacement fail: a stack with `protect: false` must set it explicitly.",
    )
    cross_zone: bool = Field(
        True,
        description="Guide: 'Cross-zone load balancing (traffic distributed across all AZs)'. Set on the "
        "target groups, and on an NLB also on the load balancer (off by default there). An ALB always balances "
        "across zones, so on an ALB `false` turns it off on the target groups only.",
    )
    enable_http2: bool = Field(True, description="Guide: 'HTTP/2 support enabled'. ALB only.")
    idle_timeout_seconds: Annotated[int, int32(ge=1, le=4000)] = Field(
        60,
        description="ALB idle timeout. ALB only. At least the longest request a route allows (the ALB "
        "answers 504 to a request that sends no byte for this long), and below nginx's client keepalive "
        "(75 s) so the ALB, not nginx, closes idle connections (no 502 on a reused socket).",
    )
    drop_invalid_header_fields: bool = Field(True, description="ALB drops headers that are not valid HTTP.")
    health_check: HealthCheck = Field(HealthCheck(), description="Target group health check.")
    deregistration_delay_seconds: Annotated[int, int32(ge=0, le=3600)] = Field(
        60,
        description="Guide: 'Connection draining (60-second timeout for graceful shutdown)': how long "
        "a deregistered controller pod keeps its in-flight connections. Behind an ALB at least the longest "
        "request a route allows: the ALB cuts what is left when it ends. An NLB leaves the open connections "
        "to the controller (no connection termination), which closes them when it quits.",
    )
    weights: Weights | None = Field(
        None,
        description="Required when both `ingressController.enabled` and `gateway.enabled`: the HTTPS "
        "listener forwards this share of requests to each, e.g. `{ingressNginx: 90, envoyGateway: 10}`. "
        "With one backend enabled, all traffic goes to it and this must be unset.",
    )
    stickiness_seconds: Annotated[int, int32(ge=1, le=604800)] = Field(
        10800,
        description="With both backends enabled, a client stays on the target group (data plane) it "
        "first reached for this long (target-group stickiness), so its Socket.IO session and affinity "
        "cookie stay valid. Default: the guide's '3-hour timeout for backend sessions'. ALB only (AWS: 1-604800).",
    )
    protect: bool = Field(
        True,
        description="Pulumi `protect` on the load balancer and target group: `pulumi destroy` or a "
        "replacement stops instead of deleting them.",
    )
    route53_zone_id: (
        Annotated[str, matching(r"^Z[A-Z0-9]{1,31}$", "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")] | None
    ) = Field(None, description="When set, alias A records for every routing host in this hosted zone.")

    @model_validator(mode="after")
    def _aws_limits(self) -> LoadBalancerSettings:
        problems = Problems()
        alb = self.type == "application"
        if not alb:
            for field, key in (
                ("enable_http2", "enableHttp2"),
                ("idle_timeout_seconds", "idleTimeoutSeconds"),
                ("drop_invalid_header_fields", "dropInvalidHeaderFields"),
                ("stickiness_seconds", "stickinessSeconds"),
            ):
                if field in self.model_fields_set:
                    problems.add((key,), getattr(self, field), "applies to an application load balancer only")
            if self.waf.enabled is True:
                problems.add(
                    ("waf", "enabled"),
                    True,
                    "an NLB cannot have a web ACL: set it to false (and rate-limit on the routes), or use an ALB",
                )
        if not alb and "access_logs" in self.model_fields_set and self.access_logs.enabled:
            problems.add(("accessLogs", "enabled"), True, "applies to an application load balancer only")
        if alb and not self.internal and self.waf.enabled is False:
            everyone = [c for c in self.allowed_cidrs if ipaddress.ip_network(c).prefixlen == 0]
            if everyone:
                problems.add(
                    ("allowedCidrs",),
                    self.allowed_cidrs,
                    "an internet-facing ALB without a web ACL (waf.enabled: false) must not admit every address: "
                    "enable the WAF, or list only the addresses that may connect (an office, a VPN, a partner)",
                )
        if alb and len(set(self.subnet_ids)) < 2:
            problems.add(
                ("subnetIds",), self.subnet_ids, "an application load balancer needs subnets in at least two zones"
            )
        if self.name is not None and self.name.startswith("internal-"):
            problems.add(("name",), self.name, "must not start with `internal-` (reserved by AWS)")
        if not self.protect and "deletion_protection" not in self.model_fields_set:
            problems.add(
                ("deletionProtection",),
                None,
                "must be set explicitly when `protect` is false: with AWS deletion protection on (the default), "
                "`pulumi destroy` and a replacement of the load balancer fail with OperationNotPermitted; say "
                "`false` to let Pulumi delete it, or `true` to keep AWS's guard",
            )
        problems.raise_if_any("LoadBalancerSettings")
        return self

    def certificates(self) -> list[Certificate]:
        return [self.certificate, *self.additional_certificates]

    def waf_on(self) -> bool:
        return self.type == "application" and self.waf.enabled is not False


# --- ingress-nginx ---------------------------------------------------------------------------


class ControllerAutoscaling(Model):
    min_replicas: Annotated[int, int32(ge=2)] = Field(
        2, description="The controller itself runs at least 2 replicas, so a drain or rollout keeps one serving."
    )
    max_replicas: PositiveInt = Field(6, description="Most controller replicas.")
    cpu_utilization: Utilization = Field(70, description="HPA CPU target, as for the app.")
    memory_utilization: Utilization = Field(80, description="HPA memory target, as for the app.")
    scale_up: ScaleUpRules = Field(ScaleUpRules(), description="HPA `behavior.scaleUp`, as for the app.")
    scale_down: ScaleDownRules = Field(ScaleDownRules(), description="HPA `behavior.scaleDown`, as for the app.")

    @model_validator(mode="after")
    def _bounds(self) -> ControllerAutoscaling:
        problems = Problems()
        if self.min_replicas > self.max_replicas:
            problems.add(("minReplicas",), self.min_replicas, f"must not exceed maxReplicas ({self.max_replicas})")
        problems.raise_if_any("ControllerAutoscaling")
        return self


class IngressControllerSettings(Model):
    enabled: bool = Field(
        True,
        description="Run ingress-nginx (the guide's controller, the default backend). `false` once "
        "every request goes through Envoy Gateway (`gateway.enabled`); one of the two must be on.",
    )
    namespace: DnsLabel = Field("ingress-nginx", description="Namespace of the controller.")
    chart_version: Annotated[str, matching(r"^\d+\.\d+\.\d+$", "a chart version such as 4.15.1")] = Field(
        "4.15.1",
        description="ingress-nginx Helm chart version: 4.15.1 (controller v1.15.1) is the project's "
        "final release; it reached end of maintenance in March 2026.",
    )
    chart_repository: Annotated[str, matching(r"^https://", "an https:// URL")] = Field(
        "https://kubernetes.github.io/ingress-nginx", description="Helm repository of the chart."
    )
    ingress_class: DnsLabel = Field("nginx", description="IngressClass the controller owns and the routes use.")
    pod_security: Literal["restricted", "baseline"] = Field(
        "restricted",
        description="Pod Security Admission level enforced in the controller namespace; the chart's "
        "defaults (non-root, only NET_BIND_SERVICE added, seccomp RuntimeDefault) meet `restricted`.",
    )
    autoscaling: ControllerAutoscaling = Field(ControllerAutoscaling(), description="The controller's own HPA.")
    min_available: PositiveInt = Field(1, description="The controller's PodDisruptionBudget.")
    resources: Resources = Field(
        Resources.model_validate({"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}),
        description="Controller container requests and limits.",
    )
    load_balance: Literal["ewma", "round_robin"] = Field(
        "ewma",
        description="Guide: 'EWMA (Exponentially Weighted Moving Average): distributes requests based on "
        "response time'. ConfigMap `load-balance`.",
    )
    upstream_keepalive_connections: Annotated[int, int32(ge=0, le=10000)] = Field(
        100, description="Guide: 'upstream-keepalive-connections: 100' (idle connections per worker)."
    )
    upstream_keepalive_timeout_seconds: Annotated[int, int32(ge=1, le=3600)] = Field(
        60, description="Guide: 'upstream-keepalive-timeout: 60s'."
    )
    upstream_keepalive_requests: Annotated[int, int32(ge=1, le=100000)] = Field(
        100, description="Guide: 'upstream-keepalive-requests: 100'."
    )
    retries: Retries = Field(Retries(), description="Guide: 'Automatic Retry Logic', the controller-wide default.")
    timeouts: Timeouts = Field(
        Timeouts(read_seconds=15, send_seconds=15),
        description="`proxy-read-timeout` and `proxy-send-timeout` of every route that sets none (ingress-nginx's "
        "own default is 60 s): a request may run this long, so it must fit in the workload's grace period "
        "after its preStop sleep (30 - 15 s).",
    )
    worker_shutdown_timeout_seconds: Annotated[int, int32(ge=1, le=86400)] = Field(
        3600,
        description="How long nginx's old workers keep their connections after a reload, and nginx's own "
        "drain on shutdown (`worker-shutdown-timeout`). At least every WebSocket route's budget: every reload "
        "(an Ingress added or changed, the canary turned on) leaves the open sockets on the old workers, "
        "which close them all at once when it ends (ingress-nginx #2461, #7115). Old workers hold memory "
        "until their sockets close.",
    )
    termination_grace_period_seconds: Annotated[int, int32(ge=1, le=86400)] = Field(
        3700,
        description="Controller pods' grace period: it must cover the load balancer's deregistration "
        "delay, the margin and nginx's drain (`worker-shutdown-timeout`) plus the 10 s exit. A pod "
        "exits long before: the load balancer closes its connections when its drain ends.",
    )
    shutdown_margin_seconds: Annotated[int, int32(ge=0, le=300)] = Field(
        15,
        description="How long nginx keeps serving after the deregistration delay (`--shutdown-grace-period` = "
        "delay + margin): the load balancer's drain starts only once the deregistration has gone through the "
        "EndpointSlice, the AWS Load Balancer Controller and the load balancer's own propagation, up to 13 s "
        "behind an ALB. An NLB opens new connections for about 123 s after the deletion whatever the delay, "
        "so behind one delay + margin must reach 123 s (docs/downtime.md).",
    )

    @model_validator(mode="after")
    def _budget(self) -> IngressControllerSettings:
        problems = Problems()
        if self.min_available >= self.autoscaling.min_replicas:
            problems.add(
                ("minAvailable",),
                self.min_available,
                f"must be below autoscaling.minReplicas ({self.autoscaling.min_replicas}), or a node drain "
                "can never evict a controller pod",
            )
        problems.raise_if_any("IngressControllerSettings")
        return self

    def shutdown_delay_seconds(self, deregistration_delay: int) -> int:
        return deregistration_delay + self.shutdown_margin_seconds


# The routing intent's names, importable from here as before the split.
__all__ = [
    "DEFAULT_ROUTES",
    "Certificate",
    "ClientLimits",
    "ControllerAutoscaling",
    "Cookie",
    "HealthCheck",
    "Hostname",
    "IngressControllerSettings",
    "LoadBalancerSettings",
    "Retries",
    "RetryCondition",
    "Route",
    "RoutingSettings",
    "Timeouts",
    "WafSettings",
    "Weights",
    "covers",
]
