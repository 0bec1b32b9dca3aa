"""Shared fixtures: each stack's program runs once per session under the Pulumi mocks."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import ConfigError  # noqa: E402
from config.stack import StackSettings  # noqa: E402
from config.stackfile import read_stack_config, stack_names  # noqa: E402
from offline.engine import Plan, Registration, fresh_runs, remembered_runs, run_stack  # noqa: E402

STACKS = stack_names()

# The least a stack file must say: everything else has a default.
MINIMAL_CONFIG: dict[str, Any] = {
    "cluster": {"name": "c", "context": "c", "region": "us-east-1", "vpcId": "vpc-0123456789abcdef0",
                "vpcCidr": "10.0.0.0/16"},
    "backend": {"image": "b:1"},
    "frontend": {"image": "f:1"},
    "routing": {"hosts": {"frontend": "example.com", "api": "api.example.com"}},
    "networkPolicy": {"apiServerCidrs": ["172.20.0.1/32", "10.0.16.0/24"], "controlPlaneCidrs": ["10.0.16.0/24"]},
    "loadBalancer": {
        "subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "subnetCidrs": ["10.0.0.0/24", "10.0.1.0/24"],
        "certificate": {"arn": "arn:aws:acm:us-east-1:111122223333:certificate/0b6e8f1c-2d4a-4c3e-9f7b-1a2b3c4d5e6f",
                        "domains": ["example.com", "*.example.com"]},
    },
}


# What a stack behind a network load balancer says besides `loadBalancer.type: network` (config/drain.py):
# an NLB keeps opening connections to a deregistered target for about 120 s, so nginx serves 125 s past
# the deregistration delay, and an app pod evicted with a controller pod outlives the clients'
# connections to it (the controller's upstreams are frozen while it drains).
NLB_BUDGET: dict[str, Any] = {
    "ingressController": {"shutdownMarginSeconds": 125, "terminationGracePeriodSeconds": 3800},
    "backend": {"shutdown": {"preStopSleepSeconds": 185, "terminationGracePeriodSeconds": 200}},
    "frontend": {"shutdown": {"preStopSleepSeconds": 185, "terminationGracePeriodSeconds": 200}},
}


def behind_nlb(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stack-file overrides for a network load balancer with its drain budget, then ``overrides``."""

    def merge(base: Any, extra: Any) -> Any:
        if isinstance(base, dict) and isinstance(extra, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in extra.items()}}
        return extra

    return merge({**NLB_BUDGET, "loadBalancer": {"type": "network"}}, overrides or {})


_MODULES_FROZEN = [0]


def _freeze_what_imports_brought() -> None:
    """Imports bring hundreds of thousands of objects that live until the worker exits (the SDKs and
    providers, many of whose modules load on a stack's first run). With CPython's default thresholds
    (700, 10, 10) the cyclic collector walked all of them every few tests: about 20 s of each worker's
    CPU in a whole run. Frozen once imports have grown, and with young collections rarer, it walks
    mostly what the tests make."""
    if len(sys.modules) - _MODULES_FROZEN[0] < 100:
        return
    _MODULES_FROZEN[0] = len(sys.modules)
    gc.collect()
    gc.freeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.set_threshold(50_000, 20, 100)
    _freeze_what_imports_brought()


def pytest_runtest_teardown(item: pytest.Item) -> None:
    _freeze_what_imports_brought()


@pytest.fixture(scope="session", autouse=True)
def _remembered_runs() -> Iterator[None]:
    """A test (or fixture) that runs a stack with inputs run before in this worker gets a copy of that
    plan: the same inputs give the same plan. Not under mutmut: each test must run the mutated code
    it reaches, and be credited with reaching it."""
    if "MUTANT_UNDER_TEST" in os.environ:
        yield
        return
    with remembered_runs():
        yield


@pytest.fixture(autouse=True)
def _fresh_runs_when_patched(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that monkeypatches may change what the program does: its runs run the program."""
    if "monkeypatch" not in request.fixturenames:
        yield
        return
    with fresh_runs():
        yield


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    """The plan of every stack, run once: tests that only read a plan share it."""
    return {stack: run_stack(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def plan(plans: dict[str, Plan], stack: str) -> Plan:
    return plans[stack]


def stack_settings(stack: str) -> StackSettings:
    from config.loader import project_config, validate_settings

    return validate_settings(*project_config(*read_stack_config(stack)), stack)


def registration(type_: str, name: str, inputs: dict[str, Any], *, urn: str | None = None, parent: str = "",
                 custom: bool = True, **options: Any) -> Registration:
    """A registration written by hand, for a test that builds its own plan (``urn`` defaults to
    ``urn:<name>``; ``options`` are Registration's, e.g. ``protect``)."""
    return Registration(type=type_, name=name, urn=urn or f"urn:{name}", parent=parent, custom=custom, inputs=inputs,
                        **options)


def config_error(stack: str = "staging", overrides: dict[str, Any] | None = None,
                 secrets: dict[str, Any] | None = None) -> ConfigError:
    """Run the program with bad overrides; return the ConfigError after checking nothing was registered."""
    with pytest.raises(ConfigError) as caught:
        run_stack(stack, overrides, secrets)
    registered = caught.value.plan.resources  # type: ignore[attr-defined]
    assert registered == [], f"resources registered despite a config error: {[r.name for r in registered]}"
    return caught.value


def problems(overrides: dict[str, Any], secret_keys: frozenset[str] = frozenset()) -> list[str]:
    """The problems of MINIMAL_CONFIG with ``overrides`` as `path: value — message` lines ([] if
    valid), the settings validated alone (no program run); ``secret_keys`` are the keys given as
    Pulumi secrets."""
    from config import validate_settings
    from config.base import deep_merge

    try:
        validate_settings(deep_merge(MINIMAL_CONFIG, overrides), set(secret_keys))
    except ConfigError as error:
        return [str(p) for p in error.problems]
    return []


def problem_for(error: ConfigError, path: str) -> str:
    """The message of the problem reported for ``path``; fails listing all problems if none."""
    found = [p for p in error.problems if p.path == path]
    assert found, f"no problem reported for {path}; got:\n{error}"
    return str(found[0])


@pytest.fixture(scope="session")
def fixture_plans() -> dict[str, Plan]:
    """The plan of every test stack (tests/stacks/), run once."""
    from config.stackfile import fixture_names

    return {stack: run_stack(stack) for stack in fixture_names()}
