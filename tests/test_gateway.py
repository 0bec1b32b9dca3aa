"""The second routing backend (Envoy Gateway) and the weighted cut-over at the load balancer,
asserted on what the program registers: every item of the routing intent rendered by each enabled
backend, the weights and their rules, the proxies' drain and isolation, the real upstream CRDs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.gateway import GatewayArgs
from components.gateway.controller import build_client_policy
from components.gateway.routes import load_balancer_of
from components.routes import RoutesArgs, route_annotations
from config.loader import validate_settings
from offline.crd_check import CrdChecker
from offline.engine import DELETE, Plan, Registration, run_stack
from offline.prerequisites import prerequisites
from offline.preview import format_plan
from offline.render import check, render_plan
from tests.conftest import MINIMAL_CONFIG, STACKS, config_error, problem_for, stack_settings
from tests.netpol import Peer, peer_matches, selects
from tests.test_network import CONTROLLER
from tests.upstream import MISSING, upstream_dir, upstream_file

NGINX = "nginx.ingress.kubernetes.io"
# Where the global rate limit counts (required while routes limit requests per client).
RATE_LIMIT = {"redisUrl": "spywatcher-rl.abc123.cache.amazonaws.com:6379", "redisCidrs": ["10.0.96.0/24"],
              "auth": {"name": "ratelimit-redis-auth"}}
GW = {"enabled": True, "rateLimit": RATE_LIMIT}
CANARY_IMAGE = f"ghcr.io/subculture-collective/spywatcher-backend:v2.1.0@sha256:{'3' * 64}"  # a test digest
CUTOVER = {
    "gateway": GW,
    "loadBalancer": {"weights": {"ingressNginx": 90, "envoyGateway": 10}},
    "canary": {"enabled": True, "image": CANARY_IMAGE, "header": "X-Spywatcher-Canary",
               "headerSourceCidrs": ["203.0.113.0/24"]},
}
SHIFTED = {**CUTOVER, "loadBalancer": {"weights": {"ingressNginx": 0, "envoyGateway": 100}}}
# Staging (which runs both, weighted) after the migration: ingress-nginx off, no weights.
GATEWAY_ONLY = {"gateway": GW, "ingressController": {"enabled": False}, "loadBalancer": {"weights": DELETE}}
APP = "spywatcher"  # production's app namespace
PROXIES = "spywatcher-gateway"
CONTROLLER_NS = "envoy-gateway-system"
PROXY_LABELS = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
    "gateway.envoyproxy.io/owning-gateway-name": "spywatcher",
    "gateway.envoyproxy.io/owning-gateway-namespace": PROXIES,
}
LISTENER = "aws:lb/listener:Listener"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"


@pytest.fixture(scope="module")
def cutover() -> Plan:
    """Production in the middle of a migration: both backends, 90/10, with the canary on."""
    return run_stack("production", CUTOVER)


@pytest.fixture(scope="module")
def shifted() -> Plan:
    """The same stack with all traffic shifted to Envoy Gateway."""
    return run_stack("production", SHIFTED)


@pytest.fixture(scope="module")
def gateway_only() -> Plan:
    """Staging after the migration: ingress-nginx turned off."""
    return run_stack("staging", GATEWAY_ONLY)


def obj(plan: Plan, kind: str, name: str, namespace: str | None = APP) -> dict[str, Any]:
    return plan.k8s(kind, name, namespace)


def https_action(plan: Plan) -> dict[str, Any]:
    [action] = plan.get(LISTENER, "edge-https").inputs["defaultActions"]
    return action


def arn(plan: Plan, name: str) -> str:
    """The ARN the mocks give a target group (as the engine computes it for the listener)."""
    from offline.mock_outputs import computed_outputs

    group = plan.get(TARGET_GROUP, name)
    return str(computed_outputs(group.type, group.name, group.inputs)["arn"])


# --- Config rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        ({"gateway": GW}, "loadBalancer.weights",
         ("loadBalancer.weights: is required when both ingressController and gateway are enabled, e.g. "
          "{ingressNginx: 100, envoyGateway: 0} to start a migration")),
        (
            {"gateway": GW, "loadBalancer": {"weights": {"ingressNginx": 60, "envoyGateway": 50}}},
            "loadBalancer.weights.envoyGateway",
            "loadBalancer.weights.envoyGateway: 50 — must sum to 100 with ingressNginx (60); got 110",
        ),
        (
            {"gateway": GW, "loadBalancer": {"weights": {"ingressNginx": 40, "envoyGateway": 50}}},
            "loadBalancer.weights.envoyGateway",
            "loadBalancer.weights.envoyGateway: 50 — must sum to 100 with ingressNginx (40); got 90",
        ),
        (
            {"gateway": GW, "loadBalancer": {"weights": {"ingressNginx": 101, "envoyGateway": -1}}},
            "loadBalancer.weights.ingressNginx",
            "loadBalancer.weights.ingressNginx: 101 — must be at most 100",
        ),
        ({"loadBalancer": {"weights": {"ingressNginx": 100, "envoyGateway": 0}}}, "loadBalancer.weights",
         ("loadBalancer.weights: applies only when both routing backends are enabled; only ingressController is, "
          "so all traffic goes to it: remove loadBalancer.weights")),
        ({"ingressController": {"enabled": False}}, "ingressController.enabled",
         ("ingressController.enabled: false — at least one routing backend must be enabled: "
          "ingressController.enabled or gateway.enabled")),
        (
            {"gateway": GW, "loadBalancer": {"type": "network", "weights": {"ingressNginx": 50,
                                                                                          "envoyGateway": 50}}},
            "loadBalancer.type",
            ("loadBalancer.type: \"network\" — cannot split traffic between ingress-nginx and Envoy Gateway: a "
             "network load balancer forwards a listener to a single target group (no weights, no stickiness). Use "
             "an application load balancer for the cut-over, or enable one backend only"),
        ),
        ({"loadBalancer": {"type": "network", "stickinessSeconds": 60}}, "loadBalancer.stickinessSeconds",
         "loadBalancer.stickinessSeconds: 60 — applies to an application load balancer only"),
        ({**GATEWAY_ONLY, "gateway": {**GW, "proxyNamespace": "spywatcher"}},
         "gateway.proxyNamespace",
         ("gateway.proxyNamespace: \"spywatcher\" — must differ from namespace.name: each namespace carries "
          "its own network policies")),
        ({**GATEWAY_ONLY, "gateway": {**GW, "namespace": "ingress-nginx"}},
         "gateway.namespace",
         ("gateway.namespace: \"ingress-nginx\" — must differ from ingressController.namespace: each namespace "
          "carries its own network policies")),
        ({**GATEWAY_ONLY, "gateway": {**GW, "proxyNamespace": "envoy-gateway-system"}},
         "gateway.proxyNamespace",
         ("gateway.proxyNamespace: \"envoy-gateway-system\" — must differ from gateway.namespace "
          "(envoy-gateway-system): the controller and the proxies carry different network policies and only the "
          "proxies' namespace gets readiness gates")),
        ({**GATEWAY_ONLY, "gateway": {**GW, "minAvailable": 2}}, "gateway.minAvailable",
         ("gateway.minAvailable: 2 — must be below autoscaling.minReplicas (2), or a node drain can never evict a "
          "proxy pod")),
        ({**GATEWAY_ONLY, "gateway": {**GW, "controller": {"replicas": 1}}},
         "gateway.controller.replicas", "gateway.controller.replicas: 1 — must be at least 2"),
        ({"gateway": {**GW, "chartVersion": "1.9.0"}}, "gateway.chartVersion",
         "gateway.chartVersion: \"1.9.0\" — must be a chart version such as v1.9.0"),
    ],
)
def test_backend_rules_refuse_with_the_key(overrides: dict[str, Any], path: str, message: str) -> None:
    """On production, which runs ingress-nginx alone."""
    assert problem_for(config_error("production", overrides), path) == message


def test_defaults_keep_ingress_nginx_alone(plans: dict[str, Plan]) -> None:
    plan = plans["production"]
    assert not [o for o in plan.k8s_objects() if o["apiVersion"].startswith("gateway.")]
    assert https_action(plan) == {"type": "forward", "targetGroupArn": arn(plan, "edge-nginx")}
    assert [r.name for r in plan.of_type(TARGET_GROUP)] == ["edge-nginx"]


def test_staging_runs_both_backends_weighted(plans: dict[str, Plan]) -> None:
    """The shipped stack that leads the migration: step 2 (90/10) of docs/gateway-migration.md."""
    plan = plans["staging"]
    assert https_action(plan) == {
        "type": "forward",
        "forward": {
            "targetGroups": [
                {"arn": arn(plan, "edge-nginx"), "weight": 90},
                {"arn": arn(plan, "edge-envoy"), "weight": 10},
            ],
            "stickiness": {"enabled": True, "duration": 10800},
        },
    }
    assert sorted(r.inputs["name"] for r in plan.of_type("kubernetes:helm.sh/v3:Release")) == [
        "envoy-gateway", "ingress-nginx"]
    assert sorted(o["kind"] for o in plan.k8s_objects() if o["apiVersion"].startswith("gateway.")) == [
        "BackendTrafficPolicy", "BackendTrafficPolicy", "BackendTrafficPolicy", "ClientTrafficPolicy", "EnvoyProxy",
        "Gateway", "GatewayClass", "HTTPRoute", "HTTPRoute", "HTTPRoute"]
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "envoy-gateway"]
    assert release.inputs["values"]["config"]["envoyGateway"]["rateLimit"] == {"backend": {"type": "Redis", "redis": {
        "url": "spywatcher-staging-rl.x7k2qp.ng.0001.use1.cache.amazonaws.com:6379", "tls": {}}}, "failClosed": False}


# --- The weighted, sticky cut-over ------------------------------------------------------------------


def test_listener_splits_by_weight_with_stickiness(cutover: Plan) -> None:
    assert https_action(cutover) == {
        "type": "forward",
        "forward": {
            "targetGroups": [
                {"arn": arn(cutover, "edge-nginx"), "weight": 90},
                {"arn": arn(cutover, "edge-envoy"), "weight": 10},
            ],
            "stickiness": {"enabled": True, "duration": 10800},
        },
    }


def test_both_target_groups_check_and_drain_alike(cutover: Plan) -> None:
    nginx, envoy = (cutover.get(TARGET_GROUP, n).inputs for n in ("edge-nginx", "edge-envoy"))
    assert "name" not in envoy and envoy["tags"]["Name"] == "spywatcher-production-envoy"  # Pulumi names it
    assert (envoy["port"], envoy["targetType"], envoy["protocol"]) == (10080, "ip", "HTTP")
    assert envoy["healthCheck"] == nginx["healthCheck"] == {
        "enabled": True, "protocol": "HTTP", "port": "traffic-port", "path": "/health/live", "interval": 30,
        "timeout": 5, "healthyThreshold": 2, "unhealthyThreshold": 3, "matcher": "200",
    }
    assert envoy["deregistrationDelay"] == nginx["deregistrationDelay"] == 60
    egress = {r.name: r.inputs for r in cutover.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")}
    assert (egress["edge-out-gateway"]["fromPort"], egress["edge-out-gateway"]["toPort"]) == (10080, 10080)
    assert egress["edge-out-gateway"]["cidrIpv4"] == "10.0.0.0/16"


def test_changing_weights_replaces_nothing(cutover: Plan, shifted: Plan) -> None:
    """Only the listener's action changes (and the canary gate's rule, which forwards the same way);
    every target group, binding, route and policy is registered with the same inputs, so `pulumi up`
    updates the listener in place."""
    before = {r.urn: r for r in cutover.resources}
    after = {r.urn: r for r in shifted.resources}
    assert before.keys() == after.keys()
    changed = sorted(urn.rsplit("::", 1)[1] for urn in before if before[urn].inputs != after[urn].inputs)
    assert changed == ["edge-canary-allowed", "edge-https"]
    from offline.plan_changes import replacements
    from offline.rules import check_plan

    assert replacements(cutover, shifted) == []
    existing = stack_settings("production").existing_objects()
    assert check_plan(cutover, existing) == [] and check_plan(shifted, existing) == []
    weights = [g["weight"] for g in https_action(shifted)["forward"]["targetGroups"]]
    assert weights == [0, 100]
    # A target group at weight 0 is no longer protected, so turning its backend off can delete it.
    assert (shifted.get(TARGET_GROUP, "edge-nginx").protect, shifted.get(TARGET_GROUP, "edge-envoy").protect) == (
        False, True)
    assert cutover.get(TARGET_GROUP, "edge-nginx").protect and cutover.get(TARGET_GROUP, "edge-envoy").protect


def test_one_backend_takes_all_traffic(gateway_only: Plan) -> None:
    assert [(r.type, r.parent.rsplit("::", 1)[-1]) for r in gateway_only if r.name == "gateway" and not r.custom] == [
        ("spywatcher:gateway:Gateway", "spywatcher")]
    assert https_action(gateway_only) == {"type": "forward", "targetGroupArn": arn(gateway_only, "edge-envoy")}
    assert [r.name for r in gateway_only.of_type(TARGET_GROUP)] == ["edge-envoy"]
    assert not gateway_only.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    releases = [r.inputs["name"] for r in gateway_only.of_type("kubernetes:helm.sh/v3:Release")]
    assert releases == ["envoy-gateway"]
    egress = [r.name for r in gateway_only.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")]
    assert egress == ["edge-out-gateway"]
    # The socket.io route keeps its own Service, now for Envoy Gateway.
    assert gateway_only.k8s("Service", "spywatcher-backend-socketio", "spywatcher-staging")


# --- The routing intent, rendered by each backend -----------------------------------------------------


def _nginx_ingress(plan: Plan, route: str) -> dict[str, Any]:
    return obj(plan, "Ingress", f"spywatcher-{route}")


def _notes(plan: Plan, route: str) -> dict[str, str]:
    return {k.removeprefix(f"{NGINX}/"): v for k, v in _nginx_ingress(plan, route)["metadata"]["annotations"].items()}


def _route(plan: Plan, route: str) -> dict[str, Any]:
    return obj(plan, "HTTPRoute", f"spywatcher-{route}")["spec"]


def _policy(plan: Plan, route: str) -> dict[str, Any]:
    return obj(plan, "BackendTrafficPolicy", f"spywatcher-{route}")["spec"]


def _config(plan: Plan) -> dict[str, str]:
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "ingress-nginx"]
    config: dict[str, str] = release.inputs["values"]["controller"]["config"]
    return config


def _nginx_hosts(plan: Plan) -> None:
    rules = {r: _nginx_ingress(plan, r)["spec"]["rules"][0] for r in ("frontend", "api", "socketio")}
    assert {r: (v["host"], v["http"]["paths"][0]["path"], v["http"]["paths"][0]["backend"]["service"]["name"])
            for r, v in rules.items()} == EXPECTED_ROUTES


def _envoy_hosts(plan: Plan) -> None:
    routes = {r: _route(plan, r) for r in ("frontend", "api", "socketio")}
    first = {r: v["rules"][0] for r, v in routes.items()}
    assert {r: (routes[r]["hostnames"][0], rule["matches"][0]["path"]["value"], rule["backendRefs"][0]["name"])
            for r, rule in first.items()} == EXPECTED_ROUTES
    for spec in routes.values():
        assert spec["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "spywatcher",
                                       "namespace": PROXIES, "sectionName": "http"}]


EXPECTED_ROUTES = {
    "frontend": ("spywatcher.example.com", "/", "spywatcher-frontend"),
    "api": ("api.spywatcher.example.com", "/", "spywatcher-backend"),
    "socketio": ("api.spywatcher.example.com", "/socket.io", "spywatcher-backend-socketio"),
}


def _nginx_balancing(plan: Plan) -> None:
    assert _notes(plan, "api")["load-balance"] == "ewma"


def _envoy_balancing(plan: Plan) -> None:
    assert _policy(plan, "api")["loadBalancer"] == {"type": "LeastRequest"}


def _nginx_retries(plan: Plan) -> None:
    notes = _notes(plan, "api")
    assert (notes["proxy-next-upstream"], notes["proxy-next-upstream-tries"], notes["proxy-next-upstream-timeout"]) == (
        "error timeout http_502 http_503 http_504", "3", "10")


def _envoy_retries(plan: Plan) -> None:
    assert _policy(plan, "api")["retry"] == {
        "numRetries": 2,  # 3 tries
        "retryOn": {"triggers": ["connect-failure", "reset", "retriable-status-codes"],
                    "httpStatusCodes": [502, 503, 504]},
    }
    assert _route(plan, "api")["rules"][0]["timeouts"] == {"request": "10s"}


def _nginx_affinity(plan: Plan) -> None:
    notes = _notes(plan, "socketio")
    assert (notes["affinity"], notes["session-cookie-name"], notes["session-cookie-max-age"]) == (
        "cookie", "SPYWATCHER_SIO", "10800")


def _envoy_affinity(plan: Plan) -> None:
    assert _route(plan, "socketio")["rules"][0]["sessionPersistence"] == {
        "sessionName": "SPYWATCHER_SIO", "type": "Cookie", "absoluteTimeout": "3h",
        "cookieConfig": {"lifetimeType": "Permanent"},
    }


def _nginx_websockets(plan: Plan) -> None:
    notes = _notes(plan, "socketio")
    assert (notes["proxy-read-timeout"], notes["proxy-send-timeout"]) == ("3600", "3600")


def _envoy_websockets(plan: Plan) -> None:
    assert _route(plan, "socketio")["rules"][0]["timeouts"] == {"request": "0s"}  # Envoy's 15 s default: off
    assert _policy(plan, "socketio")["timeout"]["http"]["streamIdleTimeout"] == "1h"
    assert _policy(plan, "socketio")["httpUpgrade"] == [{"type": "websocket"}]


def _nginx_keepalive(plan: Plan) -> None:
    config = _config(plan)
    assert (config["upstream-keepalive-timeout"], config["upstream-keepalive-requests"]) == ("60", "100")


def _envoy_keepalive(plan: Plan) -> None:
    for route in ("frontend", "api", "socketio"):
        policy = _policy(plan, route)
        assert policy["timeout"]["http"]["connectionIdleTimeout"] == "60s"
        assert policy["circuitBreaker"] == {"maxRequestsPerConnection": 100}


def _nginx_canary(plan: Plan) -> None:
    ingress = obj(plan, "Ingress", "spywatcher-api-canary")
    notes = {k.removeprefix(f"{NGINX}/"): v for k, v in ingress["metadata"]["annotations"].items()}
    assert notes == {"canary": "true", "canary-weight": "10", "canary-by-header": "X-Spywatcher-Canary"}


def _envoy_canary(plan: Plan) -> None:
    rules = _route(plan, "api")["rules"]
    assert [(b["name"], b.get("weight")) for b in rules[0]["backendRefs"]] == [
        ("spywatcher-backend", 90), ("spywatcher-backend-canary", 10)]
    pinned = {r["matches"][0]["headers"][0]["value"]: r["backendRefs"][0]["name"] for r in rules[1:]}
    assert pinned == {"always": "spywatcher-backend-canary", "never": "spywatcher-backend"}
    assert all(r["matches"][0]["headers"][0]["name"] == "X-Spywatcher-Canary" for r in rules[1:])


def _nginx_health(plan: Plan) -> None:
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "ingress-nginx"]
    assert release.inputs["values"]["controller"]["healthCheckPath"] == "/health/live"


def _envoy_health(plan: Plan) -> None:
    assert obj(plan, "ClientTrafficPolicy", "spywatcher", PROXIES)["spec"]["healthCheck"] == {"path": "/health/live"}


def _nginx_client_ip(plan: Plan) -> None:
    assert (_config(plan)["proxy-real-ip-cidr"], _config(plan)["forwarded-for-header"]) == (
        "10.0.0.0/24,10.0.1.0/24,10.0.2.0/24", "X-Forwarded-For")


def _envoy_client_ip(plan: Plan) -> None:
    spec = obj(plan, "ClientTrafficPolicy", "spywatcher", PROXIES)["spec"]
    assert spec["clientIPDetection"] == {"xForwardedFor": {"trustedCIDRs": ["10.0.0.0/24", "10.0.1.0/24",
                                                                            "10.0.2.0/24"]}}


def _nginx_targets(plan: Plan) -> None:
    binding = obj(plan, "TargetGroupBinding", "ingress-nginx", "ingress-nginx")["spec"]
    assert binding["targetGroupARN"] == arn(plan, "edge-nginx")


def _envoy_targets(plan: Plan) -> None:
    binding = obj(plan, "TargetGroupBinding", "spywatcher-gateway", PROXIES)["spec"]
    assert binding["targetGroupARN"] == arn(plan, "edge-envoy")
    assert binding["serviceRef"] == {"name": "spywatcher-gateway-targets", "port": 80}
    assert binding["networking"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 10080}]


INTENT: dict[str, dict[str, Callable[[Plan], None]]] = {
    "hosts-paths-services": {"nginx": _nginx_hosts, "envoy": _envoy_hosts},
    "api-balancing": {"nginx": _nginx_balancing, "envoy": _envoy_balancing},
    "api-retries": {"nginx": _nginx_retries, "envoy": _envoy_retries},
    "socketio-cookie-affinity": {"nginx": _nginx_affinity, "envoy": _envoy_affinity},
    "socketio-long-lived": {"nginx": _nginx_websockets, "envoy": _envoy_websockets},
    "upstream-keepalive": {"nginx": _nginx_keepalive, "envoy": _envoy_keepalive},
    "canary": {"nginx": _nginx_canary, "envoy": _envoy_canary},
    "health-check": {"nginx": _nginx_health, "envoy": _envoy_health},
    "client-addresses": {"nginx": _nginx_client_ip, "envoy": _envoy_client_ip},
    "load-balancer-targets": {"nginx": _nginx_targets, "envoy": _envoy_targets},
}


@pytest.mark.parametrize("backend", ["nginx", "envoy"])
@pytest.mark.parametrize("item", sorted(INTENT))
def test_every_backend_renders_the_intent(cutover: Plan, item: str, backend: str) -> None:
    INTENT[item][backend](cutover)


def _settings(**overrides: Any) -> Any:
    from offline.engine import _merge

    return validate_settings(_merge(MINIMAL_CONFIG, overrides), set(), "test")


def _gateway_args(settings: Any) -> GatewayArgs:
    return GatewayArgs(
        settings=settings.gateway, defaults=settings.ingress_controller, load_balancer=settings.load_balancer,
        routes=RoutesArgs(settings.routing, "nginx", {}, "i"), canary=settings.canary, canary_service=None,
        network=settings.network_policy, serving={"backend": 3001}, app_namespace="spywatcher",
        monitoring_namespace="monitoring", prometheus_labels={"app.kubernetes.io/name": "prometheus"},
        kubernetes_version="1.34", instance="i",
    )


def test_client_ip_hashing_is_one_per_route_choice_for_both() -> None:
    settings = _settings(routing={"routes": [{"name": "api", "host": "api", "workload": "backend",
                                              "affinity": "clientIp"}]})
    [route] = settings.routing.routes
    assert route_annotations(route)[f"{NGINX}/upstream-hash-by"] == "$remote_addr"
    assert load_balancer_of(_gateway_args(settings), route) == {"type": "ConsistentHash",
                                                              "consistentHash": {"type": "SourceIP"}}


def test_behind_an_nlb_client_addresses_come_from_proxy_protocol() -> None:
    # Behind an NLB Envoy serves 125 s past the deregistration delay (gateway.shutdown.marginSeconds) and
    # keeps a socket its budget, as the NLB leaves the open connections to it (drainSeconds); no HSTS
    # (Envoy Gateway alone behind an NLB could not send it).
    settings = _settings(loadBalancer={"type": "network", "hsts": None},
                         gateway={**GW, "shutdown": {"marginSeconds": 125, "drainSeconds": 3600}},
                         ingressController={"enabled": False})
    spec = build_client_policy(_gateway_args(settings))["spec"]
    assert spec["proxyProtocol"] == {"optional": False} and "clientIPDetection" not in spec


def test_the_client_policy_is_exact_behind_an_alb() -> None:
    """Client addresses from X-Forwarded-For only from the LB's subnets; idle connections kept 75 s,
    15 s past the ALB's idle timeout of 60 s, so the ALB closes them first (no 502 on reuse)."""
    settings = _settings(gateway=GW, ingressController={"enabled": False})
    assert build_client_policy(_gateway_args(settings))["spec"] == {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "spywatcher"}],
        "healthCheck": {"path": "/health/live"},
        "timeout": {"http": {"idleTimeout": "75s"}},
        "headers": {"withUnderscoresAction": "DropHeader", "earlyRequestHeaders": {"remove": ["X-Forwarded-Host"]}},
        "clientIPDetection": {"xForwardedFor": {"trustedCIDRs": ["10.0.0.0/24", "10.0.1.0/24"]}},
    }


