"""`python -m offline prerequisites`: what a stack needs in the cluster and the AWS account before
`pulumi up`, derived from what the stack registers.

The program creates none of these; without one, `pulumi up` fails half-way (a custom resource
whose CRD is missing is refused after the Deployments and the Job were created). The list is read
off the plan, so it follows the config: a stack with alerts needs the Prometheus Operator's CRDs, one
without does not.

- **Existing objects**: what the stack's pods read but the program does not create (an
  `existingSecret`), and how to create it on the first deploy.
- **CRDs**: every custom resource kind the stack renders, with who installs its CRD.
- **Controllers**: what must run for the rendered objects to work (metrics-server behind an HPA's
  resource metrics, a NetworkPolicy-enforcing CNI, the AWS Load Balancer Controller behind a
  TargetGroupBinding, a custom metrics API behind Pods metrics).
- **Helm repositories**: each release's chart repository, reachable from where `pulumi up` runs.
- **AWS permissions**: the IAM actions the deploy role needs for each AWS resource type the
  stack registers.

`make prerequisites STACK=…` prints them; `make preview` prints them first; the README's checklist
is generated from the same data (`python -m tooling docs`). Exit codes: 0 listed, 1 invalid stack
config, 2 bad usage or unknown stack.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from .engine import Plan, reveal
from .iam import AWS_ACTIONS, DEPLOY_ACTIONS, EKS_ACCESS, INVOKE_CALLS, INVOKE_PURPOSE, eks_access
from .namespaces import missing_namespaces
from .targeting import closed_targets, engine_urn, plan_nodes

# API groups served by Kubernetes itself: no CRD needed.
BUILT_IN_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
}

# An autoscaling/v2 HPA without metrics scales on CPU: the API server sets 80 % average utilization
# (kubernetes/kubernetes pkg/apis/autoscaling/v2/defaults.go at v1.34.0,
# SetDefaults_HorizontalPodAutoscaler), a resource metric metrics-server serves.
DEFAULT_HPA_METRICS: tuple[dict[str, Any], ...] = (
    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
)

ROLLOUTS_CRDS = (
    "Argo Rollouts v1.9.1 (`kubectl apply --server-side -k "
    "https://github.com/argoproj/argo-rollouts/manifests/crds?ref=v1.9.1`); its controller is this "
    "program's Helm release"
)
# (group, kind) -> (CRD name, who installs the CRD and runs its controller)
CRDS: dict[tuple[str, str], tuple[str, str]] = {
    ("elbv2.k8s.aws", "TargetGroupBinding"): (
        "targetgroupbindings.elbv2.k8s.aws",
        "the AWS Load Balancer Controller (Helm chart `eks/aws-load-balancer-controller`)",
    ),
    ("monitoring.coreos.com", "PrometheusRule"): (
        "prometheusrules.monitoring.coreos.com",
        "the Prometheus Operator (e.g. kube-prometheus-stack)",
    ),
    ("monitoring.coreos.com", "ServiceMonitor"): (
        "servicemonitors.monitoring.coreos.com",
        "the Prometheus Operator (e.g. kube-prometheus-stack)",
    ),
    ("autoscaling.k8s.io", "VerticalPodAutoscaler"): (
        "verticalpodautoscalers.autoscaling.k8s.io",
        "the Vertical Pod Autoscaler (its recommender; `kubernetes/autoscaler`)",
    ),
    ("gateway.networking.k8s.io", "GatewayClass"): ("gatewayclasses.gateway.networking.k8s.io", "Gateway API"),
    ("gateway.networking.k8s.io", "Gateway"): ("gateways.gateway.networking.k8s.io", "Gateway API"),
    ("gateway.networking.k8s.io", "HTTPRoute"): ("httproutes.gateway.networking.k8s.io", "Gateway API"),
    ("gateway.networking.k8s.io", "ReferenceGrant"): ("referencegrants.gateway.networking.k8s.io", "Gateway API"),
    ("gateway.envoyproxy.io", "EnvoyProxy"): ("envoyproxies.gateway.envoyproxy.io", "Envoy Gateway"),
    ("gateway.envoyproxy.io", "BackendTrafficPolicy"): (
        "backendtrafficpolicies.gateway.envoyproxy.io",
        "Envoy Gateway",
    ),
    ("gateway.envoyproxy.io", "ClientTrafficPolicy"): (
        "clienttrafficpolicies.gateway.envoyproxy.io",
        "Envoy Gateway",
    ),
    # The program installs the controller (Helm, `installCRDs: false`) but not its CRDs.
    ("argoproj.io", "Rollout"): ("rollouts.argoproj.io", ROLLOUTS_CRDS),
    ("argoproj.io", "AnalysisTemplate"): ("analysistemplates.argoproj.io", ROLLOUTS_CRDS),
}
# The CRDs the controller also needs: it creates AnalysisRuns and watches Experiments and
# ClusterAnalysisTemplates' kinds even when no object of the stack is one.
ROLLOUTS_RUNTIME_CRDS = ("analysisruns.argoproj.io", "experiments.argoproj.io", "clusteranalysistemplates.argoproj.io")

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
MISSING_NAMESPACE = (
    "create it before `pulumi up` (or let its owner, e.g. kube-prometheus-stack, create it); the program "
    "writes into it"
)


@dataclass(frozen=True)
class Prerequisite:
    """One thing the cluster or account must have, and the objects that need it."""

    section: str  # "CRD", "controller", "Helm repository", "AWS"
    name: str
    detail: str
    needed_by: tuple[str, ...]

    def line(self) -> str:
        return f"{self.name}: {self.detail}" if self.detail else self.name


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def _needed(found: dict[tuple[str, str, str], set[str]], section: str, name: str, detail: str, by: str) -> None:
    found.setdefault((section, name, detail), set()).add(by)


def _namespace_targets(plan: Plan, namespace: str) -> str | None:
    """`--target` arguments that create the namespace on a stack with no state, closed under the
    engine's targeting rule (offline/targeting.py): the Namespace, every ancestor and dependency of
    it, and the ancestors of every provider (providers are created whatever the targets say)."""
    for r in plan.resources:
        if r.type == "kubernetes:core/v1:Namespace" and (r.inputs.get("metadata") or {}).get("name") == namespace:
            targets = closed_targets(plan_nodes(plan), [engine_urn(plan, r.urn)])
            return " ".join(f"--target '{t}'" for t in targets)
    return None


def chart_source(release: dict[str, Any]) -> tuple[str, str]:
    """(repository, chart) of a Helm release: `repositoryOpts.repo` and the chart name, or, for an
    OCI registry (no `repositoryOpts`; `chart` is `oci://<registry>/<path>/<chart>`), the registry
    path and the chart's last segment."""
    chart = str(release.get("chart") or "")
    repository = str((release.get("repositoryOpts") or {}).get("repo") or "")
    if not repository and chart.startswith("oci://"):
        repository, _, chart = chart.rpartition("/")
    if not repository:
        raise KeyError(f"offline/prerequisites.py: Helm release {release.get('name')!r} names no chart repository")
    return repository, chart


