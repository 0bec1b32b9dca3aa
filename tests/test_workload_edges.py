"""The workload builders at their edges: which secret wins, the port where the sysctl starts, the
fields that take one of two values that stacks keep equal, and what the config checksum hashes."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import SecretStr

from components.workload import (
    WorkloadArgs,
    build_container,
    build_deployment,
    build_pod_spec,
    build_pod_template,
    build_secret,
    build_vpa,
)
from config.workload import BackendSettings, FrontendSettings


def backend(**overrides: Any) -> BackendSettings:
    return BackendSettings.model_validate({"image": "ghcr.io/x/backend:v1", **overrides})


def frontend(**overrides: Any) -> FrontendSettings:
    return FrontendSettings.model_validate({"image": "ghcr.io/x/frontend:v1", **overrides})


def args(settings: Any, **more: Any) -> WorkloadArgs:
    return WorkloadArgs(settings=settings, namespace="ns", instance="spywatcher-test", **more)


def test_an_existing_secret_wins_over_secret_values() -> None:
    """Both given (the stack rules refuse it, the builders must not guess otherwise): the pods read the
    named Secret and no Secret of the stack's own is built."""
    both = args(backend(existingSecret="from-vault"), secret_values={"TOKEN": SecretStr("x")})
    assert both.secret_name == "from-vault"
    assert build_secret(both) is None
    assert build_container(both)["envFrom"] == [{"secretRef": {"name": "from-vault"}}]


def test_the_unprivileged_port_sysctl_starts_below_1024() -> None:
    """Ports below 1024 are privileged: 1023 needs the sysctl (from that port on), 1024 does not."""
    at_1023 = build_pod_spec(args(frontend(containerPort=1023)), build_container(args(frontend(containerPort=1023))))
    at_1024 = build_pod_spec(args(frontend(containerPort=1024)), build_container(args(frontend(containerPort=1024))))
    assert at_1023["securityContext"]["sysctls"] == [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "1023"}]
    assert "sysctls" not in at_1024["securityContext"]


def test_a_one_off_task_binds_no_port_and_gets_no_sysctl() -> None:
    """A container with a command (a migration) serves nothing: even on a workload whose port is
    privileged, its pod has no port and no sysctl."""
    task = args(frontend())  # port 80
    container = build_container(task, name="migrate", command=["migrate"])
    pod = build_pod_spec(task, container)
    assert "ports" not in container and "readinessProbe" not in container and "lifecycle" not in container
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 101,
        "runAsGroup": 101,
        "fsGroup": 101,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_user_and_group_reach_their_own_fields() -> None:
    """A user id different from the group id: the volumes' group (fsGroup) is the group."""
    settings = backend(securityContext={"runAsUser": 1000, "runAsGroup": 2000})
    pod = build_pod_spec(args(settings), build_container(args(settings)))
    assert {k: pod["securityContext"][k] for k in ("runAsUser", "runAsGroup", "fsGroup")} == {
        "runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 2000,
    }
    container = pod["containers"][0]["securityContext"]
    assert (container["runAsUser"], container["runAsGroup"]) == (1000, 2000)


def test_the_config_checksum_follows_the_configmap_only() -> None:
    """The checksum annotation exists when there is a ConfigMap (whatever the Secret), and does not
    change when the same settings are written in another order."""
    secret_only = build_pod_template(args(backend(env={}, existingSecret="from-vault")))
    assert "annotations" not in secret_only["metadata"]
    config_only = build_pod_template(args(backend(env={"A": "1", "B": "2"})))
    reordered = build_pod_template(args(backend(env={"B": "2", "A": "1"})))
    assert config_only["metadata"]["annotations"] == reordered["metadata"]["annotations"]
    assert list(config_only["metadata"]["annotations"]) == ["checksum/config"]
    # sha256 of the JSON of the env with sorted keys: `{"A": "1", "B": "2"}`.
    assert config_only["metadata"]["annotations"]["checksum/config"] == hashlib.sha256(
        b'{"A": "1", "B": "2"}'
    ).hexdigest()


def test_a_fixed_replica_count_is_annotated() -> None:
    """A Deployment with `spec.replicas` (no HPA) says so; an autoscaled one has neither."""
    fixed = build_deployment(args(backend()), replicas=2)
    assert fixed["spec"]["replicas"] == 2
    assert fixed["metadata"]["annotations"] == {"spywatcher.io/fixed-replicas": "true"}
    autoscaled = build_deployment(args(backend()))
    assert "replicas" not in autoscaled["spec"] and "annotations" not in autoscaled["metadata"]


def test_the_vpa_recommends_cpu_and_memory_of_the_app_container() -> None:
    """The whole VerticalPodAutoscaler: recommendations only, on both resources the HPA scales on, for
    the Deployment (or, under Argo Rollouts, the Rollout that runs the pods)."""
    settings = backend(recommendations={"enabled": True})
    assert build_vpa(args(backend())) is None
    assert build_vpa(args(settings)) == {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": {
            "name": "spywatcher-backend-vpa",
            "namespace": "ns",
            "labels": {
                "app.kubernetes.io/name": "spywatcher",
                "app.kubernetes.io/instance": "spywatcher-test",
                "app.kubernetes.io/component": "backend",
                "app.kubernetes.io/part-of": "spywatcher",
                "app.kubernetes.io/managed-by": "pulumi",
                "app.kubernetes.io/version": "v1",
            },
        },
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "spywatcher-backend"},
            "updatePolicy": {"updateMode": "Off"},
            "resourcePolicy": {
                "containerPolicies": [{"containerName": "backend", "controlledResources": ["cpu", "memory"]}]
            },
        },
    }
    rollout = build_vpa(args(settings, rollout=True))
    assert rollout is not None
    assert rollout["spec"]["targetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                            "name": "spywatcher-backend"}


def test_a_scratch_volumes_size_is_sent_as_the_api_server_stores_it() -> None:
    """`1024Mi` is stored as `1Gi`: sent canonical, so a second `pulumi up` sees no difference."""
    settings = backend(scratchVolumes=[{"mountPath": "/tmp", "sizeLimit": "1024Mi"}])
    pod = build_pod_spec(args(settings), build_container(args(settings)))
    assert pod["volumes"] == [{"name": "scratch-tmp", "emptyDir": {"sizeLimit": "1Gi"}}]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "scratch-tmp", "mountPath": "/tmp"}]
