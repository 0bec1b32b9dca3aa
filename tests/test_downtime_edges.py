"""The zero-downtime model (simulate/downtime) at its edges: timelines event by event where a rule's
arithmetic decides an instant (minReadySeconds, surge and unavailability, a canary's replica counts),
and each property at the value that just holds and the one just past it."""

from __future__ import annotations

from dataclasses import replace

from config.drain import DELAYS
from simulate.downtime.backends import BACKENDS
from simulate.downtime.model import NEVER, Corner, Proxy, Sim, Target
from simulate.downtime.scenarios import SCENARIOS, new_sim
from simulate.downtime.search import discover
from simulate.downtime.topology import NGINX, TargetGroup, Topology
from simulate.pods import Pod
from tests.test_downtime import API, BACKEND, CONTROLLER, SOCKETS, failures, topology


def _run(topo: Topology, scenario: str, end: str = "low", given: dict[str, float] | None = None) -> Sim:
    """``scenario`` with every delay it reads at ``end``, but those ``given``."""
    names = discover(topo, SCENARIOS[scenario], "")
    values = {n: getattr(DELAYS[n], end) for n in names} | (given or {})
    return new_sim(topo, SCENARIOS[scenario], Corner(values))


def _timeline(sim: Sim, prefix: str) -> list[tuple[float, str, str]]:
    return sorted((e.t, e.what, e.objects[0]) for e in sim.events
                  if len(e.objects) == 1 and e.objects[0].startswith(prefix))


def test_a_rolling_update_removes_an_old_pod_only_min_ready_seconds_after_the_new_one_is_ready() -> None:
    """rolling.go counts a pod available minReadySeconds after Ready; maxUnavailable 0 keeps 2 available."""
    sim = _run(topology(backend=replace(BACKEND, min_ready_s=5.0)), "app-rollout")
    assert _timeline(sim, "spywatcher-backend") == [
        (0.0, "created", "spywatcher-backend-2"),
        (10.0, "Ready", "spywatcher-backend-2"),
        (15.0, "created", "spywatcher-backend-3"),
        (15.0, "deleted (rollout)", "spywatcher-backend-1"),
        (25.0, "Ready", "spywatcher-backend-3"),
        (30.0, "SIGTERM", "spywatcher-backend-1"),
        (30.0, "deleted (rollout)", "spywatcher-backend-0"),
        (45.0, "SIGKILL (grace period over)", "spywatcher-backend-1"),
        (45.0, "SIGTERM", "spywatcher-backend-0"),
        (60.0, "SIGKILL (grace period over)", "spywatcher-backend-0"),
    ]


def test_a_target_registered_by_the_reconcile_that_deregisters_it_never_was_one() -> None:
    """The AWS Load Balancer Controller reconciles the endpoints as they are when it acts: a pod that
    is gone by the reconcile that would register it is never a target; one registered a moment
    earlier drains from that reconcile (propagation 10 s, deregistration delay 60 s)."""
    topo = topology()
    backends = {b: BACKENDS[b] for b in topo.target_groups}
    sim = Sim(topo, Corner({"lbc.reconcile": 2.0, "alb.propagation": 10.0}), backends)
    sim.lbc_down = (0.0, 60.0)  # the controller acts on what it saw at 30 s only at 60 + 2 s
    same = Target("p", NGINX, registered=62.0, healthy=80.0)
    sim.deregister(same, 30.0)
    assert same == Target("p", NGINX)
    assert (same.registered, same.healthy, same.deregistered) == (NEVER, NEVER, NEVER)
    earlier = Target("p", NGINX, registered=61.5, healthy=80.0)
    sim.deregister(earlier, 30.0)
    assert earlier == Target("p", NGINX, registered=61.5, healthy=80.0, deregistered=62.0, stop_new=72.0,
                             drain_end=132.0)


