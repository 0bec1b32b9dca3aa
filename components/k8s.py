"""Helpers shared by the components: recommended labels and registering a built object.

Builders return plain Kubernetes object dicts (camelCase, exactly what the API server reads);
:func:`register` turns one into the matching pulumi_kubernetes resource. Only the modules of
the kinds actually registered are imported, which keeps the program's start-up short.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pulumi

from .quantity import canonical

PART_OF = "spywatcher"
# On a Deployment that sets `spec.replicas` (no HPA scales it): the policy pack refuses
# `spec.replicas` on any Deployment without it, and the annotation on a Deployment an HPA scales.
FIXED_REPLICAS = "spywatcher.io/fixed-replicas"

# (apiVersion, kind) -> (module, class) of the typed pulumi_kubernetes resource.
_TYPED = {
    ("v1", "Namespace"): ("pulumi_kubernetes.core.v1", "Namespace"),
    ("v1", "ConfigMap"): ("pulumi_kubernetes.core.v1", "ConfigMap"),
    ("v1", "Secret"): ("pulumi_kubernetes.core.v1", "Secret"),
    ("v1", "Service"): ("pulumi_kubernetes.core.v1", "Service"),
    ("v1", "ServiceAccount"): ("pulumi_kubernetes.core.v1", "ServiceAccount"),
    ("v1", "ResourceQuota"): ("pulumi_kubernetes.core.v1", "ResourceQuota"),
    ("v1", "LimitRange"): ("pulumi_kubernetes.core.v1", "LimitRange"),
    ("apps/v1", "Deployment"): ("pulumi_kubernetes.apps.v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("pulumi_kubernetes.autoscaling.v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"): ("pulumi_kubernetes.policy.v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"): ("pulumi_kubernetes.networking.v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("pulumi_kubernetes.networking.v1", "NetworkPolicy"),
    ("batch/v1", "Job"): ("pulumi_kubernetes.batch.v1", "Job"),
    ("batch/v1", "CronJob"): ("pulumi_kubernetes.batch.v1", "CronJob"),
    ("rbac.authorization.k8s.io/v1", "Role"): ("pulumi_kubernetes.rbac.v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("pulumi_kubernetes.rbac.v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("pulumi_kubernetes.rbac.v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("pulumi_kubernetes.rbac.v1", "ClusterRoleBinding"),
}


def _argument(key: str) -> str:
    """The Python argument of a top-level object key: `stringData` -> `string_data`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def register(obj: dict[str, Any], name: str, opts: pulumi.ResourceOptions, **extra: Any) -> Any:
    """Register a built Kubernetes object as a resource named ``name``.

    ``extra`` adds arguments that must stay out of the pure builder, such as secret values.
    Kinds without a typed class (custom resources) become ``apiextensions.CustomResource``.
    """
    key = (obj["apiVersion"], obj["kind"])
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if key in _TYPED:
        module, cls = _TYPED[key]
        resource = getattr(importlib.import_module(module), cls)
        kwargs = {_argument(k): v for k, v in fields.items()}
        return resource(name, opts=opts, **kwargs, **extra)
    from pulumi_kubernetes.apiextensions import CustomResource

    return CustomResource(name, api_version=key[0], kind=key[1], opts=opts, **fields, **extra)


def resource_requirements(resources: Any) -> dict[str, dict[str, str]]:
    """A container's `resources` from a settings `Resources`: only the amounts that are set, each in
    the canonical form the API server stores (``0.5`` is sent as ``500m``)."""
    result = {}
    for kind in ("requests", "limits"):
        amounts = getattr(resources, kind)
        values = {r: canonical(v) for r in ("cpu", "memory") if (v := getattr(amounts, r)) is not None}
        if values:
            result[kind] = values
    return result


def scaling_rules(rules: Any) -> dict[str, Any]:
    """An HPA `behavior.scaleUp`/`scaleDown` from a settings `ScalingRules`."""
    return {
        "stabilizationWindowSeconds": rules.stabilization_window_seconds,
        "selectPolicy": rules.select_policy,
        "policies": [{"type": p.type, "value": p.value, "periodSeconds": p.period_seconds} for p in rules.policies],
    }


