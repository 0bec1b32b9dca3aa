"""`python -m offline preview --stack STACK`: what the stack would create, like `pulumi preview`.

One row per resource, as a tree under the stack: type, logical name, namespace and the settings
a reviewer looks for. Exit codes: 0 printed, 1 the stack's config is invalid, 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from .engine import Plan, Registration, Secret

Summary = Callable[[dict[str, Any]], str]


def _rules(rules: dict[str, Any]) -> str:
    policies = ",".join(
        f"{p['value']}{'%' if p['type'] == 'Percent' else ' pods'}/{p['periodSeconds']}s" for p in rules["policies"]
    )
    return f"{rules['selectPolicy']}({policies}) window={rules['stabilizationWindowSeconds']}s"


def _hpa(o: dict[str, Any]) -> str:
    spec = o["spec"]
    metrics = []
    for m in spec["metrics"]:
        if m["type"] == "Resource":
            metrics.append(f"{m['resource']['name']}={m['resource']['target']['averageUtilization']}%")
        else:
            metrics.append(f"{m['pods']['metric']['name']}={m['pods']['target']['averageValue']}/pod")
    behavior = spec["behavior"]
    return (
        f"replicas={spec['minReplicas']}..{spec['maxReplicas']} {' '.join(metrics)} "
        f"up={_rules(behavior['scaleUp'])} down={_rules(behavior['scaleDown'])}"
    )


# What the API server sets on a pod spec without terminationGracePeriodSeconds (kubernetes/api
# core/v1/types.go at v0.34.0, DefaultTerminationGracePeriodSeconds; set by kubernetes/kubernetes
# pkg/apis/core/v1/defaults.go at v1.34.0, SetDefaults_PodSpec).
TERMINATION_GRACE = 30


def _deployment(o: dict[str, Any]) -> str:
    spec = o["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    rolling = spec["strategy"]["rollingUpdate"]
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    res = container.get("resources", {})
    req, lim = res.get("requests", {}), res.get("limits", {})
    replicas = spec.get("replicas", "HPA")
    grace = pod.get("terminationGracePeriodSeconds", TERMINATION_GRACE)
    return (
        f"image={container['image']} replicas={replicas} surge={rolling['maxSurge']} "
        f"unavailable={rolling['maxUnavailable']} requests={req.get('cpu')}/{req.get('memory')} "
        f"limits={lim.get('cpu')}/{lim.get('memory')} grace={grace}s "
        f"preStop={pre_stop}s"
    )


def _service(o: dict[str, Any]) -> str:
    spec = o["spec"]
    ports = ",".join(f"{p['port']}->{p['targetPort']}" for p in spec["ports"])
    text = f"{spec.get('type', 'ClusterIP')} ports={ports}"
    if spec.get("sessionAffinity") == "ClientIP":
        text += f" affinity=ClientIP/{spec['sessionAffinityConfig']['clientIP']['timeoutSeconds']}s"
    return text


def _ingress(o: dict[str, Any]) -> str:
    routes = [
        f"{rule['host']}{path['path']}->{path['backend']['service']['name']}"
        for rule in o["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    notes = {k.rsplit("/", 1)[1]: v for k, v in o["metadata"].get("annotations", {}).items()}
    picked = [f"{k}={notes[k]}" for k in ("load-balance", "affinity", "upstream-hash-by", "session-cookie-max-age",
                                           "proxy-next-upstream-tries", "proxy-read-timeout") if k in notes]
    return " ".join([f"class={o['spec'].get('ingressClassName')}", *routes, *picked])


def _binding(o: dict[str, Any]) -> str:
    spec = o["spec"]
    return f"service={spec['serviceRef']['name']}:{spec['serviceRef']['port']} targetType={spec.get('targetType')}"


def _http_route(o: dict[str, Any]) -> str:
    spec = o["spec"]
    parts = []
    for rule in spec.get("rules", []):
        match = (rule.get("matches") or [{}])[0]
        headers = "".join(f"[{h['name']}={h['value']}]" for h in match.get("headers", []))
        backends = ",".join(
            f"{b['name']}" + (f"@{b['weight']}" if "weight" in b else "") for b in rule.get("backendRefs", [])
        )
        text = f"{match.get('path', {}).get('value', '/')}{headers}->{backends}"
        if "timeouts" in rule:
            text += f" timeout={rule['timeouts'].get('request')}"
        if "sessionPersistence" in rule:
            persistence = rule["sessionPersistence"]
            text += f" session={persistence.get('sessionName')}/{persistence.get('absoluteTimeout')}"
        parts.append(text)
    return " ".join([",".join(spec.get("hostnames", [])), *parts])


def _backend_policy(o: dict[str, Any]) -> str:
    spec = o["spec"]
    retry = spec.get("retry", {})
    text = f"lb={spec.get('loadBalancer', {}).get('type')}"
    if retry:
        codes = retry.get("retryOn", {}).get("httpStatusCodes", [])
        text += f" retries={retry.get('numRetries')}x on={','.join(map(str, codes))}"
    timeouts = spec.get("timeout", {}).get("http", {})
    return text + "".join(f" {k}={v}" for k, v in sorted(timeouts.items()))


def _envoy_proxy(o: dict[str, Any]) -> str:
    kubernetes = o["spec"]["provider"]["kubernetes"]
    hpa, shutdown = kubernetes.get("envoyHpa", {}), o["spec"].get("shutdown", {})
    return (f"service={kubernetes['envoyService'].get('name')}/{kubernetes['envoyService'].get('type')} "
            f"replicas={hpa.get('minReplicas')}..{hpa.get('maxReplicas')} "
            f"drain={shutdown.get('minDrainDuration')}..{shutdown.get('drainTimeout')}")


def _release(inputs: dict[str, Any]) -> str:
    if "controller" not in inputs.get("values", {}):
        values = inputs.get("values", {})
        return (f"chart={inputs.get('chart')}@{inputs.get('version')} "
                f"replicas={values.get('deployment', {}).get('replicas')}")
    controller = inputs.get("values", {}).get("controller", {})
    config = controller.get("config", {})
    scaling = controller.get("autoscaling", {})
    return (
        f"chart={inputs.get('chart')}@{inputs.get('version')} service={controller.get('service', {}).get('type')} "
        f"replicas={scaling.get('minReplicas')}..{scaling.get('maxReplicas')} "
        f"load-balance={config.get('load-balance')} keepalive={config.get('upstream-keepalive-connections')}/"
        f"{config.get('upstream-keepalive-timeout')}s/{config.get('upstream-keepalive-requests')} "
        f"retries={config.get('proxy-next-upstream-tries')}x/{config.get('proxy-next-upstream-timeout')}s "
        f"grace={controller.get('terminationGracePeriodSeconds')}s"
    )


def _aws(type_: str, i: dict[str, Any]) -> str:
    if type_ == "aws:lb/loadBalancer:LoadBalancer":
        text = (
            f"{i.get('loadBalancerType')} internal={i.get('internal')} "
            f"deletionProtection={i.get('enableDeletionProtection')} "
            f"crossZone={i.get('enableCrossZoneLoadBalancing')}"
        )
        if "enableHttp2" in i:
            text += f" http2={i['enableHttp2']} idle={i.get('idleTimeout')}s"
        return text
    if type_ == "aws:lb/targetGroup:TargetGroup":
        c = i.get("healthCheck", {})
        return (f"{i.get('protocol')}:{i.get('port')} target={i.get('targetType')} "
                f"check={c.get('path')} every {c.get('interval')}s timeout {c.get('timeout')}s "
                f"healthy {c.get('healthyThreshold')} unhealthy {c.get('unhealthyThreshold')} "
                f"deregistration={i.get('deregistrationDelay')}s")
    if type_ == "aws:lb/listener:Listener":
        action = i.get("defaultActions", [{}])[0]
        text = f"{i.get('protocol')}:{i.get('port')} -> {action.get('type')}"
        forward = action.get("forward") or {}
        if forward.get("targetGroups"):
            weights = ",".join(str(g.get("weight")) for g in forward["targetGroups"])
            text += f" weights={weights} sticky={forward.get('stickiness', {}).get('duration')}s"
        return text + (f" policy={i['sslPolicy']}" if "sslPolicy" in i else "")
    if type_.startswith("aws:vpc/securityGroup"):
        return f"tcp:{i.get('fromPort')} {i.get('cidrIpv4') or i.get('cidrIpv6')}"
    if type_ == "aws:route53/record:Record":
        return f"{i.get('type')} {i.get('name')} -> alias"
    if type_ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        return _alarm(i)
    if type_ == "aws:cloudwatch/dashboard:Dashboard":
        widgets = json.loads(i.get("dashboardBody") or "{}").get("widgets", [])
        titles = ", ".join(w.get("properties", {}).get("title", "?") for w in widgets)
        return f"{i.get('dashboardName')}: {len(widgets)} widgets ({titles})"
    if type_ == "aws:sns/topic:Topic":
        return f"topic {i.get('name')}"
    return ""


_OPERATORS = {"GreaterThanThreshold": ">", "LessThanThreshold": "<", "GreaterThanOrEqualToThreshold": ">=",
              "LessThanOrEqualToThreshold": "<="}


def _alarm(i: dict[str, Any]) -> str:
    returned = [q for q in i.get("metricQueries", []) if q.get("returnData")]
    if returned:
        what = returned[0].get("expression", "")
        period = next((q["metric"].get("period") for q in i["metricQueries"] if "metric" in q), "?")
    else:
        what = f"{i.get('extendedStatistic') or i.get('statistic')}({i.get('metricName')})"
        period = i.get("period")
    operator = _OPERATORS.get(i.get("comparisonOperator", ""), i.get("comparisonOperator"))
    return (
        f"{i.get('name')}: {what} {operator} {i.get('threshold')} in {i.get('datapointsToAlarm')} of "
        f"{i.get('evaluationPeriods')} x {period}s missing={i.get('treatMissingData')}"
    )


def _dashboard(o: dict[str, Any]) -> str:
    """A Grafana dashboard ConfigMap (one `<name>.json` holding panels): its title, panels and label."""
    data = o.get("data")
    if not isinstance(data, dict) or len(data) != 1 or not next(iter(data)).endswith(".json"):
        return ""
    try:
        board = json.loads(next(iter(data.values())))
    except ValueError:
        return ""
    if not isinstance(board, dict) or "panels" not in board:
        return ""
    count = sum(1 for p in board["panels"] if p.get("type") != "row")
    sidecar = [f"{k}={v}" for k, v in o["metadata"].get("labels", {}).items() if "dashboard" in k]
    return f'Grafana dashboard "{board.get("title")}": {count} panels, label {",".join(sidecar)}'


def _keys(data: Any) -> str:
    if isinstance(data, Secret):
        return "keys=[secret]"
    return f"keys={','.join(sorted(data or {}))}"


SUMMARIES: dict[str, Summary] = {
    "Namespace": lambda o: "psa={}@{}".format(
        o["metadata"]["labels"].get("pod-security.kubernetes.io/enforce"),
        o["metadata"]["labels"].get("pod-security.kubernetes.io/enforce-version"),
    ),
    "ResourceQuota": lambda o: " ".join(f"{k}={v}" for k, v in sorted(o["spec"]["hard"].items())),
    "LimitRange": lambda o: " ".join(
        f"{k}={v.get('cpu')}/{v.get('memory')}"
        for item in o["spec"]["limits"]
        for k, v in sorted(item.items())
        if isinstance(v, dict)
    ),
    "Deployment": _deployment,
    "Service": _service,
    "HorizontalPodAutoscaler": _hpa,
    # Every field set, 0 included: `maxUnavailable: 0` is a budget that allows no eviction at all.
    "PodDisruptionBudget": lambda o: " ".join(
        f"{k}={v}" for k in ("minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy")
        if (v := o["spec"].get(k)) is not None
    ),
    "ConfigMap": lambda o: _dashboard(o) or _keys(o.get("data")),
    "Ingress": _ingress,
    "TargetGroupBinding": _binding,
    "HTTPRoute": _http_route,
    "BackendTrafficPolicy": _backend_policy,
    "EnvoyProxy": _envoy_proxy,
    "Gateway": lambda o: " ".join(f"{li['name']}={li['protocol']}:{li['port']}" for li in o["spec"]["listeners"]),
    "GatewayClass": lambda o: f"controller={o['spec']['controllerName']}",
    "ClientTrafficPolicy": lambda o: f"healthCheck={o['spec'].get('healthCheck', {}).get('path')}",
    "Secret": lambda o: _keys(o.get("stringData")),
}


def settings_of(resource: Registration) -> str:
    """The key settings of one resource, for a reviewer."""
    inputs = resource.inputs
    if resource.is_kubernetes_object:
        summary = SUMMARIES.get(inputs["kind"])
        text = summary(inputs) if summary else ""
        name = inputs.get("metadata", {}).get("name")
        return f"{name}  {text}".rstrip() if name and name != resource.name else text
    if resource.type == "pulumi:providers:kubernetes":
        if isinstance(inputs.get("kubeconfig"), Secret):
            return "kubeconfig=[secret]"
        return f"context={inputs.get('context')}"
    if resource.type == "kubernetes:helm.sh/v3:Release":
        return _release(inputs)
    if resource.type == "pulumi:providers:aws":
        return f"region={inputs.get('region')}"
    text = _aws(resource.type, inputs)
    return f"{text} protect" if resource.protect else text


def _tree(plan: Plan) -> list[tuple[str, Registration]]:
    """Resources in parent-before-child order, each with its tree prefix."""
    children: dict[str, list[Registration]] = {}
    urns = {r.urn for r in plan}
    for r in plan:
        parent = r.parent if r.parent in urns else ""
        children.setdefault(parent, []).append(r)
    rows: list[tuple[str, Registration]] = []

    def walk(parent: str, prefix: str) -> None:
        items = sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name))
        for index, r in enumerate(items):
            last = index == len(items) - 1
            rows.append((prefix + ("└─ " if last else "├─ "), r))
            walk(r.urn, prefix + ("   " if last else "│  "))

    walk("", "")
    return rows


def format_plan(plan: Plan) -> str:
    rows = [("", "pulumi:pulumi:Stack", f"spywatcher-{plan.stack}", "", "")]
    for prefix, r in _tree(plan):
        namespace = r.inputs.get("metadata", {}).get("namespace", "") if r.is_kubernetes_object else ""
        rows.append((prefix, r.type, r.name, namespace, settings_of(r)))
    type_width = max(len(p) + len(t) for p, t, *_ in rows)
    name_width = max(len(n) for _, _, n, *_ in rows)
    ns_width = max(max(len(ns) for *_, ns, _ in rows), len("Namespace"))
    lines = [
        f"Previewing stack {plan.stack} offline (Pulumi SDK mocks: no engine, no cluster, no cloud)",
        "",
        f"     {'Type':<{type_width}}  {'Name':<{name_width}}  {'Namespace':<{ns_width}}  Key settings",
    ]
    for prefix, type_, name, namespace, settings in rows:
        tree = prefix + type_
        row = f" +   {tree:<{type_width}}  {name:<{name_width}}  {namespace:<{ns_width}}  {settings}"
        lines.append(row.rstrip())
    lines += ["", "Outputs:"]
    lines += [f"    {k}: {'[secret]' if isinstance(v, Secret) else v}" for k, v in sorted(plan.outputs.items())]
    lines += ["", "Resources:", f"    + {len(plan.resources) + 1} to create"]
    return "\n".join(lines)


# How the preview's last line counts each section of `make prerequisites` (one, many).
COUNTED = {
    "namespace": ("namespace", "namespaces"),
    "existing": ("existing object", "existing objects"),
    "CRD": ("CRD", "CRDs"),
    "controller": ("controller", "controllers"),
    "Helm repository": ("chart repository", "chart repositories"),
    "access": ("cluster access entry", "cluster access entries"),
    "AWS": ("AWS permission", "AWS permissions"),
}


def prerequisites_pointer(plan: Plan, stack: str) -> str:
    """One line after the plan: how much the stack needs that it does not create, and where the list is."""
    from .prerequisites import SECTION_TITLES, prerequisites
    from .render import plan_settings

    items = prerequisites(plan, plan_settings(plan).existing_objects())
    needed = []
    for section in SECTION_TITLES:
        number = sum(p.section == section for p in items)
        one, many = COUNTED.get(section, (section, section))
        if number:
            needed.append(f"{number} {one if number == 1 else many}")
    if not needed:
        return f"Before `pulumi up`, {stack} needs nothing that it does not create."
    needs = ", ".join(needed[:-1]) + f" and {needed[-1]}" if len(needed) > 1 else needed[0]
    return (f"Before `pulumi up`, {stack} needs what it does not create: {needs} "
            f"(`make prerequisites STACK={stack}` lists them).")


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from .cli import run_verb, summary

    return run_verb("python -m offline preview", summary(__doc__), argv, out, err,
                    lambda plan, stack: f"{format_plan(plan)}\n\n{prerequisites_pointer(plan, stack)}")


__all__ = ["format_plan", "main", "prerequisites_pointer", "settings_of"]
