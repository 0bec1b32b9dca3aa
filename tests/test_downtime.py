"""The zero-downtime model (simulate/downtime): what it reads off a stack, how it searches both ends of
every delay, each property on a small topology built by hand, and its command line."""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import replace
from typing import Any

import pytest

from config.delays import DELAYS, Interval, Report, Source, deregistration_lag, upstream_lag
from offline.engine import Plan
from simulate.downtime import cli
from simulate.downtime.model import Corner
from simulate.downtime.properties import PROPERTIES
from simulate.downtime.scenarios import SCENARIOS, new_sim
from simulate.downtime.search import check_scenario, corners, discover
from simulate.downtime.topology import ENVOY, NGINX, Fleet, Route, TargetGroup, Topology, load_topology
from tests.upstream import upstream_file

# --- A small topology built by hand: one app fleet behind ingress-nginx, every budget in order -----

BACKEND = Fleet(
    name="spywatcher-backend", kind="app", replicas=2, max_surge=1, max_unavailable=0, min_ready_s=0.0,
    probe_low_s=10.0, probe_high_s=15.0, pre_stop_s=15.0, grace_s=30.0, min_available=1, hpa_min=2,
    zone_spread_hard=True,
)
CONTROLLER = Fleet(
    name="ingress-nginx-controller", kind=NGINX, replicas=2, max_surge=1, max_unavailable=0, min_ready_s=0.0,
    probe_low_s=10.0, probe_high_s=20.0, pre_stop_s=0.0, grace_s=3700.0, min_available=1, hpa_min=2,
    zone_spread_hard=True, backend=NGINX, gate_label=True, gated_at_install=True,
    install_order="installed after its binding", shutdown_delay_s=75.0, drain_s=3600.0, post_shutdown_s=10.0,
)
API = Route("api", ("spywatcher-backend",), False, {NGINX: 15.0}, 0.0)
SOCKETS = Route("socketio", ("spywatcher-backend",), True, {NGINX: 3600.0}, 3600.0)


def topology(backend: Fleet = BACKEND, controller: Fleet = CONTROLLER, routes: tuple[Route, ...] = (API, SOCKETS),
             **changes: Any) -> Topology:
    base = Topology(
        stack="hand-made",
        load_balancer="application",
        zones=2,
        fleets={backend.name: backend, controller.name: controller},
        routes=list(routes),
        target_groups={NGINX: TargetGroup(NGINX, controller.name, 100, 60.0, 30.0, 2, 3)},
        webhook_failure_policy="Fail",
        stickiness_s=10800.0,
        reload_budget_s=controller.drain_s,
    )
    return replace(base, **changes)


def failures(topo: Topology, scenario: str) -> dict[str, str]:
    """Property -> detail, for every property that fails in the scenario."""
    result = check_scenario(topo, SCENARIOS[scenario])
    return {p.name: p.detail for p in result.properties if not p.holds}


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "cutover"])
def test_a_topology_with_every_budget_in_order_holds_every_property(scenario: str) -> None:
    assert failures(topology(), scenario) == {}


def test_a_short_prestop_lets_a_request_reach_an_app_pod_after_its_sigterm() -> None:
    """ingress-nginx's view lags the EndpointSlice by its sync (up to 3.33 s) and its workers' poll (1 s)."""
    found = failures(topology(backend=replace(BACKEND, pre_stop_s=2.0)), "app-rollout")
    assert found == {"no-request-after-sigterm": (
        "t=12 s: ingress-nginx-controller-0 still sends new requests to spywatcher-backend-1, which got SIGTERM at "
        "12 s (it drops the pod at 14.33 s; the load balancer sends it new requests until never); at 16 of 32 "
        "corners, first at app.socket_close=0, k8s.endpoints=0, kubelet.notice=0, nginx.sync=3.33, "
        "nginx.worker_pickup=1, pod.start=0, probe.phase=0"
    )}


def test_a_route_timeout_beyond_the_grace_period_kills_requests_mid_flight() -> None:
    found = failures(topology(routes=(replace(API, timeout_s={NGINX: 60.0}), SOCKETS)), "app-rollout")
    assert found == {"requests-finish-before-sigkill": (
        "t=40 s: spywatcher-backend-1 is killed while a request it took at 10 s through ingress-nginx-controller-0 "
        "may run until 70 s (route api allows 60 s); at 32 of 32 corners, first at app.socket_close=0, "
        "k8s.endpoints=0, kubelet.notice=0, nginx.sync=0, nginx.worker_pickup=0, pod.start=0, probe.phase=0"
    )}


