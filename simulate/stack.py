"""The HPA, the pods' requests and a startup delay of one workload, as a stack renders them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .hpa import RESOURCES, SimulationError
from .quantity import parse_quantity

PREFIX = "spywatcher-"


@dataclass(frozen=True)
class Workload:
    hpa: dict[str, Any]
    requests: dict[str, str]
    pod_startup_s: int


def probe_startup_s(container: Mapping[str, Any]) -> int:
    """Seconds from a pod's start until it is Ready, from its probes alone.

    The readiness probe first runs at its ``initialDelaySeconds`` and, while a startup probe is
    defined, not before that one has passed. The startup probe is assumed to pass at its second
    check (``initialDelaySeconds + periodSeconds``: the app is not up at the very first), and the
    pod to turn Ready one readiness period after readiness probing may begin. Image pulls,
    scheduling and new nodes are not counted.
    """
    readiness = container.get("readinessProbe") or {}
    startup = container.get("startupProbe")
    started = 0 if startup is None else startup.get("initialDelaySeconds", 0) + startup.get("periodSeconds", 10)
    return int(max(started, readiness.get("initialDelaySeconds", 0)) + readiness.get("periodSeconds", 10))


def pod_requests(pod_spec: Mapping[str, Any]) -> dict[str, str]:
    """The pod's cpu and memory requests: the sum over its containers, as ``calculatePodRequestsFromContainers``.

    A resource some container does not request is left out (a Utilization target on it fails, as
    the controller's "missing request" does).
    """
    containers = [*pod_spec.get("containers", [])]
    containers += [c for c in pod_spec.get("initContainers", []) if c.get("restartPolicy") == "Always"]
    requests = [c.get("resources", {}).get("requests", {}) for c in containers]
    return {
        name: _total([str(r[name]) for r in requests])
        for name in RESOURCES
        if requests and all(name in r for r in requests)
    }


def _total(quantities: list[str]) -> str:
    """One quantity as written, or the sum of several."""
    return quantities[0] if len(quantities) == 1 else format(sum(parse_quantity(q) for q in quantities), "f")


def load_workload(stack: str, workload: str) -> Workload:
    """Run the stack's program offline and read ``spywatcher-<workload>-hpa`` and its Deployment."""
    from config import ConfigError
    from config.stackfile import StackFileError
    from offline.engine import run_stack

    try:
        plan = run_stack(stack)
    except StackFileError as exc:
        raise SimulationError(str(exc)) from None
    except ConfigError as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        raise SimulationError(f"stack {stack} has an invalid configuration: {problems}") from None
    hpas = {o["metadata"]["name"]: o for o in plan.k8s_objects() if o["kind"] == "HorizontalPodAutoscaler"}
    name = f"{PREFIX}{workload}-hpa"
    if name not in hpas:
        known = ", ".join(sorted(n.removeprefix(PREFIX).removesuffix("-hpa") for n in hpas)) or "none"
        raise SimulationError(f"stack {stack} has no workload {workload!r} with an HPA (workloads: {known})")
    hpa = hpas[name]
    deployment = plan.k8s("Deployment", hpa["spec"]["scaleTargetRef"]["name"])
    pod = deployment["spec"]["template"]["spec"]
    startup = max(probe_startup_s(c) for c in pod["containers"])
    return Workload(hpa=hpa, requests=pod_requests(pod), pod_startup_s=startup)