def test_ewma_with_affinity_is_refused_for_both_backends() -> None:
    route = {"name": "api", "host": "api", "workload": "backend", "loadBalance": "ewma", "affinity": "cookie"}
    error = config_error("staging", {**GATEWAY_ONLY, "routing": {"routes": [route]}})
    assert "cannot be combined with cookie affinity" in problem_for(error, "routing.routes[0].loadBalance")


def test_hosts_must_be_covered_by_the_certificate_for_both_backends() -> None:
    error = config_error("staging", {**GATEWAY_ONLY, "routing": {"hosts": {"api": "api.example.org"}}})
    assert "not covered by any certificate domain" in problem_for(error, "routing.hosts.api")


# --- Envoy Gateway itself -------------------------------------------------------------------------


def _release(plan: Plan) -> Registration:
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "envoy-gateway"]
    return release


def test_controller_release_is_pinned_and_leaves_crds_alone(cutover: Plan) -> None:
    inputs = _release(cutover).inputs
    assert (inputs["chart"], inputs["version"], inputs["namespace"]) == (
        "oci://docker.io/envoyproxy/gateway-helm", "v1.9.0", CONTROLLER_NS)
    assert inputs["skipCrds"] is True and "repositoryOpts" not in inputs
    values = inputs["values"]
    assert values["crds"] == {"enabled": False}
    assert (values["deployment"]["replicas"], values["podDisruptionBudget"]) == (2, {"minAvailable": 1})
    assert values["config"]["envoyGateway"]["provider"]["kubernetes"]["deploy"] == {"type": "GatewayNamespace"}
    zone = values["deployment"]["pod"]["topologySpreadConstraints"][0]
    assert (zone["topologyKey"], zone["whenUnsatisfiable"]) == ("topology.kubernetes.io/zone", "DoNotSchedule")


