"""What the API server stores for an object the program sends: the outputs a stack policy sees.

Under the mocks a resource's outputs are its inputs. On a real cluster pulumi-kubernetes returns
the live object: the API server's defaults applied (a Deployment always has `spec.replicas`,
`strategy`, `revisionHistoryLimit`, …), server-set metadata, a status, and what other controllers
wrote (the HPA's replica count). Stack policies run on those outputs, so they are tested on them.

This is the subset of the API server's defaulting (`pkg/apis/*/v1/defaults.go`) that a policy or a
reviewer could read, not all of it. Beside the defaults, the API server writes some of what it is
sent in its own form, and that is modelled whole for the kinds the program sends (:func:`stored`):
every quantity field in canonical form (components.quantity), a Secret's `stringData` folded into
`data`. With :func:`provider_inputs` and :func:`pruned` (pulumi-kubernetes' own normalisation and
pruning of the live object) that is a second `pulumi up` (offline.second_up).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from components.quantity import canonical

from .paths import PathT, parse_path
from .rules import POD_SPECS

Object = dict[str, Any]

# The resource.Quantity fields of the built-in kinds, as patterns (`[*]` any item, `{}` every value of
# a map: a ResourceList is map[ResourceName]Quantity). Read in kubernetes/api at v0.34.10:
# core/v1/types.go (ResourceRequirements and VolumeResourceRequirements .Limits/.Requests,
# PodSpec.Overhead and .Resources, EmptyDirVolumeSource.SizeLimit, ResourceFieldSelector.Divisor,
# LimitRangeItem .Max/.Min/.Default/.DefaultRequest/.MaxLimitRequestRatio, ResourceQuotaSpec.Hard)
# and autoscaling/v2/types.go (MetricTarget .Value/.AverageValue, HPAScalingRules.Tolerance).
QUANTITY_SOURCE = "kubernetes/api v0.34.10: core/v1/types.go, autoscaling/v2/types.go"
_CONTAINER_QUANTITIES = ("resources.limits.{}", "resources.requests.{}", "env[*].valueFrom.resourceFieldRef.divisor")
POD_QUANTITIES: tuple[str, ...] = (
    *(f"{group}[*].{field}" for group in ("containers", "initContainers", "ephemeralContainers")
      for field in _CONTAINER_QUANTITIES),
    "overhead.{}",
    "resources.limits.{}",
    "resources.requests.{}",
    "volumes[*].emptyDir.sizeLimit",
    "volumes[*].downwardAPI.items[*].resourceFieldRef.divisor",
    "volumes[*].projected.sources[*].downwardAPI.items[*].resourceFieldRef.divisor",
    "volumes[*].ephemeral.volumeClaimTemplate.spec.resources.limits.{}",
    "volumes[*].ephemeral.volumeClaimTemplate.spec.resources.requests.{}",
)
_METRIC_SOURCES = ("object", "pods", "resource", "containerResource", "external")
QUANTITIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("v1", "ResourceQuota"): ("spec.hard.{}",),
    ("v1", "LimitRange"): tuple(f"spec.limits[*].{f}.{{}}" for f in
                                ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")),
    ("v1", "PersistentVolumeClaim"): ("spec.resources.limits.{}", "spec.resources.requests.{}"),
    ("apps/v1", "StatefulSet"): ("spec.volumeClaimTemplates[*].spec.resources.limits.{}",
                                 "spec.volumeClaimTemplates[*].spec.resources.requests.{}"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): (
        *(f"spec.metrics[*].{m}.target.{t}" for m in _METRIC_SOURCES for t in ("value", "averageValue")),
        "spec.behavior.scaleUp.tolerance", "spec.behavior.scaleDown.tolerance"),
}
# The kinds with a pod template, by apiVersion (a custom resource's quantities are stored as sent).
_POD_KINDS = {("v1", "Pod"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
              ("apps/v1", "ReplicaSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob")}


def quantity_fields(obj: Mapping[str, Any]) -> list[PathT]:
    """The quantity field patterns of ``obj``'s kind (none for a kind not built in)."""
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    patterns = [parse_path(p) for p in QUANTITIES.get(key, ())]
    if key in _POD_KINDS:
        prefix = POD_SPECS[f"kubernetes:{'core/v1' if key[0] == 'v1' else key[0]}:{key[1]}"]
        patterns += [(*prefix, *parse_path(p)) for p in POD_QUANTITIES]
    return patterns


def _places(value: Any, pattern: PathT) -> Iterator[tuple[Any, str | int]]:
    """Every (container, key) where ``pattern`` ends in ``value``."""
    if not pattern:
        return
    step, rest = pattern[0], pattern[1:]
    if step == "*" and isinstance(value, list):
        keys: list[str | int] = list(range(len(value)))
    elif step == "{}" and isinstance(value, dict):
        keys = list(value)
    elif isinstance(value, dict) and step in value:
        keys = [step]
    else:
        return
    for key in keys:
        if rest:
            yield from _places(value[key], rest)
        else:
            yield value, key


def stored(obj: Mapping[str, Any]) -> Object:
    """``obj`` as the API server writes it back: its quantities canonical, a Secret's `stringData`
    folded into base64 `data` (core/v1 conversion), and the defaults of :func:`live`."""
    result: Object = copy.deepcopy(dict(obj))
    for pattern in quantity_fields(result):
        for container, key in _places(result, pattern):
            if isinstance(container[key], str | int) and not isinstance(container[key], bool):
                container[key] = canonical(container[key])
    if result.get("apiVersion") == "v1" and result.get("kind") == "Secret":
        result = _fold_string_data(result)
    return live(result)


