"""Security at the edge and in the cluster (docs/security.md), asserted on what each stack registers:
the ingress controller is scoped to the app's namespace and reachable only where it must be, the
client's address is believed only from the load balancer, and the backend's internet egress stops
at the VPC."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
import yaml

from components.network_policy import outside
from offline.engine import DELETE, Plan, run_stack
from tests.conftest import behind_nlb, config_error, problem_for
from tests.helm import UPSTREAM
from tests.netpol import Peer, allowed
from tests.test_traffic import ingresses

APP = {"production": "spywatcher", "staging": "spywatcher-staging", "all-options": "spywatcher-all"}
LB_SUBNETS = {
    "production": ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"],
    "staging": ["10.1.0.0/24", "10.1.1.0/24"],
}
VPC = {"production": "10.0", "staging": "10.1"}
CONTROLLER = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/instance": "ingress-nginx",
    "app.kubernetes.io/component": "controller",
}
WEBHOOK_JOB = {**CONTROLLER, "app.kubernetes.io/component": "admission-webhook"}
PROMETHEUS = {"app.kubernetes.io/name": "prometheus", "prometheus": "kube-prometheus-stack-prometheus"}


def values(plan: Plan) -> dict[str, Any]:
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "ingress-nginx"]
    return dict(release.inputs["values"])


# --- NetworkPolicies, evaluated as a CNI does -------------------------------------------------


def controller(plan: Plan) -> Peer:
    return Peer("ingress-nginx", CONTROLLER, ip=f"{VPC[plan.stack]}.40.7")


def app_pod(plan: Plan, component: str) -> Peer:
    return Peer(
        APP[plan.stack],
        {
            "app.kubernetes.io/name": "spywatcher",
            "app.kubernetes.io/instance": f"spywatcher-{plan.stack}",
            "app.kubernetes.io/component": component,
        },
        ip=f"{VPC[plan.stack]}.41.9",
    )


def test_controller_namespace_denies_by_default(plan: Plan) -> None:
    deny = plan.k8s("NetworkPolicy", "spywatcher-default-deny", "ingress-nginx")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # Registered before the Helm release, so no controller pod ever runs unisolated.
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "ingress-nginx"]
    policies = [
        r for r in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if r.name.startswith("ingress-")
    ]
    assert len(policies) == 5 and all(p.urn in release.depends_on for p in policies)


def test_proxy_port_only_from_the_load_balancer_subnets(plan: Plan) -> None:
    target = controller(plan)
    for cidr in LB_SUBNETS[plan.stack]:
        node = Peer(None, ip=str(ipaddress.ip_network(cidr)[10]))
        assert allowed(plan, node, target, 80), cidr
        assert not allowed(plan, node, target, 8443) and not allowed(plan, node, target, 10254)
    # Any pod, anywhere, with an address elsewhere in the VPC: no proxy, no webhook, no metrics.
    for stranger in (Peer("default", {"app": "curl"}, ip=f"{VPC[plan.stack]}.42.3"), app_pod(plan, "backend")):
        for port in (80, 443, 8443, 10254):
            assert not allowed(plan, stranger, target, port), (stranger, port)


def test_webhook_only_from_the_control_plane(plan: Plan) -> None:
    """CVE-2025-1974: a pod that reaches the admission webhook can make the controller load config
    of its choosing. Only the control plane's interfaces reach it."""
    control_plane = Peer(None, ip=f"{VPC[plan.stack]}.16.20")
    assert allowed(plan, control_plane, controller(plan), 8443)
    assert not allowed(plan, control_plane, controller(plan), 80)
    assert not allowed(plan, Peer(None, ip=f"{VPC[plan.stack]}.0.10"), controller(plan), 8443), "not the LB"


