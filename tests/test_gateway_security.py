"""The Envoy Gateway path made safe enough to recommend, on what the program registers: the controller
scoped to the namespaces it serves (no cluster-wide Secret reads), the rate-limit Redis over TLS with
AUTH from a Secret and a fail-closed choice, no client-chosen X-Forwarded-Host, images by digest."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import DELETE, Plan, Registration, run_stack
from offline.prerequisites import prerequisites
from offline.render import plan_settings
from tests.conftest import config_error, problem_for
from tests.test_policy import check, edited

PROXIES, CONTROLLER_NS = "spywatcher-gateway", "envoy-gateway-system"
RATE_LIMIT = {"redisUrl": "spywatcher-rl.abc123.cache.amazonaws.com:6379", "redisCidrs": ["10.0.96.0/24"],
              "auth": {"name": "ratelimit-redis-auth"}}
# Test digests (this test never pulls an image): the shape of a pin, not a real one.
CONTROLLER_IMAGE = f"docker.io/envoyproxy/gateway:v1.9.0@sha256:{'1' * 64}"
RATELIMIT_IMAGE = f"docker.io/envoyproxy/ratelimit:17b1956c@sha256:{'2' * 64}"
PROXY_IMAGE = ("docker.io/envoyproxy/envoy:distroless-v1.39.0"
               "@sha256:7877ad87afd7459e1bd2a077ff601fec7c93aeecd62e71664560d96328c62cf4")
# Staging runs both data planes weighted: here, ingress-nginx off and no weights.
GATEWAY_ONLY = {"gateway": {"enabled": True, "rateLimit": RATE_LIMIT}, "ingressController": {"enabled": False},
                "loadBalancer": {"weights": DELETE}}
PINNED = {"gateway": {**GATEWAY_ONLY["gateway"],
                      "images": {"controller": CONTROLLER_IMAGE, "rateLimit": RATELIMIT_IMAGE}},
          "ingressController": {"enabled": False}}
RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.fixture(scope="module")
def production() -> Plan:
    """Production with every route on Envoy Gateway and its images pinned."""
    return run_stack("production", PINNED)


@pytest.fixture(scope="module")
def staging() -> Plan:
    """Staging on Envoy Gateway with the chart's image tags."""
    return run_stack("staging", GATEWAY_ONLY)


def release(plan: Plan) -> Registration:
    [found] = [r for r in plan.of_type(RELEASE) if r.inputs["name"] == "envoy-gateway"]
    return found


def eg_config(plan: Plan) -> dict[str, Any]:
    return dict(release(plan).inputs["values"]["config"]["envoyGateway"])


# --- 1. The controller watches only the namespaces it serves -----------------------------------

# What gateway-helm v1.9.0 renders for RBAC, as its templates decide it (envoyproxy/gateway
# charts/gateway-helm/templates/envoy-gateway-rbac.yaml, infra-manager-rbac.yaml and
# namespaced-infra-manager-rbac.yaml, _rbac.tpl @ v1.9.0): the resources each object's rules name.
NAMESPACED = {"configmaps", "secrets", "services", "deployments", "daemonsets", "endpointslices", "envoyproxies",
              "gateways", "httproutes"}  # eg.rbac.namespaced (abridged to what matters here)
CLUSTER = {"nodes", "namespaces", "gatewayclasses", "gatewayclasses/status", "serviceimports"}  # eg.rbac.cluster
INFRA = {"serviceaccounts", "services", "configmaps", "deployments", "daemonsets", "horizontalpodautoscalers",
         "poddisruptionbudgets", "clustertrustbundles"}  # eg.rbac.infra.basic (writes)


