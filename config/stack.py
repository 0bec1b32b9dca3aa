"""The whole stack's settings, and the rules that span more than one part of it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from . import rollouts as progressive
from .base import EnvName, Loc, Model, Problems, amount_text
from .drain import Drains, check_drains
from .gateway import GatewaySettings
from .namespace import ClusterSettings, NamespaceSettings
from .network import NetworkPolicySettings
from .operations import (
    CanarySettings,
    MigrationSettings,
    MonitoringSettings,
    SchedulingSettings,
    duration_seconds,
    rollout_estimate,
)
from .traffic import IngressControllerSettings, LoadBalancerSettings, RoutingSettings, covers
from .workload import BackendSettings, FrontendSettings, ResourceAmounts, Resources, WorkloadSettings

RESOURCES = ("cpu", "memory")


@dataclass(frozen=True)
class PodBudget:
    """The most a set of pods can claim in the namespace at once, for the quota check."""

    loc: Loc
    pods: int
    requests: dict[str, Decimal | None]
    limits: dict[str, Decimal | None]


class StackSettings(Model):
    """Everything under the `spywatcher:` config namespace of one stack."""

    namespace: NamespaceSettings = Field(NamespaceSettings(), description="The app namespace baseline.")
    cluster: ClusterSettings = Field(description="The existing EKS cluster and how to reach it.")
    backend: BackendSettings = Field(description="The Express + Socket.IO API (port 3001).")
    frontend: FrontendSettings = Field(description="The nginx-served frontend (port 80).")
    ingress_controller: IngressControllerSettings = Field(
        IngressControllerSettings(), description="The ingress-nginx controller (Helm release) and its ConfigMap."
    )
    gateway: GatewaySettings = Field(
        GatewaySettings(), description="Envoy Gateway (Gateway API): the second routing backend, off by default."
    )
    routing: RoutingSettings = Field(description="Hosts and routes (one Ingress per route, class nginx).")
    load_balancer: LoadBalancerSettings = Field(description="The AWS load balancer in front of ingress-nginx.")
    monitoring: MonitoringSettings = Field(
        MonitoringSettings(),
        description="Alerts, scraping and custom metrics (Prometheus Operator, Prometheus Adapter).",
    )
    migration: MigrationSettings = Field(
        MigrationSettings(), description="Database migration Job before the backend rolls."
    )
    canary: CanarySettings = Field(
        CanarySettings(), description="Canary of the backend behind an ingress-nginx canary Ingress."
    )
    rollouts: progressive.RolloutsSettings = Field(
        progressive.RolloutsSettings(),
        description="Progressive delivery of the backend: an Argo Rollouts canary, analysed on Prometheus.",
    )
    network_policy: NetworkPolicySettings = Field(
        description="NetworkPolicies of the app and ingress controller namespaces: deny by default, allow "
        "what is needed.",
    )
    scheduling: SchedulingSettings = Field(SchedulingSettings(), description="How the workloads' `schedules` run.")
    kubeconfig: SecretStr | None = Field(
        None,
        description="Secret. A kubeconfig for the cluster (`pulumi config set --secret "
        "spywatcher:kubeconfig < kubeconfig`). Without it, `cluster.context` of the local kubeconfig is used.",
    )
    secrets: dict[Literal["backend", "frontend"], dict[EnvName, SecretStr]] = Field(
        default_factory=dict,
        description="Secret. App secrets per workload, stored in a Kubernetes Secret and mounted as "
        "environment variables (`pulumi config set --secret --path "
        "'spywatcher:secrets.backend.DATABASE_URL' ...`).",
    )

    def secret_values(self, workload: str) -> dict[str, SecretStr]:
        """The secret config of one workload (empty when it has none)."""
        return dict(self.secrets.get(workload, {}))  # type: ignore[call-overload]

    def workloads(self) -> dict[str, WorkloadSettings]:
        return {"backend": self.backend, "frontend": self.frontend}

    def existing_objects(self) -> list[tuple[str, str, str]]:
        """The Kubernetes objects the stack declares as already in the cluster, which its pods read
        but this program does not create: (kind, namespace, name)."""
        found = [
            ("Secret", self.namespace.name, workload.existing_secret)
            for workload in self.workloads().values()
            if workload.existing_secret is not None
        ]
        if self.migration.enabled and self.migration.existing_secret is not None:
            found.append(("Secret", self.namespace.name, self.migration.existing_secret))
        rate_limit = self.gateway.rate_limit
        if self.gateway.enabled and rate_limit.redis_url is not None:
            # The rate-limit service (in the controller's namespace) reads its Redis credentials.
            for secret in (rate_limit.auth.name if rate_limit.auth else None, rate_limit.client_certificate_secret):
                if secret is not None:
                    found.append(("Secret", self.gateway.namespace, secret))
        return found

    def _budget(self, loc: Loc, pods: int, resources: Resources) -> PodBudget:
        """The peak claim of ``pods`` pods with ``resources``, LimitRange defaults filled in."""
        limit_range = self.namespace.limit_range
        requests, limits = {}, {}
        for resource in RESOURCES:
            request = resources.requests.value(resource)
            limit = resources.limits.value(resource)
            if request is None:
                # The API server copies an explicit limit into a missing request (SetDefaults_Pod).
                request = limit
            if limit_range is not None:
                # The LimitRanger fills what is still missing (plugin/pkg/admission/limitranger/
                # admission.go @ v1.34.0) from the LimitRange's own defaults.
                default_request, default_limit = limit_range.container_defaults(resource)
                limit = default_limit if limit is None else limit
                request = default_request if request is None else request
            requests[resource], limits[resource] = request, limit
        return PodBudget(loc, pods, requests, limits)

    def pod_budgets(self) -> list[PodBudget]:
        """Every pod the stack can run in the app namespace at its peak: the workloads at maxReplicas
        plus surge (the backend at twice maxReplicas under Argo Rollouts, see config/rollouts.py), the
        canary with its surge, a migration Job and every schedule's pod."""
        budgets = [self._budget((name,), self._peak_pods(name, w), w.resources) for name, w in self.workloads().items()]
        if self.canary.enabled:
            budgets.append(self._budget(("canary",), self.canary.replicas + 1, self.backend.resources))
        if self.migration.enabled:
            budgets.append(self._budget(("migration",), 1, self.backend.resources))
        schedules = sum(len(w.schedules) for w in self.workloads().values())
        if schedules:
            amounts = ResourceAmounts.model_validate(self.scheduling.resources)
            budgets.append(self._budget(("scheduling",), schedules, Resources(requests=amounts, limits=amounts)))
        return budgets

    def _peak_pods(self, name: str, workload: WorkloadSettings) -> int:
        if name == "backend" and self.rollouts.enabled:
            return max(workload.max_pods(), progressive.peak_backend_pods(self))
        return workload.max_pods()

    @model_validator(mode="after")
    def _cross_component_rules(self) -> StackSettings:
        problems = Problems()
        self._check_quota(problems)
        self._check_limit_range(problems)
        self._check_secrets(problems)
        self._check_traffic(problems)
        self._check_operations(problems)
        progressive.check(self, problems)
        if self.kubeconfig is None and self.cluster.context is None:
            problems.add(
                ("cluster", "context"),
                None,
                "is required unless the secret spywatcher:kubeconfig is set: the program deploys "
                "only through an explicit provider",
            )
        problems.raise_if_any("StackSettings")
        return self

    def _check_quota(self, problems: Problems) -> None:
        quota = self.namespace.resource_quota
        if quota is None:
            return
        budgets = self.pod_budgets()
        if quota.pods is not None:
            pods = sum(b.pods for b in budgets)
            if pods > quota.pods:
                problems.add(
                    ("namespace", "resourceQuota", "pods"),
                    quota.pods,
                    f"is below the {pods} pods the stack runs at its peak, the workloads at "
                    "maxReplicas plus rollout surge; the HPA would silently stop short of its maximum",
                )
        for kind in ("requests", "limits"):
            for resource in RESOURCES:
                hard = getattr(quota, kind).value(resource)
                if hard is None:
                    continue
                parts = [(b, getattr(b, kind)[resource]) for b in budgets]
                missing = [b for b, amount in parts if amount is None]
                for budget in missing:
                    problems.add(
                        (*budget.loc, "resources", kind, resource),
                        None,
                        f"is required: namespace.resourceQuota.{kind}.{resource} is set, and the "
                        "quota rejects pods that do not declare it (no LimitRange default either)",
                    )
                if missing:
                    continue
                needed: Decimal = sum((b.pods * amount for b, amount in parts if amount is not None), Decimal(0))
                if needed > hard:
                    detail = ", ".join(
                        f"{'.'.join(map(str, b.loc))} {b.pods} x {amount_text(resource, amount)}"
                        for b, amount in parts
                        if amount is not None
                    )
                    problems.add(
                        ("namespace", "resourceQuota", kind, resource),
                        getattr(getattr(quota, kind), resource),
                        f"is below the {amount_text(resource, needed)} the stack's pods need at their "
                        f"peak, the workloads at maxReplicas plus rollout surge ({detail}); the HPA would "
                        "silently stop short of its maximum",
                    )

    def _check_limit_range(self, problems: Problems) -> None:
        limit_range = self.namespace.limit_range
        if limit_range is None:
            return
        for name, workload in self.workloads().items():
            for resource in RESOURCES:
                ceiling = limit_range.max.value(resource)
                limit = workload.resources.limits.value(resource)
                if ceiling is not None and limit is not None and limit > ceiling:
                    problems.add(
                        (name, "resources", "limits", resource),
                        getattr(workload.resources.limits, resource),
                        f"exceeds namespace.limitRange.max.{resource} "
                        f"({getattr(limit_range.max, resource)}); admission would reject the pods",
                    )

    def _check_traffic(self, problems: Problems) -> None:
        controller, lb = self.ingress_controller, self.load_balancer
        check_drains(
            Drains(controller, lb, self.gateway, self.routing, self.workloads()), problems
        )
        vpc = ipaddress.ip_network(self.cluster.vpc_cidr)
        for index, cidr in enumerate(lb.subnet_cidrs):
            network = ipaddress.ip_network(cidr)
            if network.version != vpc.version or not network.subnet_of(vpc):  # type: ignore[arg-type]
                problems.add(
                    ("loadBalancer", "subnetCidrs", index),
                    cidr,
                    f"must lie inside cluster.vpcCidr ({self.cluster.vpc_cidr}): the load balancer's nodes "
                    "connect from its subnets in the VPC",
                )
        if controller.namespace == self.namespace.name:
            problems.add(
                ("ingressController", "namespace"),
                controller.namespace,
                "must differ from namespace.name: the two namespaces carry different policies",
            )
        region = self.cluster.region
        for index, certificate in enumerate(lb.certificates()):
            where = ("certificate",) if index == 0 else ("additionalCertificates", index - 1)
            cert_region = certificate.arn.split(":")[3]
            if cert_region != region:
                problems.add(
                    ("loadBalancer", *where, "arn"),
                    certificate.arn,
                    f"is an ACM certificate in {cert_region}, but the load balancer is in the cluster's region "
                    f"{region} (cluster.region): a listener accepts only certificates of its own region, so "
                    f"AWS would refuse it at `pulumi up`; request or import the certificate in {region}",
                )
        self._check_backends(problems)
        domains = [d for c in lb.certificates() for d in c.domains]
        for key, host in self.routing.used_hosts().items():
            if not any(covers(d, host) for d in domains):
                problems.add(
                    ("routing", "hosts", key),
                    host,
                    f"is not covered by any certificate domain ({', '.join(domains)}): browsers would "
                    "reject the TLS connection",
                )

    def _check_alerts(self, problems: Problems) -> None:
        alerts = self.monitoring.alerts
        if not alerts.enabled:
            return
        limit = duration_seconds(alerts.rollout_stuck_for)
        for name, workload in self.workloads().items():
            estimate = rollout_estimate(workload, alerts.rollout_pod_start_seconds)
            if limit <= estimate.seconds:
                problems.add(
                    ("monitoring", "alerts", "rolloutStuckFor"),
                    alerts.rollout_stuck_for,
                    f"must exceed the {estimate.seconds} s a normal rollout of {name} takes at its "
                    f"maxReplicas ({estimate.explain()}), or RolloutStuck fires on an ordinary rollout at peak",
                )

    def _check_backends(self, problems: Problems) -> None:
        """Which routing backends run, and how the load balancer splits traffic between them."""
        nginx, gateway, lb = self.ingress_controller.enabled, self.gateway.enabled, self.load_balancer
        if not nginx and not gateway:
            problems.add(
                ("ingressController", "enabled"),
                False,
                "at least one routing backend must be enabled: ingressController.enabled or gateway.enabled",
            )
        if nginx and gateway:
            if lb.weights is None:
                problems.add(
                    ("loadBalancer", "weights"),
                    None,
                    "is required when both ingressController and gateway are enabled, e.g. "
                    "{ingressNginx: 100, envoyGateway: 0} to start a migration",
                )
            if lb.type == "network":
                problems.add(
                    ("loadBalancer", "type"),
                    lb.type,
                    "cannot split traffic between ingress-nginx and Envoy Gateway: a network load "
                    "balancer forwards a listener to a single target group (no weights, no stickiness). "
                    "Use an application load balancer for the cut-over, or enable one backend only",
                )
        elif lb.weights is not None:
            only = "ingressController" if nginx else "gateway"
            problems.add(
                ("loadBalancer", "weights"),
                None,
                f"applies only when both routing backends are enabled; only {only} is, so all traffic "
                "goes to it: remove loadBalancer.weights",
            )
        if gateway:
            self._check_gateway_client_limits(problems)
            taken = {
                self.namespace.name: "namespace.name",
                self.ingress_controller.namespace: "ingressController.namespace",
            }
            for key, value in (("namespace", self.gateway.namespace), ("proxyNamespace", self.gateway.proxy_namespace)):
                if value in taken:
                    problems.add(
                        ("gateway", key),
                        value,
                        f"must differ from {taken[value]}: each namespace carries its own network policies",
                    )

    def _check_gateway_client_limits(self, problems: Problems) -> None:
        """Envoy Gateway counts requests per client only in its global rate limit (a Redis)."""
        limited = [r.name for r in self.routing.routes if r.client_limits.requests_per_second is not None]
        if limited and self.gateway.rate_limit.redis_url is None:
            problems.add(
                ("gateway", "rateLimit", "redisUrl"),
                None,
                f"is required: routes {', '.join(limited)} set clientLimits.requestsPerSecond, and Envoy "
                "Gateway limits a rate per client address only with its global rate limit, which counts in "
                "Redis (its local rate limit refuses per-client selectors). Set it (and redisCidrs), or set "
                "those routes' clientLimits.requestsPerSecond to null",
            )

    def _check_operations(self, problems: Problems) -> None:
        self._check_alerts(problems)
        served = self.monitoring.adapter.served()
        for name, workload in self.workloads().items():
            custom = workload.autoscaling.custom_metrics
            for key, metric in (
                ("requestsPerSecond", custom.requests_per_second),
                ("activeConnections", custom.active_connections),
            ):
                if custom.enabled and metric is not None and metric.metric_name not in served:
                    where = (
                        "no monitoring.adapter.rules entry serves it"
                        if self.monitoring.adapter.enabled
                        else ("monitoring.adapter is not enabled")
                    )
                    problems.add(
                        (name, "autoscaling", "customMetrics", key, "metricName"),
                        metric.metric_name,
                        f"is not served by the Prometheus Adapter ({where}): the HPA would report the metric "
                        "as unknown and never scale on it",
                    )
        if self.migration.enabled and self.network_policy.enabled:
            stores = [store.name for store in self.network_policy.data_stores]
            for index, name in enumerate(self.migration.data_stores):
                if name not in stores:
                    problems.add(
                        ("migration", "dataStores", index),
                        name,
                        f"is not a networkPolicy.dataStores name ({', '.join(stores) or 'none is set'}): the "
                        "migration's network policy would let it reach no database",
                    )
        lb = self.load_balancer
        envoy_alone = self.gateway.enabled and not self.ingress_controller.enabled
        if lb.type == "network" and lb.hsts is not None and envoy_alone:
            problems.add(
                ("loadBalancer", "hsts"),
                lb.hsts,
                "cannot be sent by Envoy Gateway behind a network load balancer (TLS ends at the NLB, which adds "
                "no header): use an application load balancer, or set loadBalancer.hsts: null and send "
                "Strict-Transport-Security from the app",
            )
        if self.canary.enabled and self.canary.header is not None and self.load_balancer.type != "application":
            problems.add(
                ("canary", "header"),
                self.canary.header,
                f"needs an application load balancer (loadBalancer.type is {self.load_balancer.type}): only its "
                "listener rules can refuse the header from addresses outside canary.headerSourceCidrs",
            )
        if self.canary.enabled:
            route = next((r for r in self.routing.routes if r.name == self.canary.route), None)
            if route is None:
                problems.add(
                    ("canary", "route"),
                    self.canary.route,
                    f"is not a route name ({', '.join(r.name for r in self.routing.routes)})",
                )
            elif route.workload != "backend" or route.affinity != "none":
                problems.add(
                    ("canary", "route"),
                    self.canary.route,
                    "must be a backend route without affinity: the canary splits requests, not sessions",
                )

    def _check_secrets(self, problems: Problems) -> None:
        for name, workload in self.workloads().items():
            for key, value in workload.env.items():
                reason = plain_credential(key, value)
                if reason is not None:
                    # The value is never shown: it is what must not be printed.
                    problems.add(
                        (name, "env", key),
                        None,
                        f"{reason}: a plain `env` value lands in a ConfigMap, the state, previews and the pull "
                        f"request's plan diff. Put it in the Secret instead ({name}.existingSecret, or `pulumi "
                        f"config set --secret --path 'spywatcher:secrets.{name}.{key}' ...`) and remove it from "
                        f"{name}.env",
                    )
        for name, values in self.secrets.items():
            workload = self.workloads()[name]
            if workload.existing_secret is not None and values:
                problems.add(
                    ("secrets", name),
                    "[secret]",
                    f"conflicts with {name}.existingSecret ({workload.existing_secret}): use one "
                    "source of secrets per workload",
                )
            for key in values:
                if key in workload.env:
                    problems.add(
                        ("secrets", name, key),
                        "[secret]",
                        f"is also set in {name}.env; one variable must have one source",
                    )


# Plain `env` entries that are credentials: a URL with userinfo (`scheme://user:password@host`), or a
# key that names a credential.
_URL_WITH_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s]*@")
_CREDENTIAL_KEY = re.compile(r"PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)


def plain_credential(key: str, value: str) -> str | None:
    """Why a plain `env` entry is a credential (never quoting the value), or None."""
    named = _CREDENTIAL_KEY.search(key)
    if named is not None:
        return f"the name {key} says it holds a credential ({named[0].upper()})"
    if _URL_WITH_USERINFO.search(value):
        return "the value is a URL with a user and password in it (`scheme://user:password@…`)"
    return None


# Top-level keys whose values must be stored as Pulumi secrets.
SECRET_KEYS = ("kubeconfig", "secrets")
