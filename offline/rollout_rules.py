"""Rules of Argo Rollouts that the SDK's mocks cannot see, checked on a plan (`render --check`).

Under the mocks a Rollout is just a custom resource. On a cluster, the Argo Rollouts controller
and Pulumi share objects: the controller writes fields Pulumi must leave alone, and it reads
objects by name that the program must render consistently. Each rule below names the source it
was read from (:data:`SOURCES`) and reports both objects when broken.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from config.delays import Source

from .engine import Plan, Registration, reveal
from .selectors import matches

ROLLOUT = "Rollout"
HASH_LABEL = "rollouts-pod-template-hash"
CANARY_INGRESS_SUFFIX = "-canary"
NAME_LIMIT = 253


SOURCES: dict[str, Source] = {
    "replicas": Source(
        "argoproj/argo-rollouts", "rollout/controller.go (syncHandler), rollout/sync.go (scaleDeployment)", "v1.9.1",
        "the controller sets a Rollout's missing spec.replicas to 1 (then the HPA owns it through the scale "
        "subresource) and scales the workloadRef Deployment to 0: neither field may be in the program's objects",
    ),
    "hpa": Source(
        "argoproj/argo-rollouts", "manifests/crds/rollout-crd.yaml (subresources.scale)", "v1.9.1",
        "a Rollout has a scale subresource; an HPA on the Deployment would scale it back up from 0 against the "
        "controller",
    ),
    "selector": Source(
        "argoproj/argo-rollouts", "rollout/service.go (switchServiceSelector, ensureSVCTargets)", "v1.9.1",
        "the controller patches rollouts-pod-template-hash into the stable and canary Services' spec.selector, "
        "an atomic map (x-kubernetes-map-type: atomic, kubernetes v1.34 ServiceSpec), so it then owns the whole "
        "selector; Pulumi must leave it out of its apply (ignoreChanges, pulumi-kubernetes "
        "provider/pkg/await/await.go handleSSAIgnoreFields) or every update is a field conflict",
    ),
    "ingress": Source(
        "argoproj/argo-rollouts", "rollout/trafficrouting/nginx/nginx.go, utils/ingress/ingress.go", "v1.9.1",
        "the canary Ingress `<rollout>-<stableIngress>-canary` (at most 253 characters) copies the stable "
        "Ingress's rules that send to the stableService, and refuses an Ingress with none; it only patches an "
        "Ingress of that name that it controls",
    ),
    "ingress-class": Source(
        "argoproj/argo-rollouts",
        "ingress/ingress.go (syncIngress), utils/ingress/wrapper.go (GetClass), cmd/rollouts-controller/main.go",
        "v1.9.1",
        "the controller re-syncs the Rollouts of an Ingress that changes only when its class (the "
        "kubernetes.io/ingress.class annotation, else spec.ingressClassName) is one of --nginx-ingress-classes "
        "(repeatable; default nginx): otherwise the canary Ingress keeps a stale copy of the stable one",
    ),
    "stable": Source(
        "argoproj/argo-rollouts", "rollout/ephemeralmetadata.go, utils/replicaset (SyncEphemeralPodMetadata)",
        "v1.9.1",
        "stable and canary pods differ only by the rollouts-pod-template-hash and the stableMetadata / "
        "canaryMetadata labels: a Service or budget that must see stable pods only selects the stable labels",
    ),
    "analysis": Source(
        "argoproj/argo-rollouts", "utils/analysis/factory.go (NewAnalysisRunFromTemplates, args)", "v1.9.1",
        "an analysis step names AnalysisTemplates in the Rollout's namespace and must give every argument the "
        "template declares without a value",
    ),
    "hash-label": Source(
        "prometheus-operator/prometheus-operator", "pkg/prometheus/promcfg.go (podTargetLabels)", "v0.93.0",
        "a ServiceMonitor's podTargetLabels copies a pod label onto its series under the sanitised name "
        "(rollouts_pod_template_hash): the analysis selects the canary's series by it",
    ),
}


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class _Object:
    registration: Registration
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind"))

    @property
    def name(self) -> str:
        return str(_get(self.body, "metadata", "name") or "")

    @property
    def namespace(self) -> str:
        return str(_get(self.body, "metadata", "namespace") or "")

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def _objects(plan: Plan) -> list[_Object]:
    return [_Object(r, reveal(r.inputs)) for r in plan.resources if r.is_kubernetes_object]


def _find(objects: list[_Object], kind: str, namespace: str, name: str) -> _Object | None:
    return next((o for o in objects if (o.kind, o.namespace, o.name) == (kind, namespace, name)), None)


def _requires(labels: Mapping[str, Any], selector: Mapping[str, Any] | None) -> bool:
    """Whether a Service's selector (or a budget's matchLabels) asks for every one of ``labels``."""
    return bool(labels) and all((selector or {}).get(k) == v for k, v in labels.items())


def _ignores_selector(registration: Registration) -> bool:
    return any(path in ("spec", "spec.selector") for path in registration.ignore_changes)


def _ingress_services(ingress: Mapping[str, Any]) -> Iterator[str]:
    for rule in _get(ingress, "spec", "rules") or []:
        for path in _get(rule, "http", "paths") or []:
            name = _get(path, "backend", "service", "name")
            if name:
                yield str(name)


CONTROLLER_CHART = "argo-rollouts"
NGINX_CLASSES_FLAG = "--nginx-ingress-classes"
DEFAULT_NGINX_CLASSES = ("nginx",)  # cmd/rollouts-controller/main.go defaultNGINXIngressClass


def nginx_classes(extra_args: list[Any]) -> tuple[str, ...]:
    """The ingress classes the controller treats as nginx, from its arguments (a string-array flag:
    each `--nginx-ingress-classes=X` or `--nginx-ingress-classes X` adds one; none: the default)."""
    args = [str(a) for a in extra_args]
    found = []
    for i, arg in enumerate(args):
        if arg.startswith(f"{NGINX_CLASSES_FLAG}="):
            found.append(arg.split("=", 1)[1])
        elif arg == NGINX_CLASSES_FLAG and i + 1 < len(args):
            found.append(args[i + 1])
    return tuple(found) or DEFAULT_NGINX_CLASSES


def _controller_classes(plan: Plan) -> tuple[str, ...] | None:
    """The nginx classes of the plan's argo-rollouts release (None: no such release here)."""
    for registration in plan.resources:
        inputs = reveal(registration.inputs)
        if registration.type == "kubernetes:helm.sh/v3:Release" and inputs.get("chart") == CONTROLLER_CHART:
            return nginx_classes(_get(inputs, "values", "controller", "extraArgs") or [])
    return None


