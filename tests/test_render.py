"""`python -m offline render`: deterministic files per resource, options, masked secrets, --check."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.changes import diff_snapshots
from offline.engine import Plan, run_stack
from offline.render import SUMMARY, RenderError, _provider_inputs, kubernetes_version, main, render_plan, write
from offline.report import markdown, text
from offline.snapshot import snapshot_from_files
from tests.conftest import ROOT


def render_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def summary_entry(files: dict[str, str], rid: str) -> dict[str, Any]:
    entries = yaml.safe_load(files[SUMMARY])["resources"]
    return next(e for e in entries if e["id"] == rid)


@pytest.fixture(scope="module", autouse=True)
def other_process(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[str], Path] | None]:
    """`offline render --all` in a second process, started before this module's first test so that
    it runs alongside them; the last test compares its files. Nothing is started when that test is
    not selected (`make mutation` leaves it out: the other process would not see the mutant)."""
    if not any(item.originalname == "test_render_is_byte_identical_in_another_process"
               for item in request.session.items):
        yield None
        return
    out = tmp_path_factory.mktemp("render")
    process = subprocess.Popen([sys.executable, "-m", "offline", "render", "--all", "--out", str(out)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield process, out
    if process.poll() is None:
        process.kill()
    process.communicate()



def test_the_plan_lists_resources_in_the_order_the_program_constructs_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK sends registrations from a pool of threads, so they arrive in an order that varies
    from run to run; the plan (and every test reading it) sees the program's order. Arrivals are
    delayed at random here, and the order is compared with the constructors' own."""
    import random
    import time

    import pulumi

    from offline import engine

    constructed: list[tuple[str, str]] = []
    init = pulumi.Resource.__init__

    def constructor(self: Any, t: str, name: str, *args: Any, **kwargs: Any) -> None:
        constructed.append((t, name))
        init(self, t, name, *args, **kwargs)

    arrive = engine._Recorder.RegisterResource
    jitter = random.Random(16)

    def late(self: Any, request: Any) -> Any:
        time.sleep(jitter.random() / 500)
        return arrive(self, request)

    monkeypatch.setattr(pulumi.Resource, "__init__", constructor)
    monkeypatch.setattr(engine._Recorder, "RegisterResource", late)
    plan = run_stack("production")
    order = [(r.type, r.name) for r in plan]
    assert order == [c for c in constructed if c[0] != "pulumi:pulumi:Stack"]
    assert len(order) > 50


def test_one_file_per_resource_with_stable_names(plans: dict[str, Plan]) -> None:
    files = render_plan(plans["production"], "1.34").files
    hpa = yaml.safe_load(files["kubernetes/spywatcher/horizontalpodautoscaler-spywatcher-backend-hpa.yaml"])
    assert hpa["kind"] == "HorizontalPodAutoscaler" and hpa["spec"]["maxReplicas"] == 10
    assert "maxReplicas: 10\n" in files["kubernetes/spywatcher/horizontalpodautoscaler-spywatcher-backend-hpa.yaml"]
    namespace = yaml.safe_load(files["kubernetes/_cluster/namespace-spywatcher.yaml"])
    assert namespace["metadata"]["name"] == "spywatcher"
    release = yaml.safe_load(files["helm/ingress-nginx/ingress-nginx.yaml"])
    assert release["chart"] == "ingress-nginx" and release["values"]["controller"]["config"]["load-balance"] == "ewma"
    balancer = yaml.safe_load(files["aws/lb.LoadBalancer/edge.yaml"])
    assert balancer["idleTimeout"] == 60 and balancer["enableDeletionProtection"] is True
    aws = yaml.safe_load(files["providers/aws-spywatcher-aws.yaml"])
    assert aws["defaultTags"]["tags"]["spywatcher/stack"] == "production"  # decoded, not a JSON string
    headers = {path: text.split("\n", 1)[0] for path, text in files.items() if path != SUMMARY}
    assert headers["aws/lb.LoadBalancer/edge.yaml"] == "# aws:lb/loadBalancer:LoadBalancer::edge"
    assert all(h.startswith("# ") and "::" in h for h in headers.values()), headers


