"""What the zero-downtime model reads off a stack: the fleets of pods, the routes, the load balancer's
target groups and the order `pulumi up` creates things in, from the objects the program registers.

The model checks what is rendered, not what the settings meant: each number here comes from a
Kubernetes object, a Helm release's values, an EnvoyProxy or an AWS target group of the stack's plan.
Only what no rendered object carries comes from the validated settings (which routes carry
WebSockets, the listener's weights, what the stack declares about the AWS Load Balancer Controller).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config.delays import ENVOY_DEFAULT_ROUTE_TIMEOUT_SECONDS, NGINX_DEFAULT_TIMEOUT_SECONDS

from ..stack import probe_startup_s

NGINX = "nginx"
ENVOY = "envoy"
GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
ANNOTATION = "nginx.ingress.kubernetes.io"
# Envoy Gateway's proxy pods, as it renders them (internal/infrastructure/kubernetes/proxy/testdata/
# deployments/default.yaml @ v1.9.0): startup probe every 10 s, readiness every 5 s, no initial delay;
# Deployment strategy RollingUpdate with Kubernetes' defaults.
ENVOY_PROBES = {"startupProbe": {"periodSeconds": 10}, "readinessProbe": {"periodSeconds": 5}}
ENVOY_GRACE_EXTRA_S = 300  # terminationGracePeriodSeconds = drainTimeout + 300 (resource_provider.go)
DEFAULT_STRATEGY = ("25%", "25%")  # Kubernetes' RollingUpdate defaults (maxSurge, maxUnavailable)


class TopologyError(Exception):
    """The stack renders something the model cannot read (a bug in the model or the program)."""


# argoproj/argo-rollouts v1.9.1 utils/defaults/defaults.go DefaultScaleDownDelaySeconds: how long the old
# stable pods stay after the stable Service moved to the promoted canary.
SCALE_DOWN_DELAY_S = 30.0


@dataclass(frozen=True)
class CanaryPlan:
    """An Argo Rollouts canary as its Rollout renders it: the steps (``("weight", percent)``, or
    ``("wait", seconds)`` for a pause or an analysis: its longest metric's count x interval),
    `dynamicStableScale` and `scaleDownDelaySeconds`."""

    steps: tuple[tuple[str, float], ...]
    dynamic_stable_scale: bool
    scale_down_delay_s: float


@dataclass(frozen=True)
class Fleet:
    """One Deployment's pods: an app workload, the ingress-nginx controller or the Envoy proxies."""

    name: str
    kind: str  # "app", NGINX or ENVOY
    replicas: int
    max_surge: int
    max_unavailable: int
    min_ready_s: float
    probe_low_s: float
    """Container start to the earliest first successful readiness probe."""
    probe_high_s: float
    pre_stop_s: float
    grace_s: float
    min_available: int | None
    hpa_min: int | None
    zone_spread_hard: bool
    # Controllers only.
    backend: str | None = None
    gate_label: bool = False
    """The namespace asks the AWS Load Balancer Controller to inject readiness gates."""
    gated_at_install: bool = False
    """The pods the first `pulumi up` creates find their TargetGroupBinding and its Service in place."""
    install_order: str = ""
    """Why (or why not) the first pods get the gate: the plan's order, for the report."""
    shutdown_delay_s: float = 0.0
    """ingress-nginx `--shutdown-grace-period`; Envoy's minDrainDuration."""
    drain_s: float = 0.0
    """ingress-nginx `worker-shutdown-timeout`; Envoy's drainTimeout."""
    post_shutdown_s: float = 0.0
    canary: CanaryPlan | None = None
    """An Argo Rollouts Rollout runs the pods (`workloadRef`): it rolls with these canary steps."""

    def surge_for(self, value: int | str, round_up: bool) -> int:
        return _resolve(value, self.replicas, round_up)


@dataclass(frozen=True)
class Route:
    name: str
    fleets: tuple[str, ...]
    """The app Deployments behind the route (its canary's included)."""
    websocket: bool
    timeout_s: dict[str, float]
    """The longest a request may take on this route, per backend (its read timeout)."""
    socket_budget_s: float
    """How long a socket on this route is owed before the infrastructure may close it."""


@dataclass(frozen=True)
class TargetGroup:
    backend: str
    fleet: str
    weight: int
    deregistration_delay_s: float
    interval_s: float
    healthy_threshold: int
    unhealthy_threshold: int
    closes_at_drain_end: bool = True
    """The load balancer closes a draining target's connections when the deregistration delay ends (an
    ALB always; an NLB only with `connection_termination`); otherwise they stay until the proxy closes them."""


@dataclass(frozen=True)
class Topology:
    stack: str
    load_balancer: str  # "application" or "network"
    zones: int
    fleets: dict[str, Fleet]
    routes: list[Route]
    target_groups: dict[str, TargetGroup]
    webhook_failure_policy: str
    stickiness_s: float
    reload_budget_s: float | None = None
    """ingress-nginx's worker-shutdown-timeout: how long old workers keep connections after a reload."""
    notes: list[str] = field(default_factory=list)

    def apps(self) -> list[Fleet]:
        return [f for f in self.fleets.values() if f.kind == "app"]

    def proxies(self) -> list[Fleet]:
        return [f for f in self.fleets.values() if f.kind != "app"]

    def both_backends(self) -> bool:
        return {NGINX, ENVOY} <= set(self.target_groups)


def _resolve(value: int | str, replicas: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    fraction = int(str(value).rstrip("%")) * replicas / 100
    return math.ceil(fraction) if round_up else math.floor(fraction)


def _seconds(text: Any) -> float:
    """`65`, `"65"`, `"65s"`, `"1m5s"`, `"30s"` as seconds."""
    if isinstance(text, int | float):
        return float(text)
    total, found = 0.0, False
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)?", str(text)):
        found = True
        total += float(amount) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "": 1}[unit]
    if not found:
        raise TopologyError(f"not a duration: {text!r}")
    return total


