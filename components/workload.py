"""One autoscaled workload: Deployment + Service + HorizontalPodAutoscaler + PodDisruptionBudget,
and, as a component registered before it, its ConfigMap and Secret. Used for the backend and the
frontend.

The builders are pure functions of :class:`WorkloadArgs`; :class:`Workload` only registers what
they return.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pydantic import SecretStr

from config.rollouts import TRACK_LABEL
from config.workload import Probe, WorkloadSettings

from .k8s import (
    FIXED_REPLICAS,
    child_opts,
    image_version,
    labels,
    metadata,
    register,
    resource_requirements,
    scaling_rules,
    selector,
    spread_constraints,
)
from .quantity import canonical

PORT_NAME = "http"
# Argo Rollouts: the label its ReplicaSets put on their pods, and the pod label its ephemeral
# metadata sets (stable / canary); see config/rollouts.py and components/rollouts/.
ROLLOUT_HASH_LABEL = "rollouts-pod-template-hash"
METRICS_PORT_NAME = "metrics"  # the app's /metrics, on a port no route reaches


@dataclass(frozen=True)
class WorkloadArgs:
    settings: WorkloadSettings
    namespace: str
    instance: str  # e.g. "spywatcher-production": the app.kubernetes.io/instance label
    secret_values: Mapping[str, SecretStr] = field(default_factory=dict)
    # A variant of a workload (the canary) has a component of its own and shares the config of its base.
    variant: str | None = None
    # Argo Rollouts runs the pods (a Rollout with `workloadRef` to the Deployment): the HPA and VPA
    # target the Rollout, and what must reach only the stable version selects `TRACK_LABEL: stable`.
    rollout: bool = False

    @property
    def component(self) -> str:
        return f"{self.settings.component}-{self.variant}" if self.variant else self.settings.component

    @property
    def name(self) -> str:
        """Kubernetes name of the Deployment and Service (guide: `spywatcher-backend`)."""
        return f"spywatcher-{self.component}"

    @property
    def config_map_name(self) -> str | None:
        return f"spywatcher-{self.settings.component}-config" if self.settings.env else None

    @property
    def secret_name(self) -> str | None:
        if self.settings.existing_secret:
            return self.settings.existing_secret
        return f"spywatcher-{self.settings.component}-secrets" if self.secret_values else None

    def labels(self) -> dict[str, str]:
        return labels(self.component, self.instance, image_version(self.settings.image))

    def selector(self) -> dict[str, str]:
        return selector(self.component, self.instance)

    def metadata(self, name: str, **more: Any) -> dict[str, Any]:
        return metadata(name, self.namespace, self.labels(), **more)

    def stable_selector(self) -> dict[str, str]:
        """The pods serving the stable version: all of them, or under Argo Rollouts those its stable
        metadata marks (the canary's pods carry `canary`)."""
        return self.selector() | ({TRACK_LABEL: "stable"} if self.rollout else {})

    def scale_target(self) -> dict[str, str]:
        """What the HPA and the VPA scale: the Rollout when Argo Rollouts runs the pods."""
        if self.rollout:
            return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": self.name}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.name}


# --- Builders --------------------------------------------------------------------------------


def build_config_map(args: WorkloadArgs) -> dict[str, Any] | None:
    if args.config_map_name is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": args.metadata(args.config_map_name),
        "data": dict(sorted(args.settings.env.items())),
    }


def build_secret(args: WorkloadArgs) -> dict[str, Any] | None:
    """The Secret's shape; its values are added by the component as a secret Output."""
    if not args.secret_values or args.settings.existing_secret:
        return None
    assert args.secret_name is not None
    return {"apiVersion": "v1", "kind": "Secret", "metadata": args.metadata(args.secret_name), "type": "Opaque"}


def _probe(probe: Probe) -> dict[str, Any]:
    return {
        "httpGet": {"path": probe.path, "port": PORT_NAME, "scheme": "HTTP"},
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "successThreshold": probe.success_threshold,
        "failureThreshold": probe.failure_threshold,
    }


def config_checksum(args: WorkloadArgs) -> str:
    """Hash of the ConfigMap data: a pod-template annotation, so a config change rolls the pods."""
    return hashlib.sha256(json.dumps(args.settings.env, sort_keys=True).encode()).hexdigest()


