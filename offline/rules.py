"""Rules of a real `pulumi up` that the SDK's mocks cannot see, checked on a plan.

Under the mocks every registration succeeds at once. The real engine creates resources in the order
their dependencies give (explicit `dependsOn` and the Outputs one resource reads from another) and
nothing else; the real providers replace a resource when a property that cannot change does change,
by default creating the new one before deleting the old; the API server and AWS refuse what they
refuse. Each rule here encodes one of those behaviours on the recorded :class:`~offline.engine.Plan`
and names both objects when it is broken. `render --check` (`make check`) runs them on every stack.

- :func:`reference_order`: every ConfigMap, Secret, ServiceAccount and PersistentVolumeClaim a pod
  template reads exists before the pod: declared as existing in config, or registered by this
  program and a dependency of the workload (never the other way round).
- :func:`fixed_names`: a resource that Pulumi replaces create-before-delete must not carry a fixed
  physical name (the new one would collide with the old); an auto-named prefix must leave room for
  Pulumi's random suffix.
- :func:`immutable_references`: an object whose field cannot change once created (a
  TargetGroupBinding's `spec.targetGroupARN`) but that reads another resource's output is replaced
  with it (`replaceOnChanges`), deleted first.
- :mod:`offline.rollout_rules`: what Argo Rollouts and Pulumi must agree on (replicas, selectors,
  the HPA's target, the Ingress names, the analysis).

:func:`check_plan` also runs the namespace rule (offline/namespaces.py: an object in a namespace
the program creates waits for it) and the selector rule (offline/selectors.py: no selector picks
another workload's pods).

What a *change* replaces, and what refuses it, is :mod:`offline.replacement` (`make diff`); the rules
here hold on every single plan, so that any replacement a change could cause can proceed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .engine import Plan, Registration, reveal
from .rollout_rules import check_rollouts

# --- The objects a pod template reads ---------------------------------------------------------

# Kind of the registration type -> path to its pod spec.
POD_SPECS: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}

Ref = tuple[str, str, str]  # (kind, namespace, name)


@dataclass(frozen=True)
class Reference:
    """One object a pod reads, and where in the pod spec it is named."""

    kind: str
    name: str
    where: str
    optional: bool = False


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def pod_references(pod: Mapping[str, Any]) -> Iterator[Reference]:
    """Every ConfigMap, Secret, ServiceAccount and PersistentVolumeClaim ``pod`` (a pod spec) names:
    env `valueFrom`, `envFrom`, volumes (projected sources included), `serviceAccountName` and
    `imagePullSecrets`."""
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod.get(group) or []:
            label = f"{group}[{container.get('name')}]"
            for env in container.get("env") or []:
                for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    ref = _get(env, "valueFrom", key)
                    if isinstance(ref, Mapping) and ref.get("name"):
                        yield Reference(kind, ref["name"], f"{label}.env[{env.get('name')}]", bool(ref.get("optional")))
            for source in container.get("envFrom") or []:
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    ref = source.get(key)
                    if isinstance(ref, Mapping) and ref.get("name"):
                        yield Reference(kind, ref["name"], f"{label}.envFrom", bool(ref.get("optional")))
    for volume in pod.get("volumes") or []:
        label = f"volumes[{volume.get('name')}]"
        if isinstance(volume.get("configMap"), Mapping):
            ref = volume["configMap"]
            yield Reference("ConfigMap", ref.get("name", ""), label, bool(ref.get("optional")))
        if isinstance(volume.get("secret"), Mapping):
            ref = volume["secret"]
            yield Reference("Secret", ref.get("secretName", ""), label, bool(ref.get("optional")))
        if isinstance(volume.get("persistentVolumeClaim"), Mapping):
            yield Reference("PersistentVolumeClaim", volume["persistentVolumeClaim"].get("claimName", ""), label)
        for source in _get(volume, "projected", "sources") or []:
            for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                ref = source.get(key)
                if isinstance(ref, Mapping) and ref.get("name"):
                    yield Reference(kind, ref["name"], f"{label}.projected", bool(ref.get("optional")))
    account = pod.get("serviceAccountName") or pod.get("serviceAccount")
    if account and account != "default":  # every namespace has `default`
        yield Reference("ServiceAccount", account, "serviceAccountName")
    for secret in pod.get("imagePullSecrets") or []:
        if secret.get("name"):
            yield Reference("Secret", secret["name"], "imagePullSecrets")


def describe(r: Registration) -> str:
    """A resource as problems name it: `Kind namespace/name (logical name)`, or `Type name`."""
    inputs = reveal(r.inputs)
    meta = inputs.get("metadata") or {}
    if "kind" in inputs:
        return f"{inputs['kind']} {meta.get('namespace', '')}/{meta.get('name', r.name)} ({r.name})"
    return f"{r.type.rsplit(':', 1)[-1]} {r.name}"


def ancestors(plan: Plan) -> dict[str, set[str]]:
    """URN -> every URN it waits for, directly or through others (the engine's creation order)."""
    direct = {r.urn: set(r.depends_on) for r in plan.resources}
    memo: dict[str, set[str]] = {}

    def visit(urn: str, path: frozenset[str]) -> set[str]:
        if urn in memo:
            return memo[urn]
        found: set[str] = set()
        for dep in direct.get(urn, ()):
            found.add(dep)
            if dep not in path:  # a cycle: reported by the caller, not followed forever
                found |= visit(dep, path | {dep})
        memo[urn] = found
        return found

    return {urn: visit(urn, frozenset({urn})) for urn in direct}


def _k8s_index(plan: Plan) -> dict[Ref, Registration]:
    index: dict[Ref, Registration] = {}
    for r in plan.resources:
        if not r.is_kubernetes_object:
            continue
        inputs = reveal(r.inputs)
        meta = inputs.get("metadata") or {}
        if isinstance(meta.get("name"), str):
            index[(str(inputs["kind"]), str(meta.get("namespace") or ""), meta["name"])] = r
    return index


def reference_order(plan: Plan, existing: Iterable[Ref] = ()) -> list[str]:
    """Problems of creation order between pods and the objects they read (see the module doc).

    ``existing`` lists the objects the stack declares as already in the cluster (an
    `existingSecret`), as (kind, namespace, name).
    """
    declared = set(existing)
    index = _k8s_index(plan)
    order = ancestors(plan)
    problems = []
    for r in plan.resources:
        path = POD_SPECS.get(r.type)
        pod = _get(reveal(r.inputs), *path) if path else None
        if not isinstance(pod, Mapping):
            continue
        namespace = str(_get(reveal(r.inputs), "metadata", "namespace") or "")
        for ref in pod_references(pod):
            key = (ref.kind, namespace, ref.name)
            target = index.get(key)
            if target is None:
                if key not in declared and not ref.optional:
                    problems.append(
                        f"{describe(r)} reads {ref.kind} {namespace}/{ref.name} ({ref.where}), which this "
                        "program neither creates nor declares as existing: its pods would never start"
                    )
                continue
            if r.urn in order.get(target.urn, set()):
                problems.append(
                    f"{describe(r)} reads {describe(target)} ({ref.where}), but {describe(target)} is "
                    f"created after it (it depends on {describe(r)}): a cycle or inverted order, the pods "
                    "cannot start before it exists"
                )
            elif target.urn not in order.get(r.urn, set()):
                problems.append(
                    f"{describe(r)} reads {describe(target)} ({ref.where}) without depending on it: "
                    "Pulumi may create the pods first"
                )
    return problems


# --- Names and immutable fields a replacement must respect ----------------------------------------

# Physical-name inputs and the longest name AWS accepts: a create with a name the old resource still
# holds fails ("ELBv2 Load Balancer (…) already exists", load_balancer.go and target_group.go Create;
# EC2's InvalidGroup.Duplicate). Pulumi auto-names a resource that sets neither `name` nor
# `namePrefix` `<logical name>-<7 random hex>`, and refuses a logical name too long for that.
NAME_LIMITS: dict[str, int] = {
    "aws:lb/loadBalancer:LoadBalancer": 32,
    "aws:lb/targetGroup:TargetGroup": 32,
    "aws:ec2/securityGroup:SecurityGroup": 255,
}
AUTONAME_SUFFIX = 8  # "-" and 7 random hex characters
# Kubernetes fields that cannot change once the object exists (a webhook or the API server refuses
# the update), by kind: an object whose such field reads another resource's output must be replaced
# with it. The AWS Load Balancer Controller's TargetGroupBinding webhook
# (kubernetes-sigs/aws-load-balancer-controller webhooks/elbv2/targetgroupbinding_validator.go,
# checkImmutableFields).
IMMUTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "TargetGroupBinding": ("spec.targetGroupARN",),
}
# What to do when a protected resource must be replaced.
REPLACING_DOC = "docs/traffic.md#replacing-the-load-balancer-or-target-group"