def _probe_window(container: Mapping[str, Any]) -> tuple[float, float]:
    """Earliest and latest start-to-Ready of a container from its probes (see probe_startup_s)."""
    readiness = container.get("readinessProbe") or {}
    startup = container.get("startupProbe")
    low = max(readiness.get("initialDelaySeconds", 0), 0 if startup is None else startup.get("initialDelaySeconds", 0))
    return float(low), float(probe_startup_s(container))


def _hard_zone_spread(constraints: list[dict[str, Any]]) -> bool:
    return any(
        c.get("topologyKey") == "topology.kubernetes.io/zone" and c.get("whenUnsatisfiable") == "DoNotSchedule"
        for c in constraints or []
    )


def _pre_stop_s(container: Mapping[str, Any]) -> float:
    hook = (container.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in hook:
        return float(hook["sleep"]["seconds"])
    return 0.0


def load_topology(plan: Any) -> Topology:
    """The model's view of one stack's plan (``offline.engine.Plan``)."""
    from offline.engine import reveal
    from offline.rules import ancestors

    settings = plan.settings
    if settings is None:
        raise TopologyError(f"stack {plan.stack}: the program did not get as far as its settings")
    objects = plan.k8s_objects()
    order = ancestors(plan)

    def find(kind: str, name: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            o
            for o in objects
            if o["kind"] == kind
            and (name is None or o["metadata"]["name"] == name)
            and (namespace is None or o["metadata"].get("namespace") == namespace)
        ]

    def urn_of(kind: str, name: str, namespace: str) -> str | None:
        for r in plan.resources:
            if r.is_kubernetes_object:
                inputs = reveal(r.inputs)
                meta = inputs.get("metadata") or {}
                if inputs["kind"] == kind and meta.get("name") == name and meta.get("namespace") == namespace:
                    return str(r.urn)
        return None

    pdbs = find("PodDisruptionBudget")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in find("HorizontalPodAutoscaler")}
    # A Deployment a Rollout runs: its pods roll with the Rollout's canary, scaled by the Rollout's HPA.
    rollouts = {
        str(r["spec"]["workloadRef"]["name"]): r
        for r in find("Rollout")
        if (r["spec"].get("workloadRef") or {}).get("kind") == "Deployment"
    }
    fleets: dict[str, Fleet] = {}
    for deployment in find("Deployment"):
        name = deployment["metadata"]["name"]
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        container = pod["containers"][0]
        low, high = _probe_window(container)
        rollout = rollouts.get(name)
        hpa = hpas.get(rollout["metadata"]["name"] if rollout else name)
        replicas = hpa["spec"]["minReplicas"] if hpa else spec.get("replicas", 1)
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        budget = next(
            (
                p["spec"].get("minAvailable")
                for p in pdbs
                if p["metadata"].get("namespace") == deployment["metadata"].get("namespace")
                and all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items())
            ),
            None,
        )
        fleets[name] = Fleet(
            name=name,
            kind="app",
            replicas=replicas,
            max_surge=_resolve(rolling.get("maxSurge", DEFAULT_STRATEGY[0]), replicas, True),
            max_unavailable=_resolve(rolling.get("maxUnavailable", DEFAULT_STRATEGY[1]), replicas, False),
            min_ready_s=float(spec.get("minReadySeconds", 0)),
            probe_low_s=low,
            probe_high_s=high,
            pre_stop_s=_pre_stop_s(container),
            grace_s=float(pod.get("terminationGracePeriodSeconds", 30)),
            min_available=_resolve(budget, replicas, True) if budget is not None else None,
            hpa_min=hpa["spec"]["minReplicas"] if hpa else None,
            zone_spread_hard=_hard_zone_spread(pod.get("topologySpreadConstraints", [])),
            canary=_canary_plan(rollout, find("AnalysisTemplate")) if rollout else None,
        )

    lb_settings = settings.load_balancer
    namespaces = {n["metadata"]["name"]: n for n in find("Namespace")}
    bindings = [
        r for r in plan.resources if r.is_kubernetes_object and reveal(r.inputs)["kind"] == "TargetGroupBinding"
    ]

    def install(namespace: str, creator_urn: str | None, what: str) -> tuple[bool, str]:
        """Whether the first pods of ``creator`` find their binding and its Service, from the plan's order."""
        for binding in bindings:
            inputs = reveal(binding.inputs)
            if inputs["metadata"].get("namespace") != namespace:
                continue
            service = inputs["spec"]["serviceRef"]["name"]
            tgb = f"TargetGroupBinding {namespace}/{inputs['metadata']['name']}"
            service_urn = urn_of("Service", service, namespace)
            if creator_urn is None or binding.urn not in order.get(creator_urn, set()):
                return False, f"{what} does not wait for {tgb}: its first pods are created before it, without the gate"
            if service_urn is None:
                return False, (
                    f"{tgb} targets Service {service}, which this program does not create before the pods: the "
                    "webhook finds no Service matching the first pods"
                )
            if service_urn not in order.get(binding.urn, set()):
                return False, f"{tgb} is created before its Service {service}: the first pods may find no Service"
            return True, f"{what} waits for {tgb} and its Service {service}"
        return False, f"no TargetGroupBinding in {namespace}"

    target_groups: dict[str, TargetGroup] = {}
    both = settings.ingress_controller.enabled and settings.gateway.enabled
    weights = lb_settings.weights
    aws_groups = {r.urn: r for r in plan.resources if r.type == "aws:lb/targetGroup:TargetGroup"}

    def target_group(backend: str, fleet: str, namespace: str) -> TargetGroup:
        """The AWS target group the namespace's TargetGroupBinding points at, as the program renders it."""
        weight = 100 if not both or weights is None else int(
            weights.ingress_nginx if backend == NGINX else weights.envoy_gateway)
        for binding in bindings:
            if reveal(binding.inputs)["metadata"].get("namespace") != namespace:
                continue
            # The target group whose ARN the binding's spec reads.
            found = [aws_groups[u] for u in binding.property_dependencies.get("spec", ()) if u in aws_groups]
            if len(found) != 1:
                raise TopologyError(f"the TargetGroupBinding in {namespace} names {len(found)} target groups")
            group = reveal(found[0].inputs)
            check = group.get("healthCheck") or {}
            network = group.get("protocol") != "HTTP"
            # What the provider sends for a field left out (the target group's schema defaults,
            # hashicorp/terraform-provider-aws internal/service/elbv2/target_group.go).
            return TargetGroup(
                backend, fleet, weight, float(group.get("deregistrationDelay", 300)),
                float(check.get("interval", 30)), int(check.get("healthyThreshold", 3)),
                int(check.get("unhealthyThreshold", 3)),
                closes_at_drain_end=not network or bool(group.get("connectionTermination", False)),
            )
        raise TopologyError(f"no TargetGroupBinding in {namespace}: {fleet} is no load balancer target")

    reload_budget: float | None = None
    controller_timeouts: dict[str, Any] = {}
    releases = [r for r in plan.resources if r.type == "kubernetes:helm.sh/v3:Release"]
    for release in releases:
        inputs = reveal(release.inputs)
        if inputs.get("chart") != "ingress-nginx":
            continue
        namespace = inputs["namespace"]
        controller = inputs["values"]["controller"]
        scaling = controller.get("autoscaling") or {}
        replicas = int(scaling["minReplicas"] if scaling.get("enabled") else controller.get("replicaCount", 1))
        strategy = (controller.get("updateStrategy") or {}).get("rollingUpdate") or {}
        config = controller.get("config") or {}
        controller_timeouts = config
        low, high = _probe_window({"readinessProbe": controller.get("readinessProbe") or {}})
        gated, why = install(namespace, release.urn, f"Helm release {inputs['name']}")
        budget = controller.get("minAvailable")
        reload_budget = _seconds(config.get("worker-shutdown-timeout", "240s"))
        fleets["ingress-nginx-controller"] = Fleet(
            name="ingress-nginx-controller",
            kind=NGINX,
            replicas=replicas,
            max_surge=_resolve(strategy.get("maxSurge", DEFAULT_STRATEGY[0]), replicas, True),
            max_unavailable=_resolve(strategy.get("maxUnavailable", DEFAULT_STRATEGY[1]), replicas, False),
            min_ready_s=float(controller.get("minReadySeconds", 0)),
            probe_low_s=low,
            probe_high_s=high,
            pre_stop_s=0.0,  # /wait-shutdown: SIGTERM to the controller at once, then waits for nginx
            grace_s=float(controller.get("terminationGracePeriodSeconds", 300)),
            min_available=_resolve(budget, replicas, True) if budget is not None else None,
            hpa_min=replicas if scaling.get("enabled") else None,
            zone_spread_hard=_hard_zone_spread(controller.get("topologySpreadConstraints", [])),
            backend=NGINX,
            gate_label=(namespaces.get(namespace, {}).get("metadata", {}).get("labels") or {}).get(GATE_LABEL)
            == "enabled",
            gated_at_install=gated,
            install_order=why,
            shutdown_delay_s=_seconds((controller.get("extraArgs") or {}).get("shutdown-grace-period", 0)),
            drain_s=reload_budget,
            post_shutdown_s=10.0,
        )
        target_groups[NGINX] = target_group(NGINX, "ingress-nginx-controller", namespace)

    for proxy in find("EnvoyProxy"):
        spec = proxy["spec"]
        kube = spec["provider"]["kubernetes"]
        namespace = proxy["metadata"]["namespace"]
        scaling = kube.get("envoyHpa") or {}
        replicas = int(scaling.get("minReplicas", (kube.get("envoyDeployment") or {}).get("replicas", 1)))
        shutdown = spec.get("shutdown") or {}
        drain_timeout = _seconds(shutdown.get("drainTimeout", "60s"))
        low, high = _probe_window(ENVOY_PROBES)
        gateway = next(iter(find("Gateway", namespace=namespace)), None)
        creator = urn_of("Gateway", gateway["metadata"]["name"], namespace) if gateway else None
        gated, why = install(namespace, creator, "the Gateway (Envoy Gateway creates the proxies from it)")
        budget = (kube.get("envoyPDB") or {}).get("minAvailable")
        pod = (kube.get("envoyDeployment") or {}).get("pod") or {}
        fleets["envoy-proxy"] = Fleet(
            name="envoy-proxy",
            kind=ENVOY,
            replicas=replicas,
            max_surge=_resolve(DEFAULT_STRATEGY[0], replicas, True),
            max_unavailable=_resolve(DEFAULT_STRATEGY[1], replicas, False),
            min_ready_s=0.0,
            probe_low_s=low,
            probe_high_s=high,
            pre_stop_s=0.0,  # the shutdown manager's preStop drains; the proxy keeps serving meanwhile
            grace_s=drain_timeout + ENVOY_GRACE_EXTRA_S,
            min_available=_resolve(budget, replicas, True) if budget is not None else None,
            hpa_min=replicas if scaling else None,
            zone_spread_hard=_hard_zone_spread(pod.get("topologySpreadConstraints", [])),
            backend=ENVOY,
            gate_label=(namespaces.get(namespace, {}).get("metadata", {}).get("labels") or {}).get(GATE_LABEL)
            == "enabled",
            gated_at_install=gated,
            install_order=why,
            shutdown_delay_s=_seconds(shutdown.get("minDrainDuration", "10s")),
            drain_s=drain_timeout,
        )
        target_groups[ENVOY] = target_group(ENVOY, "envoy-proxy", namespace)

    routes = _routes(settings, find, controller_timeouts, target_groups)
    lbc = getattr(settings.cluster, "load_balancer_controller", None)
    return Topology(
        stack=plan.stack,
        load_balancer=lb_settings.type,
        zones=max(1, len(set(lb_settings.subnet_ids))),
        fleets=fleets,
        routes=routes,
        target_groups=target_groups,
        webhook_failure_policy=getattr(lbc, "pod_mutator_failure_policy", "Ignore"),
        stickiness_s=float(lb_settings.stickiness_seconds),
        reload_budget_s=reload_budget,
    )


