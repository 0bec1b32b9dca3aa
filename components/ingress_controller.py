"""The ingress-nginx controller: its namespace, the pinned Helm release and the TargetGroupBinding
that registers its pods in the load balancer's target group.

Each guide setting sits where ingress-nginx reads it: keepalive, EWMA and retries in the
controller ConfigMap (chart `controller.config`); the health-check path on the default server of
the traffic port (chart `controller.healthCheckPath`); the drain as `--shutdown-grace-period`.
The controller Service is ClusterIP: the load balancer belongs to this program and targets the
pods directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from config.traffic import IngressControllerSettings, LoadBalancerSettings

from .k8s import child_opts, helm_release, labels, metadata, register, resource_requirements, scaling_rules

RELEASE = "ingress-nginx"  # also the chart's fullname, so the Service is `ingress-nginx-controller`
CONTROLLER_SERVICE = f"{RELEASE}-controller"
CONTROLLER_SELECTOR = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "controller",
}
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
STATUS_PORT = 10254  # the controller's own health and metrics port


@dataclass(frozen=True)
class IngressControllerArgs:
    settings: IngressControllerSettings
    load_balancer: LoadBalancerSettings
    vpc_cidr: str
    kubernetes_version: str
    instance: str

    @property
    def behind_nlb(self) -> bool:
        return self.load_balancer.type == "network"


def build_namespace(args: IngressControllerArgs) -> dict[str, Any]:
    level, version = args.settings.pod_security, f"v{args.kubernetes_version}"
    ns_labels = labels("ingress", args.instance)
    for mode, mode_level in (("enforce", level), ("audit", "restricted"), ("warn", "restricted")):
        ns_labels[f"pod-security.kubernetes.io/{mode}"] = mode_level
        ns_labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    # The AWS Load Balancer Controller adds a readiness gate to pods behind a TargetGroupBinding in
    # this namespace: a new controller pod counts as ready only once its target is healthy, so a
    # rollout never removes the last healthy target.
    ns_labels[READINESS_GATE_LABEL] = "enabled"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(args.settings.namespace, None, ns_labels)}


def controller_config(args: IngressControllerArgs) -> dict[str, str]:
    """The controller ConfigMap (chart `controller.config`): every value a string, in the format
    ingress-nginx parses (seconds without a unit where it appends one itself)."""
    s = args.settings
    config = {
        "load-balance": s.load_balance,
        "upstream-keepalive-connections": str(s.upstream_keepalive_connections),
        "upstream-keepalive-timeout": str(s.upstream_keepalive_timeout_seconds),
        "upstream-keepalive-requests": str(s.upstream_keepalive_requests),
        "proxy-next-upstream": s.retries.conditions(),
        "proxy-next-upstream-tries": str(s.retries.tries),
        "proxy-next-upstream-timeout": str(s.retries.timeout_seconds),
        "allow-snippet-annotations": "false",
        "worker-shutdown-timeout": f"{s.worker_shutdown_timeout_seconds}s",
        # Client addresses come from the load balancer, and are believed only from inside the VPC.
        "proxy-real-ip-cidr": args.vpc_cidr,
    }
    if args.behind_nlb:
        config["use-proxy-protocol"] = "true"
    else:
        config["use-forwarded-headers"] = "true"
        config["compute-full-forwarded-for"] = "true"
    return config


def _probe(path: str, failure_threshold: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": STATUS_PORT, "scheme": "HTTP"},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": failure_threshold,
    }


def build_values(args: IngressControllerArgs) -> dict[str, Any]:
    """Helm values of the ingress-nginx chart."""
    s = args.settings
    scaling = s.autoscaling
    health_path = args.load_balancer.health_check.path
    return {
        "controller": {
            "ingressClass": s.ingress_class,
            "ingressClassResource": {
                "name": s.ingress_class,
                "enabled": True,
                "default": False,
                "controllerValue": "k8s.io/ingress-nginx",
            },
            "config": controller_config(args),
            "allowSnippetAnnotations": False,
            # The default server answers this path with 200 on the traffic port: the load
            # balancer's health check reaches nginx itself, whatever Host header it sends.
            "healthCheckPath": health_path,
            "livenessProbe": _probe(health_path, 5),
            "readinessProbe": _probe(health_path, 3),
            "extraArgs": {
                # Keep serving while the load balancer drains this target, then stop nginx.
                "shutdown-grace-period": str(s.shutdown_delay_seconds(args.load_balancer.deregistration_delay_seconds)),
            },
            "lifecycle": {"preStop": {"exec": {"command": ["/wait-shutdown"]}}},
            "terminationGracePeriodSeconds": s.termination_grace_period_seconds,
            "service": {"type": "ClusterIP", "enableHttp": True, "enableHttps": False},
            "autoscaling": {
                "enabled": True,
                "minReplicas": scaling.min_replicas,
                "maxReplicas": scaling.max_replicas,
                "targetCPUUtilizationPercentage": scaling.cpu_utilization,
                "targetMemoryUtilizationPercentage": scaling.memory_utilization,
                "behavior": {
                    "scaleUp": scaling_rules(scaling.scale_up),
                    "scaleDown": scaling_rules(scaling.scale_down),
                },
            },
            "minAvailable": s.min_available,
            "resources": resource_requirements(s.resources),
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": key,
                    "whenUnsatisfiable": when,
                    "labelSelector": {"matchLabels": dict(CONTROLLER_SELECTOR)},
                    "matchLabelKeys": ["pod-template-hash"],
                }
                for key, when in (
                    ("topology.kubernetes.io/zone", "DoNotSchedule"),
                    ("kubernetes.io/hostname", "ScheduleAnyway"),
                )
            ],
            "metrics": {"enabled": True},
            "podLabels": {"app.kubernetes.io/part-of": "spywatcher"},
        },
    }


def build_target_group_binding(
    args: IngressControllerArgs, target_group_arn: Any, security_group_id: Any
) -> dict[str, Any]:
    """Registers the controller pods (the Service's endpoints) as ip targets of the target group,
    and lets the load balancer's security group reach them on the HTTP port."""
    return {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": metadata(RELEASE, args.settings.namespace, labels("ingress", args.instance)),
        "spec": {
            "serviceRef": {"name": CONTROLLER_SERVICE, "port": "http"},
            "targetGroupARN": target_group_arn,
            "targetType": "ip",
            "networking": {
                "ingress": [
                    {
                        "from": [{"securityGroup": {"groupID": security_group_id}}],
                        "ports": [{"protocol": "TCP", "port": "http"}],
                    }
                ]
            },
        },
    }


class IngressController(pulumi.ComponentResource):
    """ingress-nginx, pinned to its final chart, bound to the AWS target group."""

    namespace: pulumi.Output[str]
    ingress_class: str

    def __init__(
        self,
        name: str,
        args: IngressControllerArgs,
        target_group_arn: pulumi.Input[str],
        security_group_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("spywatcher:ingress:IngressController", name, None, opts)
        s = args.settings
        namespace = register(build_namespace(args), f"{name}-namespace", child_opts(self, opts))
        release = helm_release(
            name,
            release=RELEASE,
            chart="ingress-nginx",
            version=s.chart_version,
            repository=s.chart_repository,
            namespace=s.namespace,
            values=build_values(args),
            opts=child_opts(self, opts, depends_on=[namespace]),
        )
        # `spec.targetGroupARN` cannot change (the AWS Load Balancer Controller's webhook refuses
        # it): when the target group is replaced, the binding is replaced with it, the old one
        # deleted first (it has a fixed name, and deleting it deregisters the old targets).
        register(
            build_target_group_binding(args, target_group_arn, security_group_id),
            f"{name}-targets",
            child_opts(
                self,
                opts,
                depends_on=[release],
                replace_on_changes=["spec.targetGroupARN"],
                delete_before_replace=True,
            ),
        )
        self.namespace = namespace.metadata.apply(lambda m: m["name"])
        self.ingress_class = s.ingress_class
        self.register_outputs({"namespace": self.namespace})