def _load_balancer_controller(plan: Plan) -> str:
    """What the stack needs of the AWS Load Balancer Controller, with the webhook policy it declares."""
    what = "registers the targets and injects the pod readiness gates"
    lbc = getattr(getattr(plan.settings, "cluster", None), "load_balancer_controller", None)
    if getattr(lbc, "pod_mutator_failure_policy", None) == "Fail":
        what += (
            "; its pod-mutating webhook fails closed (chart value `podMutatorWebhookConfig.failurePolicy: Fail`), "
            "as `cluster.loadBalancerController` declares"
        )
    return what


def prerequisites(plan: Plan, existing: Iterable[tuple[str, str, str]] = ()) -> list[Prerequisite]:
    """What ``plan`` needs before `pulumi up`, by section (raises KeyError naming a resource type or
    custom resource kind this module does not know, so a new one is never silently left out).

    ``existing`` are the objects the stack declares as existing (kind, namespace, name): its pods
    read them, so they must be there before the pods start; one in a namespace this program
    creates can only be made once that namespace exists (see :data:`SECTION_TITLES`)."""
    found: dict[tuple[str, str, str], set[str]] = {}
    unknown = []
    for kind, namespace, name in existing:
        targets = _namespace_targets(plan, namespace)
        how = (
            f"the namespace is this program's: on the first deploy, `pulumi up {targets}`, then create it, "
            "then `pulumi up`"
            if targets
            else "create it before `pulumi up`"
        )
        _needed(found, "existing", f"{kind} {namespace}/{name}", how, "existingSecret")
    for r in plan.resources:
        if r.is_kubernetes_object:
            obj = reveal(r.inputs)
            kind, group = str(obj["kind"]), _group(str(obj["apiVersion"]))
            label = f"{kind} {obj.get('metadata', {}).get('name', r.name)}"
            if group not in BUILT_IN_GROUPS:
                if (group, kind) not in CRDS:
                    unknown.append(f"custom resource {group}/{kind}")
                    continue
                crd, owner = CRDS[(group, kind)]
                _needed(found, "CRD", crd, owner, label)
            if kind == "AnalysisTemplate":
                for metric in obj.get("spec", {}).get("metrics") or ():
                    address = ((metric.get("provider") or {}).get("prometheus") or {}).get("address")
                    if address:
                        _needed(found, "controller", f"Prometheus at {address}",
                                "the canary analysis queries it; it must scrape ingress-nginx's metrics (port 10254) "
                                "and the backend's ServiceMonitor", label)
            if kind == "TargetGroupBinding":
                _needed(found, "controller", "AWS Load Balancer Controller", _load_balancer_controller(plan), label)
            if kind == "NetworkPolicy":
                _needed(found, "controller", "a CNI that enforces NetworkPolicies",
                        "on EKS: the VPC CNI with network policy support enabled (off by default; with "
                        "`networkPolicy.enforcedBy: vpc-cni` every preview and update reads the add-on and stops "
                        "when it is off)", "NetworkPolicy")
            if kind == "HorizontalPodAutoscaler":
                for metric in obj.get("spec", {}).get("metrics") or DEFAULT_HPA_METRICS:
                    # A ContainerResource metric is a resource metric of one container, "built in to
                    # Kubernetes" like Resource (kubernetes/api autoscaling/v2/types.go at v0.34.0,
                    # MetricSpec.ContainerResource; the same text is in Envoy Gateway v1.9.0's EnvoyProxy
                    # CRD, whose HPA schema embeds it): metrics-server serves both.
                    if metric.get("type") in ("Resource", "ContainerResource"):
                        _needed(found, "controller", "metrics-server",
                                "serves metrics.k8s.io: the HPAs' CPU and memory", label)
                    elif metric.get("type") in ("Pods", "Object", "External"):
                        _needed(found, "controller", "a custom metrics API (custom.metrics.k8s.io)",
                                "prometheus-adapter and the Prometheus it queries", label)
        elif r.type == HELM_RELEASE:
            repository, _ = chart_source(reveal(r.inputs))
            release = f"{r.inputs.get('chart')} {r.inputs.get('version')}"
            _needed(found, "Helm repository", repository, "", release)
            values = reveal(r.inputs).get("values") or {}
            # Envoy Gateway's global rate limit counts in a Redis this program does not create.
            redis = (((values.get("config") or {}).get("envoyGateway") or {}).get("rateLimit") or {}).get("backend")
            if redis:
                _needed(found, "controller", f"Redis at {redis['redis']['url']}",
                        "Envoy Gateway's rate-limit service counts the per-client request rates in it "
                        "(e.g. ElastiCache; gateway.rateLimit.redisCidrs must cover it)", release)
            # Argo Rollouts' chart: the CRDs the controller needs beyond the stack's kinds, and its
            # own ServiceMonitor (chart `controller.metrics.serviceMonitor`).
            if r.inputs.get("chart") == "argo-rollouts":
                for crd in ROLLOUTS_RUNTIME_CRDS:
                    _needed(found, "CRD", crd, ROLLOUTS_CRDS, release)
            metrics = (values.get("controller") or {}).get("metrics") or {}
            if (metrics.get("serviceMonitor") or {}).get("enabled"):
                _needed(found, "CRD", "servicemonitors.monitoring.coreos.com",
                        "the Prometheus Operator (e.g. kube-prometheus-stack)", release)
            # A chart that renders cert-manager objects (the adapter's serving certificate).
            if (values.get("certManager") or {}).get("enabled"):
                for crd in ("certificates.cert-manager.io", "issuers.cert-manager.io"):
                    _needed(found, "CRD", crd, "cert-manager (issues the chart's serving certificate)", release)
        elif r.custom and r.type.startswith("aws:"):
            if r.type not in AWS_ACTIONS:
                unknown.append(f"AWS resource type {r.type}")
                continue
            for action in AWS_ACTIONS[r.type]:
                _needed(found, "AWS", action, "", r.type.rsplit(":", 1)[-1])
            # The dashboard's replicas widget reads what Container Insights publishes (components/cloudwatch.py).
            if r.type == "aws:cloudwatch/dashboard:Dashboard":
                _needed(found, "controller", "CloudWatch Container Insights",
                        "the amazon-cloudwatch-observability EKS add-on: the CloudWatch dashboard's replicas "
                        "widget (the rest works without it)", "CloudWatch dashboard")
    for token, _ in plan.invokes:
        if token.startswith("aws:"):
            if token not in INVOKE_CALLS:
                unknown.append(f"AWS invoke {token}")
                continue
            for action in INVOKE_CALLS[token].actions:
                _needed(found, "AWS", action, "", INVOKE_PURPOSE[token])
    for namespace, objects in missing_namespaces(plan).items():
        for label in objects:
            _needed(found, "namespace", f"Namespace {namespace}", MISSING_NAMESPACE, label)
    for action, why in DEPLOY_ACTIONS:
        _needed(found, "AWS", action, "", why)
    settings = getattr(plan, "settings", None)
    if settings is not None:
        cluster = settings.cluster
        _needed(found, "access", "an EKS access entry for the deploy role", EKS_ACCESS,
                eks_access(cluster.name, cluster.region))
    if unknown:
        raise KeyError(f"offline/prerequisites.py does not know {', '.join(sorted(set(unknown)))}: add it")
    order = {"namespace": -2, "existing": -1, "CRD": 0, "controller": 1, "Helm repository": 2, "access": 3, "AWS": 4}
    return sorted(
        (Prerequisite(s, n, d, tuple(sorted(by))) for (s, n, d), by in found.items()),
        key=lambda p: (order[p.section], p.name),
    )