def _paths(values: Any, prefix: str = "") -> set[str]:
    if not isinstance(values, dict):
        return {prefix}
    return {p for k, v in values.items() for p in _paths(v, f"{prefix}.{k}" if prefix else k)} | {prefix}


def test_controller_values_are_keys_the_chart_reads() -> None:
    """Every value passed to gateway-helm v1.9.0 is a key of its values.yaml that its templates read
    (the template refs), or sits under a map they render whole (toYaml: `config.envoyGateway`, the
    pod labels, the resources). `crds.enabled` is read by Chart.yaml instead, as the condition of its
    `crds` subchart (envoyproxy/gateway charts/gateway-helm/Chart.yaml @ v1.9.0)."""
    values_file = upstream_file("charts/gateway-helm-v1.9.0-values.yaml")
    refs_file = upstream_file("charts/gateway-helm-v1.9.0-template-refs.json")
    if values_file is None or refs_file is None:
        pytest.skip(MISSING)
    chart = yaml.safe_load(values_file.read_text())
    refs = json.loads(refs_file.read_text())["refs"]
    whole = sorted(k for k, v in refs.items() if v is True)
    leaves = {p for p in _paths(run_values()) if p and not any(p.startswith(f"{w}.") for w in whole)}
    assert leaves - _paths(chart) == set()
    unread = {p for p in leaves if not any(p == r or r.startswith(f"{p}.") for r in refs)}
    assert unread == {"crds", "crds.enabled"}, "values no template reads"
    assert {p for p in leaves if p in refs} == {
        "config.envoyGateway", "deployment.envoyGateway.resources", "deployment.pod.labels",
        "deployment.pod.topologySpreadConstraints", "deployment.replicas", "podDisruptionBudget.minAvailable",
        "topologyInjector.enabled", *(f"global.images.{image}.{key}" for image in ("envoyGateway", "envoyProxy",
                                                                                 "ratelimit")
                                      for key in ("image", "pullPolicy"))}


