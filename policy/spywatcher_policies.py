"""Zero-downtime and safety rules, checked by Pulumi CrossGuard on any stack's resources.

The program's config rules refuse most of these mistakes before anything is registered; the
policy pack checks what actually reaches the engine, so a hand edit, a new component or another
program that reuses these stacks is held to the same rules. Each policy's description is its rule.

What each kind of policy sees decides what it may check. A resource policy sees the resource's
*inputs*, what the program asks for, before the provider acts. A stack policy runs after the
provider, on each resource's *outputs*: for a Kubernetes object, the live object, with every API
server default and every other controller's writes in it (a Deployment's outputs always carry
`spec.replicas`, set by the API server and then by the HPA). So "the program does not set
`spec.replicas`" is a resource policy, and the stack policies read only fields that mean the same
in the live object.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
POD_TEMPLATES = {
    DEPLOYMENT: ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    ROLLOUT: ("spec", "template", "spec"),  # without a template when it runs a Deployment's (workloadRef)
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
PRODUCTION_STACKS = {"production"}
# A Deployment that sets spec.replicas says so (components/k8s.py FIXED_REPLICAS).
FIXED_REPLICAS = "spywatcher.io/fixed-replicas"
DIGEST = re.compile(r"@(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
"""An image pinned by digest: the OCI image spec's registered algorithms (as config/base.py accepts them)."""


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _name(props: Mapping[str, Any]) -> tuple[str, str]:
    return str(_get(props, "metadata", "namespace") or ""), str(_get(props, "metadata", "name") or "")


def _at_least_one(value: Any) -> bool:
    """An int-or-percent that allows at least one pod (a percentage rounds up)."""
    if isinstance(value, int):
        return value >= 1
    return isinstance(value, str) and value.endswith("%") and value[:-1].isdigit() and int(value[:-1]) > 0


def _is_zero(value: Any) -> bool:
    return value in (0, "0%")


