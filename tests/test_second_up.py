"""A second `pulumi up` with no change changes nothing (offline.second_up): for every shipped stack,
and, on purpose-made renders, the perpetual diffs it would catch. With the API server's quantity
fields (offline.apiserver.QUANTITIES, read in kubernetes/api v0.34.10) stated entry by entry, and
pulumi-kubernetes' pruning held to its own test cases (util_test.go, TestPruneSlice)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from offline.apiserver import POD_QUANTITIES, QUANTITIES, provider_inputs, pruned, quantity_fields, stored
from offline.render import Rendered, render_stack
from offline.second_up import problems, second_up
from tests.conftest import STACKS

SHIPPED = [*STACKS, "all-options"]


@pytest.fixture(scope="module")
def renders() -> dict[str, Rendered]:
    return {stack: render_stack(stack) for stack in SHIPPED}


@pytest.mark.parametrize("stack", SHIPPED)
def test_a_second_up_of_a_shipped_stack_changes_nothing(renders: dict[str, Rendered], stack: str) -> None:
    files = renders[stack].files
    assert problems(files) == []
    diff = second_up(files)
    assert diff.unchanged == len(diff.resources) + diff.unchanged > 50  # every resource compared, none changed
    # Not vacuous: the stack sends quantities, and the model rewrites the non-canonical ones.
    objects = [o for o in renders[stack].kubernetes_files.values()]
    assert sum(len(quantity_fields(o)) for o in objects) > 0


def _edit(files: dict[str, str], suffix: str, change: Any) -> dict[str, str]:
    """The render with one Kubernetes file's object changed by ``change``."""
    [path] = [p for p in files if p.endswith(suffix)]
    header, text = files[path].split("\n", 1)
    obj = yaml.safe_load(text)
    change(obj)
    return {**files, path: f"{header}\n{yaml.safe_dump(obj)}"}


def test_a_fraction_of_a_core_would_roll_the_backend_and_rerun_the_migration_every_time(
        renders: dict[str, Rendered]) -> None:
    files = renders["production"].files

    def quarter(obj: dict[str, Any]) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "0.25"

    [job_file] = [p for p in files if "/job-spywatcher-backend-migrate-" in p]
    job = job_file.rsplit("/", 1)[1].removeprefix("job-").removesuffix(".yaml")
    edited = _edit(_edit(files, "deployment-spywatcher-backend.yaml", quarter), job_file, quarter)
    found = problems(edited)
    assert found[:3] == ["rollouts:",
                         ">> Deployment spywatcher/spywatcher-backend rolls out: resources of backend changed",
                         f">> Job spywatcher/{job} runs again: resources of migrate changed"]
    assert "~     spec.template.spec.containers[name=backend].resources.requests.cpu: \"250m\" → \"0.25\"" in found
    replaced = next(line for line in found if line.startswith("+- kubernetes:batch/v1:Job::"))
    assert found[found.index(replaced) + 1] == (
        "!     replaced: `spec.template.spec.containers[0].resources.requests.cpu` forces it "
        "(pulumi-kubernetes: diff.go: job)")


def test_a_thousand_requests_per_second_would_be_updated_on_every_up(renders: dict[str, Rendered]) -> None:
    def thousand(obj: dict[str, Any]) -> None:
        obj["spec"]["metrics"][2]["pods"]["target"]["averageValue"] = "1000"

    found = problems(_edit(renders["all-options"].files, "horizontalpodautoscaler-spywatcher-backend-hpa.yaml",
                           thousand))
    assert found == ["~ kubernetes:autoscaling/v2:HorizontalPodAutoscaler::backend-hpa",
                     '~     spec.metrics[2].pods.target.averageValue: "1k" → "1000"']


def test_a_secret_sent_as_string_data_is_compared_as_the_provider_does() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
              "stringData": {"TOKEN": "[secret]"}}
    assert stored(secret)["data"] == {"TOKEN": "W3NlY3JldF0="} and "stringData" not in stored(secret)
    assert pruned(stored(secret), provider_inputs(secret)) == provider_inputs(secret)


# The quantity fields, stated again: (apiVersion, kind) -> the patterns beside the pod template's.
FIELDS = {
    ("v1", "ResourceQuota"): ["spec.hard.{}"],
    ("v1", "LimitRange"): ["spec.limits[*].max.{}", "spec.limits[*].min.{}", "spec.limits[*].default.{}",
                           "spec.limits[*].defaultRequest.{}", "spec.limits[*].maxLimitRequestRatio.{}"],
    ("v1", "PersistentVolumeClaim"): ["spec.resources.limits.{}", "spec.resources.requests.{}"],
    ("apps/v1", "StatefulSet"): ["spec.volumeClaimTemplates[*].spec.resources.limits.{}",
                                 "spec.volumeClaimTemplates[*].spec.resources.requests.{}"],
    ("autoscaling/v2", "HorizontalPodAutoscaler"): [
        *(f"spec.metrics[*].{m}.target.{t}" for m in ("object", "pods", "resource", "containerResource", "external")
          for t in ("value", "averageValue")),
        "spec.behavior.scaleUp.tolerance", "spec.behavior.scaleDown.tolerance"],
}
POD = ["containers[*].resources.limits.{}", "containers[*].resources.requests.{}",
       "containers[*].env[*].valueFrom.resourceFieldRef.divisor",
       "initContainers[*].resources.limits.{}", "initContainers[*].resources.requests.{}",
       "initContainers[*].env[*].valueFrom.resourceFieldRef.divisor",
       "ephemeralContainers[*].resources.limits.{}", "ephemeralContainers[*].resources.requests.{}",
       "ephemeralContainers[*].env[*].valueFrom.resourceFieldRef.divisor",
       "overhead.{}", "resources.limits.{}", "resources.requests.{}", "volumes[*].emptyDir.sizeLimit",
       "volumes[*].downwardAPI.items[*].resourceFieldRef.divisor",
       "volumes[*].projected.sources[*].downwardAPI.items[*].resourceFieldRef.divisor",
       "volumes[*].ephemeral.volumeClaimTemplate.spec.resources.limits.{}",
       "volumes[*].ephemeral.volumeClaimTemplate.spec.resources.requests.{}"]