def test_a_target_that_stops_answering_turns_unhealthy_after_unhealthy_threshold_failed_checks() -> None:
    """First check up to one interval after it stops, then unhealthyThreshold (3) failures 30 s apart:
    healthy until the third failure, unhealthy from it; a target draining already keeps its state."""
    topo = topology()  # interval 30 s, healthyThreshold 2, unhealthyThreshold 3
    sim = Sim(topo, Corner({"tg.first_check": 1.0}), {b: BACKENDS[b] for b in topo.target_groups})
    target = Target("p", NGINX, registered=0.0, healthy=10.0)
    sim.stop_answering(target, 100.0)
    assert target.unhealthy == 100.0 + 30.0 + 2 * 30.0
    assert (target.is_healthy(189.9), target.is_healthy(190.0)) == (True, False)
    assert (target.is_healthy(9.9), target.is_healthy(10.0)) == (False, True)
    draining = Target("p", NGINX, registered=0.0, healthy=10.0, deregistered=100.0)
    sim.stop_answering(draining, 100.0)
    assert draining.unhealthy == NEVER
    late = Target("p", NGINX, registered=0.0, healthy=10.0, deregistered=100.5)
    sim.stop_answering(late, 100.0)
    assert late.unhealthy == 190.0


def test_a_request_that_may_run_exactly_until_sigkill_is_not_killed_mid_flight() -> None:
    """SIGKILL at 40 s (grace 30 s after deletion at 10 s). With a 30 s route timeout, a request taken
    at 10 s may run until 40 s, which is not past the kill: only the corners whose last request came
    later (11 s and on) fail, 20 of the 32."""
    found = failures(topology(routes=(replace(API, timeout_s={NGINX: 30.0}), SOCKETS)), "app-rollout")
    assert found == {"requests-finish-before-sigkill": (
        "t=40 s: spywatcher-backend-1 is killed while a request it took at 11 s through ingress-nginx-controller-0 "
        "may run until 41 s (route api allows 30 s); at 20 of 32 corners, first at app.socket_close=0, "
        "k8s.endpoints=1, kubelet.notice=0, nginx.sync=0, nginx.worker_pickup=0, pod.start=0, probe.phase=0"
    )}


def test_the_reconnect_storm_bound_is_the_largest_share_one_replica_holds() -> None:
    """Sockets closed before their budget within 5 s may be at most one replica's share, of the socket
    routes' app fleet or of a proxy fleet, whichever is larger: with 2 backend replicas behind 4
    controllers, a backend pod's half of the sockets is within it; 3 backend replicas on 2 zones
    under a hard spread lose 2 pods to one node drain, two thirds of the sockets, above the
    controllers' half (2 replicas)."""
    assert failures(topology(controller=replace(CONTROLLER, replicas=4, hpa_min=4)), "app-rollout") == {}
    found = failures(topology(backend=replace(BACKEND, replicas=3, hpa_min=3)), "node-drain")
    assert found == {"websocket-budget": (
        "t=15 s: 66% of the sockets are closed before their budget within 5 s (at most 50%, one replica's share): "
        "ingress-nginx-controller-0 → spywatcher-backend-0, ingress-nginx-controller-0 → spywatcher-backend-1, "
        "ingress-nginx-controller-1 → spywatcher-backend-0, ingress-nginx-controller-1 → spywatcher-backend-1; "
        "at 512 of 512 corners, first at alb.propagation=0, app.socket_close=0, k8s.endpoints=0, kubelet.notice=0, "
        "lbc.health_poll=0, lbc.reconcile=0, nginx.sync=0, nginx.worker_pickup=0, pod.start=0, probe.phase=0, "
        "tg.first_check=0"
    )}


def test_an_endpoint_is_ready_from_the_pods_ready_until_its_deletion_each_seen_k8s_endpoints_later() -> None:
    """The EndpointSlice shows a change k8s.endpoints (here 1 s) after it: ready from Ready + 1 s,
    terminating from deletion + 1 s (the instant itself is the new state)."""
    topo = topology()
    sim = Sim(topo, Corner({"k8s.endpoints": 1.0}), {b: BACKENDS[b] for b in topo.target_groups})
    pod = Pod(0, created=0.0, started=1.0, running=2.0, ready=10.0, deleted=50.0, name="p")
    assert [sim.endpoint_ready(pod, t) for t in (10.0, 10.5, 11.0, 50.0, 50.5, 51.0)] == [
        False, False, True, True, True, False]


