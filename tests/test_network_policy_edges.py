"""NetworkPolicies where two settings could be confused: each rule reads its own list of addresses,
shown with lists that differ (the stacks' control-plane subnets are all inside their API server
addresses, so reading one for the other went unnoticed)."""

from __future__ import annotations

from components.network_policy import LINK_LOCAL, outside
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


def test_the_backends_internet_egress_stops_at_the_service_cidr() -> None:
    """ClusterIPs are seen by the VPC CNI before kube-proxy translates them: `0.0.0.0/0` on 443 would
    let the backend reach every Service of the cluster. The Service CIDR (staging: 172.20.0.0/16) is cut
    out of its internet blocks, as the VPC and link-local ranges are."""
    plan = run_stack("staging")
    backend = Peer("spywatcher-staging", {"app.kubernetes.io/name": "spywatcher",
                                          "app.kubernetes.io/instance": "spywatcher-staging",
                                          "app.kubernetes.io/component": "backend"}, ip="10.1.41.9")
    assert not allowed(plan, backend, Peer(None, ip="172.20.0.10"), 443), "a ClusterIP"
    assert allowed(plan, backend, Peer(None, ip="172.19.255.255"), 443), "just below the Service CIDR"
    assert allowed(plan, backend, Peer(None, ip="172.21.0.0"), 443), "just above it"


def test_ipv6_internet_blocks_are_kept_and_lose_link_local() -> None:
    """An IPv6 range in `backendHttpsCidrs` stays in the egress, in its own family, with fe80::/10
    (link-local) cut out; the IPv4 cuts leave it alone."""
    assert outside(["2001:db8::/32", "198.51.100.0/24"], ["10.0.0.0/16", *LINK_LOCAL]) == [
        "198.51.100.0/24", "2001:db8::/32"]
    assert outside(["::/0"], ["10.0.0.0/16", *LINK_LOCAL]) == [
        "::/1", "8000::/2", "c000::/3", "e000::/4", "f000::/5", "f800::/6", "fc00::/7", "fe00::/9", "fec0::/10",
        "ff00::/8"]
    plan = run_stack("staging", {"networkPolicy": {"backendHttpsCidrs": ["0.0.0.0/0", "::/0"]}})
    backend = Peer("spywatcher-staging", {"app.kubernetes.io/name": "spywatcher",
                                          "app.kubernetes.io/instance": "spywatcher-staging",
                                          "app.kubernetes.io/component": "backend"}, ip="10.1.41.9")
    assert allowed(plan, backend, Peer(None, ip="2606:4700::6810:85e5"), 443)
    assert not allowed(plan, backend, Peer(None, ip="fe80::1"), 443)
