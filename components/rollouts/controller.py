"""The Argo Rollouts controller: its namespace, the pinned Helm release, what it may do in the app's
namespace, and the NetworkPolicies of its own.

Least privilege. The chart (argo-rollouts 2.41.0) by default installs the CRDs, runs the controller
cluster-wide with a ClusterRole that reads every Secret in the cluster and adds rules for ten traffic
providers. Here the CRDs are a prerequisite (as the Gateway API's are: Helm installs a chart's CRDs
once and never upgrades them), the controller runs namespaced (`clusterInstall: false`: the chart
renders a Role in the controller's own namespace, for its leader-election lease and notification
ConfigMap) and watches the app's namespace only (`--namespace`), every provider rule is off, and
the Role in the app's namespace (:func:`build_app_rbac`) grants only what a canary with ingress-nginx
traffic routing, a Prometheus analysis and a `workloadRef` to a Deployment needs: no Secrets.
"""

from __future__ import annotations

from typing import Any

from ..k8s import metadata, resource_requirements, spread_constraints
from .args import CHART, CONTROLLER_SELECTOR, METRICS_PORT, NAMESPACE_LABEL, RELEASE, SERVICE_ACCOUNT, RolloutsArgs

READ = ["get", "list", "watch"]
# What the controller does in the app's namespace, each rule with the reason, read from
# argoproj/argo-rollouts v1.9.1 (the chart's `argo-rollouts.controller.roleRules` minus what this
# program never uses: experiments, job metrics, Secrets for analysis, pod eviction for restarts,
# cluster analysis templates (not watched in namespaced mode, controller/controller.go)).
APP_RULES: list[tuple[dict[str, Any], str]] = [
    (
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts", "rollouts/status", "rollouts/finalizers"],
         "verbs": [*READ, "update", "patch"]},
        "reconciles the Rollout and writes its status",
    ),
    (
        {"apiGroups": ["argoproj.io"], "resources": ["analysisruns", "analysisruns/finalizers"],
         "verbs": ["create", *READ, "update", "patch", "delete"]},
        "runs each analysis step as an AnalysisRun",
    ),
    (
        {"apiGroups": ["argoproj.io"], "resources": ["analysistemplates", "experiments"], "verbs": READ},
        "reads the AnalysisTemplate; its Experiment informer must sync before it starts (no experiment steps)",
    ),
    (
        {"apiGroups": ["apps"], "resources": ["replicasets"],
         "verbs": ["create", *READ, "update", "patch", "delete"]},
        "runs the stable and canary ReplicaSets",
    ),
    (
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": [*READ, "update"]},
        "reads the pod template of the workloadRef Deployment, scales it to 0 once the Rollout is healthy",
    ),
    (
        {"apiGroups": [""], "resources": ["services"], "verbs": [*READ, "patch"]},
        "points the stable and canary Services at their ReplicaSets (rollouts-pod-template-hash)",
    ),
    (
        # `get`: on a conflicting update it reads the pod again (rollout/ephemeralmetadata.go
        # updatePodMetadataWithRetry); the chart's rules lack it, so every retry would resend the stale
        # pod until the reconcile fails. `list` already reads every pod: `get` grants nothing more.
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "update"]},
        "sets the stable / canary labels on running pods (ephemeral metadata)",
    ),
    (
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "update", "patch"]},
        "records events on the Rollout",
    ),
    (
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"],
         "verbs": ["create", *READ, "update", "patch"]},
        "creates and weights the canary Ingress beside the route's",
    ),
    (
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list", "watch"]},
        "its Job informer must sync before it starts (no Job metrics are used)",
    ),
]


def build_namespace(args: RolloutsArgs) -> dict[str, Any]:
    """The controller's namespace, under Pod Security Admission."""
    c = args.settings.controller
    ns_labels = args.labels("controller")
    for mode, level in (("enforce", c.pod_security), ("audit", "restricted"), ("warn", "restricted")):
        ns_labels[f"pod-security.kubernetes.io/{mode}"] = level
        ns_labels[f"pod-security.kubernetes.io/{mode}-version"] = f"v{args.kubernetes_version}"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(c.namespace, None, ns_labels)}