def chart_rbac(kubernetes: dict[str, Any], controller_ns: str) -> dict[tuple[str, str | None], set[str]]:
    """(kind, namespace) -> resources of the RBAC objects the chart renders for
    `config.envoyGateway.provider.kubernetes`, following the three templates' conditions."""
    watch, deploy = kubernetes.get("watch"), kubernetes.get("deploy") or {}
    watched = list((watch or {}).get("namespaces") or [])
    gateway_ns_mode = deploy.get("type") == "GatewayNamespace"
    found: dict[tuple[str, str | None], set[str]] = {}

    def add(kind: str, namespace: str | None, resources: set[str]) -> None:
        found.setdefault((kind, namespace), set()).update(resources)

    # envoy-gateway-rbac.yaml
    if watched:
        for ns in watched:
            add("Role", ns, NAMESPACED)
        add("ClusterRole", None, CLUSTER)
    else:
        add("ClusterRole", None, CLUSTER | NAMESPACED)
    # infra-manager-rbac.yaml
    if gateway_ns_mode and (not watch or watch.get("type") == "NamespaceSelector"):
        add("ClusterRole", None, INFRA | {"tokenreviews"})
    add("Role", controller_ns, INFRA | ({"secrets"} if watch and gateway_ns_mode and watched else set()))
    # namespaced-infra-manager-rbac.yaml
    if watch and gateway_ns_mode:
        add("ClusterRole", None, {"tokenreviews"})
        for ns in watched:
            add("Role", ns, INFRA)
    return found


def test_the_controller_watches_the_proxy_and_app_namespaces_only(production: Plan) -> None:
    provider = eg_config(production)["provider"]
    assert provider["type"] == "Kubernetes" and provider["kubernetes"]["deploy"] == {"type": "GatewayNamespace"}
    assert provider["kubernetes"]["watch"] == {"type": "Namespaces", "namespaces": [PROXIES, "spywatcher"]}


def test_under_watch_the_chart_grants_secrets_and_writes_only_per_namespace(production: Plan) -> None:
    rbac = chart_rbac(eg_config(production)["provider"]["kubernetes"], CONTROLLER_NS)
    assert rbac[("ClusterRole", None)] == CLUSTER | {"tokenreviews"}
    assert {key for key, resources in rbac.items() if "secrets" in resources} == {
        ("Role", PROXIES), ("Role", "spywatcher"), ("Role", CONTROLLER_NS)}
    # What the program rendered before (no watch): Secrets and Deployment writes cluster-wide.
    unscoped = chart_rbac({"deploy": {"type": "GatewayNamespace"}}, CONTROLLER_NS)
    assert {"secrets", "deployments", "serviceaccounts"} <= unscoped[("ClusterRole", None)]


def test_the_policy_pack_refuses_an_unscoped_envoy_gateway(production: Plan) -> None:
    assert check(production.resources) == []

    def unscoped(r: Registration) -> None:
        del r.inputs["values"]["config"]["envoyGateway"]["provider"]["kubernetes"]["watch"]

    name = release(production).name
    assert check(edited(production, RELEASE, name, unscoped)) == [(
        "no-cluster-wide-secret-access",
        f"gateway-helm release {name} must set config.envoyGateway.provider.kubernetes.watch to "
        "{type: Namespaces, namespaces: [...]}: otherwise the chart's ClusterRoles let the Envoy Gateway "
        "controller read every Secret and write Deployments, ServiceAccounts and Services in every namespace.",
    )]

    def selector(r: Registration) -> None:
        r.inputs["values"]["config"]["envoyGateway"]["provider"]["kubernetes"]["watch"] = {
            "type": "NamespaceSelector", "namespaceSelector": {"matchLabels": {"a": "b"}}}

    assert [p for p, _ in check(edited(production, RELEASE, name, selector))] == ["no-cluster-wide-secret-access"]


# --- 3. The rate-limit Redis: TLS, AUTH from a Secret, fail-closed by choice -------------------


def test_the_rate_limit_redis_is_tls_with_auth_from_a_secret(production: Plan) -> None:
    config = eg_config(production)
    assert config["rateLimit"] == {
        "backend": {"type": "Redis", "redis": {"url": RATE_LIMIT["redisUrl"], "tls": {}}},
        "failClosed": False,
    }
    assert config["provider"]["kubernetes"]["rateLimitDeployment"] == {"container": {"env": [
        {"name": "REDIS_AUTH", "valueFrom": {"secretKeyRef": {"name": "ratelimit-redis-auth", "key": "auth-token"}}},
    ]}}
    # No credential in the values: the URL is host:port, the token a reference.
    assert "@" not in config["rateLimit"]["backend"]["redis"]["url"]


