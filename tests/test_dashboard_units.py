"""Units and layout of the dashboards: a panel whose unit is wrong reads 100x (or 1000x) off even
with the right query. The Grafana panels' units are stated per panel here (Grafana's unit ids:
`reqps` requests/s, `s` seconds, `percentunit` a 0-1 ratio shown as %, where `percent` would show
0.05 as 0.05 %); the CloudWatch alarm converts the stack's milliseconds into the metric's seconds."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Plan, run_stack
from tests.test_dashboards import dashboard

# Each panel of production's dashboard: (title, unit or None for a plain count, grid position x, y).
PANELS = [
    ("Request rate (requests/s)", "reqps", 0, 1),
    ("p95 latency (seconds)", "s", 12, 1),  # histogram_quantile of a _seconds histogram
    ("Running pods", None, 0, 9),
    ("HPA current replicas", None, 12, 9),
    ("HPA backend: current, desired, min, max", None, 0, 18),
    ("HPA frontend: current, desired, min, max", None, 12, 18),
    ("Scaling events (replica changes per 5m)", None, 0, 26),
    ("Data-plane pods ready (= healthy targets: readiness gates)", None, 0, 35),
    ("Data-plane HPA replicas: current and desired", None, 12, 35),
    ("ingress-nginx: requests per route (requests/s)", "reqps", 0, 44),
    ("ingress-nginx: 5xx ratio per route", "percentunit", 12, 44),  # errors / requests: 0-1
    ("ingress-nginx: p95 request time per route (seconds)", "s", 0, 52),  # nginx's request_duration_seconds
]
ROWS = [("Guide", 0), ("Autoscaling", 17), ("Data planes: targets and replicas", 34),
        ("Data planes: requests, errors, latency (ingress-nginx)", 43)]


def test_each_panel_has_its_unit_a_zero_floor_and_its_place(plans: dict[str, Plan]) -> None:
    board = dashboard(plans["production"])
    timeseries = [p for p in board["panels"] if p["type"] == "timeseries"]
    assert [(p["title"], p["fieldConfig"]["defaults"].get("unit"), p["gridPos"]["x"], p["gridPos"]["y"])
            for p in timeseries] == PANELS
    for panel in timeseries:
        assert panel["fieldConfig"] == {"defaults": {"min": 0, **({"unit": u} if (u := panel["fieldConfig"][
            "defaults"].get("unit")) else {})}, "overrides": []}
        assert (panel["gridPos"]["w"], panel["gridPos"]["h"]) == (12, 8)
    rows = [(p["title"], p["gridPos"]) for p in board["panels"] if p["type"] == "row"]
    assert rows == [(title, {"h": 1, "w": 24, "x": 0, "y": y}) for title, y in ROWS]


def test_each_panels_queries_are_lettered_in_order(plans: dict[str, Plan]) -> None:
    for panel in dashboard(plans["production"])["panels"]:
        if panel["type"] == "timeseries":
            assert [t["refId"] for t in panel["targets"]] == ["A", "B", "C", "D"][: len(panel["targets"])]


def test_the_time_window_and_tags(plans: dict[str, Plan]) -> None:
    board = dashboard(plans["production"])
    assert board["time"] == {"from": "now-6h", "to": "now"}
    assert board["tags"] == ["spywatcher", "generated", "spywatcher-production"]


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.mark.parametrize(("milliseconds", "seconds"), [(1500, 1.5), (250, 0.25), (2000, 2)])
def test_the_response_time_threshold_is_the_stacks_milliseconds_in_seconds(milliseconds: int, seconds: Any) -> None:
    plan = run_stack("production", {"monitoring": {"cloudWatch": {"alarms": {
        "responseTimeP95Milliseconds": milliseconds}}}})
    alarm = plan.get(ALARM, "cloudwatch-TargetResponseTimeHigh-nginx").inputs
    assert alarm["threshold"] == seconds
    assert f"p95 target response time above {milliseconds} ms" in alarm["alarmDescription"]
