"""docs/reviewing-changes.md shows one real example of each kind of `make diff` line. Each example
names the change it comes from; this runs that change and holds the page to what `offline diff`
prints: every line of the example, in its order (`…` stands for lines left out)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from offline.changes import diff_snapshots
from offline.engine import Plan, run_stack
from offline.render import render_plan
from offline.report import text
from offline.snapshot import Snapshot, snapshot_from_files
from tests.conftest import ROOT

PAGE = ROOT / "docs" / "reviewing-changes.md"
# The change each example of the page comes from: stack and config overrides.
CHANGES: dict[str, tuple[str, dict[str, Any]]] = {
    "production-internal": ("production", {"loadBalancer": {"internal": True}}),
    "production-backend-config": ("production", {"backend": {"env": {"LOG_LEVEL": "warn"},
                                                             "resources": {"requests": {"cpu": "750m"}}}}),
    "production-ingress-namespace": ("production", {"ingressController": {"namespace": "ingress-system"}}),
    "production-adapter-no-waf": ("production", {"monitoring": {"adapter": {"enabled": True}},
                                                 "loadBalancer": {"waf": {"enabled": False}}}),
}
KINDS = ("stack ", "refused: ", "!! ", "!!     what to do: ", "rollouts:", ">> Deployment ", ">> Job ", "changes:",
         "+- ", "!     replaced: ", "!     create-before-delete: ", "!     delete-before-replace: ", "~ ",
         "~     ", "+ ", "+     ", "- ")


def examples() -> dict[str, list[str]]:
    found = re.findall(r"<!-- diff-example: ([\w-]+) -->\n```\n(.*?)\n```", PAGE.read_text(encoding="utf-8"), re.S)
    return {name: block.splitlines() for name, block in found}


def _snapshot(plan: Plan) -> Snapshot:
    return snapshot_from_files(render_plan(plan, "").files)


@pytest.fixture(scope="module")
def bases(plans: dict[str, Plan]) -> dict[str, Snapshot]:
    return {stack: _snapshot(plans[stack]) for stack in {s for s, _ in CHANGES.values()}}


def test_the_page_shows_every_change_named_here_and_every_kind_of_line() -> None:
    shown = examples()
    assert sorted(shown) == sorted(CHANGES)
    lines = [line for block in shown.values() for line in block]
    assert [kind for kind in KINDS if not any(line.startswith(kind) for line in lines)] == []


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_an_example_is_what_make_diff_prints_for_its_change(name: str, bases: dict[str, Snapshot]) -> None:
    stack, overrides = CHANGES[name]
    printed = text("", [diff_snapshots(stack, bases[stack], _snapshot(run_stack(stack, overrides)))]).splitlines()
    position = 0
    for line in examples()[name]:
        if line == "…":
            continue
        assert line in printed[position:], f"{name}: not printed (in this order): {line}"
        position = printed.index(line, position) + 1
