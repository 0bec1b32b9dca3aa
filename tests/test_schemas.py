"""Every rendered Kubernetes object passes the official schemas, strictly, for its cluster version;
custom resources pass the strict schemas of offline/crds/ or, for the kinds without one, the real
upstream CRDs beside the repository (as `make check` finds them)."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import pytest

from offline.crd_check import CrdChecker
from offline.engine import Plan
from offline.schema import (
    check_object,
    check_objects,
    has_vendored_schema,
    is_builtin,
    schema_version,
    unchecked_crds,
)
from tests.conftest import stack_settings
from tests.test_crd_check import checker, crd, widget
from tests.upstream import MISSING, found_crds, schema_problems, skip_without_upstream, upstream_dir

GATEWAY_CRDS = [
    "backendtrafficpolicies.gateway.envoyproxy.io",
    "clienttrafficpolicies.gateway.envoyproxy.io",
    "envoyproxies.gateway.envoyproxy.io",
    "gatewayclasses.gateway.networking.k8s.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
]


@pytest.fixture(name="found_crds")
def found_crds_fixture() -> CrdChecker | None:
    return found_crds()


def test_every_object_passes_the_strict_schema(plan: Plan) -> None:
    version = stack_settings(plan.stack).cluster.kubernetes_version
    objects = plan.k8s_objects()
    assert {o["kind"] for o in objects} >= {
        "Namespace", "ResourceQuota", "LimitRange", "Deployment", "Service", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "ConfigMap",
    }
    problems = schema_problems(objects, version)
    assert problems == [], "\n".join(map(str, problems))


def test_the_found_crds_check_exactly_the_kinds_without_a_vendored_schema(
    plans: dict[str, Plan], found_crds: CrdChecker | None
) -> None:
    if found_crds is None:
        skip_without_upstream(MISSING)
    assert found_crds is not None
    objects = plans["staging"].k8s_objects()
    custom = [o for o in objects if not is_builtin(o, "1.34")]
    gaps = [o for o in custom if not has_vendored_schema(o)]
    assert {o["kind"] for o in gaps} == {"GatewayClass", "Gateway", "HTTPRoute", "EnvoyProxy",
                                         "ClientTrafficPolicy", "BackendTrafficPolicy"}
    assert {o["kind"] for o in custom if o not in gaps} >= {"TargetGroupBinding", "PrometheusRule"}
    before = found_crds.checked
    assert check_objects(objects, "1.34", found_crds) == []
    assert found_crds.checked - before == len(gaps)
    # A vendored kind stays with its vendored schema, a gap goes to the CRD.
    binding = copy.deepcopy(next(o for o in custom if o["kind"] == "TargetGroupBinding"))
    binding["spec"]["targetGroupArn"] = binding["spec"].pop("targetGroupARN")
    vendored = check_object(binding, "1.34", found_crds)
    assert vendored == check_object(binding, "1.34") and vendored[0].message == (
        "Additional properties are not allowed ('targetGroupArn' was unexpected)")
    assert found_crds.checked - before == len(gaps)
    route = copy.deepcopy(next(o for o in gaps if o["kind"] == "HTTPRoute"))
    route["spec"]["hostname"] = route["spec"].pop("hostnames")
    [upstream] = check_object(route, "1.34", found_crds)
    assert (upstream.path, upstream.message) == (
        "spec", "Additional properties are not allowed ('hostname' was unexpected)")


def test_without_crds_each_gap_names_the_crd_to_pass(plans: dict[str, Plan]) -> None:
    objects = plans["staging"].k8s_objects()
    assert unchecked_crds(objects, "1.34") == GATEWAY_CRDS
    route = next(o for o in objects if o["kind"] == "HTTPRoute")
    [problem] = check_object(route, "1.34")
    assert problem.message == (
        "no schema for gateway.networking.k8s.io/v1 HTTPRoute: offline/crds/ has none and no CRD folder was found; "
        "pass its CRD, httproutes.gateway.networking.k8s.io, with --crds DIR (make check CRDS=DIR)")


def test_make_check_without_crds_says_which_to_pass(plans: dict[str, Plan], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from offline.render import main

    monkeypatch.setenv("SPYWATCHER_UPSTREAM", str(tmp_path / "none"))
    monkeypatch.setattr("offline.render.run_stack", lambda stack: plans[stack])
    out, err = io.StringIO(), io.StringIO()
    assert main(["--stack", "staging", "--check", "--out", str(tmp_path / "render")], out=out, err=err) == 1
    lines = err.getvalue().splitlines()
    assert lines[-1] == (
        "error: stack staging: no schema here for 6 custom resource kinds: pass their CRDs with `make check "
        f"CRDS=DIR` (--crds DIR), DIR holding {', '.join(GATEWAY_CRDS)} (`kubectl get crd NAME… -o yaml > "
        "DIR/crds.yaml`, or the upstream release's CRD files)")
    assert len(lines) == 1 + sum(1 for o in plans["staging"].k8s_objects() if o["kind"] in {
        "GatewayClass", "Gateway", "HTTPRoute", "EnvoyProxy", "ClientTrafficPolicy", "BackendTrafficPolicy"})


def test_make_check_finds_the_upstream_crds(plans: dict[str, Plan], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from offline.render import main

    folder = upstream_dir()
    if folder is None:
        skip_without_upstream(MISSING)
    monkeypatch.setattr("offline.render.run_stack", lambda stack: plans[stack])
    out, err = io.StringIO(), io.StringIO()
    assert main(["--stack", "staging", "--check", "--out", str(tmp_path)], out=out, err=err) == 0, err.getvalue()
    gaps = sum(1 for o in plans["staging"].k8s_objects() if not is_builtin(o, "1.34") and not has_vendored_schema(o))
    assert (f"custom resources against the upstream CRDs found beside the repository, in {folder / 'crds'} "
            in out.getvalue())
    assert f", {gaps} custom resources against" in out.getvalue() and err.getvalue() == ""


def test_schema_check_reports_every_problem_with_its_field(plans: dict[str, Plan]) -> None:
    deployment = copy.deepcopy(plans["staging"].k8s("Deployment", "spywatcher-backend"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenessprobe"] = container.pop("livenessProbe")  # misspelt: the API server would drop it
    deployment["spec"]["revisionHistoryLimit"] = "ten"
    problems = check_object(deployment, "1.34")
    paths = sorted(p.path for p in problems)
    assert paths == ["spec.revisionHistoryLimit", "spec.template.spec.containers.0"], problems
    assert "livenessprobe" in str(problems[1]) or "livenessprobe" in str(problems[0])
    assert all(p.kind == "Deployment" and p.name == "spywatcher-backend" for p in problems)


def test_unknown_kind_is_a_problem_not_a_pass() -> None:
    problems = check_object({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}, "1.34")
    assert [p.message for p in problems] == [
        "no schema for example.com/v1 Widget: offline/crds/ has none and no CRD folder was found; pass its CRD, "
        "the CRD of Widget (example.com), with --crds DIR (make check CRDS=DIR)"]


def test_the_schemas_are_the_newest_not_newer_than_the_cluster() -> None:
    # kubernetes-validate has a schema set per minor version (1.25 on): a 1.34 cluster gets 1.34's,
    # a patch version its minor's, a version written with a leading v the same.
    assert [schema_version(v) for v in ("1.34", "1.33.2", "v1.30")] == ["1.34.0", "1.33.0", "1.30.0"]


def test_a_given_crd_folder_checks_every_custom_resource_a_found_one_only_the_gaps(tmp_path: Path) -> None:
    arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/t/0123456789abcdef"
    binding = {
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
        "metadata": {"name": "b", "namespace": "apps"},
        "spec": {"serviceRef": {"name": "s", "port": 80}, "targetGroupARN": arn},
    }
    assert check_object(binding, "1.34") == []  # offline/crds/ has its schema
    given = checker(tmp_path, crd())  # a folder (--crds) with one CRD only, example.spywatcher.io's Widget
    assert [str(p) for p in check_object(binding, "1.34", given)] == [
        f"TargetGroupBinding apps/b: (object): no CRD for elbv2.k8s.aws TargetGroupBinding in {tmp_path}"
    ]
    found = CrdChecker(tmp_path, fills_gaps=True)  # the folder beside the repository: the gaps only
    assert check_object(binding, "1.34", found) == []
    assert check_object(widget(), "1.34", found) == [] and found.checked == 1  # a gap: its CRD checked it
    # A built-in kind is never a CRD's to check.
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "apps"}}
    assert check_object(config_map, "1.34", given) == []
