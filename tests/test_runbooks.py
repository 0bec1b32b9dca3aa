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
        # A per-target-group alarm ends with its data plane and shares its kind's runbook.
        name = re.sub(r"-(nginx|envoy)$", "", alarm.inputs["name"].removeprefix(f"spywatcher-{plan.stack}-"))
        [link] = re.findall(r"Runbook: (\S+)$", alarm.inputs["alarmDescription"])
        assert found.get(name, link) == link, name
        found[name] = link
    return found


def test_every_rendered_alert_has_a_runbook(plans: dict[str, Plan], fixture_plans: dict[str, Plan]) -> None:
    every = {}
    for plan in {**plans, **fixture_plans}.values():
        every.update(rendered_alerts(plan))
    assert {"HPAMaxedOut", "FrequentScaling", "RolloutStuck", "UnhealthyTargets", "HealthyTargetsLow",
            "LoadBalancer5xxRate", "Target5xxRate", "TargetResponseTimeHigh", "RolloutAborted"} <= set(every)
    missing = [name for name in every if not (RUNBOOKS / f"{name}.md").is_file()]
    assert missing == [], f"alerts without docs/runbooks/<Alert>.md: {missing}"
    for name, link in every.items():
        assert link == f"{REPOSITORY_DOCS}docs/runbooks/{name}.md", (name, link)


def test_the_default_base_is_the_runbooks_folder() -> None:
    base = Alerts().runbook_base_url
    assert base.startswith(REPOSITORY_DOCS)
    assert ROOT / base.removeprefix(REPOSITORY_DOCS) == RUNBOOKS


PROCEDURES = ["gateway-cutover.md"]  # procedures, named in lower case; alert pages carry the alert's name


def test_each_runbook_says_what_it_means_what_to_run_and_what_to_change() -> None:
    pages = sorted(p for p in RUNBOOKS.glob("*.md") if p.name not in ("README.md", *PROCEDURES))
    assert len(pages) == 9
    index = (RUNBOOKS / "README.md").read_text()
    for page in pages:
        text = page.read_text()
        assert text.startswith(f"# {page.stem}\n"), page.name
        assert "**Means:**" in text and "## First commands" in text and "## What to change" in text, page.name
        assert "```sh\n" in text and ("-n spywatcher" in text or "-n ingress-nginx" in text), page.name
        assert f"]({page.name})" in index, f"{page.name} is not in the runbooks index"


def test_the_cutover_procedure_names_each_step_its_gates_and_its_roll_back(plans: dict[str, Plan]) -> None:
    """docs/runbooks/gateway-cutover.md: the migration page's steps, each with the alarms that
    gate it (the alarms staging, which runs both data planes, really has) and how to roll back."""
    text = (RUNBOOKS / "gateway-cutover.md").read_text()
    assert text.startswith("# gateway-cutover\n") and "](gateway-cutover.md)" in (RUNBOOKS / "README.md").read_text()
    for heading in ("## Before step 1", "## The alarms that gate each step", "## Watch, at each step",
                    "## Roll back"):
        assert f"\n{heading}\n" in text, heading
    for weights in ("| 1 | 100/0 |", "| 2 | 90/10 |", "| 3 | 50/50 |", "| 4 | 0/100 |", "| 5 | ingress-nginx off |"):
        assert weights in text, weights
    staging = {a.inputs["name"].removeprefix("spywatcher-staging-")
               for a in plans["staging"].of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    gates = set(re.findall(r"`spywatcher-production-([A-Z][A-Za-z0-9]+(?:-envoy)?)`", text))
    assert gates == {"HealthyTargetsLow-envoy", "UnhealthyTargets-envoy", "Target5xxRate-envoy",
                     "TargetResponseTimeHigh-envoy", "LoadBalancer5xxRate"}
    assert gates <= staging and {g.replace("-envoy", "-nginx") for g in gates if "-envoy" in g} <= staging
    assert "pulumi stack output envoyTargetGroupArn" in text