def test_provider_settings_are_written_as_the_values_the_program_gave(plans: dict[str, Plan]) -> None:
    # Pulumi sends a provider's non-text settings JSON-encoded ('true'); the file shows the value.
    files = render_plan(plans["production"], "1.34").files
    kubernetes = files["providers/kubernetes-spywatcher-kubernetes.yaml"]
    assert yaml.safe_load(kubernetes) == {  # components/platform.py: the three flags set True
        "context": "arn:aws:eks:us-east-1:111122223333:cluster/spywatcher-production",
        "enableConfigMapMutable": True,
        "enableSecretMutable": True,
        "enableServerSideApply": True,
    }
    assert "enableServerSideApply: true\n" in kubernetes
    aws = yaml.safe_load(files["providers/aws-spywatcher-aws.yaml"])
    assert (aws["region"], aws["skipCredentialsValidation"], aws["skipRegionValidation"]) == ("us-east-1", False, True)


def test_only_json_booleans_objects_and_lists_are_decoded_in_provider_settings() -> None:
    settings = {
        "allowedAccountIds": '["111122223333"]',
        "assumeRole": '{"roleArn": "arn:aws:iam::111122223333:role/deploy"}',
        "insecure": "false",
        "profile": "111122223333",  # a text setting that reads as a number stays text
        "token": "null",
        "region": "",
        "context": "{not json",  # looks like an object, is not one: as written
        "namespace": "[default",
        "note": "True",
    }
    assert _provider_inputs(settings) == {
        "allowedAccountIds": ["111122223333"],
        "assumeRole": {"roleArn": "arn:aws:iam::111122223333:role/deploy"},
        "insecure": False,
        "profile": "111122223333",
        "token": "null",
        "region": "",
        "context": "{not json",
        "namespace": "[default",
        "note": "True",
    }


def test_summary_carries_the_options_a_reviewer_needs(plans: dict[str, Plan]) -> None:
    production = render_plan(plans["production"], "1.34").files
    staging = render_plan(plans["staging"], "1.34").files
    balancer = summary_entry(production, "aws:lb/loadBalancer:LoadBalancer::edge")
    assert balancer["file"] == "aws/lb.LoadBalancer/edge.yaml"
    assert balancer["options"]["protect"] is True
    assert balancer["options"]["provider"] == "pulumi:providers:aws::spywatcher-aws"
    # The access logs' bucket policy first: ELB checks it may write when logging is turned on.
    assert balancer["options"]["dependsOn"] == ["aws:ec2/securityGroup:SecurityGroup::edge-sg",
                                                "aws:s3/bucket:Bucket::edge-logs",
                                                "aws:s3/bucketPolicy:BucketPolicy::edge-logs"]
    assert balancer["options"]["parent"] == "spywatcher:loadbalancer:LoadBalancer::edge"
    assert summary_entry(staging, "aws:lb/loadBalancer:LoadBalancer::edge")["options"]["protect"] is False
    component = summary_entry(production, "spywatcher:platform:Platform::spywatcher")
    assert "file" not in component and component["options"]["parent"] == "stack"
    summary = yaml.safe_load(production[SUMMARY])
    assert summary["stack"] == "production" and summary["kubernetesVersion"] == "1.34"
    assert summary["outputs"]["namespace"] == "spywatcher"
    assert len(summary["resources"]) == len(plans["production"].resources)


def test_secret_values_never_reach_a_file_or_a_diff(plans: dict[str, Plan]) -> None:
    values = {"DATABASE_URL": "postgres://user:s3cr3t@db/spy", "JWT_SECRET": "hunter2-hunter2"}
    kubeconfig = "apiVersion: v1\nkind: Config\n# kubeconfig-s3cr3t\n"
    plan = run_stack("staging", overrides={"backend": {"existingSecret": None}},
                     secrets={"secrets": {"backend": values}, "kubeconfig": kubeconfig})
    files = render_plan(plan, "1.34").files
    everything = "".join(files.values())
    for secret in [*values.values(), "kubeconfig-s3cr3t"]:
        assert secret not in everything
    secret_object = yaml.safe_load(files["kubernetes/spywatcher-staging/secret-spywatcher-backend-secrets.yaml"])
    assert secret_object["stringData"] == {"DATABASE_URL": "[secret]", "JWT_SECRET": "[secret]"}
    assert yaml.safe_load(files["providers/kubernetes-spywatcher-kubernetes.yaml"])["kubeconfig"] == "[secret]"
    without = snapshot_from_files(render_plan(plans["staging"], "1.34").files)
    changes = [diff_snapshots("staging", without, snapshot_from_files(files))]
    reports = text("a → b", changes) + markdown("a → b", changes)
    assert '+     stringData.DATABASE_URL: "[secret]"' in reports
    assert '+     kubeconfig: "[secret]"' in reports  # the provider's, without its value
    for secret in [*values.values(), "kubeconfig-s3cr3t"]:
        assert secret not in reports


