"""The alert rules checked by Prometheus itself: `promtool check rules` on every stack's
rendered PrometheusRule, and `promtool test rules` on synthetic series (tests/rules/)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import Plan
from tests.promtool import RULE_TESTS, check_rules, run, write_rules

RULE_NAME = "spywatcher-autoscaling"


def rule_groups(plan: Plan) -> list[dict[str, Any]]:
    [rule] = [o for o in plan.k8s_objects() if o["kind"] == "PrometheusRule" and o["metadata"]["name"] == RULE_NAME]
    return list(rule["spec"]["groups"])


def test_every_stack_passes_promtool_check_rules(plans: dict[str, Plan], fixture_plans: dict[str, Plan],
                                                 tmp_path: Path) -> None:
    for stack, plan in {**plans, **fixture_plans}.items():
        folder = tmp_path / stack
        folder.mkdir()
        result = check_rules(rule_groups(plan), folder)
        assert result.returncode == 0, f"{stack}: {result.stdout}{result.stderr}"
        assert "SUCCESS: 3 rules found" in result.stdout, result.stdout


def test_promtool_check_rules_can_fail(plans: dict[str, Plan], tmp_path: Path) -> None:
    groups = copy.deepcopy(rule_groups(plans["production"]))
    groups[0]["rules"][1]["expr"] = "changes(kube_horizontalpodautoscaler_status_current_replicas[15m] > 5"
    groups[0]["rules"][0]["annotations"]["summary"] = "{{ $value "
    result = check_rules(groups, tmp_path)
    assert result.returncode != 0
    assert "unclosed left parenthesis" in result.stderr and "template" in result.stderr, result.stderr


def unit_test(groups: list[dict[str, Any]], folder: Path) -> Any:
    """`promtool test rules` of tests/rules/*.test.yaml against ``groups``, annotations removed."""
    bare = copy.deepcopy(groups)
    for group in bare:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    write_rules(bare, folder / "autoscaling.rules.yaml")
    tests = sorted(RULE_TESTS.glob("*.test.yaml"))
    for path in tests:
        shutil.copy(path, folder / path.name)
    return run("test", "rules", *(p.name for p in tests), cwd=folder)


def test_alerts_fire_when_they_should_and_not_otherwise(plans: dict[str, Plan], tmp_path: Path) -> None:
    result = unit_test(rule_groups(plans["production"]), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_unit_tests(plans: dict[str, Plan]) -> None:
    tested = set()
    for path in RULE_TESTS.glob("*.test.yaml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                tested.add((check["alertname"], bool(check["exp_alerts"])))
    alerts = {r["alert"] for r in rule_groups(plans["production"])[0]["rules"]}
    assert tested == {(a, fires) for a in alerts for fires in (True, False)}, "each alert: fires, and stays quiet"


@pytest.mark.parametrize(
    ("alert", "expr"),
    [
        # The guide's own rule: rate() of a gauge is never above 0.5 when the HPA flaps.
        ("FrequentScaling", "rate(kube_horizontalpodautoscaler_status_current_replicas[15m]) > 0.5"),
        # A misspelt series never fires.
        ("HPAMaxedOut", "kube_hpa_status_current_replicas >= kube_hpa_spec_max_replicas"),
        # Not scoped to the stack's namespace: fires for another namespace's HPA.
        ("HPAMaxedOut", "kube_horizontalpodautoscaler_status_current_replicas >= on (namespace, "
                        "horizontalpodautoscaler) kube_horizontalpodautoscaler_spec_max_replicas"),
    ],
)
def test_the_unit_tests_catch_broken_alerts(plans: dict[str, Plan], tmp_path: Path, alert: str, expr: str) -> None:
    groups = copy.deepcopy(rule_groups(plans["production"]))
    [rule] = [r for r in groups[0]["rules"] if r["alert"] == alert]
    rule["expr"] = expr
    result = unit_test(groups, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and f"alertname: {alert}" in output, output


@pytest.mark.parametrize(
    ("alerts", "alert"),
    [
        # 6 changes per 15 minutes no longer exceed a configured 6.
        ({"frequentScalingChanges": 6}, "FrequentScaling"),
        # A rollout stuck for 15 minutes is not yet stuck when rolloutStuckFor is 20m.
        ({"rolloutStuckFor": "20m"}, "RolloutStuck"),
    ],
)
def test_the_rules_follow_their_settings(alerts: dict[str, Any], alert: str, tmp_path: Path) -> None:
    """The unit tests assume the defaults; rendered with other settings, the alert they expect to
    fire stays quiet, so the thresholds reach the rules."""
    from offline.engine import run_stack

    plan = run_stack("production", {"monitoring": {"alerts": alerts}})
    result = unit_test(rule_groups(plan), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and f"alertname: {alert}" in output, output
    failing = {line.split("alertname: ", 1)[1].split(",", 1)[0] for line in output.splitlines()
               if "alertname: " in line}
    assert failing == {alert}, output


def test_a_missing_promtool_skips_with_the_install_command_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests import promtool as tool

    monkeypatch.setattr(tool.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install --no-install-recommends prometheus"):
        tool.promtool()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true, so a missing promtool is a failure"):
        tool.promtool()