def test_metrics_only_from_prometheus(plan: Plan) -> None:
    prometheus = Peer("monitoring", PROMETHEUS)
    assert allowed(plan, prometheus, controller(plan), 10254)
    assert not allowed(plan, Peer("monitoring", {"app.kubernetes.io/name": "grafana"}), controller(plan), 10254)
    assert not allowed(plan, prometheus, controller(plan), 80)
    # The app namespace: the backend's metrics to Prometheus pods only, not the whole namespace.
    backend = app_pod(plan, "backend")
    port = next(iter(plan.k8s("NetworkPolicy", "spywatcher-backend-from-monitoring", APP[plan.stack])["spec"]
                     ["ingress"][0]["ports"]))["port"]
    assert allowed(plan, prometheus, backend, port)
    assert not allowed(plan, Peer("monitoring", {"app.kubernetes.io/name": "grafana"}), backend, port)


def test_controller_reaches_only_dns_the_api_server_and_the_app(plan: Plan) -> None:
    source = controller(plan)
    assert allowed(plan, source, app_pod(plan, "backend"), 3001)
    assert allowed(plan, source, app_pod(plan, "frontend"), 80)
    assert allowed(plan, source, Peer("kube-system", {"k8s-app": "kube-dns"}), 53, "UDP")
    assert allowed(plan, source, Peer(None, ip="172.20.0.1"), 443)
    assert not allowed(plan, source, Peer(None, ip="52.94.236.248"), 443), "no internet"
    assert not allowed(plan, source, app_pod(plan, "backend"), 5432)
    assert not allowed(plan, source, Peer("default", {"app": "db"}), 3001)
    jobs = Peer("ingress-nginx", WEBHOOK_JOB)
    assert allowed(plan, jobs, Peer(None, ip="172.20.0.1"), 443)
    assert not allowed(plan, jobs, Peer(None, ip="52.94.236.248"), 443)


def test_every_namespace_the_program_creates_denies_by_default(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        namespaces = [o["metadata"]["name"] for o in plan.k8s_objects() if o["kind"] == "Namespace"]
        expected = {"production": ["spywatcher", "ingress-nginx"],
                    "staging": ["spywatcher-staging", "ingress-nginx", "envoy-gateway-system", "spywatcher-gateway"]}
        assert sorted(namespaces) == sorted(expected[plan.stack])
        for namespace in namespaces:
            deny = plan.k8s("NetworkPolicy", "spywatcher-default-deny", namespace)
            assert deny["spec"]["podSelector"] == {} and deny["spec"]["policyTypes"] == ["Ingress", "Egress"]


# --- The controller's scope and RBAC ----------------------------------------------------------


def test_controller_serves_and_reads_the_app_namespace_only(plan: Plan) -> None:
    v = values(plan)
    assert v["controller"]["scope"] == {"enabled": True, "namespace": APP[plan.stack]}
    assert v["rbac"] == {"create": True, "scope": True}
    assert v["controller"]["admissionWebhooks"]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": APP[plan.stack]}
    }


def test_scope_keys_are_the_charts() -> None:
    """The keys exist in ingress-nginx 4.15.1 and its templates read them: `controller.scope.*`
    becomes `--watch-namespace`, and `rbac.scope` drops the ClusterRole (the chart refuses
    `rbac.scope` without `controller.scope.enabled`)."""
    chart_values = UPSTREAM / "charts" / "ingress-nginx-4.15.1-values.yaml"
    refs_file = UPSTREAM / "charts" / "ingress-nginx-4.15.1-template-refs.json"
    if not chart_values.is_file() or not refs_file.is_file():
        pytest.skip("upstream chart files are not on this machine (see SOURCES.md)")
    defaults = yaml.safe_load(chart_values.read_text())
    assert defaults["controller"]["scope"]["enabled"] is False and defaults["rbac"]["scope"] is False
    assert "namespaceSelector" in defaults["controller"]["admissionWebhooks"]
    refs = json.loads(refs_file.read_text())["refs"]
    for key in ("controller.scope.enabled", "controller.scope.namespace", "rbac.scope", "rbac.create",
                "controller.podAnnotations", "controller.admissionWebhooks.namespaceSelector"):
        assert key in refs, key


def _rules(plan: Plan, kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(o, rule) for o in plan.k8s_objects() if o["kind"] == kind for rule in o.get("rules", [])]