def check_rollouts(plan: Plan) -> list[str]:
    """Every rule of :data:`SOURCES` on the plan's Rollouts, as problem lines."""
    objects = _objects(plan)
    classes = _controller_classes(plan)
    problems: list[str] = []
    for rollout in (o for o in objects if o.kind == ROLLOUT):
        problems += _check_one(rollout, objects)
        problems += _check_ingress_class(rollout, objects, classes)
    return problems


def _check_ingress_class(rollout: _Object, objects: list[_Object], classes: tuple[str, ...] | None) -> list[str]:
    name = _get(rollout.body, "spec", "strategy", "canary", "trafficRouting", "nginx", "stableIngress")
    ingress = _find(objects, "Ingress", rollout.namespace, str(name)) if name else None
    if ingress is None or classes is None:
        return []
    annotations = _get(ingress.body, "metadata", "annotations") or {}
    ingress_class = annotations.get("kubernetes.io/ingress.class") or _get(ingress.body, "spec", "ingressClassName")
    if ingress_class in classes:
        return []
    return [
        f"{ingress} has ingress class {ingress_class!r}, which the Argo Rollouts controller does not treat as nginx "
        f"({NGINX_CLASSES_FLAG}: {', '.join(classes)}): a change of it would not reach {rollout}'s canary Ingress "
        f"({_why('ingress-class')})"
    ]