def test_ready_endpoints_at_min_available_hold_and_one_below_is_reported() -> None:
    """maxUnavailable 1 of 2 replicas leaves 1 ready endpoint: within a budget of minAvailable 1,
    one below a budget of minAvailable 2."""
    at_bound = replace(BACKEND, max_unavailable=1, max_surge=0, min_available=1)
    assert failures(topology(backend=at_bound), "app-rollout") == {}
    below = replace(BACKEND, max_unavailable=1, max_surge=0, min_available=2)
    assert failures(topology(backend=below), "app-rollout") == {"ready-endpoints-within-budget": (
        "t=0 s: spywatcher-backend has 1 ready endpoints (spywatcher-backend-0), below the PodDisruptionBudget's "
        "minAvailable, 2; at 32 of 32 corners, first at app.socket_close=0, k8s.endpoints=0, kubelet.notice=0, "
        "nginx.sync=0, nginx.worker_pickup=0, pod.start=0, probe.phase=0"
    )}


def test_a_prestop_as_long_as_the_grace_period_is_cut_short() -> None:
    """A 30 s preStop in a 30 s grace period: the kubelet abandons the hook when the period ends, sends
    SIGTERM then and SIGKILL 2 s later; 0.1 s shorter, the hook ends on its own and nothing is reported."""
    found = failures(topology(backend=replace(BACKEND, pre_stop_s=30.0, grace_s=30.0)), "app-rollout")
    assert found["grace-covers-drain"] == (
        "t=40 s: spywatcher-backend-1's preStop is cut short by the end of its grace period (30 s); SIGKILL follows "
        "at 42 s; at 32 of 32 corners, first at app.socket_close=0, k8s.endpoints=0, kubelet.notice=0, nginx.sync=0, "
        "nginx.worker_pickup=0, pod.start=0, probe.phase=0"
    )
    assert failures(topology(backend=replace(BACKEND, pre_stop_s=29.9, grace_s=30.0)), "app-rollout") == {}


def test_a_proxy_frozen_the_instant_it_learns_a_pod_went_has_learnt_it() -> None:
    """ingress-nginx drops every update once told to stop (frozen). An app pod deleted at 50 s reaches
    its upstreams at 54 s (EndpointSlice 1 s, sync 2 s, workers 1 s): a controller frozen at 54 s has
    it removed then; one frozen just before keeps sending it requests for good."""
    topo = topology()

    def view(frozen: float) -> tuple[float, float]:
        corner = Corner({"k8s.endpoints": 1.0, "nginx.sync": 2.0, "nginx.worker_pickup": 1.0})
        sim = Sim(topo, corner, {b: BACKENDS[b] for b in topo.target_groups})
        controller = Pod(0, created=0.0, started=0.0, running=0.0, ready=0.0, name="controller-0")
        sim.containers_ready[controller.name] = 0.0
        app = Pod(1, created=0.0, started=1.0, running=2.0, ready=10.0, deleted=50.0, name="app-1")
        return sim.view(Proxy(controller, CONTROLLER, frozen=frozen), app)

    assert view(54.0) == (14.0, 54.0)
    assert view(53.5) == (14.0, NEVER)
    assert view(NEVER) == (14.0, 54.0)


def test_a_refused_eviction_is_retried_every_5_s_until_the_drain_has_waited_1800_s() -> None:
    """kubectl drain retries an eviction the budget refuses (EvictErrorRetryDelay 5 s); the model
    gives up once 1800 s have passed since the first refusal: the retry at 1800 s is not made."""
    sim = _run(topology(backend=replace(BACKEND, min_available=2)), "node-drain")
    refused = [e.t for e in sim.events if e.objects == ("spywatcher-backend-0",) and e.what.startswith("eviction")]
    assert refused == [5.0 * i for i in range(360)]  # 0 s … 1795 s
    assert sim.blocked == [("spywatcher-backend-0", 0.0)]


