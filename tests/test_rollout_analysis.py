"""The canary analysis checked by Prometheus itself: the rendered AnalysisTemplate's queries run by
`promtool test rules` on synthetic series, each with the threshold of its rendered condition, and
the RolloutAborted alert.

Argo Rollouts measures a metric by running its query and evaluating `successCondition` and
`failureCondition` on the result (argoproj/argo-rollouts v1.9.1 utils/evaluate/evaluate.go): here
`len(result) > 0 && result[0] <= T` and `len(result) > 0 && result[0] > T`, neither true on an
empty result (inconclusive). In PromQL that is `(query) <= T` and `(query) > T` returning a sample:
each becomes an alert rule, and the scenarios say which one fires.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import Plan, run_stack
from tests.promtool import check_rules, run, write_rules

NS = "spywatcher"
CANARY_HASH = "7d9f8c6b5"  # what Argo passes as {{args.canary-hash}}: the canary ReplicaSet's pod template hash
STABLE_HASH = "5c4b3a291"
CONDITION = re.compile(r"^len\(result\) > 0 && result\[0\] (<=|>) ([0-9.e+-]+)$")
NGINX = ('nginx_ingress_controller_requests{controller_namespace="ingress-nginx", ingress="spywatcher-api", '
         'namespace="spywatcher", service="spywatcher-backend-stable", %s}')
CANARY = 'canary="spywatcher-spywatcher-backend-canary-3001"'


@pytest.fixture(scope="module")
def production() -> Plan:
    return run_stack("production", {"rollouts": {"enabled": True}})


def _threshold(condition: str, operator: str) -> str:
    match = CONDITION.match(condition)
    assert match is not None and match.group(1) == operator, condition
    return match.group(2)


def analysis_rules(plan: Plan) -> list[dict[str, Any]]:
    """Each metric as two alerts, `<Metric>Passes` and `<Metric>Fails`, with the query as Argo sends
    it (the canary hash substituted) and the threshold of the rendered conditions."""
    template = plan.k8s("AnalysisTemplate", "spywatcher-backend-canary", NS)
    rules = []
    for metric in template["spec"]["metrics"]:
        query = metric["provider"]["prometheus"]["query"].replace("{{args.canary-hash}}", CANARY_HASH)
        name = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", metric["name"]))
        passes = _threshold(metric["successCondition"], "<=")
        fails = _threshold(metric["failureCondition"], ">")
        assert passes == fails, metric["name"]
        rules.append({"alert": f"{name}Passes", "expr": f"({query}) <= {passes}"})
        rules.append({"alert": f"{name}Fails", "expr": f"({query}) > {fails}"})
    return [{"name": "canary-analysis", "rules": rules}]


def _requests(per_minute: dict[str, int], canary: bool = True) -> list[dict[str, str]]:
    """Counter series of ingress-nginx's requests by status, for the canary's upstream or stable's."""
    label = CANARY if canary else 'canary=""'
    return [{"series": NGINX % f'{label}, status="{status}"', "values": f"0+{rate}x20"}
            for status, rate in per_minute.items()]


def _durations(pod_hash: str, per_minute: dict[str, int]) -> list[dict[str, str]]:
    """The app's request-duration histogram for the pods of one ReplicaSet: cumulative buckets, each
    counting the requests at or under its bound per minute (``per_minute`` says where they fall)."""
    bounds = ["0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"]
    series = []
    for bound in bounds:
        count = sum(n for upper, n in per_minute.items() if float(upper) <= float(bound.replace("+Inf", "inf")))
        series.append({
            "series": f'http_request_duration_seconds_bucket{{namespace="{NS}", pod="p-{pod_hash}", '
                      f'rollouts_pod_template_hash="{pod_hash}", le="{bound}"}}',
            "values": f"0+{count}x20",
        })
    return series


FIRES: list[dict[str, Any]] = [{"exp_labels": {}}]

SCENARIOS: list[tuple[str, list[dict[str, str]], dict[str, bool | None]]] = [
    # (name, series, metric -> True passes / False fails / None inconclusive)
    (
        "a good canary passes both metrics while stable pods are slow and failing",
        _requests({"200": 600, "500": 1})
        + _requests({"200": 600, "503": 300}, canary=False)
        + _durations(CANARY_HASH, {"0.25": 100})
        + _durations(STABLE_HASH, {"5": 100}),
        {"ErrorRatio": True, "P95Latency": True},
    ),
    (
        "a canary answering 10 % 5xx fails the error ratio",
        _requests({"200": 540, "502": 60}) + _durations(CANARY_HASH, {"0.25": 100}),
        {"ErrorRatio": False, "P95Latency": True},
    ),
    (
        "a slow canary fails the p95 latency",
        _requests({"200": 600}) + _durations(CANARY_HASH, {"0.25": 80, "2.5": 20}),
        {"ErrorRatio": True, "P95Latency": False},
    ),
    (
        "too little canary traffic is inconclusive, whatever its errors",
        _requests({"200": 3, "500": 2}),
        {"ErrorRatio": None, "P95Latency": None},
    ),
    (
        "a canary without a single 5xx passes (no 5xx series at all)",
        _requests({"200": 600}) + _durations(CANARY_HASH, {"0.1": 100}),
        {"ErrorRatio": True, "P95Latency": True},
    ),
]


