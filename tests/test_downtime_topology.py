"""What the zero-downtime model reads off a rendered stack, field by field: each number of a Fleet, a
Route and a CanaryPlan comes from one field of one rendered object, with the upstream default when the
field is absent. The staging plan is edited so that every value differs from its neighbours (replicas
from the HPA minimum, surge from unavailability, the release's replicaCount from its autoscaling
minimum), so a value read from the wrong field, or rounded the wrong way, shows."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from offline.engine import Plan
from simulate.downtime.topology import (
    ENVOY,
    NGINX,
    CanaryPlan,
    Fleet,
    Route,
    TargetGroup,
    TopologyError,
    _canary_plan,
    _hard_zone_spread,
    _probe_window,
    _resolve,
    _seconds,
    load_topology,
)

Edit = Callable[[dict[str, Any]], None]


def edited(plan: Plan, edits: dict[tuple[str, str], Edit], added: tuple[Any, ...] = ()) -> Plan:
    """``plan`` with the inputs of some objects changed: keys are (kind, metadata.name) for Kubernetes
    objects and ("Release", chart) for Helm releases."""
    resources = []
    for r in plan.resources:
        if r.is_kubernetes_object:
            key = (r.inputs["kind"], r.inputs["metadata"]["name"])
        elif r.type == "kubernetes:helm.sh/v3:Release":
            key = ("Release", r.inputs.get("chart"))
        else:
            key = ("", "")
        if key in edits:
            inputs = copy.deepcopy(r.inputs)
            edits[key](inputs)
            r = replace(r, inputs=inputs)
        resources.append(r)
    return replace(plan, resources=resources + list(added))


def _backend(d: dict[str, Any]) -> None:
    spec = d["spec"]
    spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "50%"}}
    spec["minReadySeconds"] = 7
    pod = spec["template"]["spec"]
    del pod["terminationGracePeriodSeconds"]  # Kubernetes' default: 30 s
    pod["containers"][0]["lifecycle"] = {"preStop": {"sleep": {"seconds": 20}}}
    for constraint in pod["topologySpreadConstraints"]:
        constraint["whenUnsatisfiable"] = "ScheduleAnyway"


def _frontend(d: dict[str, Any]) -> None:
    del d["spec"]["strategy"]  # Kubernetes' defaults: 25 % surge, 25 % unavailable


def _hpa(minimum: int, target: dict[str, str] | None = None) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        d["spec"]["minReplicas"] = minimum
        d["spec"]["maxReplicas"] = 9
        if target is not None:
            d["spec"]["scaleTargetRef"] = {"apiVersion": "argoproj.io/v1alpha1", **target}

    return edit


def _pdb_min(value: Any) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        d["spec"]["minAvailable"] = value

    return edit


def _elsewhere(d: dict[str, Any]) -> None:
    d["metadata"]["namespace"] = "another-namespace"


def _controller(values: dict[str, Any]) -> None:
    controller = values["values"]["controller"]
    controller["autoscaling"]["enabled"] = False  # minReplicas (2) stays, unused
    controller["replicaCount"] = 3
    controller["updateStrategy"] = {"rollingUpdate": {"maxSurge": "34%", "maxUnavailable": "34%"}}
    controller["minReadySeconds"] = 4
    del controller["terminationGracePeriodSeconds"]  # the chart's default: 300 s
    controller["minAvailable"] = "50%"
    controller["extraArgs"]["shutdown-grace-period"] = "1m5s"
    del controller["config"]["worker-shutdown-timeout"]  # ingress-nginx's default: 240s


def _envoy(d: dict[str, Any]) -> None:
    spec = d["spec"]
    del spec["shutdown"]  # Envoy Gateway's defaults: drainTimeout 60s, minDrainDuration 10s
    kube = spec["provider"]["kubernetes"]
    kube["envoyHpa"]["minReplicas"] = 3
    kube["envoyDeployment"]["replicas"] = 5
    kube["envoyPDB"] = {"minAvailable": "50%"}


def _timeouts(read: str, send: str) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        annotations = d["metadata"].setdefault("annotations", {})
        annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] = read
        annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] = send

    return edit


@pytest.fixture(scope="module")
def distinct(plans: dict[str, Plan]) -> Any:
    plan = plans["staging"]
    api = plan.get("kubernetes:networking.k8s.io/v1:Ingress", "routes-api")
    # A canary Ingress of the api route, to another Service and with shorter timeouts than the route's own.
    inputs = copy.deepcopy(api.inputs)
    inputs["metadata"]["name"] = "spywatcher-api-canary"
    inputs["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "spywatcher-frontend"
    _timeouts("5", "5")(inputs)
    canary = replace(api, name="routes-api-canary", urn=api.urn + "-canary", inputs=inputs)
    # An Argo Rollout of another name runs the backend's pods; the backend's HPA scales the Rollout.
    deployment = plan.get("kubernetes:apps/v1:Deployment", "backend-deployment")
    rollout = replace(deployment, type="kubernetes:argoproj.io/v1alpha1:Rollout", name="backend-rollout",
                      urn=deployment.urn + "-rollout", inputs={
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "spywatcher-backend-rollout", "namespace": "spywatcher-staging"},
        "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "spywatcher-backend"},
                 "strategy": {"canary": {"steps": [{"setWeight": 50}]}}},
    })
    # Settings no rendered object carries: a subnet listed twice (one zone), a socket route whose send
    # timeout is the longer one.
    settings = plan.settings
    lb = settings.load_balancer
    routes = [r.model_copy(update={"timeouts": r.timeouts.model_copy(update={"send_seconds": 7200})})
              if r.name == "socketio" else r for r in settings.routing.routes]
    settings = settings.model_copy(update={
        "load_balancer": lb.model_copy(update={"subnet_ids": [lb.subnet_ids[0], *lb.subnet_ids]}),
        "routing": settings.routing.model_copy(update={"routes": routes}),
    })
    return load_topology(replace(edited(plan, {
        ("Deployment", "spywatcher-backend"): _backend,
        ("Deployment", "spywatcher-frontend"): _frontend,
        ("HorizontalPodAutoscaler", "spywatcher-backend-hpa"): _hpa(
            3, {"kind": "Rollout", "name": "spywatcher-backend-rollout"}),
        ("HorizontalPodAutoscaler", "spywatcher-frontend-hpa"): _hpa(4),
        ("PodDisruptionBudget", "spywatcher-backend-pdb"): _pdb_min("50%"),
        ("PodDisruptionBudget", "spywatcher-frontend-pdb"): _elsewhere,
        ("Release", "ingress-nginx"): _controller,
        ("EnvoyProxy", "spywatcher-proxy"): _envoy,
        ("Ingress", "spywatcher-frontend"): _timeouts("20", "45"),
        ("Ingress", "spywatcher-api"): _timeouts("45", "20"),
    }, added=(canary, rollout)), settings=settings))


def test_an_app_fleet_reads_its_deployment_hpa_and_pdb(distinct: Any) -> None:
    # maxSurge rounds up, maxUnavailable down (kubernetes pkg/controller/deployment/util/deployment_util.go
    # ResolveFenceposts); a percentage minAvailable rounds up (pkg/controller/disruption, GetScaledValueFromIntOrPercent
    # with roundUp true): 50 % of 3 is 2 surge, 1 unavailable, 2 available.
    assert distinct.fleets["spywatcher-backend"] == Fleet(
        name="spywatcher-backend", kind="app", replicas=3, max_surge=2, max_unavailable=1, min_ready_s=7.0,
        probe_low_s=10.0, probe_high_s=15.0, pre_stop_s=20.0, grace_s=30.0, min_available=2, hpa_min=3,
        zone_spread_hard=False, canary=CanaryPlan((("weight", 50.0),), False, 30.0),
    )
    # No strategy: Kubernetes' 25 % / 25 % of 4 pods; its PDB is in another namespace: no budget.
    assert distinct.fleets["spywatcher-frontend"] == Fleet(
        name="spywatcher-frontend", kind="app", replicas=4, max_surge=1, max_unavailable=1, min_ready_s=0.0,
        probe_low_s=5.0, probe_high_s=10.0, pre_stop_s=15.0, grace_s=30.0, min_available=None, hpa_min=4,
        zone_spread_hard=True,
    )


def test_the_ingress_nginx_fleet_reads_the_releases_values_and_the_charts_defaults(distinct: Any) -> None:
    controller = distinct.fleets["ingress-nginx-controller"]
    assert controller == Fleet(
        name="ingress-nginx-controller", kind=NGINX, replicas=3, max_surge=2, max_unavailable=1, min_ready_s=4.0,
        probe_low_s=10.0, probe_high_s=20.0, pre_stop_s=0.0, grace_s=300.0, min_available=2, hpa_min=None,
        zone_spread_hard=True, backend=NGINX, gate_label=True, gated_at_install=True,
        install_order=controller.install_order, shutdown_delay_s=65.0, drain_s=240.0, post_shutdown_s=10.0,
    )
    assert distinct.reload_budget_s == 240.0


def test_the_envoy_fleet_reads_the_envoyproxy_and_envoy_gateways_defaults(distinct: Any) -> None:
    envoy = distinct.fleets["envoy-proxy"]
    # terminationGracePeriodSeconds = drainTimeout (60 s by default) + 300 s; minDrainDuration 10 s by default.
    assert envoy == Fleet(
        name="envoy-proxy", kind="envoy", replicas=3, max_surge=1, max_unavailable=0, min_ready_s=0.0,
        probe_low_s=0.0, probe_high_s=15.0, pre_stop_s=0.0, grace_s=360.0, min_available=2, hpa_min=3,
        zone_spread_hard=True, backend="envoy", gate_label=True, gated_at_install=True,
        install_order=envoy.install_order, shutdown_delay_s=10.0, drain_s=60.0,
    )


def test_a_routes_timeout_is_the_longest_of_read_and_send_over_its_ingresses_and_its_canary(distinct: Any) -> None:
    assert distinct.routes == [
        Route("frontend", ("spywatcher-frontend",), False, {NGINX: 45.0, ENVOY: 10.0}, 0.0),
        # the canary Ingress adds its Service's pods; its 5 s does not shorten the route's 45 s
        Route("api", ("spywatcher-backend", "spywatcher-frontend"), False, {NGINX: 45.0, ENVOY: 10.0}, 0.0),
        # an HTTPRoute request timeout of 0s is no timeout; a socket is owed the longer of read and send
        Route("socketio", ("spywatcher-backend",), True, {NGINX: 3600.0, ENVOY: math.inf}, 7200.0),
    ]


def test_the_target_groups_carry_the_listeners_weights_and_the_zones_are_distinct_subnets(distinct: Any) -> None:
    assert distinct.target_groups == {
        NGINX: TargetGroup(NGINX, "ingress-nginx-controller", 90, 60.0, 30.0, 2, 3),
        ENVOY: TargetGroup(ENVOY, "envoy-proxy", 10, 60.0, 30.0, 2, 3),
    }
    assert (distinct.load_balancer, distinct.zones, distinct.webhook_failure_policy, distinct.stickiness_s) == (
        "application", 2, "Fail", 10800.0)


@pytest.mark.parametrize(("value", "replicas", "round_up", "expected"), [
    ("25%", 5, True, 2), ("25%", 5, False, 1), ("50%", 3, False, 1), ("50%", 3, True, 2), (3, 5, False, 3),
    ("0%", 4, True, 0),
])
def test_a_percentage_resolves_against_the_replicas_rounding_as_asked(
        value: Any, replicas: int, round_up: bool, expected: int) -> None:
    assert _resolve(value, replicas, round_up) == expected


@pytest.mark.parametrize(("text", "seconds"), [
    (65, 65.0), ("65", 65.0), ("65s", 65.0), ("1m5s", 65.0), ("250ms", 0.25), ("1h", 3600.0), ("1.5s", 1.5),
    ("2m", 120.0),
])
def test_a_duration_reads_in_seconds(text: Any, seconds: float) -> None:
    assert _seconds(text) == seconds


def test_a_duration_without_a_number_is_refused() -> None:
    with pytest.raises(TopologyError) as error:
        _seconds("soon")
    assert str(error.value) == "not a duration: 'soon'"


def test_the_earliest_ready_waits_for_the_later_initial_delay_of_startup_and_readiness() -> None:
    readiness = {"initialDelaySeconds": 5, "periodSeconds": 10}
    assert _probe_window({"readinessProbe": readiness, "startupProbe": {"initialDelaySeconds": 12}})[0] == 12.0
    assert _probe_window({"readinessProbe": readiness})[0] == 5.0


@pytest.mark.parametrize(("key", "when", "hard"), [
    ("topology.kubernetes.io/zone", "DoNotSchedule", True),
    ("topology.kubernetes.io/zone", "ScheduleAnyway", False),
    ("kubernetes.io/hostname", "DoNotSchedule", False),
])
def test_only_a_zone_spread_that_refuses_to_schedule_is_hard(key: str, when: str, hard: bool) -> None:
    assert _hard_zone_spread([{"topologyKey": key, "whenUnsatisfiable": when, "maxSkew": 1}]) is hard


def _rollout(canary: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "spywatcher-backend", "namespace": "apps"}, "spec": {"strategy": {"canary": canary}}}


def _template(name: str, namespace: str, *metrics: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"metrics": list(metrics)}}


def test_a_canary_plan_reads_weights_pauses_and_the_longest_analysis_of_its_namespace() -> None:
    """An analysis waits for its longest metric's (count - 1) x interval (the first measurement is taken at
    once); a template of the same name in another namespace is not the step's; argo-rollouts v1.9.1
    defaults: no dynamicStableScale, scaleDownDelaySeconds 30."""
    rollout = _rollout({"steps": [
        {"setWeight": 20},
        {"pause": {"duration": "1m"}},
        {"analysis": {"templates": [{"templateName": "errors"}]}},
        {"setWeight": 60},
    ]})
    templates = [
        _template("errors", "apps", {"name": "rate", "count": 4, "interval": "30s"}, {"name": "once"}),
        _template("errors", "elsewhere", {"name": "rate", "count": 100, "interval": "1m"}),
    ]
    assert _canary_plan(rollout, templates) == CanaryPlan(
        (("weight", 20.0), ("wait", 60.0), ("wait", 90.0), ("weight", 60.0)), False, 30.0)
    given = _rollout({"steps": [], "dynamicStableScale": True, "scaleDownDelaySeconds": 5})
    assert _canary_plan(given, []) == CanaryPlan((), True, 5.0)


def test_a_pause_without_a_duration_is_refused() -> None:
    with pytest.raises(TopologyError) as error:
        _canary_plan(_rollout({"steps": [{"pause": {}}]}), [])
    assert str(error.value) == "Rollout spywatcher-backend: a pause without a duration waits for a person"