def test_a_new_controller_pod_is_registered_then_healthy_then_ready_through_its_gate() -> None:
    """controller-rollout at the low end: the new pod's target is registered once its containers run
    (10 s), healthy after the group's second check 30 s later (healthy threshold 2, the first check at
    once), and the readiness gate turns True at the controller's next poll (0 s at the low end)."""
    sim = _run(topology(), "controller-rollout")
    assert _timeline(sim, "ingress-nginx-controller-3") == [
        (40.0, "created", "ingress-nginx-controller-3"),
        (50.0, "registered: initial", "ingress-nginx-controller-3"),
        (80.0, "Ready (readiness gate True)", "ingress-nginx-controller-3"),
        (80.0, "target healthy", "ingress-nginx-controller-3"),
    ]


def test_a_new_targets_first_check_comes_up_to_one_interval_after_its_registration() -> None:
    """controller-rollout with the target group's first check of a new target a whole interval (30 s)
    after its registration at 10 s: healthy at the second check, 10 + 30 + 30 s, and Ready through its
    gate then; the next pod is created only then."""
    sim = _run(topology(), "controller-rollout", given={"tg.first_check": DELAYS["tg.first_check"].high})
    assert _timeline(sim, "ingress-nginx-controller-2") == [
        (0.0, "created", "ingress-nginx-controller-2"),
        (10.0, "registered: initial", "ingress-nginx-controller-2"),
        (70.0, "Ready (readiness gate True)", "ingress-nginx-controller-2"),
        (70.0, "target healthy", "ingress-nginx-controller-2"),
    ]
    assert (70.0, "created", "ingress-nginx-controller-3") in _timeline(sim, "ingress-nginx-controller-3")


