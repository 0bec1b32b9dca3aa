"""Envoy Gateway with settings the stacks leave at one value: a Redis on a port other than 6379."""

from __future__ import annotations

from offline.engine import run_stack

RATELIMIT = {"app.kubernetes.io/name": "envoy-ratelimit", "app.kubernetes.io/component": "ratelimit",
             "app.kubernetes.io/managed-by": "envoy-gateway"}
CONTROLLER = {"control-plane": "envoy-gateway", "app.kubernetes.io/name": "gateway-helm",
              "app.kubernetes.io/instance": "envoy-gateway"}


def test_the_rate_limit_service_reaches_its_redis_on_the_urls_port() -> None:
    """The port comes from `rateLimit.redisUrl` (host:port): 6380 here, where the shipped stacks say 6379."""
    redis = "spywatcher-staging-rl.x7k2qp.ng.0001.use1.cache.amazonaws.com:6380"
    plan = run_stack("staging", {"gateway": {"rateLimit": {"redisUrl": redis}}})
    assert plan.k8s("NetworkPolicy", "spywatcher-ratelimit-egress", "envoy-gateway-system")["spec"] == {
        "podSelector": {"matchLabels": RATELIMIT},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"podSelector": {"matchLabels": CONTROLLER}}], "ports": [{"protocol": "TCP", "port": 18001}]},
            {"to": [{"ipBlock": {"cidr": "10.1.65.0/24"}}], "ports": [{"protocol": "TCP", "port": 6380}]},
        ],
    }
    values = plan.get("kubernetes:helm.sh/v3:Release", "gateway").inputs["values"]
    assert values["config"]["envoyGateway"]["rateLimit"]["backend"]["redis"]["url"] == redis


def test_envoy_keeps_nginxs_keepalive_requests_and_timeout_not_its_connection_cap() -> None:
    """`upstreamKeepaliveRequests` becomes each route's requests per connection and the keepalive
    timeout its connection idle timeout; the connection cap has no Envoy counterpart. Three values
    that differ (the defaults are 100, 100 and 60 s)."""
    plan = run_stack("staging", {"ingressController": {"upstreamKeepaliveRequests": 1000,
                                                       "upstreamKeepaliveConnections": 320,
                                                       "upstreamKeepaliveTimeoutSeconds": 50}})
    policies = {o["metadata"]["name"]: o["spec"] for o in plan.k8s_objects() if o["kind"] == "BackendTrafficPolicy"}
    assert sorted(policies) == ["spywatcher-api", "spywatcher-frontend", "spywatcher-socketio"]
    for name, spec in policies.items():
        assert spec["circuitBreaker"] == {"maxRequestsPerConnection": 1000}, name
        assert spec["timeout"]["http"]["connectionIdleTimeout"] == "50s", name
