"""What the API server stores for an object the program sends: the outputs a stack policy sees.

Under the mocks a resource's outputs are its inputs. On a real cluster pulumi-kubernetes returns
the live object: the API server's defaults applied (a Deployment always has `spec.replicas`,
`strategy`, `revisionHistoryLimit`, …), server-set metadata, a status, and what other controllers
wrote (the HPA's replica count). Stack policies run on those outputs, so they are tested on them.

This is the subset of the API server's defaulting (`pkg/apis/*/v1/defaults.go`) that a policy or a
reviewer could read, not all of it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

Object = dict[str, Any]


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