def run_values() -> dict[str, Any]:
    """The controller's values with every optional value set (the images by digest, the rate limit)."""
    from components.gateway.controller import build_values

    images = {"controller": f"docker.io/envoyproxy/gateway:v1.9.0@sha256:{'1' * 64}",
              "rateLimit": f"docker.io/envoyproxy/ratelimit:17b1956c@sha256:{'2' * 64}"}
    settings = _settings(gateway={**GW, "images": images}, ingressController={"enabled": False})
    return build_values(_gateway_args(settings))


def test_proxy_fleet_is_a_fixed_cluster_ip_service_with_hpa_pdb_spread_and_drain(cutover: Plan) -> None:
    spec = obj(cutover, "EnvoyProxy", "spywatcher-proxy", PROXIES)["spec"]
    kubernetes = spec["provider"]["kubernetes"]
    assert kubernetes["envoyService"] == {"name": "spywatcher-gateway", "type": "ClusterIP"}
    assert (kubernetes["envoyHpa"]["minReplicas"], kubernetes["envoyHpa"]["maxReplicas"]) == (2, 6)
    assert kubernetes["envoyHpa"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert kubernetes["envoyPDB"] == {"minAvailable": 1}
    assert "replicas" not in kubernetes["envoyDeployment"]  # the HPA owns the count
    pod = kubernetes["envoyDeployment"]["pod"]
    assert pod["topologySpreadConstraints"][0]["labelSelector"] == {"matchLabels": PROXY_LABELS}
    security = kubernetes["envoyDeployment"]["container"]["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["capabilities"] == {"drop": ["ALL"]}
    assert security["runAsNonRoot"] is True and security["seccompProfile"] == {"type": "RuntimeDefault"}
    # Serving for the deregistration delay (60 s) + 15 s (the ALB's drain starts up to 13 s after the
    # pod's deletion), then up to 30 s of drain; Envoy Gateway sets the grace period to drainTimeout +
    # 300 s, so the whole drain fits.
    assert spec["shutdown"] == {"minDrainDuration": "75s", "drainTimeout": "105s"}


def test_proxy_namespace_gets_readiness_gates_and_both_are_restricted(cutover: Plan) -> None:
    proxies = obj(cutover, "Namespace", PROXIES, None)["metadata"]["labels"]
    controller = obj(cutover, "Namespace", CONTROLLER_NS, None)["metadata"]["labels"]
    assert proxies["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    assert "elbv2.k8s.aws/pod-readiness-gate-inject" not in controller
    for labels in (proxies, controller):
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_gateway_listens_on_http_for_the_app_namespace_only(cutover: Plan) -> None:
    gateway = obj(cutover, "Gateway", "spywatcher", PROXIES)["spec"]
    assert gateway["gatewayClassName"] == "spywatcher"
    [listener] = gateway["listeners"]
    assert (listener["protocol"], listener["port"]) == ("HTTP", 80)
    assert listener["allowedRoutes"]["namespaces"] == {
        "from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": APP}}}
    gateway_class = obj(cutover, "GatewayClass", "spywatcher", None)["spec"]
    assert gateway_class["parametersRef"] == {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy",
                                              "name": "spywatcher-proxy", "namespace": PROXIES}


# --- Network isolation -----------------------------------------------------------------------------


def allowed(plan: Plan, source: Peer, target: Peer, port: int) -> bool:
    """NetworkPolicies as a CNI applies them, in every namespace that has any."""
    policies = [o for o in plan.k8s_objects() if o["kind"] == "NetworkPolicy"]

    def allows(pod: Peer, kind: str, other: Peer) -> bool:
        applying = [p for p in policies if p["metadata"]["namespace"] == pod.namespace
                    and kind in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], pod.labels)]
        if not applying:
            return True
        key, peers = ("egress", "to") if kind == "Egress" else ("ingress", "from")
        return any(
            any(p["protocol"] == "TCP" and p["port"] == port for p in rule.get("ports", []))
            and any(peer_matches(peer, other, pod.namespace or "") for peer in rule.get(peers, []))
            for policy in applying for rule in policy["spec"].get(key, [])
        )

    return (source.namespace is None or allows(source, "Egress", target)) and (
        target.namespace is None or allows(target, "Ingress", source))


