"""Selectors pick their own workload's pods only, and objects wait for the namespaces the program
creates (offline/selectors.py, offline/namespaces.py; both run in `make check`)."""

from __future__ import annotations

import copy

from offline.engine import Plan, run_stack
from offline.namespaces import namespace_order
from offline.rules import ancestors, check_plan
from offline.selectors import matches, selector_overlaps
from tests.conftest import config_error, problem_for

BACKEND = {"app.kubernetes.io/name": "spywatcher", "app.kubernetes.io/instance": "spywatcher-staging",
           "app.kubernetes.io/component": "backend"}


def test_matching_is_the_api_servers() -> None:
    labels = {"a": "1", "b": "2"}
    assert matches({}, labels) and matches({"matchLabels": {"a": "1"}}, labels)
    assert not matches({"matchLabels": {"a": "2"}}, labels) and not matches(None, labels)
    assert matches({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "3"]}]}, labels)
    assert not matches({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, labels)
    assert matches({"matchExpressions": [{"key": "c", "operator": "NotIn", "values": ["1"]}]}, labels)
    assert matches({"matchExpressions": [{"key": "b", "operator": "Exists"}]}, labels)
    assert not matches({"matchExpressions": [{"key": "b", "operator": "DoesNotExist"}]}, labels)
    assert matches({"a": "1"}, labels, plain=True) and not matches({"c": "1"}, labels, plain=True)


def test_the_migration_pods_are_picked_by_nothing_of_the_apps(plans: dict[str, Plan]) -> None:
    for stack in ("staging", "production"):
        plan = plans[stack]
        [job] = [o for o in plan.k8s_objects() if o["kind"] == "Job"]
        pod = job["spec"]["template"]["metadata"]["labels"]
        assert pod["app.kubernetes.io/component"] == "migration"
        for obj in plan.k8s_objects():
            selector = {
                "Deployment": obj.get("spec", {}).get("selector"),
                "PodDisruptionBudget": obj.get("spec", {}).get("selector"),
                "Service": obj.get("spec", {}).get("selector"),
            }.get(obj["kind"])
            if selector is not None:
                assert not matches(selector, pod, plain=obj["kind"] == "Service"), obj["metadata"]["name"]
        assert selector_overlaps(plan) == []


def test_a_job_with_the_backends_labels_is_refused_by_every_selector_it_falls_under(plans: dict[str, Plan]) -> None:
    """What the migration Job was: its pods labelled `component: backend`."""
    plan = plans["staging"]
    resources = copy.deepcopy(plan.resources)
    [job] = [r for r in resources if r.type == "kubernetes:batch/v1:Job"]
    job.inputs["spec"]["template"]["metadata"]["labels"] = {**BACKEND, "app.kubernetes.io/version": "v2.0.0"}
    name = job.inputs["metadata"]["name"]
    ns = "spywatcher-staging"
    pods = f"Job {ns}/{name}"
    assert selector_overlaps(Plan(plan.stack, resources, plan.outputs, plan.logs)) == [
        f"NetworkPolicy {ns}/spywatcher-backend-from-ingress: lets traffic in on port(s) 3001 to the pods of {pods}, "
        "which serve none of them",
        f"NetworkPolicy {ns}/spywatcher-backend-from-monitoring: lets traffic in on port(s) 9464 to the pods of "
        f"{pods}, which serve none of them",
        f"Deployment {ns}/spywatcher-backend: its selector also picks the pods of {pods}",
        f"Service {ns}/spywatcher-backend: its selector picks the pods of {pods}, Deployment {ns}/spywatcher-backend, "
        "not one workload's",
        f"HorizontalPodAutoscaler {ns}/spywatcher-backend-hpa: its target's selector also picks the pods of {pods}, "
        "whose metrics it would average in",
        f"PodDisruptionBudget {ns}/spywatcher-backend-pdb: its selector picks the pods of {pods}, Deployment "
        f"{ns}/spywatcher-backend, not one workload's",
        f"Service {ns}/spywatcher-backend-socketio: its selector picks the pods of {pods}, Deployment "
        f"{ns}/spywatcher-backend, not one workload's",
    ]


def test_every_stack_passes_the_deploy_rules(plans: dict[str, Plan], fixture_plans: dict[str, Plan]) -> None:
    for plan in [*plans.values(), *fixture_plans.values()]:
        assert check_plan(plan, plan.settings.existing_objects()) == [], plan.stack


def test_an_object_that_does_not_wait_for_its_namespace_is_refused(plans: dict[str, Plan]) -> None:
    plan = plans["staging"]
    resources = copy.deepcopy(plan.resources)
    [quota] = [r for r in resources if r.type == "kubernetes:core/v1:ResourceQuota"]
    quota.depends_on = ()
    broken = Plan(plan.stack, resources, plan.outputs, plan.logs)
    assert namespace_order(broken, ancestors(broken)) == [
        "ResourceQuota spywatcher-staging-quota (app-quota) is written into namespace spywatcher-staging, which "
        "this program creates (app-namespace), without depending on it: Pulumi may create it first and the API "
        "server refuses it (namespace not found)"
    ]


def test_the_migration_may_reach_only_named_data_stores() -> None:
    error = config_error("staging", {"migration": {"dataStores": ["mysql"]}})
    assert problem_for(error, "migration.dataStores[0]") == (
        'migration.dataStores[0]: "mysql" — is not a networkPolicy.dataStores name (postgres, redis): the '
        "migration's network policy would let it reach no database"
    )
    plan = run_stack("staging", {"migration": {"dataStores": ["postgres", "redis"]}})
    egress = plan.k8s("NetworkPolicy", "spywatcher-migration-egress")["spec"]["egress"]
    assert [rule["to"][0]["ipBlock"]["cidr"] for rule in egress] == ["10.1.64.0/24", "10.1.65.0/24"]


def test_an_empty_service_selector_picks_nothing_an_empty_label_selector_everything() -> None:
    assert not matches({}, {"a": "1"}, plain=True)
    assert matches({}, {"a": "1"})


def test_a_network_policy_needs_one_port_its_pods_serve_by_number_or_by_name(plans: dict[str, Plan]) -> None:
    """The backend's pods serve 3001 (named http) and 9464: a policy opening 3001 and 9999, or `http`,
    lets traffic in on a port they serve."""
    plan = plans["staging"]
    for ports in ([{"protocol": "TCP", "port": 3001}, {"protocol": "TCP", "port": 9999}], [{"port": "http"}]):
        resources = copy.deepcopy(plan.resources)
        [policy] = [r for r in resources if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
                    and r.inputs["metadata"]["name"] == "spywatcher-backend-from-ingress"]
        policy.inputs["spec"]["ingress"][0]["ports"] = ports
        assert selector_overlaps(Plan(plan.stack, resources, plan.outputs, plan.logs)) == [], ports
