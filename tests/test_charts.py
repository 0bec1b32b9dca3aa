"""`python -m offline charts`: which releases a change touches, and the exact `helm template` the CI
job runs for them (never run here: it downloads the charts)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from offline.charts import changed, main, releases
from offline.engine import Plan
from offline.render import render_plan, write
from tests.conftest import ROOT
from tests.test_workflows import workflow


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory, plans: dict[str, Plan]) -> Path:
    root = tmp_path_factory.mktemp("render")
    for stack, plan in plans.items():
        write(render_plan(plan, "1.34"), root / stack)
    return root


def edited_copy(render: Path, tmp_path: Path, change: str) -> Path:
    head = tmp_path / "head"
    shutil.copytree(render, head)
    file = head / "production" / "helm" / "ingress-nginx" / "ingress-nginx.yaml"
    spec = yaml.safe_load(file.read_text())
    if change == "version":
        spec["version"] = "4.15.2"
    elif change == "values":
        spec["values"]["controller"]["replicaCount"] = 3
    elif change == "files":
        spec["valueYamlFiles"] = [{"stringAsset": "a: 1\n"}]
    file.write_text(yaml.safe_dump(spec))
    return head


@pytest.mark.parametrize("change", ["version", "values", "files"])
def test_a_chart_or_values_change_is_seen(render: Path, tmp_path: Path, change: str) -> None:
    assert changed(render, edited_copy(render, tmp_path, change)) == ["production/ingress-nginx/ingress-nginx"]


def test_nothing_changed_is_false(render: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["changed", str(render), str(render)], out=out, err=err) == 0
    assert out.getvalue() == "changed=false\n" and err.getvalue() == ""


def test_the_template_commands_use_exactly_the_rendered_values(render: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["template", str(render), str(tmp_path / "objects"), "--dry-run"], out=out, err=io.StringIO()) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == len(releases(render)) == 3  # ingress-nginx in each stack, Envoy Gateway in staging
    values = tmp_path / "objects" / "production" / "ingress-nginx" / "ingress-nginx.values.yaml"
    assert lines[0] == (
        "helm template ingress-nginx ingress-nginx --repo https://kubernetes.github.io/ingress-nginx "
        "--version 4.15.1 --namespace ingress-nginx --include-crds "
        f"--values {values}"
    )
    # An OCI chart takes no --repo; its CRDs are skipped by the release, so by the template too.
    envoy = tmp_path / "objects" / "staging" / "envoy-gateway-system" / "envoy-gateway.values.yaml"
    assert lines[1] == (
        "helm template envoy-gateway oci://docker.io/envoyproxy/gateway-helm --version v1.9.0 "
        f"--namespace envoy-gateway-system --values {envoy}"
    )
    rendered = yaml.safe_load((render / "production" / "helm" / "ingress-nginx" / "ingress-nginx.yaml").read_text())
    assert yaml.safe_load(values.read_text()) == rendered["values"]


def test_values_with_a_secret_are_not_templated(render: Path, tmp_path: Path) -> None:
    head = tmp_path / "secret"
    shutil.copytree(render, head)
    file = head / "staging" / "helm" / "ingress-nginx" / "ingress-nginx.yaml"
    spec = yaml.safe_load(file.read_text())
    spec["values"]["token"] = "[secret]"
    file.write_text(yaml.safe_dump(spec))
    out, err = io.StringIO(), io.StringIO()
    assert main(["template", str(head), str(tmp_path / "o"), "--dry-run"], out=out, err=err) == 0
    assert "staging/ingress-nginx/ingress-nginx: values hold a secret; not templated" in err.getvalue()
    assert [line.split()[2] for line in out.getvalue().splitlines()] == ["ingress-nginx", "envoy-gateway"]


def test_the_workflow_templates_only_when_a_chart_changed() -> None:
    job = workflow("pull-request.yml")["jobs"]["chart-templates"]
    steps = {s.get("name") or s.get("uses"): s for s in job["steps"]}
    helm = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("azure/setup-helm@"))
    assert helm["if"] == "steps.changed.outputs.changed == 'true'"
    assert helm["with"]["version"].startswith("v3.")
    template = steps["helm template, base and head, and the difference"]
    assert "offline charts template" in template["run"] and template["if"] == helm["if"]
    assert "offline charts changed" in steps["Did a chart, its version or its values change?"]["run"]
    assert "secrets." not in str(job)  # no credentials: it runs for forks too
    assert (ROOT / "offline" / "charts.py").is_file()


BAD_USAGE = [[], ["changed"], ["template", "a"], ["tmplate", "a", "b"], ["changed", "a", "b", "--x"]]


@pytest.mark.parametrize("argv", BAD_USAGE)
def test_bad_usage_is_one_line_and_exit_2(argv: list[str]) -> None:
    err = io.StringIO()
    assert main(argv, out=io.StringIO(), err=err) == 2
    assert err.getvalue().startswith("error: ") and err.getvalue().count("\n") == 1