def test_only_the_proxies_and_nginx_reach_the_serving_ports(cutover: Plan) -> None:
    proxy = Peer(PROXIES, PROXY_LABELS)
    nginx = Peer("ingress-nginx", CONTROLLER)
    app = {"app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/instance": "spywatcher-production"}
    backend = Peer(APP, {**app, "app.kubernetes.io/component": "backend"})
    frontend = Peer(APP, {**app, "app.kubernetes.io/component": "frontend"})
    canary = Peer(APP, {**app, "app.kubernetes.io/component": "backend-canary"})
    for source in (proxy, nginx):
        assert allowed(cutover, source, backend, 3001) and allowed(cutover, source, frontend, 80)
        assert allowed(cutover, source, canary, 3001)
    assert not allowed(cutover, proxy, backend, 5432)
    assert not allowed(cutover, Peer(PROXIES, {"app": "debug"}), backend, 3001)
    assert not allowed(cutover, Peer(CONTROLLER_NS, {"control-plane": "envoy-gateway"}), backend, 3001)


def test_envoy_gateway_namespaces_deny_by_default(cutover: Plan) -> None:
    proxy = Peer(PROXIES, PROXY_LABELS)
    controller = Peer(CONTROLLER_NS, {"control-plane": "envoy-gateway", "app.kubernetes.io/name": "gateway-helm",
                                      "app.kubernetes.io/instance": "envoy-gateway"})
    load_balancer = Peer(None, ip="10.0.1.34")
    assert allowed(cutover, load_balancer, proxy, 10080)
    assert not allowed(cutover, Peer(None, ip="203.0.113.9"), proxy, 10080)
    assert not allowed(cutover, Peer(None, ip="10.0.64.9"), proxy, 10080), "the VPC beyond the LB subnets"
    assert not allowed(cutover, load_balancer, proxy, 19000), "the Envoy admin port stays closed"
    assert allowed(cutover, proxy, controller, 18000)
    assert not allowed(cutover, Peer(APP, {"app": "x"}), controller, 18000)
    assert allowed(cutover, controller, Peer(None, ip="172.20.0.1"), 443)  # the kubernetes Service
    assert not allowed(cutover, controller, Peer(None, ip="8.8.8.8"), 443)
    prometheus = Peer("monitoring", {"app.kubernetes.io/name": "prometheus"})
    assert allowed(cutover, prometheus, proxy, 19001) and allowed(cutover, prometheus, controller, 19001)
    assert not allowed(cutover, Peer("monitoring", {"app": "grafana"}), proxy, 19001)
    for namespace in (PROXIES, CONTROLLER_NS):
        deny = obj(cutover, "NetworkPolicy", "spywatcher-default-deny", namespace)
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