def test_a_reload_budget_below_the_socket_budget_closes_every_socket_at_once() -> None:
    found = failures(topology(controller=replace(CONTROLLER, drain_s=30.0, grace_s=130.0)), "controller-reload")
    assert found == {"websocket-budget": (
        "t=30 s: sockets ingress-nginx-controller-0 → spywatcher-backend-0 cut by the old nginx workers 30 s after a "
        "reload, before their budget; at 4 of 4 corners, first at k8s.endpoints=0, nginx.sync=0"
    )}


def test_a_margin_shorter_than_the_deregistration_lets_nginx_quit_while_the_alb_drains_it() -> None:
    found = failures(topology(controller=replace(CONTROLLER, shutdown_delay_s=65.0)), "hpa-scale-down")
    assert found == {"grace-covers-drain": (
        "t=65 s: ingress-nginx-controller-2 stops serving (nginx quits) while the load balancer drains it until 70 s; "
        "at 32 of 64 corners, first at alb.propagation=10, app.socket_close=0, k8s.endpoints=0, kubelet.notice=0, "
        "lbc.reconcile=0, nginx.sync=0, nginx.worker_pickup=0"
    )}


def test_pods_without_the_readiness_gate_let_a_rollout_empty_the_target_group() -> None:
    """aws-load-balancer-controller #1124: old targets draining while the new ones are still initial."""
    topo = topology(controller=replace(CONTROLLER, gate_label=False))
    found = failures(topo, "controller-rollout")
    corner = (
        "at 64 of 64 corners, first at alb.propagation=0, k8s.endpoints=0, kubelet.notice=0, lbc.reconcile=0, "
        "pod.start=0, probe.phase=0, tg.first_check=0"
    )
    assert found == {
        "healthy-target-always": (
            "t=20 s: target group nginx has no healthy target until 40 s (ingress-nginx-controller-0: draining, "
            "ingress-nginx-controller-1: draining, ingress-nginx-controller-2: initial, ingress-nginx-controller-3: "
            f"initial); {corner}"
        ),
        "readiness-gate-on-every-target": (
            "t=0 s: ingress-nginx-controller-0 is a target of nginx without the target-health readiness gate: its "
            f"namespace lacks the elbv2.k8s.aws/pod-readiness-gate-inject label; {corner}"
        ),
    }


def test_the_pdb_is_kept_and_a_drain_that_can_never_evict_is_reported() -> None:
    stuck = topology(backend=replace(BACKEND, min_available=2))
    assert failures(stuck, "node-drain") == {"ready-endpoints-within-budget": (
        "t=0 s: the PodDisruptionBudget of spywatcher-backend never lets the drain evict spywatcher-backend-0 "
        "(minAvailable 2 of 2 pods): the node cannot be drained; at 128 of 128 corners, first at "
        "alb.propagation=0, k8s.endpoints=0, kubelet.notice=0, lbc.health_poll=0, lbc.reconcile=0, pod.start=0, "
        "probe.phase=0, tg.first_check=0"
    )}


def test_an_outage_with_an_ignoring_webhook_lets_gate_less_pods_become_targets() -> None:
    found = failures(topology(webhook_failure_policy="Ignore"), "lbc-outage")
    assert found["readiness-gate-on-every-target"].startswith(
        "t=60 s: ingress-nginx-controller-2 is a target of nginx without the target-health readiness gate: created "
        "while the readiness-gate webhook was down (its failurePolicy Ignore let the pod through)"
    )
    assert failures(topology(webhook_failure_policy="Fail"), "lbc-outage") == {}


# --- The search ---------------------------------------------------------------------------------------


