"""Monitoring at its edges: the Prometheus Adapter's budget at one replica and at two."""

from __future__ import annotations

import pytest
import yaml

from offline.engine import run_stack


@pytest.mark.parametrize(("replicas", "budget"), [(1, False), (2, True)])
def test_the_adapter_has_a_budget_only_with_a_second_replica(replicas: int, budget: bool) -> None:
    """minAvailable 1 of a single adapter pod would block every node drain: one replica, no budget;
    from two, a budget keeps one serving the custom metrics."""
    plan = run_stack("all-options", {"monitoring": {"adapter": {"replicas": replicas}}})
    adapter = plan.get("kubernetes:helm.sh/v3:Release", "monitoring-adapter").inputs
    assert adapter["values"]["replicas"] == replicas
    [values] = adapter["valueYamlFiles"]
    assert yaml.safe_load(values["stringAsset"]) == {"podDisruptionBudget": {
        "enabled": budget, "minAvailable": 1, "maxUnavailable": None, "unhealthyPodEvictionPolicy": "AlwaysAllow"}}