def test_a_socket_app_pod_killed_within_its_socket_close_of_sigterm_is_reported() -> None:
    """The kubelet leaves at least 2 s between SIGTERM and SIGKILL, more than app.socket_close's 1 s: with
    an app that took 3 s to close its sockets, SIGTERM at 38 s (a 28 s preStop in a 30 s grace period) and
    SIGKILL at 40 s would kill it with its sockets open; SIGTERM at 36.9 s would not. A pod behind no socket
    route has no sockets to close."""
    import pytest

    late = replace(BACKEND, pre_stop_s=28.0, grace_s=30.0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(DELAYS, "app.socket_close", replace(DELAYS["app.socket_close"], high=3.0))
        assert failures(topology(backend=late), "app-rollout")["grace-covers-drain"] == (
            "t=40 s: spywatcher-backend-1 is killed before it has closed its sockets (SIGTERM at 38 s); at 16 of "
            "32 corners, first at app.socket_close=3, k8s.endpoints=0, kubelet.notice=0, nginx.sync=0, "
            "nginx.worker_pickup=0, pod.start=0, probe.phase=0"
        )
        assert "grace-covers-drain" not in failures(topology(backend=replace(late, pre_stop_s=26.9)), "app-rollout")
        assert "grace-covers-drain" not in failures(topology(backend=late, routes=(API,)), "app-rollout")
        # Closing at the very instant of SIGKILL is too late as well.
        patch.setitem(DELAYS, "app.socket_close", replace(DELAYS["app.socket_close"], high=2.0))
        assert "grace-covers-drain" in failures(topology(backend=late), "app-rollout")


def test_a_rolling_update_counts_a_ready_pod_only_once_it_is_available() -> None:
    """rolling.go scales the old ReplicaSet down by the *available* pods: a new pod Ready at 10 s with
    minReadySeconds 20 lets no old pod go at 15 s, and one at 30 s."""
    from simulate.downtime.strategies import RollingUpdate

    topo = topology(backend=replace(BACKEND, min_ready_s=20.0))
    fleet = topo.fleets["spywatcher-backend"]
    sim = Sim(topo, Corner(), {b: BACKENDS[b] for b in topo.target_groups})
    sim.add_initial(fleet, 2)
    rolling = RollingUpdate()
    rolling.step(sim, fleet)
    new = sim.alive(fleet, 0.0, revision=1)
    assert [p.name for p in new] == ["spywatcher-backend-2"]
    sim.turn_ready(new[0], 10.0)
    sim.now = 15.0
    rolling.step(sim, fleet)
    assert [p.name for p in sim.alive(fleet, 15.0)] == [
        "spywatcher-backend-0", "spywatcher-backend-1", "spywatcher-backend-2"]
    sim.now = 30.0
    rolling.step(sim, fleet)
    assert [p.name for p in sim.alive(fleet, 30.0)] == ["spywatcher-backend-0", "spywatcher-backend-2"]


def test_a_canary_scales_by_ceilings_of_the_weight_and_keeps_the_stable_until_the_scale_down_delay() -> None:
    """argo-rollouts v1.9.1 CalculateReplicaCountsForTrafficRoutedCanary: at 10 % of 3 replicas the canary
    has ceil(0.3) = 1 pod and, with dynamicStableScale, the stable keeps ceil(2.7) = 3; at 100 % the stable
    is not scaled by the weight: its pods go scaleDownDelaySeconds (30 s) after the promotion."""
    from simulate.downtime.topology import CanaryPlan

    canary = CanaryPlan((("weight", 10.0),), True, 30.0)
    sim = _run(topology(backend=replace(BACKEND, replicas=3, hpa_min=3, canary=canary)), "app-rollout")
    assert [(t, what, pod) for t, what, pod in _timeline(sim, "spywatcher-backend") if what != "SIGTERM"
            and not what.startswith("SIGKILL")] == [
        (0.0, "created", "spywatcher-backend-3"),
        (10.0, "Ready", "spywatcher-backend-3"),
        (10.0, "created", "spywatcher-backend-4"),
        (10.0, "created", "spywatcher-backend-5"),
        (20.0, "Ready", "spywatcher-backend-4"),
        (20.0, "Ready", "spywatcher-backend-5"),
        (20.0, "canary promoted: stable Service moved, old pods deleted at 50 s", "spywatcher-backend"),
        (50.0, "deleted (canary promoted: old stable scaled down)", "spywatcher-backend-0"),
        (50.0, "deleted (canary promoted: old stable scaled down)", "spywatcher-backend-1"),
        (50.0, "deleted (canary promoted: old stable scaled down)", "spywatcher-backend-2"),
    ]


def test_a_canary_pause_ends_at_its_instant_and_the_rollout_goes_on() -> None:
    """A pause of 60 s begun at 10 s is over at 70 s: the canary goes to full size then (and is promoted
    once that pod is available); it does not wait for another event that never comes."""
    from simulate.downtime.topology import CanaryPlan

    canary = CanaryPlan((("weight", 50.0), ("wait", 60.0)), False, 30.0)
    sim = _run(topology(backend=replace(BACKEND, canary=canary)), "app-rollout")
    events = _timeline(sim, "spywatcher-backend")
    assert [(t, what) for t, what, _ in events if "canary" in what or what == "created"] == [
        (0.0, "created"),
        (10.0, "canary step 1: waits 60 s"),
        (70.0, "created"),
        (80.0, "canary promoted: stable Service moved, old pods deleted at 110 s"),
        (110.0, "deleted (canary promoted: old stable scaled down)"),
        (110.0, "deleted (canary promoted: old stable scaled down)"),
    ]


def test_a_prestop_longer_than_the_grace_period_ends_in_sigterm_and_sigkill_comes_2_s_later() -> None:
    """The grace period counts from the hook's start (kubelet notice 1 s after deletion at 10 s): a 40 s
    hook in a 30 s grace period is cut at 41 s with SIGTERM, and SIGKILL comes 2 s later, the least the
    kubelet leaves after SIGTERM; a 29 s hook ends at 40 s and SIGKILL again waits 2 s, past the period's
    end; a 15 s hook leaves the period's end to SIGKILL."""
    from simulate.pods import Shutdown

    pod = Pod(0, created=0.0, started=0.0, running=0.0, ready=0.0)
    Shutdown(pre_stop_s=40.0, grace_s=30.0).stop(pod, 10.0, 1.0)
    assert (pod.deleted, pod.sigterm, pod.sigkill) == (10.0, 41.0, 43.0)
    Shutdown(pre_stop_s=29.0, grace_s=30.0).stop(pod, 10.0, 1.0)
    assert (pod.deleted, pod.sigterm, pod.sigkill) == (10.0, 40.0, 42.0)
    Shutdown(pre_stop_s=28.0, grace_s=30.0).stop(pod, 10.0, 1.0)
    assert (pod.deleted, pod.sigterm, pod.sigkill) == (10.0, 39.0, 41.0)
    Shutdown(pre_stop_s=15.0, grace_s=30.0).stop(pod, 10.0, 1.0)
    assert (pod.deleted, pod.sigterm, pod.sigkill) == (10.0, 26.0, 41.0)


def test_a_chain_moves_both_ends_when_any_of_its_delays_has_two() -> None:
    """pod.start and probe.phase move together; a chain whose second delay had a single value would still
    run both ends of the first."""
    import pytest

    from simulate.downtime.search import corners

    with pytest.MonkeyPatch.context() as patch:
        fixed = replace(DELAYS["probe.phase"], low=0.5, high=0.5)
        patch.setitem(DELAYS, "probe.phase", fixed)
        assert corners(("pod.start", "probe.phase")) == [
            {"pod.start": DELAYS["pod.start"].low, "probe.phase": 0.5},
            {"pod.start": DELAYS["pod.start"].high, "probe.phase": 0.5},
        ]


def test_the_example_run_of_a_scenario_that_holds_is_the_one_at_the_high_ends() -> None:
    from simulate.downtime.search import check_scenario

    result = check_scenario(topology(), SCENARIOS["app-rollout"])
    assert all(p.holds for p in result.properties)
    assert result.example is not None
    assert result.example.corner.values == {n: DELAYS[n].high for n in result.delays}


def test_a_pod_not_yet_ready_is_evicted_without_counting_against_the_budget() -> None:
    """Evicting a pod that is not Ready takes nothing from the healthy pods the PodDisruptionBudget counts
    (the program's budgets set unhealthyPodEvictionPolicy AlwaysAllow): with minAvailable 2 and exactly 2
    Ready pods, the unready third goes at once, while a Ready one is refused."""
    from simulate.downtime.scenarios import _evict

    topo = topology(backend=replace(BACKEND, min_available=2))
    fleet = topo.fleets["spywatcher-backend"]
    sim = Sim(topo, Corner(), {b: BACKENDS[b] for b in topo.target_groups})
    ready = sim.add_initial(fleet, 2)
    sim.create(fleet, 0.0, revision=0)
    starting = sim.alive(fleet, 0.0)[2]
    _evict(sim, fleet, starting)
    assert starting.deleted == 0.0
    _evict(sim, fleet, ready[0])
    assert ready[0].deleted == NEVER
    assert (sim.events[-1].what, sim.events[-1].objects) == (
        "eviction refused (PodDisruptionBudget), retried", ("spywatcher-backend-0",))


def test_a_target_group_without_its_timings_gets_the_providers_defaults() -> None:
    """A target group that leaves out its deregistration delay and health-check timings gets what the
    provider sends then (terraform-provider-aws elbv2/target_group.go schema defaults): 300 s, every
    30 s, 3 checks to turn healthy and 3 to turn unhealthy; the program's own values otherwise."""
    from offline.engine import run_stack
    from simulate.downtime.topology import load_topology

    plan = run_stack("production")
    fleet = "ingress-nginx-controller"
    assert load_topology(plan).target_groups[NGINX] == TargetGroup(NGINX, fleet, 100, 60.0, 30.0, 2, 3)
    resources = []
    for r in plan.resources:
        if r.type == "aws:lb/targetGroup:TargetGroup":
            inputs = {k: v for k, v in r.inputs.items() if k != "deregistrationDelay"}
            inputs["healthCheck"] = {k: v for k, v in inputs["healthCheck"].items()
                                     if k not in ("interval", "healthyThreshold", "unhealthyThreshold")}
            r = replace(r, inputs=inputs)
        resources.append(r)
    bare = load_topology(replace(plan, resources=resources)).target_groups[NGINX]
    assert bare == TargetGroup(NGINX, fleet, 100, 300.0, 30.0, 3, 3)


def test_an_outage_of_the_load_balancer_controller_is_logged_at_both_ends() -> None:
    sim = new_sim(topology(), SCENARIOS["lbc-outage"], Corner({"lbc.outage": 90.0}))
    assert [(e.t, e.what) for e in sim.events if e.what.startswith("AWS Load Balancer Controller")] == [
        (0.0, "AWS Load Balancer Controller down (webhook and reconciler)"),
        (90.0, "AWS Load Balancer Controller back"),
    ]