def test_a_scenario_runs_at_both_ends_of_every_delay_it_reads_chains_moving_together() -> None:
    names = discover(topology(), SCENARIOS["app-rollout"], "")
    assert names == ("app.socket_close", "k8s.endpoints", "kubelet.notice", "nginx.sync", "nginx.worker_pickup",
                     "pod.start", "probe.phase")
    found = corners(names)
    assert len(found) == 2 ** 5  # pod.start+probe.phase and nginx.sync+worker_pickup are chains
    assert {(c["pod.start"], c["probe.phase"]) for c in found} == {(0, 0), (5, 1)}
    assert {(c["nginx.sync"], c["nginx.worker_pickup"]) for c in found} == {(0, 0), (1 / 0.3, 1)}
    assert {c["kubelet.notice"] for c in found} == {0, 1}


def test_a_corner_reads_the_low_end_of_a_delay_it_was_not_given_and_records_it() -> None:
    corner = Corner({"k8s.endpoints": 1.0})
    assert (corner["k8s.endpoints"], corner["lbc.reconcile"]) == (1.0, 0)
    assert (corner.read, corner.missing) == ({"k8s.endpoints", "lbc.reconcile"}, {"lbc.reconcile"})


def test_one_pod_leaves_the_traffic_path_in_the_documented_order() -> None:
    """hpa-scale-down at the high end of every delay: the controller pod's timeline, event by event."""
    values = {name: DELAYS[name].high for name in discover(topology(), SCENARIOS["hpa-scale-down"], "")}
    sim = new_sim(topology(), SCENARIOS["hpa-scale-down"], Corner(values))
    events = [(e.t, e.what) for e in sim.events if e.objects == ("ingress-nginx-controller-2",)]
    assert events == [
        (0.0, "deleted (HPA scale-down)"),
        (1.0, "SIGTERM"),
        (3701.0, "SIGKILL (grace period over)"),
        (3.0, "DeregisterTargets: draining"),
        (13.0, "load balancer sends no new requests"),
        (73.0, "deregistration delay over: unused"),
        (1.0, "controller told to stop: upstreams frozen, nginx still serving"),
        (76.0, "nginx -s quit: listeners closed"),
    ]


# --- What the model reads off a stack -----------------------------------------------------------------


def test_the_model_reads_the_fleets_routes_and_targets_a_stack_renders(plans: dict[str, Plan]) -> None:
    topo = load_topology(plans["production"])
    assert (topo.load_balancer, topo.zones, sorted(topo.fleets)) == (
        "application", 3, ["ingress-nginx-controller", "spywatcher-backend", "spywatcher-frontend"])
    backend = topo.fleets["spywatcher-backend"]
    assert (backend.replicas, backend.max_surge, backend.max_unavailable, backend.probe_low_s, backend.probe_high_s,
            backend.min_available, backend.zone_spread_hard) == (2, 1, 0, 10.0, 15.0, 1, True)
    controller = topo.fleets["ingress-nginx-controller"]
    assert (controller.kind, controller.backend, controller.gate_label, controller.probe_low_s,
            controller.probe_high_s, controller.post_shutdown_s) == (NGINX, NGINX, True, 10.0, 20.0, 10.0)
    # the chart's controller.minAvailable (ingressController.minAvailable, 1) below its 2 replicas
    assert (controller.replicas, controller.min_available) == (2, 1)
    assert topo.target_groups == {NGINX: TargetGroup(NGINX, "ingress-nginx-controller", 100, 60.0, 30, 2, 3)}
    assert [(r.name, r.fleets, r.websocket, r.socket_budget_s) for r in topo.routes] == [
        ("frontend", ("spywatcher-frontend",), False, 0.0),
        ("api", ("spywatcher-backend",), False, 0.0),
        ("socketio", ("spywatcher-backend",), True, 3600.0),
    ]
    assert ENVOY not in topo.target_groups


# --- The delays ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DELAYS))
def test_every_delay_names_its_source_and_why_its_ends_are_the_worst_cases(name: str) -> None:
    """Each delay is data: its upstream files (repository, path, tag) or reports, else what its ends rest on."""
    delay = DELAYS[name]
    assert delay.name == name and 0 <= delay.low <= delay.high and math.isfinite(delay.high)
    assert len(delay.what) > 30 and len(delay.worst) > 30
    for source in delay.sources:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", source.repository), source
        if isinstance(source, Source):
            assert source.path and not source.path.startswith("/") and source.tag and source.reads, source
            assert str(source) == f"{source.repository} {source.path} @ {source.tag} ({source.reads})"
        else:
            assert isinstance(source, Report) and source.numbers and source.says, source
    # A delay no upstream file bounds says what its ends rest on instead.
    assert any(isinstance(s, Source) for s in delay.sources) or delay.basis, name