# --- Offline checks: upstream CRDs, preview, diff ------------------------------------------------


@pytest.fixture(scope="module")
def crds() -> CrdChecker:
    folder = upstream_dir()
    if folder is None:
        pytest.skip(MISSING)
    return CrdChecker(folder / "crds")


@pytest.mark.parametrize("variant", [*STACKS, "cutover", "gateway-only"])
def test_every_custom_resource_matches_the_upstream_crds(
    variant: str, plans: dict[str, Plan], cutover: Plan, gateway_only: Plan, crds: CrdChecker
) -> None:
    plan = {"cutover": cutover, "gateway-only": gateway_only, **plans}[variant]
    rendered = render_plan(plan, "1.34")
    before = crds.checked
    assert check(rendered, crds) == []
    custom = [o for o in rendered.kubernetes_files.values() if "." in o["apiVersion"].split("/")[0]
              and not o["apiVersion"].startswith(("networking.k8s.io", "rbac."))]
    assert crds.checked - before == len(custom) > 0


def test_crd_check_reports_what_the_api_server_would_refuse(crds: CrdChecker, cutover: Plan) -> None:
    route = obj(cutover, "HTTPRoute", "spywatcher-socketio")
    broken = {**route, "spec": {**route["spec"], "rules": [{**route["spec"]["rules"][0], "timeouts": {"request": "1 h"},
                                                             "retries": 3}]}}
    problems = [str(p) for p in crds.check(broken)]
    assert any("spec.rules.0.timeouts.request: '1 h' does not match" in p for p in problems), problems
    assert any("spec.rules.0: Additional properties are not allowed ('retries'" in p for p in problems), problems
    unserved = {**route, "apiVersion": "gateway.networking.k8s.io/v2"}
    assert "is not served by the CRD" in str(crds.check(unserved)[0])
    scoped = obj(cutover, "GatewayClass", "spywatcher", None)
    scoped = {**scoped, "metadata": {**scoped["metadata"], "namespace": "x"}}
    assert "cluster-scoped" in str(crds.check(scoped)[0])
    unknown = {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "SecurityPolicy", "metadata": {"name": "a"}}
    assert "no CRD for gateway.envoyproxy.io SecurityPolicy" in str(crds.check(unknown)[0])


def test_render_check_crds_on_the_command_line(tmp_path: Path) -> None:
    import io

    from offline.render import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["--stack", "staging", "--check", "--crds", str(tmp_path / "nope")], out=out, err=err) == 2
    assert "--crds" in err.getvalue() and "no such folder" in err.getvalue()
    (tmp_path / "empty.yaml").write_text("kind: ConfigMap\n")
    err = io.StringIO()
    assert main(["--stack", "staging", "--check", "--crds", str(tmp_path)], out=out, err=err) == 2
    assert "no CustomResourceDefinition" in err.getvalue()


