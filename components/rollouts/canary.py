"""The backend's canary: the Rollout, the stable and canary Services it points at its ReplicaSets, the
AnalysisTemplate that judges the canary on Prometheus, and the alert on an aborted rollout.

How it keeps out of Pulumi's way (docs/progressive-delivery.md):

- the Rollout has no `spec.replicas` (the controller defaults it to 1, then the HPA owns it through
  the Rollout's scale subresource) and no template (`workloadRef`: the Deployment keeps it; the
  Deployment has no `spec.replicas` either, and the controller scales it to 0);
- the controller adds `rollouts-pod-template-hash` to the stable and canary Services' selector, an
  atomic map, so it owns the whole selector afterwards: both Services are registered with
  `ignoreChanges: [spec.selector]`, which the Kubernetes provider turns into leaving the field out
  of its apply (`handleSSAIgnoreFields`) instead of a field conflict on every `pulumi up`;
- the canary Ingress is the controller's own (`<rollout>-<stable ingress>-canary`), never Pulumi's.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from config.rollouts import SCALE_DOWN, TRACK_LABEL, RolloutStep

from ..k8s import metadata
from ..routes import ROUTE_LABEL
from ..workload import PORT_NAME, ROLLOUT_HASH_LABEL, build_pod_template
from .args import CANARY_HASH_ARG, ROLLOUTS_API, RolloutsArgs

# pulumi-kubernetes waits for what this annotation says (provider/pkg/metadata/overrides.go
# ReadyCondition; JSONPath parsed with github.com/theory/jsonpath, RFC 9535).
WAIT_FOR = "pulumi.com/waitFor"
# The Deployment generation the controller last saw, which it writes on the Rollout
# (utils/annotations/annotations.go WorkloadGenerationAnnotation).
WORKLOAD_GENERATION = "rollout.argoproj.io/workload-generation"
TEMPLATE_HASH = "spywatcher.io/pod-template"


def wait_for() -> str:
    """`pulumi up` succeeds only once the controller has observed the Deployment generation it last
    recorded and the Rollout is Healthy in that same status (`persistRolloutStatus` writes
    `workloadObservedGeneration` and `phase` together). An aborted canary is `Degraded` and a paused
    one `Paused`: the wait runs into the Rollout's timeout and `pulumi up` fails."""
    return json.dumps(
        [
            "jsonpath={.status.phase}=Healthy",
            "jsonpath={$[?@.workloadObservedGeneration && "
            f"@.workloadObservedGeneration==$.metadata.annotations['{WORKLOAD_GENERATION}']]}}",
        ]
    )


def template_hash(args: RolloutsArgs) -> str:
    """Hash of the backend's pod template: on the Rollout, so that a change of the Deployment's
    template is also an update of the Rollout, which `pulumi up` then waits for."""
    return hashlib.sha256(json.dumps(build_pod_template(args.backend), sort_keys=True).encode()).hexdigest()


def build_service(args: RolloutsArgs, name: str) -> dict[str, Any]:
    """The stable or canary Service: the backend's pods and serving port, an upstream of its own in
    ingress-nginx. Marked as the route's (the ServiceMonitor scrapes the backend's own Service)."""
    backend = args.backend
    meta = backend.metadata(name)
    meta["labels"][ROUTE_LABEL] = args.route.name
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            # The controller adds rollouts-pod-template-hash; ingress-nginx balances over the
            # endpoints itself, so ClusterIP session affinity would never apply on this path.
            "selector": backend.selector(),
            "ports": [
                {"name": PORT_NAME, "port": backend.settings.service.port, "targetPort": PORT_NAME, "protocol": "TCP"}
            ],
            "sessionAffinity": "None",
        },
    }


def build_services(args: RolloutsArgs) -> list[dict[str, Any]]:
    return [build_service(args, args.stable_service), build_service(args, args.canary_service)]


def _step(args: RolloutsArgs, step: RolloutStep) -> dict[str, Any]:
    if step.set_weight is not None:
        return {"setWeight": step.set_weight}
    if step.pause is not None:
        return {"pause": {"duration": step.pause}}
    return {
        "analysis": {
            "templates": [{"templateName": args.analysis_template}],
            "args": [{"name": CANARY_HASH_ARG, "valueFrom": {"podTemplateHashValue": "Latest"}}],
        }
    }


def traffic_routing(args: RolloutsArgs) -> dict[str, Any]:
    """ingress-nginx routing through the route's Ingress. The controller's canary Ingress keeps only
    the ingress class of the route's annotations (argo-rollouts v1.9.1 nginx.go buildCanaryIngress),
    and ingress-nginx balances the canary Service's upstream by that Ingress's own `load-balance`,
    else the ConfigMap's (controller-v1.15.1 internal/ingress/controller/controller.go
    createUpstreams): a route's own algorithm is passed on, so canary pods are balanced like stable."""
    nginx: dict[str, Any] = {"stableIngress": args.stable_ingress}
    if args.route.load_balance is not None:
        nginx["additionalIngressAnnotations"] = {"load-balance": args.route.load_balance}
    return {"nginx": nginx}


