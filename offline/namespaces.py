"""Namespaces: every namespace the program writes an object into is created by the program, before
that object, or it is a prerequisite `make prerequisites` lists.

The API server refuses an object in a namespace that does not exist (`namespaces "x" not found`);
pulumi-kubernetes retries that until its timeout and the update fails, while a preview — which
only asks the API server for a dry run where the namespace exists — cannot tell. So:

- :func:`missing_namespaces`: the namespaces the program writes into but does not create, with what
  it writes there (Kubernetes objects by `metadata.namespace`, Helm releases by `namespace`; a
  release's `createNamespace` is off in this program). offline/prerequisites.py lists them.
- :func:`namespace_order`: an object in a namespace the program does create must wait for that
  Namespace (a dependency, directly or through others), or the engine may create it first.
"""

from __future__ import annotations

from collections.abc import Mapping

from .engine import Plan, Registration, reveal

NAMESPACE = "kubernetes:core/v1:Namespace"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def _target(r: Registration) -> tuple[str, str] | None:
    """(namespace, label) of what ``r`` writes into a namespace, if anything."""
    inputs = reveal(r.inputs)
    if r.is_kubernetes_object:
        namespace = (inputs.get("metadata") or {}).get("namespace")
        if namespace:
            return str(namespace), f"{inputs['kind']} {inputs['metadata'].get('name', r.name)}"
    elif r.type == HELM_RELEASE:
        return str(inputs.get("namespace") or "default"), f"Helm release {inputs.get('name')}"
    return None


def created_namespaces(plan: Plan) -> dict[str, Registration]:
    """Namespace name -> the registration that creates it."""
    return {str((reveal(r.inputs).get("metadata") or {}).get("name")): r for r in plan.of_type(NAMESPACE)}


def missing_namespaces(plan: Plan) -> dict[str, set[str]]:
    """Namespaces the program writes into but does not create, with what it writes into each."""
    created = created_namespaces(plan)
    found: dict[str, set[str]] = {}
    for r in plan.resources:
        target = _target(r)
        if target is not None and target[0] not in created:
            found.setdefault(target[0], set()).add(target[1])
    return found


def namespace_order(plan: Plan, order: Mapping[str, set[str]]) -> list[str]:
    """Objects in a namespace the program creates that do not wait for that Namespace; ``order`` is
    URN -> every URN it waits for (:func:`offline.rules.ancestors`)."""
    created = created_namespaces(plan)
    problems = []
    for r in plan.resources:
        target = _target(r)
        if target is None or target[0] not in created:
            continue
        namespace = created[target[0]]
        if namespace.urn not in order.get(r.urn, set()):
            problems.append(
                f"{target[1]} ({r.name}) is written into namespace {target[0]}, which this program creates "
                f"({namespace.name}), without depending on it: Pulumi may create it first and the API server "
                "refuses it (namespace not found)"
            )
    return problems