def test_no_cluster_wide_secret_access(plan: Plan) -> None:
    cluster_rules = _rules(plan, "ClusterRole")
    assert [rule for _, rule in cluster_rules] == [
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"], "verbs": ["get", "list", "watch"]}
    ]
    binding = plan.k8s("ClusterRoleBinding", f"spywatcher-{plan.stack}-ingress-nginx-ingressclasses")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "ingress-nginx", "namespace": "ingress-nginx"}]


def test_controller_reads_secrets_of_the_app_namespace_only(plan: Plan) -> None:
    role = plan.k8s("Role", "ingress-nginx-controller", APP[plan.stack])
    secrets = [r for r in role["rules"] if "secrets" in r["resources"]]
    assert secrets == [{"apiGroups": [""], "resources": ["configmaps", "pods", "secrets", "endpoints"],
                        "verbs": ["get", "list", "watch"]}]
    assert not any("*" in r["verbs"] or "*" in r["resources"] for r in role["rules"])
    assert {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]} in role["rules"]
    binding = plan.k8s("RoleBinding", "ingress-nginx-controller", APP[plan.stack])
    assert binding["roleRef"]["name"] == "ingress-nginx-controller"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "ingress-nginx", "namespace": "ingress-nginx"}]


def test_controller_config_change_rolls_the_controller() -> None:
    """A scoped controller does not watch its own ConfigMap (it lives outside the watch namespace):
    a checksum on the pod template rolls the pods instead."""
    base = values(run_stack("staging"))["controller"]["podAnnotations"]["checksum/config"]
    changed = run_stack("staging", {"ingressController": {"upstreamKeepaliveRequests": 200}})
    assert values(changed)["controller"]["podAnnotations"]["checksum/config"] != base
    assert len(base) == 64


# --- Client addresses and the Host header -----------------------------------------------------


def test_client_address_is_believed_only_from_the_load_balancer(plan: Plan) -> None:
    config = values(plan)["controller"]["config"]
    assert config["proxy-real-ip-cidr"] == ",".join(LB_SUBNETS[plan.stack])
    assert (config["enable-real-ip"], config["forwarded-for-header"]) == ("true", "X-Forwarded-For")


def test_no_client_header_chooses_the_upstream_host(plan: Plan) -> None:
    """`use-forwarded-headers` makes ingress-nginx send a client's X-Forwarded-Host as the upstream
    Host (lua_ingress.lua, `best_http_host`); nothing else may set the Host from a request header."""
    config = values(plan)["controller"]["config"]
    assert config.get("use-forwarded-headers", "false") == "false"
    assert config["allow-snippet-annotations"] == "false"
    for ingress in ingresses(plan):
        annotations = ingress["metadata"]["annotations"]
        vhost = annotations.get("nginx.ingress.kubernetes.io/upstream-vhost")
        assert vhost is None or "$" not in vhost, ingress["metadata"]["name"]
        assert not any(k.endswith("-snippet") for k in annotations), ingress["metadata"]["name"]


def test_behind_an_nlb_the_proxy_protocol_is_believed_from_its_subnets_only() -> None:
    plan = run_stack("staging", behind_nlb({"loadBalancer": {"weights": DELETE}, "gateway": DELETE}))
    config = values(plan)["controller"]["config"]
    assert config["use-proxy-protocol"] == "true" and "enable-real-ip" not in config
    assert config["proxy-real-ip-cidr"] == "10.1.0.0/24,10.1.1.0/24"


def test_load_balancer_subnets_must_be_in_the_vpc() -> None:
    error = config_error("staging", {"loadBalancer": {"subnetCidrs": ["10.1.0.0/24", "192.168.0.0/24"]}})
    assert "must lie inside cluster.vpcCidr (10.1.0.0/16)" in problem_for(error, "loadBalancer.subnetCidrs[1]")


