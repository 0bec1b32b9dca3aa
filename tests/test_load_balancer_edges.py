"""The load balancer's rules at their edges: what each setting becomes in the AWS resources, with the
values that would tell a slip apart (an IPv6 client block, two different timeouts, …)."""

from __future__ import annotations

from offline.engine import Plan, run_stack
from tests.conftest import behind_nlb

EDGE_SG = "sg-8b9253562514e82a"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def ingress_rules(plan: Plan) -> dict[str, dict[str, object]]:
    return {r.name: r.inputs for r in plan.of_type(INGRESS_RULE)}


def test_an_ipv6_client_block_is_an_ipv6_rule() -> None:
    """The EC2 API takes an IPv6 block only as `cidr_ipv6`: one rule per port and block, each in its
    own family."""
    plan = run_stack("staging", {"loadBalancer": {"allowedCidrs": ["203.0.113.0/24", "2001:db8::/32"]}})

    def rule(port: int, family: str, cidr: str) -> dict[str, object]:
        return {"securityGroupId": EDGE_SG, family: cidr, "fromPort": port, "toPort": port, "ipProtocol": "tcp",
                "description": f"clients to port {port}"}

    assert ingress_rules(plan) == {
        "edge-in-80-203-0-113-0-24": rule(80, "cidrIpv4", "203.0.113.0/24"),
        "edge-in-443-203-0-113-0-24": rule(443, "cidrIpv4", "203.0.113.0/24"),
        "edge-in-80-2001-db8---32": rule(80, "cidrIpv6", "2001:db8::/32"),
        "edge-in-443-2001-db8---32": rule(443, "cidrIpv6", "2001:db8::/32"),
    }


def test_cross_zone_off_and_the_idle_timeout_and_the_draining_delay_are_each_their_own() -> None:
    """`crossZone: false` reaches both target groups, where an ALB can turn it off; the ALB itself always
    balances across zones and says so (the provider never sends its switch); the idle timeout and the
    deregistration delay, both 60 s by default, set different fields."""
    plan = run_stack("staging", {"loadBalancer": {"crossZone": False, "idleTimeoutSeconds": 50,
                                                  "deregistrationDelaySeconds": 45}})
    balancer = plan.get("aws:lb/loadBalancer:LoadBalancer", "edge").inputs
    assert (balancer["enableCrossZoneLoadBalancing"], balancer["idleTimeout"]) == (True, 50)
    for name in ("edge-nginx", "edge-envoy"):
        group = plan.get("aws:lb/targetGroup:TargetGroup", name).inputs
        assert (group["loadBalancingCrossZoneEnabled"], group["deregistrationDelay"]) == ("false", 45), name


def test_cross_zone_off_behind_an_nlb_reaches_the_load_balancer_too() -> None:
    plan = run_stack("production", behind_nlb({"loadBalancer": {"crossZone": False}}))
    assert plan.get("aws:lb/loadBalancer:LoadBalancer", "edge").inputs["enableCrossZoneLoadBalancing"] is False
    assert plan.get("aws:lb/targetGroup:TargetGroup", "edge-nginx").inputs["loadBalancingCrossZoneEnabled"] == "false"


def test_only_an_alb_listener_adds_hsts() -> None:
    """The listener attribute that adds Strict-Transport-Security exists on HTTPS listeners only: an
    NLB's TLS listener must not carry it (nginx adds the header there, see the ingress controller)."""
    plan = run_stack("production", behind_nlb({"loadBalancer": {"hsts": "max-age=1"}}))
    assert [r.name for r in plan.of_type("aws:lb/listener:Listener")] == ["edge-https"]
    assert plan.get("aws:lb/listener:Listener", "edge-https").inputs == {
        "loadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/edge-a1cb100/"
                           "a1cb100f57e971ca",
        "port": 443,
        "protocol": "TLS",
        "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "certificateArn": "arn:aws:acm:us-east-1:111122223333:certificate/0b6e8f1c-2d4a-4c3e-9f7b-1a2b3c4d5e6f",
        "defaultActions": [{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:"
                            "111122223333:targetgroup/edge-nginx-ff983e1/ff983e1ae7346409"}],
    }