def test_client_certificates_and_fail_closed_are_a_choice() -> None:
    plan = run_stack("staging", {**GATEWAY_ONLY, "gateway": {**GATEWAY_ONLY["gateway"], "rateLimit": {
        **RATE_LIMIT, "auth": {"name": "rl", "key": "token"}, "clientCertificateSecret": "rl-client",
        "failClosed": True}}})
    config = eg_config(plan)
    assert config["rateLimit"] == {
        "backend": {"type": "Redis", "redis": {"url": RATE_LIMIT["redisUrl"],
                                                "tls": {"certificateRef": {"kind": "Secret", "name": "rl-client"}}}},
        "failClosed": True,
    }
    assert config["provider"]["kubernetes"]["rateLimitDeployment"]["container"]["env"][0]["valueFrom"] == {
        "secretKeyRef": {"name": "rl", "key": "token"}}
    existing = [p.name for p in prerequisites(plan, plan_settings(plan).existing_objects()) if p.section == "existing"]
    assert existing == [f"Secret {CONTROLLER_NS}/rl", f"Secret {CONTROLLER_NS}/rl-client",
                        "Secret spywatcher-staging/spywatcher-backend-secrets",
                        "Secret spywatcher-staging/spywatcher-migration-secrets"]


def test_a_redis_without_auth_is_refused() -> None:
    rate_limit = {**RATE_LIMIT, "auth": DELETE}
    error = config_error("staging", {**GATEWAY_ONLY, "gateway": {"enabled": True, "rateLimit": rate_limit}})
    assert problem_for(error, "gateway.rateLimit.auth") == (
        "gateway.rateLimit.auth: is required with redisUrl (spywatcher-rl.abc123.cache.amazonaws.com:6379): "
        "the Secret (name, key) holding the Redis AUTH token, e.g. {name: ratelimit-redis-auth, key: auth-token}; a "
        "Redis that any pod of the subnet can write lets anyone reset or fill every client's counters")


# --- 4. X-Forwarded-Host is the proxy's, never the client's ------------------------------------


def test_envoy_removes_a_clients_x_forwarded_host(production: Plan) -> None:
    policy = production.k8s("ClientTrafficPolicy", "spywatcher", PROXIES)
    assert policy["spec"]["headers"] == {
        "withUnderscoresAction": "DropHeader", "earlyRequestHeaders": {"remove": ["X-Forwarded-Host"]}}


# --- 16. Images by digest -----------------------------------------------------------------------


def test_images_are_pinned_by_digest_where_the_stack_pins_them(production: Plan, staging: Plan) -> None:
    assert release(production).inputs["values"]["global"] == {"images": {
        "envoyProxy": {"image": PROXY_IMAGE, "pullPolicy": "IfNotPresent"},
        "envoyGateway": {"image": CONTROLLER_IMAGE, "pullPolicy": "IfNotPresent"},
        "ratelimit": {"image": RATELIMIT_IMAGE, "pullPolicy": "IfNotPresent"},
    }}
    proxy = production.k8s("EnvoyProxy", "spywatcher-proxy", PROXIES)
    assert proxy["spec"]["provider"]["kubernetes"]["envoyDeployment"]["container"]["image"] == PROXY_IMAGE
    # Unpinned, the chart's tags: the proxy is always by digest (the default), the rest only if set.
    assert release(staging).inputs["values"]["global"] == {"images": {
        "envoyProxy": {"image": PROXY_IMAGE, "pullPolicy": "IfNotPresent"}}}


def test_production_refuses_the_charts_tags(production: Plan) -> None:
    unpinned = run_stack("production", GATEWAY_ONLY)
    name = release(unpinned).name
    assert [v for v in check(unpinned.resources) if v[0] == "production-images-pinned"] == [
        ("production-images-pinned", f"gateway-helm release {name} must pin global.images.{key}.image by digest in "
         "production (`repo:tag@sha256:<digest>`; gateway.images in the stack config), not the chart tag.")
        for key in ("envoyGateway", "ratelimit")
    ]
    assert check(run_stack("staging", GATEWAY_ONLY).resources) == []


@pytest.mark.parametrize("key", ["controller", "rateLimit", "proxy"])
def test_an_image_by_tag_is_refused_with_its_key(key: str) -> None:
    images = {key: "docker.io/envoyproxy/gateway:v1.9.0"}
    error = config_error("staging", {**GATEWAY_ONLY, "gateway": {**GATEWAY_ONLY["gateway"], "images": images}})
    assert problem_for(error, f"gateway.images.{key}") == (
        f'gateway.images.{key}: "docker.io/envoyproxy/gateway:v1.9.0" — must be pinned by digest '
        "(`repo:tag@sha256:<64 hex digits>`): a tag can be re-pushed")