def _check_one(rollout: _Object, objects: list[_Object]) -> list[str]:
    problems: list[str] = []
    spec = rollout.body.get("spec") or {}
    ns = rollout.namespace
    ref = spec.get("workloadRef") or {}
    if spec.get("replicas") is not None:
        problems.append(
            f"{rollout} sets spec.replicas: the HPA owns it through the scale subresource ({_why('replicas')})"
        )
    deployment = _find(objects, str(ref.get("kind")), ns, str(ref.get("name"))) if ref else None
    if ref and deployment is None:
        problems.append(f"{rollout} refers to {ref.get('kind')} {ns}/{ref.get('name')}, which is not rendered")
    pod_labels: dict[str, Any] = {}
    if deployment is not None:
        pod_labels = dict(_get(deployment.body, "spec", "template", "metadata", "labels") or {})
        if _get(deployment.body, "spec", "replicas") is not None:
            problems.append(
                f"{deployment} sets spec.replicas, but {rollout} runs its pods and the controller scales it to 0: "
                f"every `pulumi up` would start them again ({_why('replicas')})"
            )
    for hpa in (o for o in objects if o.kind == "HorizontalPodAutoscaler" and o.namespace == ns):
        target = _get(hpa.body, "spec", "scaleTargetRef") or {}
        if deployment is not None and (target.get("kind"), target.get("name")) == (deployment.kind, deployment.name):
            problems.append(
                f"{hpa} scales {deployment}, which {rollout} runs: it must scale the Rollout ({_why('hpa')})"
            )
        if target.get("kind") == ROLLOUT and _find(objects, ROLLOUT, ns, str(target.get("name"))) is None:
            problems.append(f"{hpa} scales Rollout {ns}/{target.get('name')}, which is not rendered")
    canary = spec.get("strategy", {}).get("canary") or {}
    stable_labels = dict(_get(canary, "stableMetadata", "labels") or {})
    services = [canary.get("stableService"), canary.get("canaryService")]
    if services[0] and services[0] == services[1]:
        problems.append(f"{rollout}: stableService and canaryService are both {services[0]}")
    for name in filter(None, services):
        service = _find(objects, "Service", ns, str(name))
        if service is None:
            problems.append(f"{rollout} names Service {ns}/{name}, which is not rendered")
            continue
        if not _ignores_selector(service.registration):
            problems.append(
                f"{service} is {rollout}'s, which owns its spec.selector: it needs ignoreChanges "
                f"[spec.selector] ({_why('selector')})"
            )
        if pod_labels and not matches(_get(service.body, "spec", "selector"), pod_labels, plain=True):
            problems.append(f"{service} does not select the pods of {rollout} ({pod_labels})")
    stable_service = canary.get("stableService")
    ingress_name = _get(canary, "trafficRouting", "nginx", "stableIngress")
    if ingress_name:
        problems += _check_ingress(rollout, str(ingress_name), stable_service, objects)
    if pod_labels:
        problems += _check_stable_selectors(rollout, pod_labels, stable_labels, stable_service, objects)
    problems += _check_analysis(rollout, canary, objects)
    return problems


