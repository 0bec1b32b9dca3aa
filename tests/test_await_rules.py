"""offline/await_rules.py: pulumi-kubernetes' `pulumi.com/waitFor`, checked on the provider's own
test cases (pulumi/pulumi-kubernetes v4.32.0 provider/pkg/jsonpath/jsonpath_test.go TestParse and
TestMatches), then used to show when `pulumi up` stops waiting for the backend's Rollout."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from offline.await_rules import WAIT_FOR, Match, WaitForError, expressions, matches, parse, problems, satisfied
from offline.engine import Plan, run_stack
from offline.render import check, render_plan

# --- The provider's own cases --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "path", "value"),
    [
        ('jsonpath={.status.conditions[?(@.type=="Failed"||@.type=="Complete")].status}=True',
         '{.status.conditions[?(@.type=="Failed"||@.type=="Complete")].status}', "True"),
        ("jsonpath={.foo}", "{.foo}", ""),
        ("jsonpath={.foo}=bar", "{.foo}", "bar"),
        ("jsonpath={$.foo}=bar", "{$.foo}", "bar"),
        ('jsonpath={.status.containerStatuses[?(@.name=="foobar")].ready}=True',
         '{.status.containerStatuses[?(@.name=="foobar")].ready}', "True"),
        ("jsonpath={ .webhooks[*].clientConfig.caBundle }", "{ .webhooks[*].clientConfig.caBundle }", ""),
    ],
)
def test_parse_accepts_what_the_provider_accepts(expr: str, path: str, value: str) -> None:
    parsed = parse(expr)
    assert (parsed.path, parsed.value) == (path, value)


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        ("", "expected a non-empty JSONPath expression"),
        ("{.foo}", "JSONPath expression must begin with a 'jsonpath=' prefix"),
        ("jsonpath='{.status.phase}'=Running", "'{.status.phase}' should omit shell quotes"),
        ("jsonpath={.metadata.name}=", "{.metadata.name}= requires a value"),
        ("jsonpath={.metadata.name}='test=wrong'",
         "format should be {.path}=value or {.path}, got \"{.metadata.name}='test=wrong'\""),
        ("jsonpath=.status.phase", ".status.phase should be wrapped in brackets { ... }"),
    ],
)
def test_parse_refuses_what_the_provider_refuses(expr: str, error: str) -> None:
    with pytest.raises(WaitForError) as raised:
        parse(expr)
    assert str(raised.value) == error


def test_an_invalid_path_is_refused_with_the_parsers_reason() -> None:
    # The provider's case says "unexpected ']' at position 12" (theory/jsonpath's words).
    with pytest.raises(WaitForError) as raised:
        parse("jsonpath={ .webhooks[].clientConfig.caBundle }")
    assert str(raised.value) == 'parsing "{ .webhooks[].clientConfig.caBundle }": empty bracketed segment'


@pytest.mark.parametrize(
    ("expr", "obj", "want"),
    [
        ("jsonpath={.foo}", {}, Match(False, message="{.foo} selected nothing")),
        ("jsonpath={ .foo }", {"foo": None}, Match(True, "<nil>")),
        ("jsonpath={ .foo }", {"foo": {"bar": "baz"}}, Match(True)),
        ("jsonpath={.foo}=bar", {"foo": "bar"}, Match(True, "bar")),
        ("jsonpath={$.foo}=bar", {"foo": "bar"}, Match(True, "bar")),
        ("jsonpath={.foo}=bar", {"foo": "baz"}, Match(False, "baz")),
        ("jsonpath={.foo[*].bar}=baz", {"foo": [{"ignored": "true"}, {"bar": "baz"}, {"something else": "true"}]},
         Match(True, "baz")),
        ("jsonpath={.foo[1].bar}=baz", {"foo": [{"bar": "not-baz"}, {"bar": "baz"}]}, Match(True, "baz")),
        ("jsonpath={.foo[0].bar}=baz", {"foo": [{"bar": "not-baz"}, {"bar": "baz"}]}, Match(False, "not-baz")),
        ('jsonpath={.conditions[?(@.type=="Failed"||@.type=="Complete")].status}=True',
         {"conditions": [{"type": "Complete", "status": "True"}]}, Match(True, "True")),
        ('jsonpath={.conditions[?(@.type=="Failed"||@.type=="Complete")].status}=True',
         {"conditions": [{"type": "Complete", "status": "False"}]}, Match(False, "False")),
        # A filter on an object selects among its members' values: what the Rollout's wait relies on.
        ("jsonpath={.status[?@ == \"Running\" || @ == 'Succeeded' ]}", {"status": {"phase": "Succeeded"}},
         Match(True, "Succeeded")),
        ('jsonpath={.status[?@ == "Running" || @ == "Succeeded" ]}', {"status": {"phase": "Pending"}},
         Match(False, message='{.status[?@ == "Running" || @ == "Succeeded" ]} selected nothing')),
    ],
)
def test_matches_as_the_provider_does(expr: str, obj: dict[str, Any], want: Match) -> None:
    assert matches(parse(expr), obj) == want


def test_a_value_against_an_object_is_an_error() -> None:
    with pytest.raises(WaitForError) as raised:
        matches(parse("jsonpath={.foo}=bar"), {"foo": ["bar"]})
    assert str(raised.value) == "\"{.foo}\" has a non-primitive value (['bar'])"


@pytest.mark.parametrize(
    ("annotation", "result"),
    [
        ("jsonpath={.a}=b", ["jsonpath={.a}=b"]),
        ('["jsonpath={.a}", "condition=Ready"]', ["jsonpath={.a}", "condition=Ready"]),
        ("condition=Ready", ["condition=Ready"]),
    ],
)
def test_the_annotation_is_a_json_list_or_one_expression(annotation: str, result: list[str]) -> None:
    assert expressions(annotation) == result


@pytest.mark.parametrize(
    ("annotation", "error"),
    [
        ("[]", "at least one condition must be specified"),
        ('["jsonpath={.a}", "Ready"]', 'expected a "jsonpath=" or "condition=" prefix, got "Ready"'),
    ],
)
def test_a_bad_annotation_is_refused(annotation: str, error: str) -> None:
    with pytest.raises(WaitForError) as raised:
        expressions(annotation)
    assert str(raised.value) == error


def test_an_integer_observed_generation_behind_keeps_it_waiting() -> None:
    obj: dict[str, Any] = {"metadata": {"generation": 3}, "status": {"observedGeneration": 2, "phase": "Running"}}
    assert satisfied("jsonpath={.status.phase}=Running", obj) == (False, [])
    obj["status"]["observedGeneration"] = 3
    assert satisfied("jsonpath={.status.phase}=Running", obj) == (True, ["Found {.status.phase}=Running"])


# --- The backend's Rollout: when `pulumi up` stops waiting ---------------------------------------

NS = "spywatcher"
OBSERVED = "{$[?@.workloadObservedGeneration && @.workloadObservedGeneration==$.metadata.annotations" \
           "['rollout.argoproj.io/workload-generation']]}"


@pytest.fixture(scope="module")
def rollout() -> dict[str, Any]:
    return run_stack("production", {"rollouts": {"enabled": True}}).k8s("Rollout", "spywatcher-backend", NS)


def _live(rollout: dict[str, Any], workload_generation: str | None, status: dict[str, Any]) -> dict[str, Any]:
    """The Rollout as the API server returns it: the controller's annotation and status added
    (`observedGeneration` a string, as argo-rollouts v1.9.1 writes it)."""
    live = copy.deepcopy(rollout)
    live["metadata"]["generation"] = 2
    if workload_generation is not None:
        live["metadata"]["annotations"]["rollout.argoproj.io/workload-generation"] = workload_generation
    live["status"] = {"observedGeneration": "2", **status}
    return live


@pytest.mark.parametrize(
    ("state", "workload_generation", "status", "ready", "log"),
    [
        ("created, not yet seen by the controller", None, {}, False,
         ["{.status.phase} selected nothing"]),
        ("the Deployment changed, the controller has not reconciled it yet", "8",
         {"phase": "Healthy", "workloadObservedGeneration": "7"}, False,
         ["Found {.status.phase}=Healthy", f"{OBSERVED} selected nothing"]),
        ("the canary at a weight step", "8", {"phase": "Progressing", "workloadObservedGeneration": "8"}, False,
         ['Waiting for {.status.phase}=Healthy (found "Progressing")']),
        ("paused: too little traffic to judge", "8", {"phase": "Paused", "workloadObservedGeneration": "8"}, False,
         ['Waiting for {.status.phase}=Healthy (found "Paused")']),
        ("aborted by the analysis", "8", {"phase": "Degraded", "workloadObservedGeneration": "8"}, False,
         ['Waiting for {.status.phase}=Healthy (found "Degraded")']),
        ("promoted", "8", {"phase": "Healthy", "workloadObservedGeneration": "8"}, True,
         ["Found {.status.phase}=Healthy", f"Found {OBSERVED}"]),
    ],
)
def test_pulumi_up_waits_until_the_new_pods_are_promoted(rollout: dict[str, Any], state: str,
                                                        workload_generation: str | None, status: dict[str, Any],
                                                        ready: bool, log: list[str]) -> None:
    annotation = rollout["metadata"]["annotations"][WAIT_FOR]
    assert satisfied(annotation, _live(rollout, workload_generation, status)) == (ready, log), state


def test_the_string_observed_generation_is_not_the_providers_to_check(rollout: dict[str, Any]) -> None:
    """The provider's own generation guard reads an integer: a Rollout's is a string, so a change
    of the Rollout alone (its steps) is not waited for; it starts no canary either."""
    live = _live(rollout, "8", {"phase": "Healthy", "workloadObservedGeneration": "8"})
    live["metadata"]["generation"] = 3
    assert satisfied(rollout["metadata"]["annotations"][WAIT_FOR], live)[0] is True


def test_render_check_reports_an_annotation_the_provider_refuses(rollout: dict[str, Any]) -> None:
    assert problems(rollout) == []
    broken = copy.deepcopy(rollout)
    broken["metadata"]["annotations"][WAIT_FOR] = '["jsonpath={.status.phase}=Healthy", "jsonpath=.status.phase"]'
    assert problems(broken) == [
        "metadata.annotations[pulumi.com/waitFor]: pulumi-kubernetes refuses it: .status.phase should be wrapped "
        "in brackets { ... }"]


def test_render_check_runs_the_wait_rules(fixture_plans: dict[str, Plan]) -> None:
    rendered = render_plan(fixture_plans["rollouts"], "1.34")
    [path] = [p for p, o in rendered.kubernetes_files.items() if o["kind"] == "Rollout"]
    assert not [p for p in check(rendered) if WAIT_FOR in p]
    rendered.kubernetes_files[path]["metadata"]["annotations"][WAIT_FOR] = "jsonpath={.status.phase}=a=b"
    assert [p for p in check(rendered) if WAIT_FOR in p] == [
        f"{path}: metadata.annotations[pulumi.com/waitFor]: pulumi-kubernetes refuses it: format should be "
        '{.path}=value or {.path}, got "{.status.phase}=a=b"']