@pytest.mark.parametrize("key", ["apiServerCidrs", "controlPlaneCidrs"])
def test_api_server_and_control_plane_addresses_are_required(key: str) -> None:
    """No default can be right for every cluster, and 0.0.0.0/0 would open 443 to the internet."""
    from config import ConfigError
    from config.loader import project_config, validate_settings
    from config.stackfile import read_stack_config

    values_, secret_keys = project_config(*read_stack_config("staging"))
    del values_["networkPolicy"][key]
    with pytest.raises(ConfigError) as caught:
        validate_settings(values_, secret_keys, "staging")
    assert [p.path for p in caught.value.problems] == [f"networkPolicy.{key}"]


# --- The backend's egress ---------------------------------------------------------------------


def test_outside_cuts_ranges_into_plain_blocks() -> None:
    assert outside(["10.0.0.0/8"], ["10.0.0.0/9"]) == ["10.128.0.0/9"]
    assert outside(["10.0.0.0/16"], ["10.0.0.0/8"]) == []
    assert outside(["8.8.8.0/24"], ["10.0.0.0/8", "169.254.0.0/16"]) == ["8.8.8.0/24"]
    everything = outside(["0.0.0.0/0"], ["10.0.0.0/16", "169.254.0.0/16"])
    assert everything[:4] == ["0.0.0.0/5", "8.0.0.0/7", "10.1.0.0/16", "10.2.0.0/15"]
    assert not any(ipaddress.ip_address("169.254.169.254") in ipaddress.ip_network(c) for c in everything)
    assert "169.255.0.0/16" in everything and len(everything) == 30
    covered = sum(ipaddress.ip_network(c).num_addresses for c in everything)
    assert covered == 2**32 - 2**16 - 2**16


def test_backend_internet_egress_excludes_the_vpc_and_link_local(plan: Plan) -> None:
    backend = app_pod(plan, "backend")
    assert allowed(plan, backend, Peer(None, ip="162.159.135.232"), 443), "the Discord API"
    for ip in (f"{VPC[plan.stack]}.0.10", f"{VPC[plan.stack]}.200.1", "169.254.169.254", "169.254.170.23"):
        assert not allowed(plan, backend, Peer(None, ip=ip), 443), ip
    # Named in-VPC destinations stay open.
    assert allowed(plan, backend, Peer(None, ip=f"{VPC[plan.stack]}.64.10"), 5432)


# --- The edge: WAF, HSTS, TLS, per-client limits ----------------------------------------------


def _one(plan: Plan, type_: str) -> dict[str, Any]:
    [found] = plan.of_type(type_)
    return dict(found.inputs)


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatchMetricsEnabled": True, "metricName": metric, "sampledRequestsEnabled": True}