def spread_constraints(
    selector: dict[str, str],
    max_skew: int = 1,
    zone: str = "DoNotSchedule",
    host: str = "ScheduleAnyway",
    hash_keys: tuple[str, ...] = ("pod-template-hash",),
) -> list[dict[str, Any]]:
    """Pod `topologySpreadConstraints` over zones and hosts for the pods ``selector`` picks, each
    ReplicaSet spread on its own (``hash_keys``: `pod-template-hash`, and Argo Rollouts'
    `rollouts-pod-template-hash` for pods a Rollout runs), so a rollout does not skew the new pods."""
    return [
        {
            "maxSkew": max_skew,
            "topologyKey": key,
            "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": dict(selector)},
            "matchLabelKeys": list(hash_keys),
        }
        for key, when in (("topology.kubernetes.io/zone", zone), ("kubernetes.io/hostname", host))
    ]


def helm_release(
    name: str,
    *,
    release: str,
    chart: str,
    version: str,
    repository: str,
    namespace: str,
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
    value_files: tuple[str, ...] = (),
) -> Any:
    """A pinned Helm release that rolls back on failure (atomic) and keeps ten revisions.

    ``value_files`` are YAML documents merged under ``values``. They are the only way to hand the
    chart a ``null`` (Helm's "delete this default"): the Python SDK drops ``None`` from ``values``
    before the provider sees it (pulumi/pulumi#12178), a YAML asset reaches Helm as written.

    An `oci://` repository is an OCI registry: the chart is then `<repository>/<chart>`, and the
    release never installs the chart's crds/ folder (Helm would install it once and never upgrade it).
    """
    from pulumi_kubernetes.helm.v3 import Release

    extra: dict[str, Any] = {}
    if value_files:
        extra["value_yaml_files"] = [pulumi.StringAsset(text) for text in value_files]
    if repository.startswith("oci://"):
        source: dict[str, Any] = {"chart": f"{repository}/{chart}", "skip_crds": True}
    else:
        source = {"chart": chart, "repository_opts": {"repo": repository}}
    return Release(
        name,
        name=release,  # an explicit release name: Pulumi would otherwise add a random suffix
        **source,
        version=version,
        namespace=namespace,
        create_namespace=False,
        atomic=True,
        cleanup_on_fail=True,
        max_history=10,
        timeout=600,
        values=values,
        opts=opts,
        **extra,
    )


def labels(component: str, instance: str, version: str | None = None) -> dict[str, str]:
    """The recommended `app.kubernetes.io/*` labels."""
    result = {
        "app.kubernetes.io/name": PART_OF,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }
    # A tag may run to 128 characters and end in `.`, `-` or `_`; a label value may not.
    version = (version or "")[:63].strip("._-")
    if version:
        result["app.kubernetes.io/version"] = version
    return result


def selector(component: str, instance: str) -> dict[str, str]:
    """The stable subset of :func:`labels` that selects a workload's pods (never the version)."""
    return {
        "app.kubernetes.io/name": PART_OF,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    }


def metadata(name: str, namespace: str | None, obj_labels: dict[str, str], **more: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"name": name, "labels": dict(obj_labels)}
    if namespace is not None:
        result["namespace"] = namespace
    result.update({k: v for k, v in more.items() if v})
    return result


def image_version(image: str) -> str | None:
    """The tag of an image reference (``repo:tag`` or ``repo:tag@sha256:…``), for the version label."""
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def child_opts(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, **more: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: parented, and waiting for what the component waits for.

    Pulumi does not pass a component's ``depends_on`` on to its children, so it is copied here.
    """
    depends_on = list(more.pop("depends_on", []) or [])
    if opts is not None and opts.depends_on:
        inherited = opts.depends_on if isinstance(opts.depends_on, list) else [opts.depends_on]
        depends_on = [*inherited, *depends_on]
    return pulumi.ResourceOptions(parent=parent, depends_on=depends_on or None, **more)
