"""offline/rollout_rules.py: what Argo Rollouts and Pulumi must agree on, each rule shown broken on
a copy of a real plan (production with `rollouts.enabled`), and quiet on every rendered stack."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offline.engine import Plan, Registration, run_stack
from offline.rollout_rules import SOURCES, check_rollouts
from offline.rules import check_plan
from tests.upstream import upstream_file

NS = "spywatcher"
ROLLOUT = f"Rollout {NS}/spywatcher-backend"


@pytest.fixture(scope="module")
def production() -> Plan:
    return run_stack("production", {"rollouts": {"enabled": True}})


def edited(plan: Plan, kind: str, name: str, change: Callable[[Registration], None]) -> Plan:
    copied = copy.deepcopy(plan)
    [target] = [r for r in copied.resources if r.is_kubernetes_object and r.inputs["kind"] == kind
                and r.inputs["metadata"]["name"] == name]
    change(target)
    return copied


def _why(rule: str) -> str:
    s = SOURCES[rule]
    return f"{s.repository} {s.path} @ {s.tag}"


def test_rendered_stacks_break_no_rule(production: Plan, plans: dict[str, Plan],
                                       fixture_plans: dict[str, Plan]) -> None:
    for plan in (production, *plans.values(), *fixture_plans.values()):
        assert check_rollouts(plan) == []
    assert check_plan(production, production.settings.existing_objects()) == []


def _set(path: str, value: Any) -> Callable[[Registration], None]:
    def change(r: Registration) -> None:
        node = r.inputs
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return change


def _drop_ignore(r: Registration) -> None:
    r.ignore_changes = ()


def _hpa_on_deployment(r: Registration) -> None:
    r.inputs["spec"]["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "spywatcher-backend"}


@pytest.mark.parametrize(
    ("kind", "name", "change", "problem"),
    [
        ("Rollout", "spywatcher-backend", _set("spec.replicas", 3),
         f"{ROLLOUT} sets spec.replicas: the HPA owns it through the scale subresource ({_why('replicas')})"),
        ("Deployment", "spywatcher-backend", _set("spec.replicas", 3),
         f"Deployment {NS}/spywatcher-backend sets spec.replicas, but {ROLLOUT} runs its pods and the controller "
         f"scales it to 0: every `pulumi up` would start them again ({_why('replicas')})"),
        ("HorizontalPodAutoscaler", "spywatcher-backend-hpa", _hpa_on_deployment,
         f"HorizontalPodAutoscaler {NS}/spywatcher-backend-hpa scales Deployment {NS}/spywatcher-backend, which "
         f"{ROLLOUT} runs: it must scale the Rollout ({_why('hpa')})"),
        ("Service", "spywatcher-backend-canary", _drop_ignore,
         f"Service {NS}/spywatcher-backend-canary is {ROLLOUT}'s, which owns its spec.selector: it needs "
         f"ignoreChanges [spec.selector] ({_why('selector')})"),
        ("Rollout", "spywatcher-backend",
         _set("spec.strategy.canary.trafficRouting.nginx.stableIngress", "spywatcher-www"),
         f"{ROLLOUT} routes through Ingress {NS}/spywatcher-www, which is not rendered ({_why('ingress')})"),
        ("Ingress", "spywatcher-api", _set("spec.rules", [{"host": "api.spywatcher.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "spywatcher-backend",
                                                                        "port": {"number": 3001}}}}]}}]),
         f"Ingress {NS}/spywatcher-api sends to no path of stableService spywatcher-backend-stable: the controller "
         f"refuses it ({_why('ingress')})"),
        ("Ingress", "spywatcher-frontend", _set("metadata.name", "spywatcher-backend-spywatcher-api-canary"),
         f"Ingress {NS}/spywatcher-backend-spywatcher-api-canary has the name of {ROLLOUT}'s canary Ingress, which "
         f"the controller owns ({_why('ingress')})"),
        ("Service", "spywatcher-backend-socketio", _set("spec.selector", {
            "app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/instance": "spywatcher-production",
            "app.kubernetes.io/component": "backend"}),
         f"Service {NS}/spywatcher-backend-socketio is a route's and selects {ROLLOUT}'s pods without its stable "
         "labels {'spywatcher.io/track': 'stable'}: it would send requests to canary pods outside the canary's "
         f"weight ({_why('stable')})"),
        ("PodDisruptionBudget", "spywatcher-backend-pdb", _set("spec.selector.matchLabels", {
            "app.kubernetes.io/component": "backend"}),
         f"PodDisruptionBudget {NS}/spywatcher-backend-pdb counts {ROLLOUT}'s canary pods: a drain could leave only "
         "canary pods; select its stable labels {'spywatcher.io/track': 'stable'} " f"({_why('stable')})"),
        ("Ingress", "spywatcher-api", _set("spec.ingressClassName", "internal-nginx"),
         f"Ingress {NS}/spywatcher-api has ingress class 'internal-nginx', which the Argo Rollouts controller does "
         "not treat as nginx (--nginx-ingress-classes: nginx): a change of it would not reach "
         f"{ROLLOUT}'s canary Ingress ({_why('ingress-class')})"),
        ("Ingress", "spywatcher-api", _set("metadata.annotations", {"kubernetes.io/ingress.class": "internal"}),
         f"Ingress {NS}/spywatcher-api has ingress class 'internal', which the Argo Rollouts controller does "
         "not treat as nginx (--nginx-ingress-classes: nginx): a change of it would not reach "
         f"{ROLLOUT}'s canary Ingress ({_why('ingress-class')})"),
        ("AnalysisTemplate", "spywatcher-backend-canary", _set("metadata.name", "other"),
         f"{ROLLOUT} step 1 runs AnalysisTemplate {NS}/spywatcher-backend-canary, which is not rendered "
         f"({_why('analysis')})"),
        ("AnalysisTemplate", "spywatcher-backend-canary", _set("spec.args", [{"name": "canary-hash"},
                                                                             {"name": "service"}]),
         f"{ROLLOUT} step 1 gives AnalysisTemplate {NS}/spywatcher-backend-canary no value for service "
         f"({_why('analysis')})"),
    ],
)
def test_each_rule_reports_what_breaks_it(production: Plan, kind: str, name: str,
                                          change: Callable[[Registration], None], problem: str) -> None:
    problems = check_rollouts(edited(production, kind, name, change))
    assert problem in problems, problems


def test_a_manual_canary_of_the_same_paths_is_a_second_canary(production: Plan) -> None:
    def canary(r: Registration) -> None:
        r.inputs["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/canary": "true"}
        r.inputs["spec"]["rules"] = copy.deepcopy(production.k8s("Ingress", "spywatcher-api", NS)["spec"]["rules"])

    problems = check_rollouts(edited(production, "Ingress", "spywatcher-frontend", canary))
    assert (f"Ingress {NS}/spywatcher-frontend is a second canary of Ingress {NS}/spywatcher-api's paths: "
            f"ingress-nginx serves one canary per host and path, and {ROLLOUT} manages its own") in problems


def test_render_check_reports_a_rule_as_a_pulumi_up_problem(production: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = edited(production, "Rollout", "spywatcher-backend", _set("spec.replicas", 2))
    assert any("sets spec.replicas" in p for p in check_plan(broken, [("Secret", NS, "spywatcher-backend-secrets")]))


def test_the_service_selector_is_atomic_in_the_kubernetes_schema() -> None:
    """Why the stable and canary Services need ignoreChanges: the API server treats the selector as
    one value, so the manager that last changed any key owns all of it."""
    import glob

    import kubernetes_validate

    root = kubernetes_validate.__file__.rsplit("/", 1)[0]
    [definitions] = glob.glob(f"{root}/kubernetes-json-schema/v1.34*-local-strict/_definitions.json")
    spec = json.loads(Path(definitions).read_text())["$defs"]["io.k8s.api.core.v1.ServiceSpec"]
    assert spec["properties"]["selector"]["x-kubernetes-map-type"] == "atomic"


def test_the_rollout_crd_has_the_scale_subresource_the_hpa_uses() -> None:
    import yaml

    path = upstream_file("crds/argoproj.io_rollouts.yaml")
    if path is None:
        pytest.skip("no upstream CRDs on this machine")
    crd = yaml.safe_load(path.read_text())
    [version] = crd["spec"]["versions"]
    assert version["subresources"]["scale"] == {"labelSelectorPath": ".status.selector",
                                                "specReplicasPath": ".spec.replicas",
                                                "statusReplicasPath": ".status.HPAReplicas"}


@pytest.mark.parametrize(
    ("args", "classes"),
    [
        ([], ("nginx",)),
        (["--namespace=spywatcher"], ("nginx",)),
        (["--nginx-ingress-classes=internal"], ("internal",)),
        (["--nginx-ingress-classes", "a", "--nginx-ingress-classes=b"], ("a", "b")),
        (["--nginx-ingress-classes=a,b"], ("a,b",)),  # a string array: no splitting on commas
    ],
)
def test_the_controllers_nginx_classes_are_read_from_its_arguments(args: list[str], classes: tuple[str, ...]) -> None:
    from offline.rollout_rules import nginx_classes

    assert nginx_classes(args) == classes


def test_the_controller_follows_the_routes_ingress_class() -> None:
    """With an IngressClass of its own, the controller is told it is nginx, and no rule breaks."""
    plan = run_stack("production", {"rollouts": {"enabled": True}, "ingressController": {"ingressClass": "edge"}})
    [release] = [r for r in plan.resources if r.type == "kubernetes:helm.sh/v3:Release"
                 and r.inputs["chart"] == "argo-rollouts"]
    assert release.inputs["values"]["controller"]["extraArgs"] == [
        "--namespace=spywatcher", "--nginx-ingress-classes=edge"]
    assert plan.k8s("Ingress", "spywatcher-api", NS)["spec"]["ingressClassName"] == "edge"
    assert check_rollouts(plan) == []