def test_production_alb_has_a_web_acl_with_a_rate_limit_and_the_common_rules(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    acl = _one(plan, "aws:wafv2/webAcl:WebAcl")
    assert (acl["scope"], acl["defaultAction"]) == ("REGIONAL", {"allow": {}})
    assert acl["rules"] == [
        {
            "name": "rate-limit-per-client",
            "priority": 0,
            "action": {"block": {}},
            "statement": {"rateBasedStatement": {"aggregateKeyType": "IP", "limit": 1000, "evaluationWindowSec": 300}},
            "visibilityConfig": _visibility("spywatcher-production-rate-limit"),
        },
        {
            "name": "AWSManagedRulesCommonRuleSet",
            "priority": 1,
            "overrideAction": {"none": {}},
            "statement": {"managedRuleGroupStatement": {"name": "AWSManagedRulesCommonRuleSet", "vendorName": "AWS"}},
            "visibilityConfig": _visibility("spywatcher-production-AWSManagedRulesCommonRuleSet"),
        },
    ]
    association = _one(plan, "aws:wafv2/webAclAssociation:WebAclAssociation")
    arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/"
    assert association["resourceArn"].startswith(arn)
    assert association["webAclArn"].startswith("arn:aws:wafv2:us-east-1:111122223333:regional/webacl/")
    # Staging has its own (internet-facing too); an NLB cannot have one.
    assert len(plans["staging"].of_type("aws:wafv2/webAcl:WebAcl")) == 1
    assert not run_stack("production", behind_nlb({"loadBalancer": {"hsts": None}})).of_type(
        "aws:wafv2/webAcl:WebAcl"
    )


def test_web_acl_is_configurable() -> None:
    plan = run_stack(
        "staging",
        {"loadBalancer": {"waf": {"enabled": True, "rateLimit": 300, "evaluationWindowSeconds": 60,
                                  "managedRuleGroups": ["AWSManagedRulesCommonRuleSet",
                                                        "AWSManagedRulesKnownBadInputsRuleSet"],
                                  "countOnlyRules": ["SizeRestrictions_BODY"]}}},
    )
    rules = _one(plan, "aws:wafv2/webAcl:WebAcl")["rules"]
    assert rules[0]["statement"]["rateBasedStatement"]["limit"] == 300
    assert rules[0]["statement"]["rateBasedStatement"]["evaluationWindowSec"] == 60
    assert [r["name"] for r in rules] == [
        "rate-limit-per-client", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"
    ]
    assert rules[1]["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"] == [
        {"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}
    ]


def test_web_acl_on_an_nlb_is_refused() -> None:
    error = config_error("staging", {"loadBalancer": {"type": "network", "waf": {"enabled": True}}})
    assert "an NLB cannot have a web ACL" in problem_for(error, "loadBalancer.waf.enabled")
    error = config_error("staging", {"loadBalancer": {"waf": {"rateLimit": 5}}})
    problem_for(error, "loadBalancer.waf.rateLimit")


def test_alb_sends_hsts_and_uses_a_tls_policy_without_cbc(plan: Plan) -> None:
    [https] = [r.inputs for r in plan.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443]
    assert https["routingHttpResponseStrictTransportSecurityHeaderValue"] == "max-age=31536000; includeSubDomains"
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    [http] = [r.inputs for r in plan.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 80]
    assert "routingHttpResponseStrictTransportSecurityHeaderValue" not in http  # it only redirects


def test_hsts_is_configurable_and_sent_behind_either_load_balancer() -> None:
    plan = run_stack("staging", {"loadBalancer": {"hsts": "max-age=63072000; includeSubDomains; preload"}})
    [https] = [r.inputs for r in plan.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443]
    assert https["routingHttpResponseStrictTransportSecurityHeaderValue"] == (
        "max-age=63072000; includeSubDomains; preload"
    )
    error = config_error("staging", {"loadBalancer": {"hsts": "max-age=forever"}})
    problem_for(error, "loadBalancer.hsts")
    # Behind an NLB nginx adds it to every response (`add-headers`; the NLB's only listener is TLS).
    nlb = run_stack("production", behind_nlb({"loadBalancer": {"hsts": "max-age=1"}}))
    assert nlb.k8s("ConfigMap", "spywatcher-response-headers", "spywatcher")["data"] == {
        "Strict-Transport-Security": "max-age=1"}
    [release] = [r for r in nlb.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "ingress-nginx"]
    assert release.inputs["values"]["controller"]["config"]["add-headers"] == "spywatcher/spywatcher-response-headers"
    # Envoy Gateway alone behind an NLB could not send it: refused.
    error = config_error("staging", behind_nlb({"loadBalancer": {"weights": None},
                                                "ingressController": {"enabled": False}}))
    assert problem_for(error, "loadBalancer.hsts") == (
        'loadBalancer.hsts: "max-age=31536000; includeSubDomains" — cannot be sent by Envoy Gateway behind a network '
        "load balancer (TLS ends at the NLB, which adds no header): use an application load balancer, or set "
        "loadBalancer.hsts: null and send Strict-Transport-Security from the app")


def test_every_route_limits_each_client(plan: Plan) -> None:
    for obj in ingresses(plan):
        annotations = obj["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/limit-connections"] == "50", obj["metadata"]["name"]
        assert annotations["nginx.ingress.kubernetes.io/limit-rps"] == "50", obj["metadata"]["name"]


def test_client_limits_are_configurable_per_route() -> None:
    routes = [
        {"name": "frontend", "host": "frontend", "workload": "frontend", "clientLimits": {"connections": None}},
        {"name": "api", "host": "api", "workload": "backend", "clientLimits": {"connections": 10,
                                                                             "requestsPerSecond": None}},
    ]
    plan = run_stack("staging", {"routing": {"routes": routes}})
    frontend = plan.k8s("Ingress", "spywatcher-frontend")["metadata"]["annotations"]
    api = plan.k8s("Ingress", "spywatcher-api")["metadata"]["annotations"]
    assert frontend == {"nginx.ingress.kubernetes.io/limit-rps": "50"}
    assert api == {"nginx.ingress.kubernetes.io/limit-connections": "10"}
    error = config_error("staging", {"routing": {"routes": [{**routes[0], "clientLimits": {"connections": 0}}]}})
    problem_for(error, "routing.routes[0].clientLimits.connections")


# --- Schedules and the custom metrics API -----------------------------------------------------


def test_schedule_pods_run_kubectl_by_digest(plans: dict[str, Plan]) -> None:
    jobs = [o for o in plans["production"].k8s_objects() if o["kind"] == "CronJob"]
    assert len(jobs) == 2
    for job in jobs:
        [container] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == (
            "registry.k8s.io/kubectl:v1.34.1@sha256:59bafa07ff3a6d4b417e7633ddb9d79a9606ca98bf64bac080b3e65748669250"
        )
    error = config_error("production", {"scheduling": {"image": "registry.k8s.io/kubectl:v1.34.3"}})
    assert "must be pinned by digest" in problem_for(error, "scheduling.image")


def test_adapter_api_is_verified_by_the_api_server() -> None:
    """The chart renders `insecureSkipTLSVerify: true` on the APIService unless TLS or cert-manager
    is on (custom-metrics-apiservice.yaml, prometheus-adapter 5.3.0)."""
    plan = run_stack("production", {"monitoring": {"adapter": {"enabled": True}}})
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "prometheus-adapter"]
    assert release.inputs["values"]["certManager"] == {"enabled": True}
    refs_file = UPSTREAM / "charts" / "prometheus-adapter-5.3.0-template-refs.json"
    if refs_file.is_file():
        assert "certManager.enabled" in json.loads(refs_file.read_text())["refs"]
    off = run_stack("production", {"monitoring": {"adapter": {"enabled": True, "certManager": False}}})
    [release] = [r for r in off.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "prometheus-adapter"]
    assert release.inputs["values"]["certManager"] == {"enabled": False}


# --- Metrics on a port no route reaches -------------------------------------------------------


def test_backend_metrics_are_on_a_port_no_route_reaches(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    service = plan.k8s("Service", "spywatcher-backend", "spywatcher")
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    assert ports == {"http": 3001, "metrics": 9464}
    routed = {
        (path["backend"]["service"]["name"], path["backend"]["service"]["port"]["number"])
        for o in plan.k8s_objects()
        if o["kind"] == "Ingress"
        for rule in o["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert all(port != 9464 for _, port in routed) and ("spywatcher-backend", 3001) in routed
    [endpoint] = plan.k8s("ServiceMonitor", "spywatcher-backend", "spywatcher")["spec"]["endpoints"]
    assert endpoint["port"] == "metrics"
    prometheus, grafana = Peer("monitoring", PROMETHEUS), Peer("monitoring", {"app.kubernetes.io/name": "grafana"})
    backend = app_pod(plan, "backend")
    assert allowed(plan, prometheus, backend, 9464) and not allowed(plan, grafana, backend, 9464)
    assert not allowed(plan, prometheus, backend, 3001), "Prometheus scrapes the metrics port only"
    assert not allowed(plan, controller(plan), backend, 9464), "the controller reaches the serving port only"


def test_metrics_port_must_differ_from_the_serving_port() -> None:
    error = config_error("staging", {"backend": {"metricsPort": 3001}})
    assert "must differ from containerPort" in problem_for(error, "backend.metricsPort")