def fixed_names(plan: Plan) -> list[str]:
    """Resources whose replacement would collide with themselves, and auto-name prefixes too long."""
    problems = []
    for r in plan.resources:
        limit = NAME_LIMITS.get(r.type)
        if limit is None:
            continue
        if r.inputs.get("name") is not None:
            if not r.delete_before_replace:
                problems.append(
                    f"{describe(r)} has the fixed name {r.inputs['name']!r} and is replaced create-before-delete: "
                    "a replacement would fail because the name is taken (let Pulumi name it, or set "
                    "deleteBeforeReplace)"
                )
        elif r.inputs.get("namePrefix") is None and len(r.name) + AUTONAME_SUFFIX > limit:
            problems.append(
                f"{describe(r)}: Pulumi auto-names it `{r.name}-<7 hex>`, longer than AWS's {limit} characters; "
                f"shorten the logical name to {limit - AUTONAME_SUFFIX} characters"
            )
    return problems


def _field(inputs: Mapping[str, Any], dotted: str) -> Any:
    return _get(inputs, *dotted.split("."))


def immutable_references(plan: Plan) -> list[str]:
    """Objects with an immutable field read from another resource, not replaced along with it."""
    problems = []
    for r in plan.resources:
        if not r.is_kubernetes_object:
            continue
        for dotted in IMMUTABLE_FIELDS.get(str(r.inputs.get("kind")), ()):
            # Only a field whose top-level input reads another resource's Output can be made to change.
            if _field(r.inputs, dotted) is None or not r.property_dependencies.get(dotted.split(".", 1)[0]):
                continue
            if dotted not in r.replace_on_changes or not r.delete_before_replace:
                problems.append(
                    f"{describe(r)}: `{dotted}` cannot change once created, and it is read from another "
                    f"resource; it needs replaceOnChanges [{dotted}] with deleteBeforeReplace, or a "
                    "replacement of that resource fails at `pulumi up`"
                )
    return problems


def check_plan(plan: Plan, existing: Iterable[Ref] = ()) -> list[str]:
    """Every rule above on one plan, the namespace, selector and readiness-gate rules
    (offline/namespaces.py, offline/selectors.py, offline/readiness.py) and Argo Rollouts'
    (:mod:`offline.rollout_rules`), as problem lines."""
    from .namespaces import namespace_order
    from .readiness import readiness_gate_order
    from .selectors import selector_overlaps

    order = ancestors(plan)
    return [
        *reference_order(plan, existing),
        *fixed_names(plan),
        *immutable_references(plan),
        *namespace_order(plan, order),
        *selector_overlaps(plan),
        *readiness_gate_order(plan, order),
        *check_rollouts(plan),
    ]
