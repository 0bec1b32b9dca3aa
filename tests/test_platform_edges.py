"""What the whole stack wires between its parts (components/platform.py), where one part's setting
decides what another registers: which workloads' schedule pods may reach the API server."""

from __future__ import annotations

from offline.engine import Plan, run_stack
from tests.netpol import Peer, allowed

API_SERVER = Peer(None, ip="172.20.0.1")


def pod(plan: Plan, namespace: str, component: str) -> Peer:
    return Peer(namespace, {"app.kubernetes.io/name": "spywatcher",
                            "app.kubernetes.io/instance": f"spywatcher-{plan.stack}",
                            "app.kubernetes.io/component": component})


def test_only_a_workload_with_schedules_has_schedule_pods_that_reach_the_api_server(
    plans: dict[str, Plan]
) -> None:
    """Production schedules the backend alone: a pod labelled as the frontend's schedule (there is
    none) gets no way out to the API server."""
    plan = plans["production"]
    assert [w for w, s in plan.settings.workloads().items() if s.schedules] == ["backend"]
    assert allowed(plan, pod(plan, "spywatcher", "backend-schedule"), API_SERVER, 443)
    assert not allowed(plan, pod(plan, "spywatcher", "frontend-schedule"), API_SERVER, 443)


def test_the_kubernetes_provider_updates_config_maps_and_secrets_in_place(plans: dict[str, Plan]) -> None:
    """Replaced under their fixed names, a ConfigMap or Secret would be missing for a moment (a pod
    starting then fails); updated in place, the pods roll through the checksum annotation."""
    for plan in plans.values():
        [provider] = plan.of_type("pulumi:providers:kubernetes")
        assert (provider.inputs["enableConfigMapMutable"], provider.inputs["enableSecretMutable"]) == ("true", "true")
        assert provider.inputs["enableServerSideApply"] == "true"


def test_the_routes_wait_for_the_ingress_controller(plans: dict[str, Plan]) -> None:
    """Its admission webhook validates every Ingress: an Ingress sent before the controller runs is
    refused (the webhook's Service has no endpoints)."""
    plan = plans["staging"]
    controller = plan.get("kubernetes:helm.sh/v3:Release", "ingress").urn
    for route in ("frontend", "api", "socketio"):
        assert controller in plan.get("kubernetes:networking.k8s.io/v1:Ingress", f"routes-{route}").depends_on


def test_a_canary_header_of_a_canary_turned_off_adds_no_listener_rule(fixture_plans: dict[str, Plan]) -> None:
    """The header is only the canary's: with the canary off (its header and addresses still set), no
    listener rule gates or forwards it."""
    def canary_rules(plan: Plan) -> list[str]:
        return [r.name for r in plan.of_type("aws:lb/listenerRule:ListenerRule") if "canary" in r.name]

    assert canary_rules(fixture_plans["all-options"]) == ["edge-canary-allowed", "edge-canary-refused"]
    assert canary_rules(run_stack("all-options", {"canary": {"enabled": False}})) == []


def test_each_host_gets_one_dns_record_however_many_routes_share_it(fixture_plans: dict[str, Plan]) -> None:
    """The api and socket.io routes share a host: one alias record for it (two would be the same
    record twice), and the stack's `hosts` output names it once."""
    plan = fixture_plans["all-options"]
    records = [(r.name, r.inputs["name"], r.inputs["type"]) for r in plan.of_type("aws:route53/record:Record")]
    assert records == [
        ("edge-all.spywatcher.example.com", "all.spywatcher.example.com", "A"),
        ("edge-api.all.spywatcher.example.com", "api.all.spywatcher.example.com", "A"),
    ]
    assert plan.outputs["hosts"] == ["all.spywatcher.example.com", "api.all.spywatcher.example.com"]