def build_container(
    args: WorkloadArgs, *, name: str | None = None, image: str | None = None, command: list[str] | None = None
) -> dict[str, Any]:
    """The app container. With ``command`` it is a one-off task (a migration): no port, probes or
    preStop hook; otherwise it serves on the container port."""
    s = args.settings
    container: dict[str, Any] = {
        "name": name or args.component,
        "image": image or s.image,
        "imagePullPolicy": "IfNotPresent",
        "resources": resource_requirements(s.resources),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": s.security_context.run_as_user,
            "runAsGroup": s.security_context.run_as_group,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": v.volume_name(), "mountPath": v.mount_path} for v in s.scratch_volumes],
    }
    if command is not None:
        container["command"] = list(command)
    else:
        container["ports"] = [{"name": PORT_NAME, "containerPort": s.container_port, "protocol": "TCP"}]
        if s.metrics_port is not None:
            container["ports"].append({"name": METRICS_PORT_NAME, "containerPort": s.metrics_port, "protocol": "TCP"})
        container["livenessProbe"] = _probe(s.probes.liveness)
        container["readinessProbe"] = _probe(s.probes.readiness)
        if s.probes.startup is not None:
            container["startupProbe"] = _probe(s.probes.startup)
        if s.shutdown.pre_stop_sleep_seconds > 0:
            # Native sleep action (no shell needed in the image): the pod leaves the endpoints and
            # ingress-nginx's upstream list before SIGTERM reaches the app.
            container["lifecycle"] = {"preStop": {"sleep": {"seconds": s.shutdown.pre_stop_sleep_seconds}}}
    env_from = []
    if args.config_map_name:
        env_from.append({"configMapRef": {"name": args.config_map_name}})
    if args.secret_name:
        env_from.append({"secretRef": {"name": args.secret_name}})
    if env_from:
        container["envFrom"] = env_from
    return container


def build_pod_spec(args: WorkloadArgs, container: dict[str, Any]) -> dict[str, Any]:
    """A restricted pod around ``container``: non-root, no token, read-only root, scratch volumes."""
    s = args.settings
    pod_security: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": s.security_context.run_as_user,
        "runAsGroup": s.security_context.run_as_group,
        "fsGroup": s.security_context.run_as_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if "ports" in container and s.container_port < 1024:
        # A non-root process with every capability dropped may bind a port below 1024 only when
        # the pod's network namespace allows it (a safe sysctl, allowed by the restricted policy).
        pod_security["sysctls"] = [{"name": "net.ipv4.ip_unprivileged_port_start", "value": str(s.container_port)}]
    return {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": s.shutdown.termination_grace_period_seconds,
        "securityContext": pod_security,
        "containers": [container],
        "volumes": [
            {"name": v.volume_name(), "emptyDir": {"sizeLimit": canonical(v.size_limit)}} for v in s.scratch_volumes
        ],
    }


def build_pod_template(args: WorkloadArgs) -> dict[str, Any]:
    """The serving pods: spread over zones (required) and hosts (preferred)."""
    spread = args.settings.topology_spread
    spec = build_pod_spec(args, build_container(args))
    hash_keys = ("pod-template-hash", ROLLOUT_HASH_LABEL) if args.rollout else ("pod-template-hash",)
    spec["topologySpreadConstraints"] = spread_constraints(
        args.selector(), spread.max_skew, spread.zone, spread.host, hash_keys
    )
    # Under Argo Rollouts a pod starts as `stable` (the Deployment's pods before the first Rollout,
    # and every revision the Rollout promotes); the canary's metadata overrides it with `canary`.
    template_metadata: dict[str, Any] = {"labels": args.labels() | ({TRACK_LABEL: "stable"} if args.rollout else {})}
    if args.config_map_name:
        template_metadata["annotations"] = {"checksum/config": config_checksum(args)}
    return {"metadata": template_metadata, "spec": spec}


def build_deployment(args: WorkloadArgs, replicas: int | None = None) -> dict[str, Any]:
    """The Deployment. Without ``replicas`` (an autoscaled workload) there is no `spec.replicas`:
    the HPA owns the count, and `pulumi up` must not reset it. With ``replicas`` it says so in the
    :data:`FIXED_REPLICAS` annotation, which the policy pack reads."""
    rollout = args.settings.rollout
    spec: dict[str, Any] = {} if replicas is None else {"replicas": replicas}
    fixed = None if replicas is None else {FIXED_REPLICAS: "true"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": args.metadata(args.name, annotations=fixed),
        "spec": spec
        | {
            "selector": {"matchLabels": args.selector()},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": rollout.max_surge, "maxUnavailable": rollout.max_unavailable},
            },
            "revisionHistoryLimit": rollout.revision_history_limit,
            "progressDeadlineSeconds": rollout.progress_deadline_seconds,
            "minReadySeconds": rollout.min_ready_seconds,
            "template": build_pod_template(args),
        },
    }


def build_service(args: WorkloadArgs) -> dict[str, Any]:
    service = args.settings.service
    spec: dict[str, Any] = {
        "type": "ClusterIP",
        "selector": args.selector(),
        "ports": [{"name": PORT_NAME, "port": service.port, "targetPort": PORT_NAME, "protocol": "TCP"}],
        "sessionAffinity": service.session_affinity,
    }
    if args.settings.metrics_port is not None:
        # For the ServiceMonitor only: every Ingress names `service.port`, never this one.
        spec["ports"].append(
            {
                "name": METRICS_PORT_NAME,
                "port": args.settings.metrics_port,
                "targetPort": METRICS_PORT_NAME,
                "protocol": "TCP",
            }
        )
    if service.session_affinity == "ClientIP":
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": service.session_affinity_timeout_seconds}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": args.metadata(args.name), "spec": spec}