def test_a_delay_without_a_source_or_a_basis_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^interval x: neither an upstream source nor a basis$"):
        Interval("x", 0, 1, "what", (), "worst")
    with pytest.raises(ValueError, match=r"^interval x: \[2, 1\] is not an interval of 0 or more$"):
        Interval("x", 2, 1, "what", (), "worst", basis="a budget")


def test_the_ingress_nginx_sync_delay_is_the_controller_flag_upstream_sets() -> None:
    flags = upstream_file("ingress-nginx/controller-v1.15.1-flags.json")
    if flags is None:
        pytest.skip("the upstream artifacts are not on this machine (../shared/upstream)")
    rate = json.loads(flags.read_text())["flags"]["sync-rate-limit"]["default"]
    assert DELAYS["nginx.sync"].high == pytest.approx(1 / float(rate))


def test_the_ingress_nginx_defaults_the_model_and_rules_read_are_upstreams() -> None:
    from config.delays import NGINX_DEFAULT_TIMEOUT_SECONDS, NGINX_KEEPALIVE_SECONDS, POST_SHUTDOWN_SECONDS

    configmap = upstream_file("ingress-nginx/controller-v1.15.1-configmap.json")
    flags = upstream_file("ingress-nginx/controller-v1.15.1-flags.json")
    if configmap is None or flags is None:
        pytest.skip("the upstream artifacts are not on this machine (../shared/upstream)")
    keys = json.loads(configmap.read_text())["keys"]
    assert [int(keys[k]["default"]) for k in ("proxy-read-timeout", "proxy-send-timeout", "keep-alive")] == [
        NGINX_DEFAULT_TIMEOUT_SECONDS, NGINX_DEFAULT_TIMEOUT_SECONDS, NGINX_KEEPALIVE_SECONDS]
    assert int(json.loads(flags.read_text())["flags"]["post-shutdown-grace-period"]["default"]) == POST_SHUTDOWN_SECONDS


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_controller_keeps_nginxs_keep_alive_the_idle_timeout_rule_reads(stack: str, plans: dict[str, Plan]) -> None:
    from offline.engine import reveal

    [release] = [r for r in plans[stack].of_type("kubernetes:helm.sh/v3:Release")
                 if reveal(r.inputs)["chart"] == "ingress-nginx"]
    assert "keep-alive" not in reveal(release.inputs)["values"]["controller"]["config"]


def test_the_drain_budgets_add_the_chains_high_ends() -> None:
    assert deregistration_lag("application") == 13
    assert deregistration_lag("network") == 123
    assert upstream_lag("nginx") == pytest.approx(1 + 1 / 0.3 + 1)
    assert upstream_lag("envoy") == 3


# --- The command line ---------------------------------------------------------------------------------


def _main(argv: list[str], monkeypatch: pytest.MonkeyPatch, topo: Topology | None = None) -> tuple[int, str, str]:
    if topo is not None:
        monkeypatch.setattr(cli, "load", lambda stack: topo)
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


def test_every_property_holding_exits_0_and_json_has_the_documented_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _main(["--stack", "hand-made", "--scenario", "controller-reload", "--json"], monkeypatch,
                           topology())
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "stack": "hand-made",
        "scenarios": [{
            "name": "controller-reload",
            "properties": [{"name": name, "holds": True, "detail": "holds at all 4 corners"} for name in PROPERTIES],
        }],
    }