def _check_ingress(rollout: _Object, name: str, stable_service: Any, objects: list[_Object]) -> list[str]:
    problems = []
    ns = rollout.namespace
    ingress = _find(objects, "Ingress", ns, name)
    if ingress is None:
        return [f"{rollout} routes through Ingress {ns}/{name}, which is not rendered ({_why('ingress')})"]
    if stable_service not in set(_ingress_services(ingress.body)):
        problems.append(
            f"{ingress} sends to no path of stableService {stable_service}: the controller refuses it "
            f"({_why('ingress')})"
        )
    canary_name = f"{rollout.name}-{name}{CANARY_INGRESS_SUFFIX}"
    if len(canary_name) > NAME_LIMIT:
        problems.append(f"{rollout}: its canary Ingress name {canary_name!r} is longer than {NAME_LIMIT} characters")
    clash = _find(objects, "Ingress", ns, canary_name)
    if clash is not None:
        problems.append(
            f"{clash} has the name of {rollout}'s canary Ingress, which the controller owns ({_why('ingress')})"
        )
    for other in (o for o in objects if o.kind == "Ingress" and o.namespace == ns and o is not ingress):
        annotations = _get(other.body, "metadata", "annotations") or {}
        if annotations.get("nginx.ingress.kubernetes.io/canary") == "true" and _same_paths(other.body, ingress.body):
            problems.append(
                f"{other} is a second canary of {ingress}'s paths: ingress-nginx serves one canary per host and "
                f"path, and {rollout} manages its own"
            )
    return problems


def _paths(ingress: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {
        (str(rule.get("host")), str(path.get("path")))
        for rule in _get(ingress, "spec", "rules") or []
        for path in _get(rule, "http", "paths") or []
    }


def _same_paths(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return bool(_paths(one) & _paths(other))


def _check_stable_selectors(
    rollout: _Object, pod_labels: dict[str, Any], stable_labels: dict[str, Any], stable_service: Any,
    objects: list[_Object],
) -> list[str]:
    """An Ingress's Service or a PDB that selects the Rollout's pods sees the canary's too, unless it
    is the stableService (the controller pins it to the stable hash) or selects the stable labels."""
    problems = []
    ns = rollout.namespace
    routed = {name for o in objects if o.kind == "Ingress" and o.namespace == ns for name in _ingress_services(o.body)}
    for name in sorted(routed - {str(stable_service)}):
        service = _find(objects, "Service", ns, name)
        selector = _get(service.body, "spec", "selector") if service is not None else None
        if service is not None and matches(selector, pod_labels, plain=True) and not _requires(stable_labels, selector):
            problems.append(
                f"{service} is a route's and selects {rollout}'s pods without its stable labels {stable_labels}: "
                f"it would send requests to canary pods outside the canary's weight ({_why('stable')})"
            )
    for budget in (o for o in objects if o.kind == "PodDisruptionBudget" and o.namespace == ns):
        # policy/v1: a null selector picks no pod, an empty one every pod of the namespace.
        selector = _get(budget.body, "spec", "selector")
        if matches(selector, pod_labels) and not _requires(stable_labels, _get(selector, "matchLabels")):
            problems.append(
                f"{budget} counts {rollout}'s canary pods: a drain could leave only canary pods; select its stable "
                f"labels {stable_labels} ({_why('stable')})"
            )
    return problems


def _check_analysis(rollout: _Object, canary: Mapping[str, Any], objects: list[_Object]) -> list[str]:
    problems = []
    for index, step in enumerate(canary.get("steps") or []):
        analysis = step.get("analysis")
        if not analysis:
            continue
        given = {a.get("name") for a in analysis.get("args") or []}
        for ref in analysis.get("templates") or []:
            template = _find(objects, "AnalysisTemplate", rollout.namespace, str(ref.get("templateName")))
            if template is None:
                problems.append(
                    f"{rollout} step {index} runs AnalysisTemplate {rollout.namespace}/{ref.get('templateName')}, "
                    f"which is not rendered ({_why('analysis')})"
                )
                continue
            needed = {a["name"] for a in _get(template.body, "spec", "args") or [] if "value" not in a
                      and "valueFrom" not in a}
            if needed - given:
                problems.append(
                    f"{rollout} step {index} gives {template} no value for {', '.join(sorted(needed - given))} "
                    f"({_why('analysis')})"
                )
    return problems


def _why(rule: str) -> str:
    source = SOURCES[rule]
    return f"{source.repository} {source.path} @ {source.tag}"
