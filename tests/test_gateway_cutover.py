"""docs/gateway-migration.md, step by step, as written: each step's stack-file blocks applied to a
stack one after another, each step checked as `make check` checks it (strict schemas and the
upstream CRDs, the `pulumi up` rules) and by the policy pack, and what each step changes compared with
what the page says. And the shipped stack that runs the migration (staging, at step 2) in the
zero-downtime model's cut-over."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
import yaml

from offline.engine import DELETE, Plan, run_stack
from offline.plan_changes import replacements
from offline.rules import check_plan
from tests.conftest import ROOT, stack_settings
from tests.test_policy import check as policy_violations
from tests.upstream import schema_problems

PAGE = ROOT / "docs" / "gateway-migration.md"
# The shape of a digest, for the page's `@sha256:<digest>` (a user reads the real ones with crane).
TEST_DIGEST = "0" * 64
# Staging before the migration: its stack file without the gateway and the weights.
BEFORE = {"staging": {"gateway": DELETE, "loadBalancer": {"weights": DELETE}}, "production": {}}


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(merged.get(key), value) if value is not DELETE else DELETE
        return merged
    return override


def steps(stack: str) -> list[tuple[str, dict[str, Any]]]:
    """(title, config overrides) of each step: its YAML blocks merged, `# remove KEY` as a removal;
    the production-only block (the digests) applied to production only."""
    text = PAGE.read_text(encoding="utf-8")
    sections = re.split(r"^### (Step \d+: .+)$", text.split("## The steps", 1)[1], flags=re.M)
    found = []
    for title, body in zip(sections[1::2], sections[2::2], strict=True):
        overrides: dict[str, Any] = {}
        for block in re.findall(r"```yaml\n(.*?)```", body, flags=re.S):
            if "<digest>" in block:
                if stack != "production":
                    continue
                block = block.replace("<digest>", TEST_DIGEST)
            for key in re.findall(r"^# remove (\S+)$", block, flags=re.M):
                top, *rest = key.removeprefix("spywatcher:").split(".")
                removal: Any = DELETE
                for part in reversed(rest):
                    removal = {part: removal}
                overrides = _merge(overrides, {top: removal})
            values = yaml.safe_load(block) or {}
            overrides = _merge(overrides, {k.removeprefix("spywatcher:"): v for k, v in values.items()})
        found.append((title, overrides))
    return found


def test_the_page_has_the_five_steps() -> None:
    assert [title for title, _ in steps("production")] == [
        "Step 1: the gateway at weight 0", "Step 2: 10 %", "Step 3: 50 %", "Step 4: 100 %",
        "Step 5: ingress-nginx off"]
    weights = [overrides.get("loadBalancer", {}).get("weights") for _, overrides in steps("staging")]
    assert weights == [{"ingressNginx": 100, "envoyGateway": 0}, {"ingressNginx": 90, "envoyGateway": 10},
                       {"ingressNginx": 50, "envoyGateway": 50}, {"ingressNginx": 0, "envoyGateway": 100}, DELETE]


@cache
def walk_of(stack: str) -> list[tuple[str, Plan]]:
    """The stack before the migration, then after each step, the steps applied one after another."""
    overrides: dict[str, Any] = dict(BEFORE[stack])
    plans = [("before", run_stack(stack, overrides))]
    for title, step in steps(stack):
        overrides = _merge(overrides, step)
        plans.append((title, run_stack(stack, overrides)))
    return plans


@pytest.fixture(params=["staging", "production"])
def walk(request: pytest.FixtureRequest) -> list[tuple[str, Plan]]:
    return walk_of(str(request.param))


def test_each_step_passes_make_check_the_policy_pack_and_the_deploy_rules(walk: list[tuple[str, Plan]]) -> None:
    existing = stack_settings(walk[0][1].stack).existing_objects()
    for title, plan in walk:
        assert schema_problems(plan.k8s_objects()) == [], title
        assert check_plan(plan, existing) == [], title
        assert policy_violations(plan.resources) == [], title


def _changed(before: Plan, after: Plan) -> tuple[list[str], list[str], list[str]]:
    """(created, deleted, updated) logical names, and nothing may be replaced."""
    assert replacements(before, after) == []
    old, new = {r.urn: r for r in before.resources}, {r.urn: r for r in after.resources}
    name = {**{u: r.name for u, r in old.items()}, **{u: r.name for u, r in new.items()}}
    updated = sorted(name[u] for u in old.keys() & new.keys() if old[u].inputs != new[u].inputs
                     or old[u].protect != new[u].protect)
    return sorted(name[u] for u in new.keys() - old.keys()), sorted(name[u] for u in old.keys() - new.keys()), updated


def test_each_step_changes_what_the_page_says(walk: list[tuple[str, Plan]]) -> None:
    plans = [plan for _, plan in walk]
    created, deleted, updated = _changed(plans[0], plans[1])
    assert deleted == [] and "edge-https" in updated
    assert {"gateway", "gateway-class", "gateway-gateway", "gateway-proxy", "gateway-targets", "edge-envoy",
            "gateway-route-api", "gateway-route-api-policy"} <= set(created)
    # With `loadBalancer.protect` (production), a target group is protected while its weight is above 0.
    protect = stack_settings(plans[0].stack).load_balancer.protect
    # 10 %: the listener, and Envoy's target group now protected.
    assert _changed(plans[1], plans[2]) == ([], [], ["edge-envoy", "edge-https"] if protect else ["edge-https"])
    assert _changed(plans[2], plans[3]) == ([], [], ["edge-https"])  # 50 %: the listener only
    # 100 %: the listener, and nginx's target group is no longer protected (so step 5 may delete it).
    assert _changed(plans[3], plans[4]) == ([], [], ["edge-https", "edge-nginx"] if protect else ["edge-https"])
    assert plans[4].get("aws:lb/targetGroup:TargetGroup", "edge-nginx").protect is False
    assert plans[4].get("aws:lb/targetGroup:TargetGroup", "edge-envoy").protect is protect
    # ingress-nginx off: deletions, nothing created or replaced.
    created, deleted, updated = _changed(plans[4], plans[5])
    assert created == []
    assert {"ingress", "ingress-namespace", "ingress-targets", "edge-nginx", "edge-out-controller",
            "routes-api"} <= set(deleted)
    assert not [n for n in deleted if n.startswith(("gateway", "edge-envoy", "backend", "frontend"))]


def test_staging_is_at_step_2_as_written(plans: dict[str, Plan]) -> None:
    """The shipped stack file is the page's step 2 applied to staging (the rate limits' Redis aside)."""
    title, step_2_plan = walk_of("staging")[2]
    assert title == "Step 2: 10 %"
    step_2 = {r.name: (r.inputs, r.protect) for r in step_2_plan.resources if r.name.startswith("edge")}
    shipped = {r.name: (r.inputs, r.protect) for r in plans["staging"].resources if r.name.startswith("edge")}
    assert step_2 == shipped


# --- The shipped migration in the zero-downtime model ---------------------------------------------------


def test_staging_is_the_cutover_scenarios_stack(plans: dict[str, Plan]) -> None:
    """`make downtime STACK=staging` runs the cut-over both ways on staging's two data planes, and no
    property fails on Envoy's side of it (findings on ingress-nginx's side are its own)."""
    from simulate.downtime.scenarios import SCENARIOS
    from simulate.downtime.search import check_scenario
    from simulate.downtime.topology import ENVOY, NGINX, load_topology

    topology = load_topology(plans["staging"])
    assert {k: (g.fleet, g.weight) for k, g in topology.target_groups.items()} == {
        NGINX: ("ingress-nginx-controller", 90), ENVOY: ("envoy-proxy", 10)}
    cutover = SCENARIOS["cutover"]
    assert cutover.applies(topology) and cutover.cases(topology) == [f"{NGINX} off", f"{ENVOY} off"]
    result = check_scenario(topology, cutover)
    failing = {p.name: p.detail for p in result.properties if not p.holds}
    assert [name for name, detail in failing.items() if "envoy" in detail.lower()] == [], failing
    assert {p.name for p in result.properties} >= {"healthy-target-always", "websocket-budget",
                                                   "no-request-after-sigterm"}
    assert all(failing.get(name) is None for name in ("healthy-target-always", "websocket-budget",
                                                      "no-request-after-sigterm", "requests-finish-before-sigkill"))
