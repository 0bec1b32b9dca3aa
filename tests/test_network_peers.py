"""The scope of every NetworkPolicy peer: a peer in another namespace names the pods it admits, not
the whole namespace (any pod there, a debug pod or a compromised sidecar, would get the same
path). One exception, stated with its reason. Checked on every stack and with Envoy Gateway on,
and one direction at a time (a policy's own rule, not only the path both sides allow)."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Plan, run_stack
from tests.netpol import Peer, allowed
from tests.test_gateway import CUTOVER, PROXIES, PROXY_LABELS
from tests.test_network import CONTROLLER

# (namespace, policy, direction) whose peer is a whole namespace, and why.
NAMESPACE_WIDE = {
    # The proxies reach every Service the routes name in the app namespace, on the serving ports only;
    # which pods answer is the app namespace's own ingress policies' call (they admit the proxies).
    ("spywatcher-gateway", "spywatcher-proxies-egress", "egress"),
}


@pytest.fixture(scope="module")
def cutover() -> Plan:
    return run_stack("production", CUTOVER)


def _peers(plan: Plan) -> list[tuple[tuple[str, str, str], dict[str, Any]]]:
    found = []
    for policy in plan.k8s_objects():
        if policy["kind"] != "NetworkPolicy":
            continue
        meta, spec = policy["metadata"], policy["spec"]
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(direction, []):
                for peer in rule.get(key, []):
                    found.append(((meta["namespace"], meta["name"], direction), peer))
    return found


def test_a_peer_in_another_namespace_names_its_pods(plans: dict[str, Plan], cutover: Plan) -> None:
    wide = set()
    for plan in (*plans.values(), cutover):
        for where, peer in _peers(plan):
            if "namespaceSelector" not in peer:
                continue
            assert peer["namespaceSelector"]["matchLabels"], (where, peer)  # never every namespace
            pods = peer.get("podSelector", {}).get("matchLabels")
            if not pods:
                wide.add(where)
    assert wide == NAMESPACE_WIDE


def test_only_the_proxies_of_the_proxy_namespace_reach_the_app(cutover: Plan) -> None:
    backend = Peer("spywatcher", {"app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/instance":
                                  "spywatcher-production", "app.kubernetes.io/component": "backend"})
    assert allowed(cutover, Peer(PROXIES, PROXY_LABELS), backend, 3001)
    neighbour = Peer(PROXIES, {"app": "debug"})
    assert not allowed(cutover, neighbour, backend, 3001)
    other_gateway = Peer(PROXIES, {**PROXY_LABELS, "gateway.envoyproxy.io/owning-gateway-name": "other"})
    assert not allowed(cutover, other_gateway, backend, 3001)


def _ingress_peers(plan: Plan, namespace: str, name: str) -> list[dict[str, Any]]:
    spec = plan.k8s("NetworkPolicy", name, namespace)["spec"]
    return [peer for rule in spec["ingress"] for peer in rule["from"]]


def test_the_app_admits_exactly_the_controller_pods_and_the_proxies(cutover: Plan) -> None:
    for component in ("backend", "backend-canary", "frontend"):
        assert _ingress_peers(cutover, "spywatcher", f"spywatcher-{component}-from-ingress") == [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
             "podSelector": {"matchLabels": CONTROLLER}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": PROXIES}},
             "podSelector": {"matchLabels": PROXY_LABELS}},
        ]


def test_the_controller_reaches_only_the_apps_serving_pods(plans: dict[str, Plan]) -> None:
    """Its own egress rule, alone: the app's pods by their labels, on the serving ports."""
    egress = plans["production"].k8s("NetworkPolicy", "spywatcher-controller-egress", "ingress-nginx")["spec"]
    assert egress["egress"][1] == {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "spywatcher"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "spywatcher",
                                                "app.kubernetes.io/instance": "spywatcher-production"}}}],
        "ports": [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 3001}],
    }