SECTION_TITLES = {
    "namespace": "Namespaces the stack writes into but does not create",
    "existing": "Objects the stack reads but does not create (its pods wait for them)",
    "CRD": "CRDs (and the controllers that serve them)",
    "controller": "Controllers",
    "Helm repository": "Helm chart repositories (reachable from where `pulumi up` runs)",
    "access": "Cluster access of the deploy role",
    "AWS": "AWS permissions of the deploy role",
}


def format_text(stack: str, items: Iterable[Prerequisite]) -> str:
    items = list(items)
    lines = [f"Prerequisites of stack {stack} (the program creates none of these):"]
    for section, title in SECTION_TITLES.items():
        chosen = [p for p in items if p.section == section]
        if not chosen:
            continue
        lines.append(f"  {title}:")
        if section == "AWS":
            lines.append("    " + ", ".join(p.name for p in chosen))
        elif section == "namespace":
            lines += [f"    - {p.line()}: {', '.join(p.needed_by)}" for p in chosen]
        elif section == "access":
            lines += [f"    - {p.name}: {', '.join(p.needed_by)}" for p in chosen]
        else:
            lines += [f"    - {p.line()}" for p in chosen]
    return "\n".join(lines)


def format_markdown(by_stack: dict[str, list[Prerequisite]]) -> str:
    """The README's checklist: every prerequisite of any stack, with the stacks that need it."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    for stack, items in by_stack.items():
        for p in items:
            rows.setdefault((p.section, p.name, p.detail), []).append(stack)
    every = len(by_stack)
    lines = []
    for section, title in SECTION_TITLES.items():
        chosen = sorted(k for k in rows if k[0] == section)
        if not chosen:
            continue
        lines += ["", f"{title}:", ""]
        if section == "AWS":  # one line per service (and set of stacks): `service`: Action, Action, …
            groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
            for key in chosen:
                service, action = key[1].split(":", 1)
                groups.setdefault((service, tuple(rows[key])), []).append(action)
            for (service, stacks), actions in sorted(groups.items()):
                where = "" if len(stacks) == every else f" ({', '.join(stacks)} only)"
                lines.append(f"- [ ] `{service}`: {', '.join(actions)}{where}")
            continue
        if section == "CRD":  # one line per installer (and set of stacks): one install step each
            crds: dict[tuple[str, tuple[str, ...]], list[str]] = {}
            for _, name, detail in chosen:
                crds.setdefault((detail, tuple(rows[(section, name, detail)])), []).append(f"`{name}`")
            for (detail, stacks), names in sorted(crds.items(), key=lambda item: item[1][0]):
                where = "" if len(stacks) == every else f" ({', '.join(stacks)} only)"
                lines.append(f"- [ ] {', '.join(names)} — {detail}{where}")
            continue
        for key in chosen:
            _, name, detail = key
            where = "" if len(rows[key]) == every else f" ({', '.join(rows[key])} only)"
            text = f"`{name}`" if section in ("Helm repository", "existing", "namespace") else name
            lines.append(f"- [ ] {text}{f' — {detail}' if detail else ''}{where}")
    return "\n".join(lines[1:])


def stack_prerequisites(plan: Plan, stack: str) -> str:
    """The text `make prerequisites` prints for ``stack`` (its existing objects from its settings)."""
    from .engine import plan_settings

    return format_text(stack, prerequisites(plan, plan_settings(plan).existing_objects()))


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from .cli import run_verb, summary

    return run_verb("python -m offline prerequisites", summary(__doc__), argv, out, err, stack_prerequisites)
