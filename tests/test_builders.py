"""The pure builders, without Pulumi: settings in, Kubernetes object dicts out."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from components.workload import (
    WorkloadArgs,
    build_config_map,
    build_deployment,
    build_hpa,
    build_pdb,
    build_secret,
    build_service,
)
from config.workload import BackendSettings, FrontendSettings
from offline.schema import check_objects


def backend(**overrides: Any) -> BackendSettings:
    return BackendSettings.model_validate({"image": "ghcr.io/x/backend:v1", **overrides})


def args(settings: Any, **more: Any) -> WorkloadArgs:
    return WorkloadArgs(settings=settings, namespace="ns", instance="spywatcher-test", **more)


def test_custom_metrics_become_pods_metrics() -> None:
    settings = backend(autoscaling={"customMetrics": {"enabled": True}})
    metrics = build_hpa(args(settings))["spec"]["metrics"]
    assert metrics[2:] == [  # 1000 in the canonical form the API server stores
        {"type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                                  "target": {"type": "AverageValue", "averageValue": "1k"}}},
        {"type": "Pods", "pods": {"metric": {"name": "websocket_active_connections"},
                                  "target": {"type": "AverageValue", "averageValue": "100"}}},
    ]
    renamed = backend(autoscaling={"customMetrics": {"enabled": True, "activeConnections": None,
                                                     "requestsPerSecond": {"metricName": "rps", "averageValue": 50}}})
    assert [m["pods"]["metric"]["name"] for m in build_hpa(args(renamed))["spec"]["metrics"][2:]] == ["rps"]


def test_custom_metrics_off_by_default() -> None:
    assert [m["type"] for m in build_hpa(args(backend()))["spec"]["metrics"]] == ["Resource", "Resource"]


def test_dropping_a_resource_metric() -> None:
    metrics = build_hpa(args(backend(autoscaling={"memoryUtilization": None})))["spec"]["metrics"]
    assert [m["resource"]["name"] for m in metrics] == ["cpu"]


def test_no_pre_stop_hook_when_sleep_is_zero() -> None:
    deployment = build_deployment(args(backend(shutdown={"preStopSleepSeconds": 0})))
    assert "lifecycle" not in deployment["spec"]["template"]["spec"]["containers"][0]


def test_percentage_rollout_and_no_replicas() -> None:
    deployment = build_deployment(args(backend(rollout={"maxSurge": "25%", "maxUnavailable": 0})))
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}
    assert "replicas" not in deployment["spec"]


def test_secret_sources() -> None:
    existing = args(backend(existingSecret="from-vault"))
    assert build_secret(existing) is None
    container = build_deployment(existing)["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "from-vault"}}]

    managed = args(backend(), secret_values={"TOKEN": SecretStr("x")})
    secret = build_secret(managed)
    assert secret is not None and "stringData" not in secret, "values are added as a secret Output, not here"
    assert secret["metadata"]["name"] == "spywatcher-backend-secrets"

    nothing = args(backend())
    assert build_secret(nothing) is None and build_config_map(nothing) is None
    assert "envFrom" not in build_deployment(nothing)["spec"]["template"]["spec"]["containers"][0]


def test_unprivileged_port_sysctl_only_below_1024() -> None:
    low = build_deployment(args(FrontendSettings.model_validate({"image": "f:1"})))
    high = build_deployment(args(backend()))
    assert low["spec"]["template"]["spec"]["securityContext"]["sysctls"][0]["value"] == "80"
    assert "sysctls" not in high["spec"]["template"]["spec"]["securityContext"]


def test_service_without_affinity_has_no_affinity_config() -> None:
    service = build_service(args(backend(service={"sessionAffinity": "None"})))
    assert service["spec"]["sessionAffinity"] == "None"
    assert "sessionAffinityConfig" not in service["spec"]


def test_digest_pinned_image_and_version_label() -> None:
    image = "ghcr.io/x/backend:v3@sha256:" + "a" * 64
    deployment = build_deployment(args(backend(image=image)))
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == "v3"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image


def test_built_objects_pass_the_schema_in_every_variant() -> None:
    variants = [
        args(backend(autoscaling={"customMetrics": {"enabled": True}})),
        args(backend(rollout={"maxSurge": "25%", "maxUnavailable": "10%"}, shutdown={"preStopSleepSeconds": 0})),
        args(FrontendSettings.model_validate({"image": "f:1", "env": {"A": "1", "B": "true"}})),
    ]
    objects = []
    for a in variants:
        objects += [build_deployment(a), build_hpa(a), build_pdb(a), build_service(a)]
        objects += [o for o in (build_config_map(a),) if o]
    assert check_objects(objects, "1.30") == []
    assert check_objects(objects, "1.34") == []
