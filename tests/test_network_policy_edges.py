"""NetworkPolicies where two settings could be confused: each rule reads its own list of addresses,
shown with lists that differ (the stacks' control-plane subnets are all inside their API server
addresses, so reading one for the other went unnoticed)."""

from __future__ import annotations

from offline.engine import run_stack
from tests.netpol import Peer, allowed

CONTROLLER = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/instance": "ingress-nginx",
    "app.kubernetes.io/component": "controller",
}
PROMETHEUS = {"app.kubernetes.io/name": "prometheus"}  # the default `monitoring.prometheusPodLabels`


def test_the_webhook_is_reached_from_the_control_plane_cidrs_and_the_api_from_the_api_server_cidrs() -> None:
    """`controlPlaneCidrs` open the admission webhook; `apiServerCidrs` are where the controller
    and its certgen Jobs may go. With one subnet in one list only, each rule shows which it read."""
    plan = run_stack("staging", {"networkPolicy": {"apiServerCidrs": ["172.20.0.1/32", "10.1.17.0/24"],
                                                   "controlPlaneCidrs": ["10.1.16.0/24"]}})
    policy = plan.k8s("NetworkPolicy", "spywatcher-controller-ingress", "ingress-nginx")
    assert policy["spec"]["ingress"] == [
        {"from": [{"ipBlock": {"cidr": "10.1.0.0/24"}}, {"ipBlock": {"cidr": "10.1.1.0/24"}}],
         "ports": [{"protocol": "TCP", "port": 80}]},
        {"from": [{"ipBlock": {"cidr": "10.1.16.0/24"}}], "ports": [{"protocol": "TCP", "port": 8443}]},
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                   "podSelector": {"matchLabels": PROMETHEUS}}],
         "ports": [{"protocol": "TCP", "port": 10254}]},
    ]
    controller = Peer("ingress-nginx", CONTROLLER, ip="10.1.40.7")
    assert allowed(plan, Peer(None, ip="10.1.16.20"), controller, 8443)
    assert not allowed(plan, Peer(None, ip="10.1.17.20"), controller, 8443), "an API server address, not the webhook's"
    egress = plan.k8s("NetworkPolicy", "spywatcher-controller-egress", "ingress-nginx")["spec"]["egress"]
    assert egress[0] == {"to": [{"ipBlock": {"cidr": "172.20.0.1/32"}}, {"ipBlock": {"cidr": "10.1.17.0/24"}}],
                         "ports": [{"protocol": "TCP", "port": 443}]}