def build_hpa(args: WorkloadArgs) -> dict[str, Any]:
    scaling = args.settings.autoscaling
    metrics: list[dict[str, Any]] = [
        {
            "type": "Resource",
            "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": target}},
        }
        for resource, target in (("cpu", scaling.cpu_utilization), ("memory", scaling.memory_utilization))
        if target is not None
    ]
    metrics += [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": m.metric_name},
                "target": {"type": "AverageValue", "averageValue": canonical(m.average_value)},
            },
        }
        for m in scaling.custom_metrics.metrics()
    ]

    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": args.metadata(f"{args.name}-hpa"),
        "spec": {
            "scaleTargetRef": args.scale_target(),
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": metrics,
            "behavior": {
                "scaleUp": scaling_rules(scaling.behavior.scale_up),
                "scaleDown": scaling_rules(scaling.behavior.scale_down),
            },
        },
    }


def build_pdb(args: WorkloadArgs) -> dict[str, Any]:
    budget = args.settings.disruption_budget
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": args.metadata(f"{args.name}-pdb"),
        "spec": {
            "minAvailable": budget.min_available,
            "selector": {"matchLabels": args.stable_selector()},
            "unhealthyPodEvictionPolicy": budget.unhealthy_pod_eviction_policy,
        },
    }


def build_vpa(args: WorkloadArgs) -> dict[str, Any] | None:
    """A VerticalPodAutoscaler that only recommends (`updateMode: Off`): it never evicts or resizes
    pods, so it cannot fight the HPA, which scales on the same CPU and memory."""
    if not args.settings.recommendations.enabled:
        return None
    return {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": args.metadata(f"{args.name}-vpa"),
        "spec": {
            "targetRef": args.scale_target(),
            "updatePolicy": {"updateMode": "Off"},
            "resourcePolicy": {
                "containerPolicies": [{"containerName": args.component, "controlledResources": ["cpu", "memory"]}]
            },
        },
    }


# --- Component -------------------------------------------------------------------------------


class WorkloadConfig(pulumi.ComponentResource):
    """A workload's ConfigMap and Secret: what its pods read through `envFrom`.

    A component of its own, registered before anything that mounts them (the migration Job, the
    Deployment, the canary), so that no pod is ever created before the objects it reads: Pulumi
    orders creation by dependencies only, and a pod whose ConfigMap is missing stays in
    `CreateContainerConfigError` (a Job then fails at its deadline).
    """

    resources: list[pulumi.Resource]

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spywatcher:workload:WorkloadConfig", name, None, opts)
        self.resources = []
        config_map = build_config_map(args)
        if config_map is not None:
            self.resources.append(register(config_map, f"{name}-config", child_opts(self, opts)))
        secret = build_secret(args)
        if secret is not None:
            values = {k: v.get_secret_value() for k, v in sorted(args.secret_values.items())}
            self.resources.append(
                register(secret, f"{name}-secrets", child_opts(self, opts), string_data=pulumi.Output.secret(values))
            )
        self.register_outputs({})


class Workload(pulumi.ComponentResource):
    """An autoscaled, disruption-budgeted, zero-downtime workload. Its pods read ``config``, which
    the caller registers first (see :class:`WorkloadConfig`)."""

    deployment_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    service_port: int
    hpa_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: WorkloadArgs,
        config: WorkloadConfig,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("spywatcher:workload:Workload", name, None, opts)
        rollout = args.settings.rollout
        # Pulumi waits for the rollout; give it the Deployment's own deadline plus a margin.
        timeout = f"{rollout.progress_deadline_seconds + 300}s"
        deployment = register(
            build_deployment(args),
            f"{name}-deployment",
            child_opts(
                self,
                opts,
                depends_on=config.resources,
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
            ),
        )
        service = register(build_service(args), f"{name}-service", child_opts(self, opts))
        # Once schedules exist they own the HPA's minimum: `pulumi up` must not set it back.
        hpa_opts = child_opts(self, opts, depends_on=[deployment])
        if args.settings.schedules:
            hpa_opts = pulumi.ResourceOptions.merge(
                hpa_opts, pulumi.ResourceOptions(ignore_changes=["spec.minReplicas"])
            )
        hpa = register(build_hpa(args), f"{name}-hpa", hpa_opts)
        register(build_pdb(args), f"{name}-pdb", child_opts(self, opts))
        vpa = build_vpa(args)
        if vpa is not None:
            register(vpa, f"{name}-vpa", child_opts(self, opts, depends_on=[deployment]))

        self.deployment_name = deployment.metadata.apply(lambda m: m["name"])
        self.service_name = service.metadata.apply(lambda m: m["name"])
        self.service_port = args.settings.service.port
        self.hpa_name = hpa.metadata.apply(lambda m: m["name"])
        self.register_outputs(
            {"deploymentName": self.deployment_name, "serviceName": self.service_name, "hpaName": self.hpa_name}
        )
