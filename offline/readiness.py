"""Readiness gates: every pod a TargetGroupBinding targets is created after the binding and its
Service, so that it gets the target-health readiness gate.

The AWS Load Balancer Controller's webhook adds the gate to a pod only when the pod is created, and
only if a Service in the pod's namespace selects it and a TargetGroupBinding of target type `ip`
names that Service (kubernetes-sigs/aws-load-balancer-controller docs/deploy/pod_readiness_gate.md
and pkg/inject/pod_readiness/pod_readiness_gate.go @ v3.5.0: a Service not found is skipped). A pod
created earlier never gets it: Kubernetes counts it Ready while its target is still `initial`, and a
rollout can remove the last healthy target (aws-load-balancer-controller #2982, #1124).

The pods of a namespace come from a Deployment the program registers, a Helm release (its chart's
Deployments: selected by `app.kubernetes.io/instance`, the release's name) or a Gateway (Envoy
Gateway's GatewayNamespace mode creates each Gateway's proxies in its namespace, labelled
`gateway.envoyproxy.io/owning-gateway-name`). :func:`readiness_gate_order` holds each of them, in a
namespace that asks for gates, to wait for the binding, and the binding for its Service, which the
program must create itself (one created by a chart or a controller comes with or after the pods).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .engine import Plan, Registration, reveal

GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
RELEASE_LABEL = "app.kubernetes.io/instance"
GATEWAY_LABEL = "gateway.envoyproxy.io/owning-gateway-name"


def _object(r: Registration) -> dict[str, Any]:
    return reveal(r.inputs) if r.is_kubernetes_object else {}


def _describe(r: Registration) -> str:
    inputs = reveal(r.inputs)
    if r.is_kubernetes_object:
        meta = inputs.get("metadata") or {}
        return f"{inputs['kind']} {meta.get('namespace', '')}/{meta.get('name', r.name)}"
    return f"Helm release {inputs.get('name', r.name)}"


def _pod_creators(plan: Plan, namespace: str, selector: Mapping[str, str]) -> list[Registration]:
    """What creates pods in ``namespace`` that ``selector`` matches."""
    found = []
    for r in plan.resources:
        inputs = reveal(r.inputs)
        if r.type == "kubernetes:helm.sh/v3:Release":
            if inputs.get("namespace") == namespace and selector.get(RELEASE_LABEL) == inputs.get("name"):
                found.append(r)
            continue
        if not r.is_kubernetes_object or (inputs.get("metadata") or {}).get("namespace") != namespace:
            continue
        if inputs["kind"] == "Gateway" and selector.get(GATEWAY_LABEL) == inputs["metadata"]["name"]:
            found.append(r)
        elif inputs["kind"] == "Deployment":
            labels = inputs["spec"]["template"]["metadata"].get("labels") or {}
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                found.append(r)
    return found


def readiness_gate_order(plan: Plan, order: Mapping[str, set[str]]) -> list[str]:
    """Pods a TargetGroupBinding targets that may be created before it or its Service; ``order`` is
    URN -> every URN it waits for (:func:`offline.rules.ancestors`)."""
    gated = {
        str(inputs["metadata"]["name"])
        for r in plan.resources
        if (inputs := _object(r)).get("kind") == "Namespace"
        and (inputs["metadata"].get("labels") or {}).get(GATE_LABEL) == "enabled"
    }
    services = {
        (str(inputs["metadata"].get("namespace")), str(inputs["metadata"]["name"])): r
        for r in plan.resources
        if (inputs := _object(r)).get("kind") == "Service"
    }
    problems = []
    for binding in plan.resources:
        inputs = _object(binding)
        if inputs.get("kind") != "TargetGroupBinding" or (inputs.get("spec") or {}).get("targetType") != "ip":
            continue
        namespace = str(inputs["metadata"].get("namespace"))
        if namespace not in gated:
            continue
        name = inputs["spec"]["serviceRef"]["name"]
        service = services.get((namespace, name))
        if service is None:
            problems.append(
                f"{_describe(binding)} targets Service {namespace}/{name}, which this program does not create: "
                "the AWS Load Balancer Controller's webhook gives no readiness gate to pods created before it"
            )
            continue
        if service.urn not in order.get(binding.urn, set()):
            problems.append(
                f"{_describe(binding)} does not wait for its Service {namespace}/{name}: pods created in between "
                "get no readiness gate"
            )
        selector = reveal(service.inputs)["spec"].get("selector") or {}
        for creator in _pod_creators(plan, namespace, selector):
            if binding.urn not in order.get(creator.urn, set()):
                problems.append(
                    f"{_describe(creator)} creates pods {_describe(binding)} targets without waiting for it: its "
                    "first pods get no target-health readiness gate (aws-load-balancer-controller #2982)"
                )
    return problems