def _canary_plan(rollout: Mapping[str, Any], templates: list[dict[str, Any]]) -> CanaryPlan:
    canary = rollout["spec"]["strategy"]["canary"]
    namespace = rollout["metadata"].get("namespace")
    steps: list[tuple[str, float]] = []
    for step in canary.get("steps") or []:
        if "setWeight" in step:
            steps.append(("weight", float(step["setWeight"])))
        elif "pause" in step:
            if "duration" not in (step["pause"] or {}):
                raise TopologyError(
                    f"Rollout {rollout['metadata']['name']}: a pause without a duration waits for a person"
                )
            steps.append(("wait", _seconds(step["pause"]["duration"])))
        elif "analysis" in step:
            names = {t["templateName"] for t in step["analysis"].get("templates") or []}
            metrics = [m for t in templates if t["metadata"]["name"] in names
                       and t["metadata"].get("namespace") == namespace for m in t["spec"]["metrics"]]
            steps.append(("wait", max(((int(m.get("count", 1)) - 1) * _seconds(m.get("interval", "0s"))
                                       for m in metrics), default=0.0)))
    return CanaryPlan(
        tuple(steps),
        bool(canary.get("dynamicStableScale", False)),
        float(canary.get("scaleDownDelaySeconds", SCALE_DOWN_DELAY_S)),
    )


