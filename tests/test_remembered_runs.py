"""A process that runs a stack again with the same inputs gets a copy of the first run's plan."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError
from offline import engine
from offline.engine import fresh_runs, remembered_runs, run_stack


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


def test_other_inputs_run_again(runs: list[str]) -> None:
    with remembered_runs():
        run_stack("staging")
        bigger = run_stack("staging", {"backend": {"autoscaling": {"maxReplicas": 3}}})
        run_stack("staging", secrets={"secrets": {"frontend": {"API_KEY": "s3cret"}}})
        run_stack("production")
    assert runs == ["staging", "staging", "staging", "production"]
    assert bigger.get("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "backend-hpa").inputs["spec"][
        "maxReplicas"] == 3


def test_a_failed_run_is_not_kept(runs: list[str]) -> None:
    with remembered_runs():
        for _ in range(2):
            with pytest.raises(ConfigError):
                run_stack("staging", {"backend": {"autoscaling": {"minReplicas": 0}}})
    assert runs == ["staging", "staging"]


def test_fresh_runs_run_the_program_inside_and_the_outer_plans_serve_after(runs: list[str]) -> None:
    store: dict[str, bytes] = {}
    with remembered_runs(store):
        run_stack("staging")
        with fresh_runs():
            run_stack("staging")
        with remembered_runs():  # inside another: the outer one's plans
            run_stack("staging")
    assert runs == ["staging", "staging"] and len(store) == 1
    with remembered_runs(store):  # a store handed in again serves its plans
        run_stack("staging")
    assert runs == ["staging", "staging"]


def test_inputs_that_are_not_plain_data_are_not_kept(runs: list[str]) -> None:
    calls = {"aws:index/getCallerIdentity:getCallerIdentity": {"accountId": object()}}
    assert engine._run_key("staging", {}, set(), engine.PROGRAM, calls) is None  # type: ignore[dict-item]
    assert engine._run_key("staging", {"a": 1}, {"b"}, engine.PROGRAM, None) == (
        f'["staging", {{"a": 1}}, ["b"], "{engine.PROGRAM}", null]')


def test_nothing_is_kept_outside(runs: list[str]) -> None:
    run_stack("staging")
    run_stack("staging")
    assert runs == ["staging", "staging"]