def build_rollout(args: RolloutsArgs) -> dict[str, Any]:
    backend = args.backend
    rollout = backend.settings.rollout
    annotations = {WAIT_FOR: wait_for(), TEMPLATE_HASH: template_hash(args)}
    return {
        "apiVersion": ROLLOUTS_API,
        "kind": "Rollout",
        "metadata": backend.metadata(args.rollout_name, annotations=dict(sorted(annotations.items()))),
        "spec": {
            # No replicas: the HPA scales the Rollout; no selector or template: the Deployment's.
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": backend.name,
                            "scaleDown": SCALE_DOWN},
            "minReadySeconds": rollout.min_ready_seconds,
            "revisionHistoryLimit": rollout.revision_history_limit,
            "progressDeadlineSeconds": rollout.progress_deadline_seconds,
            # A canary whose pods make no progress for the deadline is aborted, not left hanging.
            "progressDeadlineAbort": True,
            "strategy": {
                "canary": {
                    "stableService": args.stable_service,
                    "canaryService": args.canary_service,
                    # Set explicitly: the controller's own defaults are 25 % and 25 %.
                    "maxSurge": rollout.max_surge,
                    "maxUnavailable": rollout.max_unavailable,
                    "dynamicStableScale": args.settings.dynamic_stable_scale,
                    "stableMetadata": {"labels": {TRACK_LABEL: "stable"}},
                    "canaryMetadata": {"labels": {TRACK_LABEL: "canary"}},
                    "trafficRouting": traffic_routing(args),
                    "steps": [_step(args, step) for step in args.settings.steps],
                }
            },
        },
    }


# --- Analysis ------------------------------------------------------------------------------------


def error_ratio_query(args: RolloutsArgs) -> str:
    """The canary's share of 5xx answers at ingress-nginx over `window`, or nothing when it served
    fewer than `minRequests` requests. ingress-nginx labels a request the canary served with
    `canary="<namespace>-<canary Service>-<port>"` (the alternative upstream's name; its own test,
    rootfs/etc/nginx/lua/test/monitor_test.lua, controller-v1.15.1); `ingress` stays the stable route's."""
    a = args.settings.analysis
    upstream = f"{args.namespace}-{args.canary_service}-{args.backend.settings.service.port}"
    selector = (
        f'controller_namespace="{args.ingress_controller_namespace}", ingress="{args.stable_ingress}", '
        f'canary="{upstream}"'
    )
    series = "nginx_ingress_controller_requests"
    return (
        f'(sum(increase({series}{{{selector}, status=~"5.."}}[{a.window}])) or vector(0))\n'
        f"  / (sum(increase({series}{{{selector}}}[{a.window}])) >= {a.min_requests})"
    )


def latency_query(args: RolloutsArgs) -> str:
    """The canary pods' p95 request duration in seconds (the dashboard's p95, on the canary's pods:
    the ServiceMonitor copies each pod's rollouts-pod-template-hash to its series)."""
    a = args.settings.analysis
    label = ROLLOUT_HASH_LABEL.replace("-", "_")
    return (
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
        f'{{namespace="{args.namespace}", {label}="{{{{args.{CANARY_HASH_ARG}}}}}"}}[{a.window}])))'
    )


def _conditions(limit: str) -> dict[str, str]:
    """No result (too little traffic) is neither: the measurement is inconclusive."""
    return {
        "successCondition": f"len(result) > 0 && result[0] <= {limit}",
        "failureCondition": f"len(result) > 0 && result[0] > {limit}",
    }


def _number(value: float) -> str:
    return format(value, "g")


def build_analysis_template(args: RolloutsArgs) -> dict[str, Any]:
    a = args.settings.analysis
    common = {
        "interval": a.interval,
        "count": a.count,
        "failureLimit": a.failure_limit,
        "inconclusiveLimit": a.inconclusive_limit,
    }

    def metric(name: str, query: str, limit: str) -> dict[str, Any]:
        return {
            "name": name,
            **common,
            **_conditions(limit),
            "provider": {"prometheus": {"address": a.prometheus_address, "query": query}},
        }

    return {
        "apiVersion": ROLLOUTS_API,
        "kind": "AnalysisTemplate",
        "metadata": args.backend.metadata(args.analysis_template),
        "spec": {
            "args": [{"name": CANARY_HASH_ARG}],
            "metrics": [
                metric("error-ratio", error_ratio_query(args), _number(a.max_error_percent / 100)),
                metric("p95-latency", latency_query(args), _number(a.max_p95_milliseconds / 1000)),
            ],
        },
    }


# --- The alert -----------------------------------------------------------------------------------

ALERT_RULE = "spywatcher-rollouts"


def alert_rules(args: RolloutsArgs) -> list[dict[str, Any]]:
    """RolloutAborted, from the controller's `rollout_info` (its phase `Abort`: the Progressing
    condition's reason is RolloutAborted; controller/metrics/rollouts.go). Scraped through a
    ServiceMonitor, the metric's own `namespace` label becomes `exported_namespace`."""
    runbook = args.runbook_base_url.rstrip("/")
    return [
        {
            "alert": "RolloutAborted",
            "expr": f'rollout_info{{exported_namespace="{args.namespace}", phase="Abort"}} == 1',
            "for": "1m",
            "labels": {"severity": "warning", "namespace": args.namespace},
            "annotations": {
                "summary": "Canary rollout aborted",
                "description": "Rollout {{ $labels.exported_namespace }}/{{ $labels.name }} was aborted: its canary "
                "failed an analysis or made no progress, and every request is back on the stable version. The "
                "release is not deployed; `pulumi up` failed at the Rollout.",
                "runbook_url": f"{runbook}/RolloutAborted.md",
            },
        }
    ]


def build_prometheus_rule(args: RolloutsArgs) -> dict[str, Any] | None:
    if not args.alerts:
        return None
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(ALERT_RULE, args.namespace, args.labels("alerts") | dict(args.rule_labels)),
        "spec": {"groups": [{"name": ALERT_RULE, "rules": alert_rules(args)}]},
    }