def _fold_string_data(secret: Object) -> Object:
    string_data = secret.pop("stringData", None) or {}
    if string_data:
        data = dict(secret.get("data") or {})
        data.update({k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()})
        secret["data"] = data
    return secret


def provider_inputs(obj: Mapping[str, Any]) -> Object:
    """The inputs as pulumi-kubernetes compares them: a Secret's `stringData` folded into `data`
    (provider/pkg/clients/unstructured.go, normalizeSecret). Its typed round trip of the built-in
    kinds is left out on purpose: the second-`up` check holds the program to sending what is
    stored, which that round trip would forgive for those kinds only."""
    result: Object = copy.deepcopy(dict(obj))
    if result.get("apiVersion") == "v1" and result.get("kind") == "Secret":
        result = _fold_string_data(result)
    return result


def pruned(live_value: Any, inputs: Any) -> Any:
    """pulumi-kubernetes' ``pruneLiveState`` (provider/pkg/provider/util.go, pruneMap and
    pruneSlice): the live object cut to the shape of the inputs, so that what the API server added
    (defaults, status, metadata) is not a difference."""
    if isinstance(live_value, dict) and isinstance(inputs, dict):
        return {k: pruned(v, inputs[k]) for k, v in live_value.items() if k in inputs}
    if isinstance(live_value, list) and isinstance(inputs, list):
        if not live_value or not inputs:
            return []
        if type(live_value[0]) is not type(inputs[0]):
            return copy.deepcopy(live_value)
        return [pruned(v, t) if v is not None and t is not None else v
                for v, t in zip(live_value, inputs, strict=False)]
    return live_value


def _probe(probe: Mapping[str, Any]) -> Object:
    return {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3, **probe}


def _pod_spec(spec: Object) -> None:
    for key, value in (
        ("restartPolicy", "Always"),
        ("dnsPolicy", "ClusterFirst"),
        ("schedulerName", "default-scheduler"),
        ("terminationGracePeriodSeconds", 30),
        ("securityContext", {}),
        ("serviceAccountName", "default"),
    ):
        spec.setdefault(key, value)
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            image = str(container.get("image", ""))
            container.setdefault("imagePullPolicy", "Always" if image.endswith(":latest") else "IfNotPresent")
            for port in container.get("ports") or []:
                port.setdefault("protocol", "TCP")
            for key in ("livenessProbe", "readinessProbe", "startupProbe"):
                if key in container:
                    container[key] = _probe(container[key])


def _hpa_replicas(hpas: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """(namespace, Deployment) -> the replica count its HPA keeps (at least its minimum)."""
    result = {}
    for hpa in hpas:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if ref.get("kind") == "Deployment":
            namespace = (hpa.get("metadata") or {}).get("namespace", "")
            result[(namespace, str(ref.get("name")))] = int(hpa["spec"].get("minReplicas", 1))
    return result


def live(obj: Mapping[str, Any], hpas: Iterable[Mapping[str, Any]] = ()) -> Object:
    """``obj`` as a `kubectl get -o yaml` would show it once applied (and scaled by ``hpas``)."""
    result: Object = copy.deepcopy(dict(obj))
    meta = result.setdefault("metadata", {})
    meta.setdefault("uid", "00000000-0000-0000-0000-000000000000")
    meta.setdefault("resourceVersion", "1")
    meta.setdefault("generation", 1)
    meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
    kind, spec = result.get("kind"), result.get("spec")
    if kind == "Deployment" and isinstance(spec, dict):
        scaled = _hpa_replicas(hpas).get((meta.get("namespace", ""), meta.get("name", "")))
        spec["replicas"] = scaled if scaled is not None else spec.get("replicas", 1)
        spec.setdefault("strategy", {"type": "RollingUpdate"})
        if spec["strategy"].get("type") == "RollingUpdate":
            spec["strategy"].setdefault("rollingUpdate", {"maxSurge": "25%", "maxUnavailable": "25%"})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
        replicas = spec["replicas"]
        result["status"] = {"replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas,
                            "availableReplicas": replicas, "observedGeneration": 1}
    elif kind in ("Job",) and isinstance(spec, dict):
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        _pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
    elif kind == "CronJob" and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        _pod_spec(spec.setdefault("jobTemplate", {}).setdefault("spec", {}).setdefault("template", {})
                  .setdefault("spec", {}))
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("clusterIP", "172.20.0.10")
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    elif kind == "HorizontalPodAutoscaler" and isinstance(spec, dict):
        spec.setdefault("minReplicas", 1)
        result["status"] = {"currentReplicas": spec["minReplicas"], "desiredReplicas": spec["minReplicas"]}
    elif kind == "PodDisruptionBudget":
        result["status"] = {"currentHealthy": 2, "desiredHealthy": 1, "disruptionsAllowed": 1, "expectedPods": 2}
    return result


def live_objects(objects: Iterable[Mapping[str, Any]]) -> list[Object]:
    """Every object live, Deployments scaled by the HPAs among ``objects``."""
    objects = list(objects)
    hpas = [o for o in objects if o.get("kind") == "HorizontalPodAutoscaler"]
    return [live(o, hpas) for o in objects]
