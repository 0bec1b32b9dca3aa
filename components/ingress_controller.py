"""The ingress-nginx controller: its namespace, the pinned Helm release and the TargetGroupBinding
that registers its pods in the load balancer's target group.

Each guide setting sits where ingress-nginx reads it: keepalive, EWMA and retries in the
controller ConfigMap (chart `controller.config`); the health-check path on the default server of
the traffic port (chart `controller.healthCheckPath`); the drain as `--shutdown-grace-period`.
The controller Service is ClusterIP: the load balancer belongs to this program and targets the
pods directly.

The controller is scoped to the app's namespace (chart `controller.scope`, `rbac.scope`): it serves
Ingresses from there only, and the chart then creates no ClusterRole at all, so it cannot read the
cluster's Secrets. The Role and RoleBinding in the app namespace and a ClusterRole limited to
reading IngressClasses are registered here instead (see ``build_scoped_rbac``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi

from config.traffic import IngressControllerSettings, LoadBalancerSettings

from .k8s import (
    child_opts,
    helm_release,
    labels,
    metadata,
    register,
    resource_requirements,
    scaling_rules,
    spread_constraints,
)
from .network_policy import ControllerNetworkArgs, build_controller_policies

RELEASE = "ingress-nginx"  # also the chart's fullname, so its own Service is `ingress-nginx-controller`
# The Service the TargetGroupBinding targets: this program's, created before the binding and the
# release, so that the very first controller pods find both (see build_target_service).
TARGET_SERVICE = f"{RELEASE}-targets"
CONTROLLER_SELECTOR = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "controller",
}
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
STATUS_PORT = 10254  # the controller's own health and metrics port
PROXY_PORT = 80  # chart `controller.containerPort.http`: the only port the load balancer reaches
WEBHOOK_PORT = 8443  # chart `controller.admissionWebhooks.port`: called by the API server only
SERVICE_ACCOUNT = RELEASE  # the chart's `ingress-nginx.serviceAccountName` (fullname)
# The chart's admission-webhook certgen Jobs (Helm hooks): they create the webhook's certificate
# and patch it into the ValidatingWebhookConfiguration through the API server.
WEBHOOK_JOB_SELECTOR = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "admission-webhook",
}


RESPONSE_HEADERS = "spywatcher-response-headers"  # ConfigMap of the headers nginx adds behind an NLB


@dataclass(frozen=True)
class IngressControllerArgs:
    settings: IngressControllerSettings
    load_balancer: LoadBalancerSettings
    vpc_cidr: str
    kubernetes_version: str
    instance: str
    # The only namespace whose Ingresses the controller serves and whose objects it may read: the app's.
    watch_namespace: str

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
        # Every route that sets no timeouts of its own: a request may run this long, within the grace
        # period its pod has after the preStop sleep.
        "proxy-read-timeout": str(s.timeouts.read_seconds),
        "proxy-send-timeout": str(s.timeouts.send_seconds),
        "allow-snippet-annotations": "false",
        "worker-shutdown-timeout": f"{s.worker_shutdown_timeout_seconds}s",
        # Client addresses come from the load balancer, and are believed only from its subnets: a
        # pod sending a forged X-Forwarded-For or PROXY header is not the load balancer.
        "proxy-real-ip-cidr": ",".join(args.load_balancer.subnet_cidrs),
    }
    if args.behind_nlb:
        config["use-proxy-protocol"] = "true"
        if args.load_balancer.hsts is not None:
            # An NLB adds no header and nginx sees plain HTTP (its own `hsts` is for the TLS it ends):
            # nginx adds Strict-Transport-Security to every response; the NLB's only listener is TLS.
            config["add-headers"] = f"{args.watch_namespace}/{RESPONSE_HEADERS}"
    else:
        # The client address from X-Forwarded-For (the ALB appends the address it saw), and no other
        # forwarded header: `use-forwarded-headers` would also copy a client's X-Forwarded-Host into
        # the Host sent upstream (the ALB neither sets nor strips it), letting a client choose the
        # Host the backend sees (reset links, redirects, cache keys).
        config["enable-real-ip"] = "true"
        config["forwarded-for-header"] = "X-Forwarded-For"
    return config


def build_response_headers(args: IngressControllerArgs) -> dict[str, Any] | None:
    """Behind an NLB, the headers nginx adds to every response (`add-headers`): HSTS. In the watch
    namespace, where the scoped controller may read ConfigMaps."""
    if not args.behind_nlb or args.load_balancer.hsts is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(RESPONSE_HEADERS, args.watch_namespace, labels("ingress", args.instance)),
        "data": {"Strict-Transport-Security": args.load_balancer.hsts},
    }


def config_checksum(args: IngressControllerArgs) -> str:
    """Hash of the controller ConfigMap. A scoped controller watches ConfigMaps of its watch namespace
    only, so it reads its own ConfigMap at start only: the checksum on the pod template rolls the
    pods (with their drain) when the ConfigMap changes."""
    return hashlib.sha256(json.dumps(controller_config(args), sort_keys=True).encode()).hexdigest()


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
            "topologySpreadConstraints": spread_constraints(CONTROLLER_SELECTOR),
            "metrics": {"enabled": True},
            "podLabels": {"app.kubernetes.io/part-of": "spywatcher"},
            "podAnnotations": {"checksum/config": config_checksum(args)},
            # Ingresses of the app's namespace only (`--watch-namespace`): an Ingress of class nginx
            # anywhere else is not served, so nobody can add paths to the app's hosts from there.
            "scope": {"enabled": True, "namespace": args.watch_namespace},
            # The webhook validates the Ingresses this controller serves, and no others.
            "admissionWebhooks": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": args.watch_namespace}}
            },
        },
        # No ClusterRole (it grants list/watch on every Secret in the cluster): the chart's Role in its
        # own namespace, and the app namespace's Role from `build_scoped_rbac`.
        "rbac": {"create": True, "scope": True},
    }


def build_scoped_rbac(args: IngressControllerArgs) -> list[dict[str, Any]]:
    """What the scoped controller needs outside its own namespace: in the app's namespace, the
    namespaced rules of the chart's ClusterRole (the informers of `--watch-namespace`: Ingresses,
    Services, EndpointSlices, Secrets, ConfigMaps; Ingress status; events), and cluster-wide only
    read access to IngressClasses (cluster-scoped, so no Role can grant it)."""
    ns = args.watch_namespace
    meta_labels = labels("ingress", args.instance)
    subject = [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": args.settings.namespace}]
    read = ["get", "list", "watch"]
    name = f"{RELEASE}-controller"
    classes = f"{args.instance}-ingress-nginx-ingressclasses"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(name, ns, meta_labels),
            "rules": [
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["configmaps", "pods", "secrets", "endpoints"], "verbs": read},
                {"apiGroups": [""], "resources": ["services"], "verbs": read},
                {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": read},
                {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(name, ns, meta_labels),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": subject,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": metadata(classes, None, meta_labels),
            "rules": [{"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"], "verbs": read}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": metadata(classes, None, meta_labels),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": classes},
            "subjects": subject,
        },
    ]


def build_target_service(args: IngressControllerArgs) -> dict[str, Any]:
    """The controller pods' HTTP port, as the load balancer's targets: the Service the
    TargetGroupBinding names. The AWS Load Balancer Controller's webhook gives a pod its target-health
    readiness gate only if, when the pod is created, a Service in its namespace selects it and a
    TargetGroupBinding names that Service (docs/deploy/pod_readiness_gate.md @ v3.5.0). The chart's own
    Service is created with its Deployment; this one exists before the release, so no pod ever misses
    its gate (aws-load-balancer-controller #2982)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(TARGET_SERVICE, args.settings.namespace, labels("ingress", args.instance)),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(CONTROLLER_SELECTOR),
            "ports": [{"name": "http", "port": PROXY_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def build_target_group_binding(
    args: IngressControllerArgs, target_group_arn: Any, security_group_id: Any
) -> dict[str, Any]:
    """Registers the controller pods (the target Service's endpoints) as ip targets of the target
    group, and lets the load balancer's security group reach them on the HTTP port."""
    return {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": metadata(RELEASE, args.settings.namespace, labels("ingress", args.instance)),
        "spec": {
            "serviceRef": {"name": TARGET_SERVICE, "port": "http"},
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
        network: ControllerNetworkArgs | None = None,
    ):
        super().__init__("spywatcher:ingress:IngressController", name, None, opts)
        s = args.settings
        namespace = register(build_namespace(args), f"{name}-namespace", child_opts(self, opts))
        # The namespace's NetworkPolicies and the app namespace's RBAC exist before the first pod.
        first: list[pulumi.Resource] = [namespace]
        for policy in build_controller_policies(network) if network is not None else []:
            suffix = policy["metadata"]["name"].removeprefix("spywatcher-")
            first.append(register(policy, f"{name}-{suffix}", child_opts(self, opts, depends_on=[namespace])))
        for obj in build_scoped_rbac(args):
            first.append(register(obj, f"{name}-{obj['kind'].lower()}", child_opts(self, opts)))
        headers = build_response_headers(args)
        if headers is not None:
            first.append(register(headers, f"{name}-response-headers", child_opts(self, opts)))
        # The target Service, then the binding, then the release: the first controller pods find both
        # and get their readiness gate. `spec.targetGroupARN` cannot change (the AWS Load Balancer
        # Controller's webhook refuses it): when the target group is replaced, the binding is replaced
        # with it, the old one deleted first (it has a fixed name, and deleting it deregisters the old
        # targets).
        service = register(
            build_target_service(args), f"{name}-target-service", child_opts(self, opts, depends_on=[namespace])
        )
        binding = register(
            build_target_group_binding(args, target_group_arn, security_group_id),
            f"{name}-targets",
            child_opts(
                self,
                opts,
                depends_on=[service],
                replace_on_changes=["spec.targetGroupARN"],
                delete_before_replace=True,
            ),
        )
        helm_release(
            name,
            release=RELEASE,
            chart="ingress-nginx",
            version=s.chart_version,
            repository=s.chart_repository,
            namespace=s.namespace,
            values=build_values(args),
            opts=child_opts(self, opts, depends_on=[*first, binding]),
        )
        self.namespace = namespace.metadata.apply(lambda m: m["name"])
        self.ingress_class = s.ingress_class
        self.register_outputs({"namespace": self.namespace})
