"""NetworkPolicies evaluated as a CNI does, for the isolation tests (app, ingress-nginx and Envoy
Gateway namespaces): a pod in a namespace with policies that select it is isolated in that
direction and reachable only as a rule allows; a namespace without policies is not isolated."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from offline.engine import Plan


@dataclass(frozen=True)
class Peer:
    namespace: str | None = None  # None: an address outside the cluster's pods
    labels: dict[str, str] = field(default_factory=dict)
    ip: str = "10.99.0.1"


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "the evaluator knows In only"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def peer_matches(rule_peer: dict[str, Any], peer: Peer, own_namespace: str) -> bool:
    if "ipBlock" in rule_peer:
        block = rule_peer["ipBlock"]
        assert "except" not in block, "explicit blocks only: the VPC CNI has had bugs with `except`"
        return ipaddress.ip_address(peer.ip) in ipaddress.ip_network(block["cidr"])
    if peer.namespace is None:
        return False
    if "namespaceSelector" in rule_peer:
        if not selects(rule_peer["namespaceSelector"], {"kubernetes.io/metadata.name": peer.namespace}):
            return False
    elif peer.namespace != own_namespace:
        return False
    return "podSelector" not in rule_peer or selects(rule_peer["podSelector"], peer.labels)


def allowed(plan: Plan, source: Peer, target: Peer, port: int, protocol: str = "TCP") -> bool:
    """Whether the stack's NetworkPolicies let ``source`` open ``port`` on ``target`` (egress and
    ingress)."""
    policies = [o for o in plan.k8s_objects() if o["kind"] == "NetworkPolicy"]

    def direction_allows(pod: Peer, kind: str, other: Peer) -> bool:
        if pod.namespace is None:
            return True
        applying = [
            p
            for p in policies
            if p["metadata"]["namespace"] == pod.namespace
            and kind in p["spec"]["policyTypes"]
            and selects(p["spec"]["podSelector"], pod.labels)
        ]
        if not applying:
            return True
        key, peers_key = ("egress", "to") if kind == "Egress" else ("ingress", "from")
        for policy in applying:
            for rule in policy["spec"].get(key, []):
                ports_ok = any(p["protocol"] == protocol and p["port"] == port for p in rule.get("ports", []))
                peers_ok = any(peer_matches(peer, other, pod.namespace) for peer in rule.get(peers_key, []))
                if ports_ok and peers_ok:
                    return True
        return False

    return direction_allows(source, "Egress", target) and direction_allows(target, "Ingress", source)