def test_preview_and_diff_show_the_new_objects(plans: dict[str, Plan], cutover: Plan) -> None:
    from offline.changes import diff_snapshots
    from offline.snapshot import snapshot_from_files

    preview = format_plan(cutover)
    assert "weights=90,10 sticky=10800s" in preview
    assert "/->spywatcher-backend@90,spywatcher-backend-canary@10 timeout=10s" in preview
    assert "session=SPYWATCHER_SIO/3h" in preview and "drain=75s..105s" in preview
    old = snapshot_from_files(render_plan(plans["production"], "1.34").files)
    new = snapshot_from_files(render_plan(cutover, "1.34").files)
    changes = {(c.op, c.resource.id) for c in diff_snapshots("production", old, new).resources}
    for created in ("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute::gateway-route-api",
                    "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy::gateway-proxy",
                    "aws:lb/targetGroup:TargetGroup::edge-envoy"):
        assert ("create", created) in changes, sorted(changes)
    assert ("update", "aws:lb/listener:Listener::edge-https") in changes
    assert ("update", "aws:lb/targetGroup:TargetGroup::edge-nginx") not in changes


# --- Per-client request rates (global rate limit) ---------------------------------------------------

RATELIMIT = Peer(CONTROLLER_NS, {"app.kubernetes.io/name": "envoy-ratelimit",
                                 "app.kubernetes.io/component": "ratelimit",
                                 "app.kubernetes.io/managed-by": "envoy-gateway"})
STAGING = "spywatcher-staging"


def _staging_policy(plan: Plan, route: str) -> dict[str, Any]:
    return obj(plan, "BackendTrafficPolicy", f"spywatcher-{route}", STAGING)["spec"]


LIMITED_ROUTES = [
    {"name": "frontend", "host": "frontend", "workload": "frontend", "clientLimits": {"requestsPerSecond": 7}},
    {"name": "api", "host": "api", "workload": "backend", "clientLimits": {"requestsPerSecond": None}},
]


def test_each_route_limits_every_client_address_to_its_rate(gateway_only: Plan) -> None:
    assert _staging_policy(gateway_only, "api")["rateLimit"] == {"global": {"rules": [
        {"clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}],
         "limit": {"requests": 50, "unit": "Second"}},
        {"clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": "::/0"}}],
         "limit": {"requests": 50, "unit": "Second"}},
    ]}}
    [release] = [r for r in gateway_only.of_type("kubernetes:helm.sh/v3:Release")
                 if r.inputs["name"] == "envoy-gateway"]
    assert release.inputs["values"]["config"]["envoyGateway"]["rateLimit"] == {
        "backend": {"type": "Redis", "redis": {"url": "spywatcher-rl.abc123.cache.amazonaws.com:6379", "tls": {}}},
        "failClosed": False}


def test_a_route_without_a_rate_has_no_rate_limit_and_the_rate_is_the_routes_own() -> None:
    plan = run_stack("staging", {**GATEWAY_ONLY, "routing": {"routes": LIMITED_ROUTES}})
    assert "rateLimit" not in _staging_policy(plan, "api")
    rules = _staging_policy(plan, "frontend")["rateLimit"]["global"]["rules"]
    assert [r["limit"] for r in rules] == [{"requests": 7, "unit": "Second"}] * 2


def test_per_client_rates_on_envoy_need_a_redis() -> None:
    gateway = {"enabled": True, "rateLimit": DELETE}
    error = config_error("staging", {**GATEWAY_ONLY, "gateway": gateway, "routing": {"routes": LIMITED_ROUTES}})
    message = problem_for(error, "gateway.rateLimit.redisUrl")
    assert message == (
        "gateway.rateLimit.redisUrl: is required: routes frontend set clientLimits.requestsPerSecond, and Envoy "
        "Gateway limits a rate per client address only with its global rate limit, which counts in Redis (its "
        "local rate limit refuses per-client selectors). Set it (and redisCidrs), or set those routes' "
        "clientLimits.requestsPerSecond to null")
    both = [{**r, "clientLimits": {"requestsPerSecond": 7}} for r in LIMITED_ROUTES]
    error = config_error("staging", {**GATEWAY_ONLY, "gateway": gateway, "routing": {"routes": both}})
    assert problem_for(error, "gateway.rateLimit.redisUrl").startswith(
        "gateway.rateLimit.redisUrl: is required: routes frontend, api set clientLimits.requestsPerSecond, and ")
    # No route limits a rate: no Redis needed, no rate-limit service, no policies for it.
    unlimited = [{**r, "clientLimits": {"requestsPerSecond": None}} for r in LIMITED_ROUTES]
    plan = run_stack("staging", {**GATEWAY_ONLY, "gateway": gateway, "routing": {"routes": unlimited}})
    assert all("rateLimit" not in _staging_policy(plan, r["name"]) for r in unlimited)
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "envoy-gateway"]
    assert "rateLimit" not in release.inputs["values"]["config"]["envoyGateway"]
    assert not [o for o in plan.k8s_objects() if "ratelimit" in o["metadata"]["name"]]


@pytest.mark.parametrize(("rate_limit", "path", "text"), [
    ({"redisUrl": "redis.internal:6379", "redisCidrs": DELETE}, "gateway.rateLimit.redisCidrs",
     "must list where redis.internal:6379 is"),
    ({"redisUrl": "redis://redis.internal:6379", "redisCidrs": ["10.0.96.0/24"]}, "gateway.rateLimit.redisUrl",
     "host:port"),
    ({"redisUrl": "redis.internal", "redisCidrs": ["10.0.96.0/24"]}, "gateway.rateLimit.redisUrl", "host:port"),
])
def test_a_redis_must_be_a_host_and_port_with_its_network(rate_limit: dict[str, Any], path: str, text: str) -> None:
    error = config_error("staging", {**GATEWAY_ONLY, "gateway": {"enabled": True, "rateLimit": rate_limit}})
    assert text in problem_for(error, path)


def test_only_the_proxies_ask_the_rate_limit_service_and_it_reaches_only_redis(gateway_only: Plan) -> None:
    proxy = Peer(PROXIES, PROXY_LABELS)
    controller = Peer(CONTROLLER_NS, {"control-plane": "envoy-gateway", "app.kubernetes.io/name": "gateway-helm",
                                      "app.kubernetes.io/instance": "envoy-gateway"})
    assert allowed(gateway_only, proxy, RATELIMIT, 8081)
    assert not allowed(gateway_only, Peer(STAGING, {"app": "x"}), RATELIMIT, 8081)
    assert not allowed(gateway_only, Peer(PROXIES, {"app": "debug"}), RATELIMIT, 8081)
    assert allowed(gateway_only, RATELIMIT, controller, 18001), "its rules come from the controller"
    assert not allowed(gateway_only, proxy, controller, 18001)
    assert allowed(gateway_only, RATELIMIT, Peer(None, ip="10.0.96.20"), 6379)
    assert not allowed(gateway_only, RATELIMIT, Peer(None, ip="10.0.96.20"), 6380)
    assert not allowed(gateway_only, RATELIMIT, Peer(None, ip="10.0.97.20"), 6379)
    assert not allowed(gateway_only, controller, Peer(None, ip="10.0.96.20"), 6379)