def _selects(selector: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> bool:
    """A PodDisruptionBudget's label selector as policy/v1 reads it: a null selector selects no pod,
    an empty one every pod of its namespace (k8s.io/api policy/v1 PodDisruptionBudgetSpec.selector);
    matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) must all hold
    (apimachinery pkg/apis/meta/v1 LabelSelectorAsSelector)."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = key in labels
        holds = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(str(operator), False)  # an unknown operator is refused by the API server: selects nothing
        if not holds:
            return False
    return True


def stack_of(urn: str) -> str:
    """The stack name in a URN: `urn:pulumi:<stack>::<project>::...`."""
    head = urn.split("::", 1)[0]
    return head.rsplit(":", 1)[-1] if head.startswith("urn:pulumi:") else ""


# --- Resource policies -----------------------------------------------------------------------


def _rolling_update(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DEPLOYMENT:
        return
    strategy = _get(args.props, "spec", "strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        report(f"Deployment {args.name} must use the RollingUpdate strategy for zero-downtime rollouts.")
        return
    if not _is_zero(rolling.get("maxUnavailable")):
        report(f"Deployment {args.name} must set maxUnavailable: 0, so every pod stays available during a rollout.")
    if not _at_least_one(rolling.get("maxSurge")):
        report(
            f"Deployment {args.name} must set maxSurge of at least 1, or a rollout with maxUnavailable 0 never starts."
        )


def _probes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DEPLOYMENT:
        return
    for container in _get(args.props, "spec", "template", "spec", "containers") or []:
        missing = [p for p in ("readinessProbe", "livenessProbe", "startupProbe") if not container.get(p)]
        if missing:
            report(f"Container {container.get('name')} of Deployment {args.name} has no {', '.join(missing)}.")


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers"):
        yield from pod.get(key) or []


def _non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    path = POD_TEMPLATES.get(args.resource_type)
    pod = _get(args.props, *path) if path else None
    if not isinstance(pod, Mapping):
        return
    pod_context = pod.get("securityContext") or {}
    for container in _containers(pod):
        context = container.get("securityContext") or {}
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        if non_root is not True or user == 0:
            report(f"Container {container.get('name')} of {args.name} must run as non-root (runAsNonRoot: true).")
        if context.get("allowPrivilegeEscalation") is not False:
            report(f"Container {container.get('name')} of {args.name} must set allowPrivilegeEscalation: false.")


def _fixed_replicas(props: Mapping[str, Any]) -> bool:
    return _get(props, "metadata", "annotations", FIXED_REPLICAS) == "true"


def _no_replicas_unless_fixed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DEPLOYMENT or _get(args.props, "spec", "replicas") is None:
        return
    if not _fixed_replicas(args.props):
        report(
            f"Deployment {args.name} sets spec.replicas: a Deployment scaled by an HPA must not (`pulumi up` "
            f"would reset the autoscaler's choice); one with a fixed count says so with the annotation "
            f'{FIXED_REPLICAS}: "true".'
        )


def _production_load_balancer(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LOAD_BALANCER or stack_of(args.urn) not in PRODUCTION_STACKS:
        return
    if args.props.get("enableDeletionProtection") is not True:
        report(f"Production load balancer {args.name} must have deletion protection enabled.")
    if not args.opts.protect:
        report(f"Production load balancer {args.name} must be protected in Pulumi (`protect`).")


def _rollout_canary(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ROLLOUT:
        return
    spec = args.props.get("spec") or {}
    if spec.get("replicas") is not None:
        report(f"Rollout {args.name} sets spec.replicas: its HPA owns the count (`pulumi up` would reset it).")
    canary = _get(spec, "strategy", "canary")
    if not isinstance(canary, Mapping):
        report(f"Rollout {args.name} must use the canary strategy.")
        return
    # Argo Rollouts' own defaults are 25 % and 25 %: zero-downtime needs both set.
    if not _is_zero(canary.get("maxUnavailable")):
        report(f"Rollout {args.name} must set maxUnavailable: 0, so every pod stays available during a rollout.")
    if not _at_least_one(canary.get("maxSurge")):
        report(f"Rollout {args.name} must set maxSurge of at least 1, or a rollout with maxUnavailable 0 never starts.")
    if not any("analysis" in step for step in canary.get("steps") or []) and not canary.get("analysis"):
        report(f"Rollout {args.name} has no analysis: its canary would become stable without being judged.")


# --- Stack policies --------------------------------------------------------------------------


def _hpa_scales_the_rollout(args: StackValidationArgs, report: ReportViolation) -> None:
    targets = _hpa_targets(args)
    rollouts = _rollouts_of(args)
    for r in args.resources:
        if r.resource_type == DEPLOYMENT and _name(r.props) in rollouts and _name(r.props) in targets:
            rollout = rollouts[_name(r.props)]
            report(
                f"Deployment {r.name} is run by Rollout {rollout.name} but scaled by an HPA: the HPA would scale it "
                "back up from the 0 replicas the Argo Rollouts controller sets, beside the Rollout's pods.",
                r.urn,
            )


def _hpa_targets(args: StackValidationArgs, kind: str = "Deployment") -> dict[tuple[str, str], int]:
    """(namespace, name of a ``kind``) -> minReplicas of the HPA that scales it."""
    targets = {}
    for r in args.resources:
        if r.resource_type != HPA:
            continue
        ref = _get(r.props, "spec", "scaleTargetRef") or {}
        if ref.get("kind") == kind:
            namespace, _ = _name(r.props)
            targets[(namespace, str(ref.get("name")))] = int(_get(r.props, "spec", "minReplicas") or 1)
    return targets


def _rollouts_of(args: StackValidationArgs) -> dict[tuple[str, str], Any]:
    """(namespace, Deployment name) -> the Argo Rollout that runs its pods (`workloadRef`)."""
    result = {}
    for r in args.resources:
        ref = _get(r.props, "spec", "workloadRef") or {}
        if r.resource_type == ROLLOUT and ref.get("kind") == "Deployment":
            result[(_name(r.props)[0], str(ref.get("name")))] = r
    return result


def _hpa_scales_no_fixed_deployment(args: StackValidationArgs, report: ReportViolation) -> None:
    targets = _hpa_targets(args)
    for r in args.resources:
        if r.resource_type == DEPLOYMENT and _name(r.props) in targets and _fixed_replicas(r.props):
            report(
                f"Deployment {r.name} is scaled by an HPA but is marked {FIXED_REPLICAS}: its spec.replicas would "
                "fight the autoscaler on every `pulumi up`.",
                r.urn,
            )


def _drainable_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    targets = _hpa_targets(args)
    rollouts = _rollouts_of(args)
    rollout_targets = _hpa_targets(args, "Rollout")
    budgets = [r for r in args.resources if r.resource_type == PDB]
    for r in args.resources:
        if r.resource_type != DEPLOYMENT:
            continue
        namespace, name = _name(r.props)
        labels = dict(_get(r.props, "spec", "template", "metadata", "labels") or {})
        rollout = rollouts.get((namespace, name))
        if rollout is not None:
            # The Rollout runs the pods (with its stable labels) and its HPA keeps the minimum.
            labels |= _get(rollout.props, "spec", "strategy", "canary", "stableMetadata", "labels") or {}
            rollout_name = _name(rollout.props)[1]
            if (namespace, rollout_name) in rollout_targets:
                targets[(namespace, name)] = rollout_targets[(namespace, rollout_name)]
        matching = [
            b for b in budgets if _name(b.props)[0] == namespace and _selects(_get(b.props, "spec", "selector"), labels)
        ]
        if not matching:
            report(f"Deployment {r.name} has no PodDisruptionBudget.", r.urn)
            continue
        minimum = targets.get((namespace, name), _get(r.props, "spec", "replicas") or 1)
        for budget in matching:
            spec = budget.props.get("spec") or {}
            min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
            if max_unavailable is not None:
                drainable = _at_least_one(max_unavailable)
            else:
                drainable = isinstance(min_available, int) and min_available < minimum
            if not drainable:
                report(
                    f"PodDisruptionBudget {budget.name} leaves no room for a node drain at {name}'s minimum scale of "
                    f"{minimum} (minAvailable must be below it, or maxUnavailable at least 1).",
                    budget.urn,
                )


# --- Security (docs/security.md) --------------------------------------------------------------

CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
READ_VERBS = {"get", "list", "watch", "*"}


def _reads_secrets(rule: Mapping[str, Any]) -> bool:
    groups, resources, verbs = (set(rule.get(k) or []) for k in ("apiGroups", "resources", "verbs"))
    return bool(groups & {"", "*"} and resources & {"secrets", "*"} and verbs & READ_VERBS)


def _no_cluster_wide_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == CLUSTER_ROLE:
        if any(_reads_secrets(rule) for rule in args.props.get("rules") or []):
            report(f"ClusterRole {args.name} grants reading Secrets in every namespace; use a Role per namespace.")
    elif args.resource_type == HELM_RELEASE and _chart(args.props) == "argo-rollouts":
        if (args.props.get("values") or {}).get("clusterInstall") is not False:
            report(
                f"argo-rollouts release {args.name} must set clusterInstall: false: otherwise the chart's ClusterRole "
                "lets the controller read every Secret in the cluster."
            )
    elif args.resource_type == HELM_RELEASE and _chart(args.props) == "ingress-nginx":
        values = args.props.get("values") or {}
        if _get(values, "rbac", "scope") is not True or _get(values, "controller", "scope", "enabled") is not True:
            report(
                f"ingress-nginx release {args.name} must set controller.scope.enabled and rbac.scope: otherwise the "
                "chart's ClusterRole lets the controller read every Secret in the cluster, and it serves Ingresses "
                "from every namespace."
            )
    elif args.resource_type == HELM_RELEASE and _chart(args.props) == "gateway-helm":
        _gateway_watch_is_scoped(args, report)


def _chart(props: Mapping[str, Any]) -> str:
    """A release's chart name, without its repository (`oci://docker.io/envoyproxy/gateway-helm`)."""
    return str(props.get("chart") or "").rsplit("/", 1)[-1]


def _gateway_watch_is_scoped(args: ResourceValidationArgs, report: ReportViolation) -> None:
    # gateway-helm v1.9.0 renders its namespaced rules (Secret reads, Deployment, DaemonSet,
    # ServiceAccount, Service writes) as Roles only under `watch: {type: Namespaces, namespaces: [..]}`
    # (envoyproxy/gateway charts/gateway-helm/templates/envoy-gateway-rbac.yaml, infra-manager-rbac.yaml,
    # namespaced-infra-manager-rbac.yaml @ v1.9.0); with no watch, or a namespace selector, in ClusterRoles.
    watch = _get(args.props.get("values"), "config", "envoyGateway", "provider", "kubernetes", "watch")
    namespaces = watch.get("namespaces") if isinstance(watch, Mapping) else None
    if not isinstance(watch, Mapping) or watch.get("type") != "Namespaces" or not namespaces:
        report(
            f"gateway-helm release {args.name} must set config.envoyGateway.provider.kubernetes.watch to "
            "{type: Namespaces, namespaces: [...]}: otherwise the chart's ClusterRoles let the Envoy Gateway "
            "controller read every Secret and write Deployments, ServiceAccounts and Services in every namespace."
        )


def _production_images_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != HELM_RELEASE or _chart(args.props) != "gateway-helm":
        return
    if stack_of(args.urn) not in PRODUCTION_STACKS:
        return
    values = args.props.get("values")
    wanted = ["envoyGateway", "envoyProxy"]
    if _get(values, "config", "envoyGateway", "rateLimit") is not None:
        wanted.append("ratelimit")
    for key in wanted:
        image = _get(values, "global", "images", key, "image")
        if not (isinstance(image, str) and DIGEST.search(image)):
            report(
                f"gateway-helm release {args.name} must pin global.images.{key}.image by digest in production "
                f"(`repo:tag@sha256:<digest>`; gateway.images in the stack config), not {image or 'the chart tag'}."
            )


def _namespaces_deny_by_default(args: StackValidationArgs, report: ReportViolation) -> None:
    denied = set()
    for r in args.resources:
        if r.resource_type != NETWORK_POLICY:
            continue
        spec = r.props.get("spec") or {}
        selector = spec.get("podSelector") or {}
        every_pod = not selector.get("matchLabels") and not selector.get("matchExpressions")
        both_ways = {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
        if every_pod and both_ways and not spec.get("ingress") and not spec.get("egress"):
            denied.add(_name(r.props)[0])
    for r in args.resources:
        if r.resource_type == NAMESPACE and _name(r.props)[1] not in denied:
            report(
                f"Namespace {_name(r.props)[1]} has no default-deny NetworkPolicy (every pod, Ingress and Egress, "
                "no rules): its pods are reachable from, and reach, the whole cluster.",
                r.urn,
            )


POLICIES = [
    ResourceValidationPolicy(
        name="hpa-deployments-without-replicas",
        description=f"A Deployment does not set spec.replicas unless it is marked {FIXED_REPLICAS} (no HPA).",
        validate=_no_replicas_unless_fixed,
    ),
    StackValidationPolicy(
        name="hpa-targets-not-fixed",
        description=f"No HPA scales a Deployment marked {FIXED_REPLICAS}.",
        validate=_hpa_scales_no_fixed_deployment,
    ),
    ResourceValidationPolicy(
        name="zero-downtime-rolling-update",
        description="Deployments roll with maxUnavailable 0 and maxSurge of at least 1.",
        validate=_rolling_update,
    ),
    ResourceValidationPolicy(
        name="readiness-liveness-startup-probes",
        description="Every Deployment container has readiness, liveness and startup probes.",
        validate=_probes,
    ),
    ResourceValidationPolicy(
        name="rollout-zero-downtime-canary",
        description="An Argo Rollout has no spec.replicas, a canary with maxUnavailable 0 and maxSurge of at least "
        "1 set explicitly, and an analysis.",
        validate=_rollout_canary,
    ),
    StackValidationPolicy(
        name="hpa-scales-the-rollout",
        description="No HPA scales a Deployment that an Argo Rollout runs (workloadRef): it scales the Rollout.",
        validate=_hpa_scales_the_rollout,
    ),
    StackValidationPolicy(
        name="disruption-budget-allows-drain",
        description="Every Deployment has a PodDisruptionBudget that still lets a drain evict a pod at minimum scale.",
        validate=_drainable_budget,
    ),
    ResourceValidationPolicy(
        name="non-root-without-privilege-escalation",
        description="Containers run as non-root and cannot escalate privileges.",
        validate=_non_root,
    ),
    ResourceValidationPolicy(
        name="production-load-balancer-protected",
        description="Production load balancers have deletion protection and Pulumi `protect`.",
        validate=_production_load_balancer,
    ),
    ResourceValidationPolicy(
        name="no-cluster-wide-secret-access",
        description="No ClusterRole reads Secrets, and the ingress controllers are scoped to their namespaces "
        "(ingress-nginx: controller.scope and rbac.scope; gateway-helm: watch of type Namespaces), Argo Rollouts "
        "too (clusterInstall: false).",
        validate=_no_cluster_wide_secrets,
    ),
    ResourceValidationPolicy(
        name="production-images-pinned",
        description="In production, the images Envoy Gateway runs (gateway-helm global.images) are pinned by digest.",
        validate=_production_images_pinned,
    ),
    StackValidationPolicy(
        name="namespaces-deny-by-default",
        description="Every namespace this program creates has a default-deny NetworkPolicy.",
        validate=_namespaces_deny_by_default,
    ),
]
