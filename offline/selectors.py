"""Selectors that pick another workload's pods: a rule `make check` runs on every stack.

A label selector picks every pod in its namespace whose labels match, whoever created the pod. So a
Deployment whose selector matches a Job's pods counts them as its own (the ReplicaSet controller
adopts or fights them), a Service sends traffic to them, a PodDisruptionBudget counts them, an HPA
averages their metrics (it reads the pods of its target's selector). Each of those selectors must
pick the pods of one workload only — its own. A NetworkPolicy may pick several workloads (the
default deny picks all), but one that lets traffic in on a port must not pick pods that serve no
such port (a one-off Job's pods, say): the allowance is meant for a server.

Matching is the API server's: `matchLabels` and `matchExpressions` (`In`, `NotIn`, `Exists`,
`DoesNotExist`; kubernetes/kubernetes `staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go`,
`LabelSelectorAsSelector`), a Service's `spec.selector` as `matchLabels`, an empty selector
matching everything, within one namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .engine import Plan, reveal

# kind -> path to the pod template (its metadata holds the pod labels).
POD_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# kind -> path to the selector that must pick its own workload's pods only.
OWNING_SELECTORS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "selector"),
    "StatefulSet": ("spec", "selector"),
    "DaemonSet": ("spec", "selector"),
    "ReplicaSet": ("spec", "selector"),
    "Service": ("spec", "selector"),
    "PodDisruptionBudget": ("spec", "selector"),
}


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: frozenset[int | str]  # container port numbers and names

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def _get(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str], plain: bool = False) -> bool:
    """Whether a label selector (or, ``plain``, a Service's map) picks a pod with ``labels``."""
    if selector is None:
        return False  # no selector: a Service without one selects no pods
    if plain:  # a Service's selector: an empty one selects no pods either (core/v1 ServiceSpec.selector)
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
    if not all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def workloads(plan: Plan) -> list[Workload]:
    found = []
    for r in plan.resources:
        if not r.is_kubernetes_object:
            continue
        obj = reveal(r.inputs)
        path = POD_TEMPLATES.get(str(obj["kind"]))
        template = _get(obj, path) if path else None
        if not isinstance(template, Mapping):
            continue
        ports: set[int | str] = set()
        for container in _get(template, ("spec", "containers")) or []:
            for port in container.get("ports") or []:
                ports.add(port["containerPort"])
                if port.get("name"):
                    ports.add(port["name"])
        meta = obj.get("metadata") or {}
        found.append(
            Workload(
                str(obj["kind"]),
                str(meta.get("name")),
                str(meta.get("namespace") or ""),
                dict(_get(template, ("metadata", "labels")) or {}),
                frozenset(ports),
            )
        )
    return found


def selector_overlaps(plan: Plan) -> list[str]:
    """Every selector that picks pods it must not (see the module doc), as problem lines."""
    pods = workloads(plan)
    objects = [reveal(r.inputs) for r in plan.resources if r.is_kubernetes_object]
    by_name = {(str(o["kind"]), str(o["metadata"].get("namespace") or ""), str(o["metadata"]["name"])): o
               for o in objects}
    problems = []
    for obj in objects:
        kind, meta = str(obj["kind"]), obj.get("metadata") or {}
        namespace, label = str(meta.get("namespace") or ""), f"{obj['kind']} {meta.get('namespace')}/{meta['name']}"
        here = [w for w in pods if w.namespace == namespace]
        if kind in OWNING_SELECTORS:
            picked = [w for w in here if matches(_get(obj, OWNING_SELECTORS[kind]), w.labels, plain=kind == "Service")]
            if kind in POD_TEMPLATES:
                picked = [w for w in picked if (w.kind, w.name) != (kind, meta["name"])]
                if picked:
                    problems.append(f"{label}: its selector also picks the pods of {', '.join(map(str, picked))}")
            elif len(picked) > 1:
                names = ", ".join(map(str, picked))
                problems.append(f"{label}: its selector picks the pods of {names}, not one workload's")
        elif kind == "HorizontalPodAutoscaler":
            ref = _get(obj, ("spec", "scaleTargetRef")) or {}
            target = by_name.get((str(ref.get("kind")), namespace, str(ref.get("name"))))
            path = OWNING_SELECTORS.get(str(ref.get("kind")))
            if target is None or path is None:
                continue
            others = [w for w in here if matches(_get(target, path), w.labels)
                      and (w.kind, w.name) != (ref.get("kind"), ref.get("name"))]
            if others:
                problems.append(
                    f"{label}: its target's selector also picks the pods of {', '.join(map(str, others))}, "
                    "whose metrics it would average in"
                )
        elif kind == "NetworkPolicy":
            ports = {p["port"] for rule in _get(obj, ("spec", "ingress")) or [] for p in rule.get("ports") or []
                     if "port" in p}
            if not ports:
                continue
            for w in here:
                if matches(_get(obj, ("spec", "podSelector")), w.labels) and not ports & w.ports:
                    problems.append(
                        f"{label}: lets traffic in on port(s) {', '.join(map(str, sorted(ports, key=str)))} to the "
                        f"pods of {w}, which serve none of them"
                    )
    return problems
