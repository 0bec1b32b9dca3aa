"""Every rendered Kubernetes object passes the official schemas, strictly, for its cluster version."""

from __future__ import annotations

import copy

from offline.engine import Plan
from offline.schema import check_object, check_objects
from tests.conftest import stack_settings


def test_every_object_passes_the_strict_schema(plan: Plan) -> None:
    version = stack_settings(plan.stack).cluster.kubernetes_version
    objects = plan.k8s_objects()
    assert {o["kind"] for o in objects} >= {
        "Namespace", "ResourceQuota", "LimitRange", "Deployment", "Service", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "ConfigMap",
    }
    problems = check_objects(objects, version)
    assert problems == [], "\n".join(map(str, problems))


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
    assert len(problems) == 1 and "no schema" in problems[0].message