def _routes(settings: Any, find: Any, controller: Mapping[str, str], groups: Mapping[str, TargetGroup]) -> list[Route]:
    """Each route's longest request per backend, the app fleets behind it (its canary's included) and,
    for a WebSocket route, its socket budget."""
    selectors = {(s["metadata"].get("namespace"), s["metadata"]["name"]): s["spec"].get("selector") or {}
                 for s in find("Service")}
    pods = {d["metadata"]["name"]: (d["metadata"].get("namespace"), d["spec"]["template"]["metadata"]["labels"])
            for d in find("Deployment")}

    def fleets_of(namespace: str, service: str) -> list[str]:
        selector = selectors.get((namespace, service))
        if not selector:
            return []
        return sorted(n for n, (ns, labels) in pods.items()
                      if ns == namespace and all(labels.get(k) == v for k, v in selector.items()))

    ingresses = {i["metadata"]["name"]: i for i in find("Ingress")}
    http_routes = {r["metadata"]["name"]: r for r in find("HTTPRoute")}
    routes = []
    for route in settings.routing.routes:
        fleets: set[str] = set()
        timeouts: dict[str, float] = {}
        for name in (f"spywatcher-{route.name}", f"spywatcher-{route.name}-canary"):
            ingress = ingresses.get(name)
            if NGINX not in groups or ingress is None:
                continue
            namespace = ingress["metadata"].get("namespace")
            for rule in ingress["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    fleets.update(fleets_of(namespace, path["backend"]["service"]["name"]))
            annotations = ingress["metadata"].get("annotations") or {}
            read = annotations.get(f"{ANNOTATION}/proxy-read-timeout", controller.get("proxy-read-timeout"))
            send = annotations.get(f"{ANNOTATION}/proxy-send-timeout", controller.get("proxy-send-timeout"))
            timeouts[NGINX] = max(
                timeouts.get(NGINX, 0.0),
                _seconds(read if read is not None else NGINX_DEFAULT_TIMEOUT_SECONDS),
                _seconds(send if send is not None else NGINX_DEFAULT_TIMEOUT_SECONDS),
            )
        http_route = http_routes.get(f"spywatcher-{route.name}")
        if ENVOY in groups and http_route is not None:
            namespace = http_route["metadata"].get("namespace")
            requests = []
            for rule in http_route["spec"]["rules"]:
                for ref in rule.get("backendRefs", []):
                    fleets.update(fleets_of(namespace, ref["name"]))
                request = (rule.get("timeouts") or {}).get("request")
                limit = ENVOY_DEFAULT_ROUTE_TIMEOUT_SECONDS if request is None else _seconds(request)
                requests.append(math.inf if limit == 0 else limit)  # 0s: no request timeout
            timeouts[ENVOY] = max(requests)
        if not fleets:
            raise TopologyError(f"route {route.name}: no Deployment behind its Ingress or HTTPRoute")
        websocket = bool(route.websocket)
        budget = (
            float(max(route.timeouts.read_seconds, route.timeouts.send_seconds))
            if websocket and route.timeouts is not None
            else 0.0
        )
        routes.append(Route(route.name, tuple(sorted(fleets)), websocket, timeouts, budget))
    return routes
