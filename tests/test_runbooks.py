"""Every alert the program renders (Prometheus alerts and CloudWatch alarms) has a runbook in
docs/runbooks/<Alert>.md, and the default runbook links point at them."""

from __future__ import annotations

import re

from config.operations import Alerts
from offline.engine import Plan
from tests.conftest import ROOT

RUNBOOKS = ROOT / "docs" / "runbooks"
REPOSITORY_DOCS = "https://github.com/subculture-collective/spywatcher/blob/main/"


def rendered_alerts(plan: Plan) -> dict[str, str]:
    """Alert name -> the runbook link it carries, for every alert and alarm of the plan."""
    found = {}
    for obj in plan.k8s_objects():
        if obj["kind"] == "PrometheusRule":
            for group in obj["spec"]["groups"]:
                for rule in group["rules"]:
                    found[rule["alert"]] = rule["annotations"]["runbook_url"]
    for alarm in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        name = alarm.inputs["name"].removeprefix(f"spywatcher-{plan.stack}-")
        [link] = re.findall(r"Runbook: (\S+)$", alarm.inputs["alarmDescription"])
        found[name] = link
    return found


def test_every_rendered_alert_has_a_runbook(plans: dict[str, Plan], fixture_plans: dict[str, Plan]) -> None:
    every = {}
    for plan in {**plans, **fixture_plans}.values():
        every.update(rendered_alerts(plan))
    assert {"HPAMaxedOut", "FrequentScaling", "RolloutStuck", "UnhealthyTargets", "HealthyTargetsLow",
            "LoadBalancer5xxRate", "TargetResponseTimeHigh", "RolloutAborted"} <= set(every)
    missing = [name for name in every if not (RUNBOOKS / f"{name}.md").is_file()]
    assert missing == [], f"alerts without docs/runbooks/<Alert>.md: {missing}"
    for name, link in every.items():
        assert link == f"{REPOSITORY_DOCS}docs/runbooks/{name}.md", (name, link)


def test_the_default_base_is_the_runbooks_folder() -> None:
    base = Alerts().runbook_base_url
    assert base.startswith(REPOSITORY_DOCS)
    assert ROOT / base.removeprefix(REPOSITORY_DOCS) == RUNBOOKS


def test_each_runbook_says_what_it_means_what_to_run_and_what_to_change() -> None:
    pages = sorted(p for p in RUNBOOKS.glob("*.md") if p.name != "README.md")
    assert len(pages) == 8
    index = (RUNBOOKS / "README.md").read_text()
    for page in pages:
        text = page.read_text()
        assert text.startswith(f"# {page.stem}\n"), page.name
        assert "**Means:**" in text and "## First commands" in text and "## What to change" in text, page.name
        assert "```sh\n" in text and ("-n spywatcher" in text or "-n ingress-nginx" in text), page.name
        assert f"]({page.name})" in index, f"{page.name} is not in the runbooks index"

