"""A process that runs a stack again with the same inputs gets a copy of the first run's plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import ConfigError
from offline import engine
from offline.engine import fresh_runs, remembered_runs, run_program, run_stack

# A program of one resource: what is kept and what runs again does not depend on the program, and
# this one runs in a few milliseconds (a stack of this project takes half a second).
TINY = """
import pulumi
config = pulumi.Config()
pulumi.CustomResource("test:index:Thing", "thing", {"size": config.get_int("size") or 1,
                                                   "token": config.get_secret("token")})
"""


def write_tiny(folder: Path) -> Path:
    """The program of one resource as a project in ``folder``; its `__main__.py`."""
    folder.mkdir(exist_ok=True)
    (folder / "Pulumi.yaml").write_text("name: tiny\nruntime: python\n")
    (folder / "__main__.py").write_text(TINY)
    return folder / "__main__.py"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny(tmp_path)


def run_tiny(program: Path, stack: str = "dev", size: int | None = None, token: str | None = None) -> engine.Plan:
    config = {**({"tiny:size": str(size)} if size is not None else {}), **({"tiny:token": token} if token else {})}
    return run_program(stack, config, {"tiny:token"} if token else set(), program=program)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stacks the program really ran for, in order."""
    ran: list[str] = []
    real = engine._run_program

    def counted(stack: str, *args: Any) -> engine.Plan:
        ran.append(stack)
        return real(stack, *args)

    monkeypatch.setattr(engine, "_run_program", counted)
    return ran


def _objects(plan: engine.Plan) -> list[Any]:
    return [(r.type, r.name, r.inputs) for r in plan]


def test_the_same_inputs_run_once_and_each_caller_gets_its_own_copy(runs: list[str]) -> None:
    with remembered_runs():
        first = run_stack("staging")
        first.resources.clear()  # a caller changing its plan changes no one else's
        second = run_stack("staging")
        third = run_stack("staging")
    assert runs == ["staging"]
    assert second is not third and second.resources and _objects(second) == _objects(third)
    assert _objects(second) == _objects(run_stack("staging"))  # what a run outside gives
    assert runs == ["staging", "staging"]


def test_other_inputs_run_again(runs: list[str], tiny: Path, tmp_path: Path) -> None:
    other = write_tiny(tmp_path / "other")
    with remembered_runs():
        run_tiny(tiny)
        bigger = run_tiny(tiny, size=3)
        run_tiny(tiny, token="s3cret")  # the same value as a secret is another input
        run_tiny(tiny, stack="prod")
        run_tiny(other)  # another program
        run_tiny(tiny, size=3)
    assert runs == ["dev", "dev", "dev", "prod", "dev"]
    assert bigger.get("test:index:Thing", "thing").inputs["size"] == 3


def test_a_failed_run_is_not_kept(runs: list[str]) -> None:
    with remembered_runs():
        for _ in range(2):
            with pytest.raises(ConfigError):
                run_stack("staging", {"backend": {"autoscaling": {"minReplicas": 0}}})
    assert runs == ["staging", "staging"]


def test_fresh_runs_run_the_program_inside_and_the_outer_plans_serve_after(runs: list[str], tiny: Path) -> None:
    store: dict[str, bytes] = {}
    with remembered_runs(store):
        run_tiny(tiny)
        with fresh_runs():
            run_tiny(tiny)
        with remembered_runs():  # inside another: the outer one's plans
            run_tiny(tiny)
    assert runs == ["dev", "dev"] and len(store) == 1
    with remembered_runs(store):  # a store handed in again serves its plans
        run_tiny(tiny)
    assert runs == ["dev", "dev"]


def test_inputs_that_are_not_plain_data_are_not_kept(runs: list[str]) -> None:
    calls = {"aws:index/getCallerIdentity:getCallerIdentity": {"accountId": object()}}
    assert engine._run_key("staging", {}, set(), engine.PROGRAM, calls) is None  # type: ignore[dict-item]
    assert engine._run_key("staging", {"a": 1}, {"b"}, engine.PROGRAM, None) == (
        f'["staging", {{"a": 1}}, ["b"], "{engine.PROGRAM}", null]')


def test_nothing_is_kept_outside(runs: list[str], tiny: Path) -> None:
    run_tiny(tiny)
    run_tiny(tiny)
    assert runs == ["dev", "dev"]