def build_values(args: RolloutsArgs) -> dict[str, Any]:
    """Helm values of the `argo-rollouts` chart (keys as in its values.yaml, 2.41.0)."""
    c = args.settings.controller
    return {
        # The CRDs are a prerequisite (`make prerequisites`), as the Gateway API's are.
        "installCRDs": False,
        # Namespaced: a Role in the controller's namespace, no ClusterRole (it reads every Secret),
        # no aggregated roles; `--namespaced` is added by the chart, `--namespace` picks the app's.
        "clusterInstall": False,
        "createClusterAggregateRoles": False,
        "controller": {
            "replicas": c.replicas,
            "image": {"tag": c.image_tag},
            # The routes' IngressClass: the controller re-syncs a Rollout when its stable Ingress
            # changes only for the classes it treats as nginx (default `nginx`; ingress/ingress.go).
            "extraArgs": [f"--namespace={args.namespace}", f"--nginx-ingress-classes={args.routes.ingress_class}"],
            "resources": resource_requirements(c.resources),
            "pdb": {"enabled": True, "minAvailable": c.min_available},
            "topologySpreadConstraints": spread_constraints(dict(CONTROLLER_SELECTOR)),
            "podLabels": {"app.kubernetes.io/part-of": "spywatcher"},
            "metrics": {
                "enabled": True,
                "serviceMonitor": {"enabled": args.scrape, "additionalLabels": dict(args.rule_labels)},
            },
        },
        # No rules for Istio, SMI, Ambassador, App Mesh, Traefik, Apisix, Contour, Gloo or the ALB;
        # `gatewayAPI` also gates create/update of ConfigMaps in the chart's base rules.
        "providerRBAC": {"enabled": False, "providers": {"gatewayAPI": False}},
        "dashboard": {"enabled": False},
    }


def build_app_rbac(args: RolloutsArgs) -> list[dict[str, Any]]:
    """The controller's Role and RoleBinding in the app's namespace (see :data:`APP_RULES`)."""
    meta_labels = args.labels("controller")
    name = f"{RELEASE}-controller"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(name, args.namespace, meta_labels),
            "rules": [dict(rule) for rule, _ in APP_RULES],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(name, args.namespace, meta_labels),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [
                {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": args.settings.controller.namespace}
            ],
        },
    ]


def _policy(args: RolloutsArgs, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(f"spywatcher-{name}", args.settings.controller.namespace, args.labels("network")),
        "spec": spec,
    }


def _tcp(port: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port}]


def build_network_policies(args: RolloutsArgs) -> list[dict[str, Any]]:
    """Deny everything in the controller's namespace, then allow: DNS; the controller to the
    Kubernetes API and to Prometheus (the analysis queries it); Prometheus to its metrics."""
    net = args.network
    if not net.enabled:
        return []
    controller = {"matchLabels": dict(CONTROLLER_SELECTOR)}
    prometheus = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: args.monitoring_namespace}},
        "podSelector": {"matchLabels": dict(args.prometheus_labels)},
    }
    dns = {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: net.dns_namespace}},
                "podSelector": {"matchLabels": dict(net.dns_pod_labels)},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    return [
        _policy(args, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(args, "allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]}),
        _policy(
            args,
            "rollouts-egress",
            {
                "podSelector": controller,
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": c}} for c in net.api_server_cidrs], "ports": _tcp(443)},
                    {"to": [prometheus], "ports": _tcp(args.settings.analysis.prometheus_port)},
                ],
            },
        ),
        _policy(
            args,
            "rollouts-from-monitoring",
            {
                "podSelector": controller,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [prometheus], "ports": _tcp(METRICS_PORT)}],
            },
        ),
    ]


__all__ = ["APP_RULES", "CHART", "build_app_rbac", "build_namespace", "build_network_policies", "build_values"]