def _unit_tests() -> dict[str, Any]:
    tests = []
    for name, series, verdicts in SCENARIOS:
        checks = []
        for metric, verdict in verdicts.items():
            checks.append({"eval_time": "10m", "alertname": f"{metric}Passes", "exp_alerts": FIRES if verdict else []})
            checks.append({"eval_time": "10m", "alertname": f"{metric}Fails",
                           "exp_alerts": FIRES if verdict is False else []})
        tests.append({"name": name, "interval": "1m", "input_series": series, "alert_rule_test": checks})
    return {"rule_files": ["analysis.rules.yaml"], "evaluation_interval": "1m", "tests": tests}


def _run(groups: list[dict[str, Any]], folder: Path) -> Any:
    write_rules(groups, folder / "analysis.rules.yaml")
    (folder / "analysis.test.yaml").write_text(yaml.safe_dump(_unit_tests(), sort_keys=False))
    return run("test", "rules", "analysis.test.yaml", cwd=folder)


def test_a_bad_canary_fails_the_analysis_and_a_good_one_passes(production: Plan, tmp_path: Path) -> None:
    result = _run(analysis_rules(production), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "failing"),
    [
        # At 15 % the 10 % canary passes: the threshold reaches the query's comparison.
        ({"maxErrorPercent": 15}, {"ErrorRatio"}),
        # A 3 s limit lets the slow canary pass.
        ({"maxP95Milliseconds": 3000}, {"P95Latency"}),
    ],
)
def test_the_thresholds_come_from_config(overrides: dict[str, Any], failing: set[str], tmp_path: Path) -> None:
    plan = run_stack("production", {"rollouts": {"enabled": True, "analysis": overrides}})
    result = _run(analysis_rules(plan), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    names = {m.group(1) for m in re.finditer(r"alertname: (\w+?)(Passes|Fails)", output)}
    assert names == failing, output


def test_a_query_without_the_canary_selector_is_caught(production: Plan, tmp_path: Path) -> None:
    """Judging all of the route's traffic instead of the canary's: the failing stable pods fail a
    good canary."""
    groups = analysis_rules(production)
    for rule in groups[0]["rules"]:
        rule["expr"] = rule["expr"].replace(f", {CANARY}", "")
    result = _run(groups, tmp_path)
    assert result.returncode != 0 and "alertname: ErrorRatio" in result.stdout + result.stderr


def test_the_analysis_queries_parse(production: Plan, tmp_path: Path) -> None:
    result = check_rules(analysis_rules(production), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


# --- RolloutAborted ---------------------------------------------------------------------------------


def _rollout_info(namespace: str, phase: str, values: str) -> dict[str, str]:
    return {"series": f'rollout_info{{job="argo-rollouts-metrics", namespace="argo-rollouts", exported_namespace='
                      f'"{namespace}", name="spywatcher-backend", strategy="canary", traffic_router="Nginx", '
                      f'phase="{phase}"}}', "values": values}


def test_rollout_aborted_fires_on_an_abort_only(production: Plan, tmp_path: Path) -> None:
    rule = production.k8s("PrometheusRule", "spywatcher-rollouts", NS)
    groups = rule["spec"]["groups"]
    assert "SUCCESS: 1 rules found" in check_rules(groups, tmp_path).stdout
    bare = [{**group, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in group["rules"]]}
            for group in groups]
    write_rules(bare, tmp_path / "rollouts.rules.yaml")
    labels = {"severity": "warning", "namespace": NS, "exported_namespace": NS, "name": "spywatcher-backend",
              "job": "argo-rollouts-metrics", "strategy": "canary", "traffic_router": "Nginx", "phase": "Abort"}
    tests = {
        "rule_files": ["rollouts.rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {"name": "an abort fires after a minute", "interval": "1m",
             "input_series": [_rollout_info(NS, "Progressing", "1x3 0x10"), _rollout_info(NS, "Abort", "0x3 1x10")],
             "alert_rule_test": [
                 {"eval_time": "4m", "alertname": "RolloutAborted", "exp_alerts": []},
                 {"eval_time": "5m", "alertname": "RolloutAborted", "exp_alerts": [{"exp_labels": labels}]},
             ]},
            {"name": "healthy, paused or another namespace's abort stays quiet", "interval": "1m",
             "input_series": [_rollout_info(NS, "Completed", "1x10"), _rollout_info(NS, "Paused", "1x10"),
                              _rollout_info("other", "Abort", "1x10")],
             "alert_rule_test": [{"eval_time": "10m", "alertname": "RolloutAborted", "exp_alerts": []}]},
        ],
    }
    (tmp_path / "rollouts.test.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = run("test", "rules", "rollouts.test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
