"""Settings of the second routing backend: Gateway API on Envoy Gateway.

The routing intent (hosts, routes, balancing, retries, affinity, timeouts, canary) stays in
``routing`` and the controller-wide defaults of ``ingressController`` (load balancing, keepalive,
retries); this backend renders it as a Gateway, HTTPRoutes and Envoy Gateway policies. What is set
here is Envoy Gateway's own: the controller's Helm release, the proxy fleet (an ``EnvoyProxy``) and
its drain.

Two namespaces: the controller (``namespace``) and the Gateway with its proxy pods
(``proxyNamespace``; Envoy Gateway's *GatewayNamespace* deploy mode puts each Gateway's proxies in
the Gateway's namespace).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Cidr, DigestImage, DnsLabel, Model, PositiveInt, Problems, int32, matching
from .traffic import ControllerAutoscaling
from .workload import DnsSubdomain, Resources

# Envoy Gateway binds a listener port below 1024 on the port + 10000 inside the proxy container, so
# that the proxy needs no NET_BIND_SERVICE (internal/gatewayapi/listener.go, wellKnownPortShift).
PRIVILEGED_PORT_SHIFT = 10000


def container_port(listener_port: int) -> int:
    """The port the proxy container really listens on for a Gateway listener port."""
    return listener_port + PRIVILEGED_PORT_SHIFT if listener_port < 1024 else listener_port


OciRepository = Annotated[str, matching(r"^oci://", "an OCI registry such as oci://docker.io/envoyproxy")]


class GatewayController(Model):
    replicas: Annotated[int, int32(ge=2, le=10)] = Field(
        2,
        description="Envoy Gateway controller replicas (leader-elected): a second one keeps serving "
        "configuration to the proxies while the first is drained or rolled.",
    )
    min_available: PositiveInt = Field(1, description="The controller's PodDisruptionBudget.")
    resources: Resources = Field(
        Resources.model_validate({"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1024Mi"}}),
        description="Controller container requests and limits (the chart's defaults).",
    )

    @model_validator(mode="after")
    def _budget(self) -> GatewayController:
        problems = Problems()
        if self.min_available >= self.replicas:
            problems.add(
                ("minAvailable",),
                self.min_available,
                f"must be below replicas ({self.replicas}), or a node drain can never evict a controller pod",
            )
        problems.raise_if_any("GatewayController")
        return self


RedisUrl = Annotated[
    str,
    matching(
        r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}$", "host:port, e.g. rl.abc123.cache.amazonaws.com:6379"
    ),
]


# Envoy Gateway v1.9's default proxy (api/v1alpha1/shared_types.go DefaultEnvoyProxyImage,
# envoyproxy/gateway@v1.9.0), pinned by its image index digest (multi-architecture) as independent
# public pins of the same tag have it; docs/security.md says how to confirm it against the registry.
ENVOY_PROXY_IMAGE = (
    "docker.io/envoyproxy/envoy:distroless-v1.39.0"
    "@sha256:7877ad87afd7459e1bd2a077ff601fec7c93aeecd62e71664560d96328c62cf4"
)
# What the gateway-helm v1.9.0 chart runs when its `global.images.*` are not set: tags.
CHART_CONTROLLER_IMAGE = "docker.io/envoyproxy/gateway:v1.9.0"
CHART_RATELIMIT_IMAGE = "docker.io/envoyproxy/ratelimit:17b1956c"


class GatewayImages(Model):
    """The images Envoy Gateway runs, by digest (chart `global.images.*`)."""

    controller: DigestImage | None = Field(
        None,
        description=f"The controller and the proxies' shutdown manager (chart `global.images.envoyGateway`), "
        f"`{CHART_CONTROLLER_IMAGE}@sha256:<digest>`. Unset, the chart runs the tag `{CHART_CONTROLLER_IMAGE}`; "
        "the policy pack refuses that in production (docs/security.md: how to read and confirm the digest).",
    )
    rate_limit: DigestImage | None = Field(
        None,
        description=f"The global rate-limit service (chart `global.images.ratelimit`), "
        f"`{CHART_RATELIMIT_IMAGE}@sha256:<digest>`. Unset, the chart runs the tag; the policy pack refuses "
        "that in production while a rate limit is configured.",
    )
    proxy: DigestImage = Field(
        ENVOY_PROXY_IMAGE,
        description="The Envoy proxies (chart `global.images.envoyProxy`, and the EnvoyProxy's container): "
        "Envoy Gateway v1.9's default proxy, by its image index digest.",
    )


SecretKey = Annotated[str, matching(r"^[-._a-zA-Z0-9]+$", "a Secret data key such as auth-token", max_length=253)]


class SecretKeyRef(Model):
    name: DnsSubdomain = Field(description="Name of a Secret in the Envoy Gateway controller's namespace.")
    key: SecretKey = Field("auth-token", description="The key of the Secret that holds the value.")


class GatewayRateLimit(Model):
    """Envoy Gateway's global rate limit: the only way it counts requests per client address (its
    local rate limit refuses a `Distinct` client selector). Envoy Gateway runs the rate-limit
    service (`envoy-ratelimit`, in the controller's namespace); it counts in a Redis this program
    does not create."""

    redis_url: RedisUrl | None = Field(
        None,
        description="`host:port` of the Redis the rate-limit service counts in. Required while a route "
        "sets `clientLimits.requestsPerSecond` (the default does): each route's BackendTrafficPolicy "
        "then limits every client address to that rate.",
    )
    redis_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Where that Redis is (its subnets, or a /32): the rate-limit service's only egress "
        "besides DNS and the controller.",
    )
    auth: SecretKeyRef | None = Field(
        None,
        description="The Redis AUTH token (or `user:password` of a Redis ACL user), read from this Secret in "
        "`gateway.namespace` into the rate-limit service's `REDIS_AUTH`; never a value in the config or the "
        "chart values. Required with `redisUrl`. The connection is always TLS (`REDIS_TLS`), checked against "
        "the system roots (ElastiCache in-transit encryption).",
    )
    client_certificate_secret: DnsSubdomain | None = Field(
        None,
        description="A `kubernetes.io/tls` Secret in `gateway.namespace` whose certificate the rate-limit "
        "service presents to Redis (Envoy Gateway `redis.tls.certificateRef`), for a Redis that requires "
        "client certificates.",
    )
    fail_closed: bool = Field(
        False,
        description="When the rate-limit service cannot answer (Redis down, timeout), refuse requests with "
        "500 (`true`) or let them through unlimited (`false`, Envoy Gateway's default: the site stays up "
        "and only the per-client limit is lost; the WAF's rate rule still applies on an ALB).",
    )

    @model_validator(mode="after")
    def _redis_reachable(self) -> GatewayRateLimit:
        problems = Problems()
        if self.redis_url is not None and not self.redis_cidrs:
            problems.add(
                ("redisCidrs",), [], f"must list where {self.redis_url} is: the namespace denies all other egress"
            )
        if self.redis_url is not None and self.auth is None:
            problems.add(
                ("auth",),
                None,
                f"is required with redisUrl ({self.redis_url}): the Secret (name, key) holding the Redis AUTH "
                "token, e.g. {name: ratelimit-redis-auth, key: auth-token}; a Redis that any pod of the subnet "
                "can write lets anyone reset or fill every client's counters",
            )
        problems.raise_if_any("GatewayRateLimit")
        return self

    @property
    def redis_port(self) -> int | None:
        return None if self.redis_url is None else int(self.redis_url.rsplit(":", 1)[1])


class GatewayShutdown(Model):
    margin_seconds: Annotated[int, int32(ge=0, le=300)] = Field(
        15,
        description="Extra time after the load balancer's deregistration delay before the proxy may "
        "stop: its minimum drain (`EnvoyProxy.spec.shutdown.minDrainDuration`) is delay + margin. At least "
        "the deregistration's own latency (13 s behind an ALB: docs/downtime.md); behind an NLB, delay + "
        "margin at least the 123 s it keeps opening connections.",
    )
    drain_seconds: Annotated[int, int32(ge=1, le=3600)] = Field(
        30,
        description="After the minimum drain, how long the proxy waits for open connections to close "
        "before it exits (`drainTimeout` = minDrainDuration + this). Envoy Gateway sets the pods' "
        "grace period to drainTimeout + 300 s, so the drain always fits inside it. Behind an NLB, which "
        "leaves the open connections to the proxy, at least every WebSocket route's budget.",
    )


class GatewaySettings(Model):
    enabled: bool = Field(
        False,
        description="Render the routing intent with Envoy Gateway (Gateway API) too. With "
        "`ingressController.enabled` also true, `loadBalancer.weights` splits traffic between them.",
    )
    namespace: DnsLabel = Field("envoy-gateway-system", description="Namespace of the Envoy Gateway controller.")
    proxy_namespace: DnsLabel = Field(
        "spywatcher-gateway", description="Namespace of the Gateway, its policies and its Envoy proxy pods."
    )
    chart_version: Annotated[str, matching(r"^v\d+\.\d+\.\d+$", "a chart version such as v1.9.0")] = Field(
        "v1.9.0",
        description="Envoy Gateway Helm chart (`gateway-helm`) version, the newest v1.9 patch: v1.8 is out "
        "of support since November 2026. It serves Gateway API v1.6 (experimental channel).",
    )
    chart_repository: OciRepository = Field("oci://docker.io/envoyproxy", description="OCI registry of the chart.")
    gateway_class: DnsLabel = Field("spywatcher", description="GatewayClass (cluster-wide) of the Gateway.")
    name: DnsLabel = Field("spywatcher", description="Gateway name; the EnvoyProxy is `<name>-proxy`.")
    service_name: DnsLabel = Field(
        "spywatcher-gateway",
        description="Fixed name of the proxies' ClusterIP Service (the TargetGroupBinding's target).",
    )
    listener_port: Annotated[int, int32(ge=1, le=65535)] = Field(
        80,
        description="HTTP port of the Gateway listener (TLS ends at the load balancer). Below 1024 the "
        "proxy container listens on port + 10000, which the target group really reaches.",
    )
    pod_security: Literal["restricted", "baseline"] = Field(
        "restricted", description="Pod Security Admission level enforced in both Envoy Gateway namespaces."
    )
    controller: GatewayController = Field(GatewayController(), description="The Envoy Gateway controller.")
    autoscaling: ControllerAutoscaling = Field(ControllerAutoscaling(), description="The proxies' own HPA.")
    min_available: PositiveInt = Field(1, description="The proxies' PodDisruptionBudget.")
    resources: Resources = Field(
        Resources.model_validate({"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}),
        description="Envoy proxy container requests and limits.",
    )
    shutdown: GatewayShutdown = Field(GatewayShutdown(), description="How a proxy pod drains when it stops.")
    rate_limit: GatewayRateLimit = Field(
        GatewayRateLimit(), description="Per-client request rates on the routes (`routing.routes[].clientLimits`)."
    )
    images: GatewayImages = Field(GatewayImages(), description="The images Envoy Gateway runs, pinned by digest.")

    @model_validator(mode="after")
    def _rules(self) -> GatewaySettings:
        problems = Problems()
        if self.namespace == self.proxy_namespace:
            problems.add(
                ("proxyNamespace",),
                self.proxy_namespace,
                f"must differ from gateway.namespace ({self.namespace}): the controller and the proxies "
                "carry different network policies and only the proxies' namespace gets readiness gates",
            )
        if self.min_available >= self.autoscaling.min_replicas:
            problems.add(
                ("minAvailable",),
                self.min_available,
                f"must be below autoscaling.minReplicas ({self.autoscaling.min_replicas}), or a node drain "
                "can never evict a proxy pod",
            )
        problems.raise_if_any("GatewaySettings")
        return self

    def min_drain_seconds(self, deregistration_delay: int) -> int:
        """The proxy keeps serving at least this long after it was told to stop."""
        return deregistration_delay + self.shutdown.margin_seconds

    def drain_timeout_seconds(self, deregistration_delay: int) -> int:
        return self.min_drain_seconds(deregistration_delay) + self.shutdown.drain_seconds

    @property
    def container_port(self) -> int:
        return container_port(self.listener_port)