TEMPLATES = {("v1", "Pod"): "spec", ("apps/v1", "Deployment"): "spec.template.spec",
             ("apps/v1", "StatefulSet"): "spec.template.spec", ("apps/v1", "DaemonSet"): "spec.template.spec",
             ("apps/v1", "ReplicaSet"): "spec.template.spec", ("batch/v1", "Job"): "spec.template.spec",
             ("batch/v1", "CronJob"): "spec.jobTemplate.spec.template.spec"}
ROWS = [(api, kind, pattern) for (api, kind), patterns in FIELDS.items() for pattern in patterns] + [
    (api, kind, f"{prefix}.{pattern}") for (api, kind), prefix in TEMPLATES.items() for pattern in POD]


def _build(pattern: str, value: str) -> dict[str, Any]:
    """An object holding ``value`` at ``pattern`` (`[*]`: a one-item list, `{}`: the key `cpu`)."""
    from offline.paths import parse_path

    root: dict[str, Any] = {}
    here: Any = root
    steps = parse_path(pattern)
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if step == "*":
            continue
        key = "cpu" if step == "{}" else step
        if following is None:
            here[key] = value
        else:
            here[key] = [{}] if following == "*" else {}
            here = here[key][0] if following == "*" else here[key]
    return root


@pytest.mark.parametrize(("api", "kind", "pattern"), ROWS, ids=[f"{k}:{p}" for _, k, p in ROWS])
def test_the_api_server_stores_each_quantity_field_canonical(api: str, kind: str, pattern: str) -> None:
    obj = {"apiVersion": api, "kind": kind, "metadata": {"name": "x"}, **_build(pattern, "0.5")}
    again = pruned(stored(obj), obj)
    assert again == {**copy.deepcopy(obj), **_build(pattern, "500m")}


def test_the_table_states_nothing_the_test_does_not() -> None:
    assert {k: list(v) for k, v in QUANTITIES.items()} == FIELDS
    assert list(POD_QUANTITIES) == POD


def test_a_custom_resources_quantity_is_stored_as_sent() -> None:
    vpa = {"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "metadata": {"name": "v"},
           "spec": {"resourcePolicy": {"containerPolicies": [{"minAllowed": {"cpu": "0.5"}}]}}}
    assert pruned(stored(vpa), vpa) == vpa


# TestPruneSlice (provider/pkg/provider/util_test.go): (source, target, want).
PRUNE_SLICE = [
    ("empty target", ["a", "b"], [], []),
    ("empty source", [], ["a", "b"], []),
    ("matching number of elements with different values", ["a", "b"], ["c", "d"], ["a", "b"]),
    ("matching number of elements but different types", ["a", "b"], [1, 2], ["a", "b"]),
    ("simple slice", ["a", "b"], ["a", "b"], ["a", "b"]),
    ("simple slice subset", ["a", "b"], ["a"], ["a"]),
    ("simple slice superset", ["a"], ["a", "b"], ["a"]),
    ("map slice", [{"a": "a", "b": "b"}], [{"a": "a"}], [{"a": "a"}]),
]


@pytest.mark.parametrize(("case", "source", "target", "want"), PRUNE_SLICE, ids=[c[0] for c in PRUNE_SLICE])
def test_pruning_keeps_what_the_inputs_hold(case: str, source: list[Any], target: list[Any], want: list[Any]) -> None:
    assert pruned(source, target) == want


def test_pruning_drops_what_the_api_server_added() -> None:
    live = {"metadata": {"name": "x", "uid": "u", "generation": 2}, "spec": {"replicas": 3, "paused": False},
            "status": {"readyReplicas": 3}}
    assert pruned(live, {"metadata": {"name": "x"}, "spec": {"paused": False}}) == {
        "metadata": {"name": "x"}, "spec": {"paused": False}}


def test_make_check_fails_on_a_perpetual_diff_and_says_where(renders: dict[str, Rendered], tmp_path: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from offline import render

    def half(obj: dict[str, Any]) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "0.5"

    good = renders["production"]
    bad = Rendered(good.kubernetes_version, _edit(good.files, "deployment-spywatcher-backend.yaml", half),
                   good.kubernetes_files)
    monkeypatch.setattr(render, "render_stack", lambda stack: bad)
    out, err = io.StringIO(), io.StringIO()
    assert render.render_one("production", tmp_path, True, out, err) == 1
    prefix = "error: stack production: a second pulumi up would change: "
    assert err.getvalue().splitlines() == [prefix + line for line in [
        "rollouts:",
        ">> Deployment spywatcher/spywatcher-backend rolls out: resources of backend changed",
        "changes:",
        "~ kubernetes:apps/v1:Deployment::backend-deployment",
        '~     spec.template.spec.containers[name=backend].resources.requests.cpu: "500m" → "0.5"']]
    assert out.getvalue().splitlines()[-1] == (
        "checked production: a second `pulumi up` with no change: a perpetual diff, listed above")
    monkeypatch.setattr(render, "render_stack", lambda stack: good)
    out = io.StringIO()
    assert render.render_one("production", tmp_path, True, out, io.StringIO()) == 0
    assert out.getvalue().splitlines()[-1] == (
        "checked production: a second `pulumi up` with no change: changes nothing")