def test_the_redis_is_a_prerequisite(gateway_only: Plan) -> None:


    [redis] = [p for p in prerequisites(gateway_only) if p.name.startswith("Redis")]
    assert (redis.section, redis.name, redis.needed_by) == (
        "controller", "Redis at spywatcher-rl.abc123.cache.amazonaws.com:6379",
        ("oci://docker.io/envoyproxy/gateway-helm v1.9.0",))


def _selector(namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
    peer: dict[str, Any] = {"podSelector": {"matchLabels": labels}}
    if namespace is not None:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    return peer


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def test_the_gateway_isolation_and_target_binding_are_exact(gateway_only: Plan) -> None:
    """Every NetworkPolicy of both Envoy Gateway namespaces, and the TargetGroupBinding, whole
    (staging, ingress-nginx off): ports, peers, selectors and policy types as reviewed against
    the Envoy Gateway chart (xDS 18000, rate-limit xDS 18001, metrics 19001, rate limit 8081)."""
    controller = {"control-plane": "envoy-gateway", "app.kubernetes.io/instance": "envoy-gateway",
                  "app.kubernetes.io/name": "gateway-helm"}
    ratelimit = {"app.kubernetes.io/component": "ratelimit", "app.kubernetes.io/name": "envoy-ratelimit",
                 "app.kubernetes.io/managed-by": "envoy-gateway"}
    prometheus = _selector("monitoring", {"app.kubernetes.io/name": "prometheus"})
    dns = {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
           "to": [_selector("kube-system", {"k8s-app": "kube-dns"})]}
    deny = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow_dns = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]}
    expected = {
        (CONTROLLER_NS, "spywatcher-default-deny"): deny,
        (CONTROLLER_NS, "spywatcher-allow-dns"): allow_dns,
        (PROXIES, "spywatcher-default-deny"): deny,
        (PROXIES, "spywatcher-allow-dns"): allow_dns,
        (CONTROLLER_NS, "spywatcher-to-api-server"): {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": c}} for c in ("172.20.0.1/32", "10.1.16.0/24", "10.1.17.0/24")],
                        "ports": _tcp(443)}]},
        (CONTROLLER_NS, "spywatcher-controller-from-proxies"): {
            "podSelector": {"matchLabels": controller}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [_selector(PROXIES, PROXY_LABELS)], "ports": _tcp(18000)}]},
        (CONTROLLER_NS, "spywatcher-controller-from-monitoring"): {
            "podSelector": {"matchLabels": controller}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [prometheus], "ports": _tcp(19001)}]},
        (PROXIES, "spywatcher-proxies-from-load-balancer"): {
            "podSelector": {"matchLabels": PROXY_LABELS}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.1.0.0/24"}}, {"ipBlock": {"cidr": "10.1.1.0/24"}}],
                         "ports": _tcp(10080)}]},
        (PROXIES, "spywatcher-proxies-from-monitoring"): {
            "podSelector": {"matchLabels": PROXY_LABELS}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [prometheus], "ports": _tcp(19001)}]},
        (PROXIES, "spywatcher-proxies-egress"): {
            "podSelector": {"matchLabels": PROXY_LABELS}, "policyTypes": ["Egress"],
            "egress": [{"to": [_selector(CONTROLLER_NS, controller)], "ports": _tcp(18000)},
                       {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": STAGING}}}],
                        "ports": _tcp(80, 3001)},
                       {"to": [_selector(CONTROLLER_NS, ratelimit)], "ports": _tcp(8081)}]},
        (CONTROLLER_NS, "spywatcher-ratelimit-from-proxies"): {
            "podSelector": {"matchLabels": ratelimit}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [_selector(PROXIES, PROXY_LABELS)], "ports": _tcp(8081)}]},
        (CONTROLLER_NS, "spywatcher-controller-from-ratelimit"): {
            "podSelector": {"matchLabels": controller}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [_selector(None, ratelimit)], "ports": _tcp(18001)}]},
        (CONTROLLER_NS, "spywatcher-ratelimit-egress"): {
            "podSelector": {"matchLabels": ratelimit}, "policyTypes": ["Egress"],
            "egress": [{"to": [_selector(None, controller)], "ports": _tcp(18001)},
                       {"to": [{"ipBlock": {"cidr": "10.0.96.0/24"}}], "ports": _tcp(6379)}]},
    }
    labels = {"app.kubernetes.io/component": "gateway-network", "app.kubernetes.io/part-of": "spywatcher",
              "app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/instance": "spywatcher-staging",
              "app.kubernetes.io/managed-by": "pulumi"}
    policies = [o for o in gateway_only.k8s_objects()
                if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] in (CONTROLLER_NS, PROXIES)]
    assert {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in policies} == {
        (namespace, name): {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}
        for (namespace, name), spec in expected.items()}
    assert len(policies) == len(expected)
    [binding] = [o for o in gateway_only.k8s_objects() if o["kind"] == "TargetGroupBinding"]
    assert binding == {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {"name": PROXIES, "namespace": PROXIES,
                     "labels": {**labels, "app.kubernetes.io/component": "gateway-proxy"}},
        "spec": {
            "serviceRef": {"name": f"{PROXIES}-targets", "port": 80},
            "targetGroupARN": arn(gateway_only, "edge-envoy"),
            "targetType": "ip",
            "networking": {"ingress": [{"from": [{"securityGroup": {"groupID": "sg-8b9253562514e82a"}}],
                                        "ports": _tcp(10080)}]},
        },
    }
    # The program's own Service of the proxies (Envoy Gateway creates its own after the pods).
    assert obj(gateway_only, "Service", f"{PROXIES}-targets", PROXIES) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{PROXIES}-targets", "namespace": PROXIES,
                     "labels": {**labels, "app.kubernetes.io/component": "gateway-proxy"}},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy",
                         "app.kubernetes.io/managed-by": "envoy-gateway",
                         "gateway.envoyproxy.io/owning-gateway-name": "spywatcher",
                         "gateway.envoyproxy.io/owning-gateway-namespace": PROXIES},
            "ports": [{"name": "http", "port": 80, "targetPort": 10080, "protocol": "TCP"}],
        },
    }