def test_a_failing_property_exits_1_naming_the_scenario_property_instant_and_objects(
        monkeypatch: pytest.MonkeyPatch) -> None:
    broken = topology(controller=replace(CONTROLLER, drain_s=30.0, grace_s=130.0))
    code, out, err = _main(["--stack", "hand-made", "--scenario", "controller-reload"], monkeypatch, broken)
    assert code == 1
    assert err == (
        "error: hand-made controller-reload websocket-budget: t=30 s: sockets ingress-nginx-controller-0 → "
        "spywatcher-backend-0 cut by the old nginx workers 30 s after a reload, before their budget; at 4 of 4 "
        "corners, first at k8s.endpoints=0, nginx.sync=0\n"
    )
    assert out.splitlines()[0].startswith("controller-reload: 1 of 7 fail (4 runs over 2 delays, ")
    assert out.splitlines()[-1] == "stack hand-made: 1 of 7 checks fail"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "rollout"], "error: --scenario 'rollout': not a scenario (scenarios: app-rollout, "
         "controller-rollout, hpa-scale-down, node-drain, controller-reload, lbc-outage, cutover)\n"),
        (["--stack", "nope"], None),
        (["--jsn"], "error: unrecognized arguments: --jsn\n"),
        (["--scenario", "cutover", "--stack", "staging"], "error: --scenario cutover: stack staging does not enable "
         "both ingress-nginx and Envoy Gateway (ingressController.enabled, gateway.enabled)\n"),
    ],
)
def test_bad_input_exits_2_in_one_line(argv: list[str], message: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if "staging" in argv:
        monkeypatch.setattr(cli, "load", lambda stack: topology(stack="staging"))
    code, out, err = _main(argv, monkeypatch)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("error: ")
    if message is not None:
        assert err == message


def test_all_runs_every_stack_and_test_stack_and_exits_with_the_worst(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make check`: one failing stack makes the whole run fail; a scenario a stack lacks is said, not failed."""
    import config.stackfile

    broken = topology(stack="broken", controller=replace(CONTROLLER, drain_s=30.0, grace_s=130.0))
    stacks = {"good": topology(stack="good"), "broken": broken}
    monkeypatch.setattr(config.stackfile, "stack_names", lambda: ["good"])
    monkeypatch.setattr(config.stackfile, "fixture_names", lambda: ["broken"])
    monkeypatch.setattr(cli, "load", lambda stack: stacks[stack])
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["--all", "--scenario", "controller-reload"], out, err) == 1
    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("stack ")] == [
        "stack good: every property holds in every scenario (7 checks)",
        "stack broken: 1 of 7 checks fail",
    ]
    assert err.getvalue().startswith("error: broken controller-reload websocket-budget: t=30 s: ")
    assert err.getvalue().count("\n") == 1
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["--all", "--scenario", "cutover"], out, err) == 0
    assert (out.getvalue(), err.getvalue()) == (
        "stack good: cutover does not apply: it does not enable both ingress-nginx and Envoy Gateway "
        "(ingressController.enabled, gateway.enabled)\n"
        "stack broken: cutover does not apply: it does not enable both ingress-nginx and Envoy Gateway "
        "(ingressController.enabled, gateway.enabled)\n",
        "",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--all", "--stack", "production"], "error: --all and --stack: give one of them\n"),
        (["--all", "--stack=production"], "error: --all and --stack: give one of them\n"),
        (["--all", "--json"], "error: --all and --json: the JSON report is one stack's (give --stack)\n"),
    ],
)
def test_all_with_one_stack_or_json_is_bad_usage(
        argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _main(argv, monkeypatch) == (2, "", message)


# --- The known failure modes, on the stacks ------------------------------------------------------------


def _sentence(detail: str) -> str:
    """A failing property's sentence, without the count of corners and the first corner's delays."""
    return detail.split("; at ", 1)[0]


def test_pods_created_before_their_binding_are_targets_without_the_gate(plans: dict[str, Plan]) -> None:
    """aws-load-balancer-controller #2982: with the binding depending on the release (the order as it
    was), the release's pods are created first and never get the target-health readiness gate."""
    from dataclasses import replace as swap

    plan = plans["production"]
    binding = plan.get("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "ingress-targets")
    release = plan.get("kubernetes:helm.sh/v3:Release", "ingress")
    resources = []
    for r in plan.resources:
        if r is release:
            r = swap(r, depends_on=tuple(d for d in r.depends_on if d != binding.urn))
        elif r is binding:
            r = swap(r, depends_on=(release.urn,))
        resources.append(r)
    broken = load_topology(swap(plan, resources=resources))
    assert _sentence(failures(broken, "controller-reload")["readiness-gate-on-every-target"]) == (
        "t=0 s: ingress-nginx-controller-0 is a target of nginx without the target-health readiness gate: Helm "
        "release ingress-nginx does not wait for TargetGroupBinding ingress-nginx/ingress-nginx: its first pods are "
        "created before it, without the gate"
    )
    assert "readiness-gate-on-every-target" not in failures(load_topology(plan), "controller-reload")


def test_an_outage_of_the_load_balancer_controller_is_safe_only_with_a_webhook_that_fails_closed() -> None:
    """aws-load-balancer-controller #1124 through the outage: with failurePolicy Ignore the rollout's pods
    come up without gates, the old targets drain while the new ones are still initial."""
    from offline.engine import run_stack

    ignoring = load_topology(
        run_stack("production", {"cluster": {"loadBalancerController": {"podMutatorFailurePolicy": "Ignore"}}})
    )
    found = failures(ignoring, "lbc-outage")
    assert _sentence(found["readiness-gate-on-every-target"]) == (
        "t=60 s: ingress-nginx-controller-2 is a target of nginx without the target-health readiness gate: created "
        "while the readiness-gate webhook was down (its failurePolicy Ignore let the pod through)"
    )
    assert _sentence(found["healthy-target-always"]) == (
        "t=60 s: target group nginx has no healthy target until 90 s (ingress-nginx-controller-0: draining, "
        "ingress-nginx-controller-1: draining, ingress-nginx-controller-2: initial, ingress-nginx-controller-3: "
        "initial)"
    )
    failing = failures(load_topology(run_stack("production")), "lbc-outage")
    assert not {"readiness-gate-on-every-target", "healthy-target-always"} & set(failing)


@pytest.fixture(scope="module")
def production(plans: dict[str, Plan]) -> Topology:
    return load_topology(plans["production"])


def _fleet(topo: Topology, name: str, **changes: Any) -> Topology:
    return replace(topo, fleets={**topo.fleets, name: replace(topo.fleets[name], **changes)})


def _timeouts(topo: Topology, seconds: float) -> Topology:
    routes = [r if r.websocket else replace(r, timeout_s={NGINX: seconds}) for r in topo.routes]
    return replace(topo, routes=routes)


# (failure mode, scenario, the broken setting on production, the property that catches it)
FAILURE_MODES = [
    ("ingress-nginx #3639: nginx routes to a deleted pod before its sync (preStop 3 s)", "app-rollout",
     lambda t: _fleet(t, "spywatcher-backend", pre_stop_s=3.0), "no-request-after-sigterm"),
    ("aws-load-balancer-controller #1064, #1719: the ALB still sends after deregistration, preStop 10 s", "node-drain",
     lambda t: _fleet(t, "spywatcher-backend", pre_stop_s=10.0), "no-request-after-sigterm"),
    ("ingress-nginx #2461, #7115: a reload drops WebSockets (worker-shutdown-timeout 30 s)", "controller-reload",
     lambda t: _fleet(t, "ingress-nginx-controller", drain_s=30.0, grace_s=120.0), "websocket-budget"),
    ("ingress-nginx PR #5855: the controller stops before deregistration completes (no shutdown grace period)",
     "controller-rollout", lambda t: _fleet(t, "ingress-nginx-controller", shutdown_delay_s=0.0),
     "no-request-after-sigterm"),
    ("the deregistration's latency left out of the budget (margin 5 s)", "hpa-scale-down",
     lambda t: _fleet(t, "ingress-nginx-controller", shutdown_delay_s=65.0), "grace-covers-drain"),
    ("route timeouts beyond the grace period (nginx's 60 s)", "app-rollout",
     lambda t: _timeouts(t, 60.0), "requests-finish-before-sigkill"),
    ("aws-load-balancer-controller #2366, #3270: an NLB with the ALB's budget", "controller-rollout",
     lambda t: _behind_an_nlb(t, closes=False), "no-request-after-sigterm"),
]


def _behind_an_nlb(topo: Topology, closes: bool) -> Topology:
    """The topology behind a network load balancer, which closes a draining target's connections at the end
    of the delay (`closes`: connection termination) or leaves them to the proxy."""
    groups = {b: replace(g, closes_at_drain_end=closes) for b, g in topo.target_groups.items()}
    return replace(topo, load_balancer="network", target_groups=groups)


@pytest.mark.parametrize(("mode", "scenario", "broken", "caught"), FAILURE_MODES, ids=[m[0] for m in FAILURE_MODES])
def test_each_known_failure_mode_fails_on_its_broken_setting_and_holds_on_the_shipped_one(
        production: Topology, mode: str, scenario: str, broken: Any, caught: str) -> None:
    assert caught in failures(broken(production), scenario), mode
    assert failures(production, scenario) == {}


@pytest.mark.parametrize("stack", ["staging", "production", "all-options", "rollouts"])
def test_every_stack_holds_every_property_in_every_scenario(
        stack: str, plans: dict[str, Plan], fixture_plans: dict[str, Plan]) -> None:
    topo = load_topology(plans[stack] if stack in plans else fixture_plans[stack])
    results = [check_scenario(topo, s) for s in SCENARIOS.values() if s.applies(topo)]
    assert {(r.name, p.name): p.detail for r in results for p in r.properties if not p.holds} == {}
    # Both routing backends run in staging and all-options: the cutover is checked there too.
    assert len(results) == (7 if stack in ("staging", "all-options") else 6)


@pytest.fixture(scope="module")
def nlb() -> Topology:
    """Production behind a network load balancer, with the budget its config rules ask for."""
    from offline.engine import run_stack
    from tests.conftest import behind_nlb

    return load_topology(run_stack("production", behind_nlb()))


def test_an_nlb_leaves_a_draining_targets_connections_to_nginx_and_every_property_holds(nlb: Topology) -> None:
    """The rendered target group has no connection termination: nginx closes the connections itself when
    it quits, 60 s + 125 s after SIGTERM, once the NLB opens no new ones (123 s at the latest)."""
    assert (nlb.load_balancer, nlb.target_groups[NGINX].closes_at_drain_end) == ("network", False)
    results = [check_scenario(nlb, s) for s in SCENARIOS.values() if s.applies(nlb)]
    assert {(r.name, p.name): p.detail for r in results for p in r.properties if not p.holds} == {}


def test_an_nlb_that_resets_connections_at_the_end_of_the_delay_cuts_requests_nginx_still_takes(
        nlb: Topology) -> None:
    """With connection termination the NLB resets at 60 s a connection nginx keeps taking requests on until it
    quits (the clients' keep-alive connections): no margin fixes that, as nginx quits after the delay."""
    found = failures(_behind_an_nlb(nlb, closes=True), "hpa-scale-down")
    assert _sentence(found["requests-finish-before-sigkill"]) == (
        "t=60 s: ingress-nginx-controller-2's connections are cut while a request it took at 60 s may run until "
        "75 s (route frontend allows 15 s)"
    )


@pytest.mark.parametrize("stack", ["staging", "production", "all-options", "rollouts"])
def test_interior_points_of_the_delays_hold_where_both_ends_do(
        stack: str, plans: dict[str, Plan], fixture_plans: dict[str, Plan]) -> None:
    """The search runs only the ends of each delay: a sample of interior points (seeded) finds nothing the
    ends did not, in every scenario (and case) of every stack."""
    import random

    topo = load_topology(plans[stack] if stack in plans else fixture_plans[stack])
    picker = random.Random(20261207)
    for scenario in [s for s in SCENARIOS.values() if s.applies(topo)]:
        for case in scenario.cases(topo):
            names = discover(topo, scenario, case)
            for _ in range(40):
                values = {n: picker.uniform(DELAYS[n].low, DELAYS[n].high) for n in names}
                sim = new_sim(topo, scenario, Corner(values), case)
                found = {name: check(sim) for name, check in PROPERTIES.items()
                         if not (name == "ready-endpoints-within-budget" and scenario.name == "hpa-scale-down")}
                assert {name: v for name, v in found.items() if v} == {}, (scenario.name, case, values)


def test_a_stack_whose_settings_are_invalid_is_named_with_its_problem_and_exits_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from config import ConfigError, validate_settings
    from config.base import deep_merge
    from tests.conftest import MINIMAL_CONFIG

    try:
        validate_settings(deep_merge(MINIMAL_CONFIG, {"backend": {"containerPort": 0}}), set())
    except ConfigError as exc:
        error = exc

    def invalid(stack: str) -> Topology:
        raise error

    monkeypatch.setattr(cli, "load", invalid)
    code, out, err = _main(["--stack", "production"], monkeypatch)
    assert (code, out) == (2, "")
    assert err.startswith("error: stack production: invalid stack configuration (1 problem; keys are under "
                          "`spywatcher:`):\n")
    assert "backend.containerPort: 0 — must be at least 1" in err