def test_write_replaces_a_render_but_not_other_folders(plans: dict[str, Plan], tmp_path: Path) -> None:
    rendered = render_plan(plans["staging"], "1.34")
    folder = tmp_path / "staging"
    write(rendered, folder)
    (folder / "kubernetes" / "stale.yaml").write_text("left over")
    write(rendered, folder)
    assert sorted(tree(folder)) == sorted(rendered.files)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep")
    with pytest.raises(RenderError, match="not a render"):
        write(rendered, precious)
    assert (precious / "notes.txt").read_text() == "keep"


def test_check_passes_valid_stacks(plans: dict[str, Plan], fixture_plans: dict[str, Plan], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    every = {**plans, **fixture_plans}
    monkeypatch.setattr("offline.render.run_stack", lambda stack: every[stack])
    code, out, err = render_cli("--all", "--check", "--out", str(tmp_path))
    assert code == 0, err
    assert "checked production:" in out and "schemas (strict): valid" in out
    assert (tmp_path / "staging" / SUMMARY).is_file() and (tmp_path / "production" / SUMMARY).is_file()
    assert "checked all-options:" in out, "--all renders the test stacks too"


def test_check_reports_every_broken_field_and_fails(plans: dict[str, Plan], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    broken = copy.deepcopy(plans["staging"])
    deployment = broken.get("kubernetes:apps/v1:Deployment", "backend-deployment").inputs
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenessprobe"] = container.pop("livenessProbe")  # misspelt: the API server would drop it
    deployment["spec"]["revisionHistoryLimit"] = "ten"
    monkeypatch.setattr("offline.render.run_stack", lambda stack: broken)
    code, out, err = render_cli("--stack", "staging", "--check", "--out", str(tmp_path))
    assert code == 1
    problems = [line for line in err.splitlines() if line.startswith("error: stack staging:")]
    file = tmp_path / "staging" / "kubernetes" / "spywatcher-staging" / "deployment-spywatcher-backend.yaml"
    where = f"{file}: Deployment spywatcher-staging/spywatcher-backend:"
    assert len(problems) == 2, err
    assert any(f"{where} spec.revisionHistoryLimit:" in p for p in problems), err
    assert any(f"{where} spec.template.spec.containers.0:" in p and "livenessprobe" in p for p in problems), err
    assert "2 problems" in out


def test_bad_config_exits_1_with_one_line_per_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("offline.render.run_stack",
                        lambda stack: run_stack(stack, {"backend": {"autoscaling": {"minReplicas": 0}}}))
    code, out, err = render_cli("--stack", "staging", "--out", str(tmp_path))
    assert code == 1 and out == ""
    assert "  - backend.autoscaling.minReplicas: 0 — must be at least 1" in err
    assert "Traceback" not in err and not (tmp_path / "staging").exists()


def test_unknown_stack_exits_2() -> None:
    code, _, err = render_cli("--stack", "qa", "--out", "/nonexistent/never-written")
    assert code == 2 and "no stack file Pulumi.qa.yaml" in err


def test_a_crashing_program_is_reported_per_stack(plans: dict[str, Plan], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(stack: str) -> Plan:
        if stack == "staging":
            raise TypeError("build_thing() takes 1 positional argument but 2 were given")
        return plans[stack]

    monkeypatch.setattr("offline.render.run_stack", crash)
    code, out, err = render_cli("--all", "--out", str(tmp_path))
    assert code == 1
    assert "error: stack staging: the program failed:" in err and "TypeError: build_thing()" in err
    assert "rendered production" in out and (tmp_path / "production" / SUMMARY).is_file()


def test_render_is_byte_identical_in_another_process(plans: dict[str, Plan], fixture_plans: dict[str, Plan],
                                                     other_process: tuple[subprocess.Popen[str], Path] | None) -> None:
    """Every stack `render --all` writes, test stacks included (all-options has every part)."""
    assert other_process is not None
    process, out = other_process
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    every = {**plans, **fixture_plans}
    assert sorted(p.name for p in out.iterdir()) == sorted(every)
    for stack, plan in every.items():
        on_disk = tree(out / stack)
        here = render_plan(plan, kubernetes_version(stack)).files
        assert sorted(on_disk) == sorted(here)
        changed = [path for path, text in here.items() if on_disk[path] != text.encode()]
        assert changed == [], f"{stack}: files differ between two processes: {changed}"
