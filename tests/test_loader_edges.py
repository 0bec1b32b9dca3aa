"""How config problems reach the user (config/loader.py), at the edges of each wording rule: one
problem or several, a namespace just similar enough to be a typo, JSON text or a kubeconfig, a secret
held offline, two problems on one key, a value at the 80 characters shown, a null, a sign in quoted
digits, a mapping or a list too short by one entry. Whole messages."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, ConfigProblem
from config.loader import _message, misspelt_namespace, project_config
from config.stackfile import OFFLINE_PLACEHOLDER
from tests.conftest import problems


def test_the_error_counts_its_problems_in_words() -> None:
    one = ConfigError([ConfigProblem("backend.image", '"x"', "must be pinned")])
    assert str(one) == ('invalid stack configuration (1 problem; keys are under `spywatcher:`):\n'
                        '  - backend.image: "x" — must be pinned')
    two = ConfigError([ConfigProblem("a", "1", "m"), ConfigProblem("cluster.context", "", "is required")])
    assert str(two) == ("invalid stack configuration (2 problems; keys are under `spywatcher:`):\n"
                        "  - a: 1 — m\n  - cluster.context: is required")


@pytest.mark.parametrize(("key", "misspelt"), [
    ("spywat:backend", True),  # similarity exactly 0.75 (12 of 16 characters)
    ("spywa:backend", False),  # 0.67
    ("SPYWATCHR:backend", True),  # compared in lower case
    ("spywatcherr:backend", True),
    ("spywatcher:backend", False),  # the project's own
    ("aws:region", False),
    ("spywatchr", False),  # no namespace at all
])
def test_a_namespace_is_a_typo_of_the_projects_from_a_similarity_of_three_quarters(key: str, misspelt: bool) -> None:
    assert misspelt_namespace(key) is misspelt


def test_project_config_parses_json_lists_and_mappings_but_not_a_kubeconfig() -> None:
    raw = {"spywatcher:kubeconfig": '{"apiVersion": "v1"}', "spywatcher:x": '["a"]', "spywatcher:y": "[not json",
           "spywatcher:z": '{"a": 1}', "spywatchr:w": "1", "aws:region": "us-east-1"}
    assert project_config(raw, ["spywatcher:kubeconfig", "spywatchr:w", "aws:region"]) == (
        {"kubeconfig": '{"apiVersion": "v1"}', "x": ["a"], "y": "[not json", "z": {"a": 1}, "spywatchr:w": "1"},
        {"kubeconfig", "spywatchr:w"},
    )


def test_an_encrypted_secrets_object_is_empty_offline_only_when_it_is_a_secret() -> None:
    assert problems({"secrets": OFFLINE_PLACEHOLDER}, frozenset({"secrets"})) == []
    assert problems({"secrets": OFFLINE_PLACEHOLDER}) == [
        "secrets: must be stored as a secret: `pulumi config set --secret spywatcher:secrets ...` (or `--secret "
        "--path` for one entry); plain text would land in the stack file and state",
        "secrets: [secret] — must be a mapping of keys to values, not text",
    ]


def test_two_rules_broken_by_one_key_are_two_problems() -> None:
    """An ALB idle timeout of 80 s is both shorter than a 90 s request and not below nginx's 75 s keep-alive."""
    overrides = {"ingressController": {"timeouts": {"readSeconds": 90, "sendSeconds": 90},
                                       "terminationGracePeriodSeconds": 3715},
                 "backend": {"shutdown": {"terminationGracePeriodSeconds": 120}},
                 "frontend": {"shutdown": {"terminationGracePeriodSeconds": 120}},
                 "loadBalancer": {"deregistrationDelaySeconds": 90, "idleTimeoutSeconds": 80}}
    assert problems(overrides) == [
        "loadBalancer.idleTimeoutSeconds: 80 — must be at least the 90 s a request may take (route `frontend` through "
        "ingress-nginx: ingressController.timeouts.readSeconds): the ALB closes a connection that carried no byte for "
        "this long and answers 504 to a request still waiting",
        "loadBalancer.idleTimeoutSeconds: 80 — must be below ingress-nginx's keep-alive (75 s): otherwise nginx may "
        "close an idle connection just as the ALB sends a request on it, and the ALB answers 502",
    ]


ALLOWED = ("allowed keys: autoscaling, containerPort, disruptionBudget, env, existingSecret, image, metricsPort, "
           "probes, recommendations, resources, rollout, schedules, scratchVolumes, securityContext, service, "
           "shutdown, topologySpread")


@pytest.mark.parametrize(("length", "shown"), [
    (78, '"' + "a" * 78 + '"'),  # 80 characters of JSON: shown whole
    (79, '"' + "a" * 76 + "..."),  # 81: cut to 77 and an ellipsis
])
def test_a_value_is_shown_up_to_80_characters(length: int, shown: str) -> None:
    assert problems({"backend": {"imagex": "a" * length}}) == [
        f"backend.imagex: {shown} — unknown key; did you mean `image`? {ALLOWED}"]


def test_a_null_value_is_shown_as_null() -> None:
    assert problems({"backend": {"image": None}}) == ["backend.image: null — must be text, not null"]


@pytest.mark.parametrize("text", ["-3", "+3", " 3 "])
def test_quoted_digits_with_a_sign_or_spaces_are_a_number_in_quotes(text: str) -> None:
    assert problems({"backend": {"autoscaling": {"minReplicas": text}}}) == [
        f'backend.autoscaling.minReplicas: "{text}" — must be a whole number, not text: remove the quotes so YAML '
        "reads a number"]


def test_a_boolean_where_a_list_or_mapping_belongs_is_named_a_boolean() -> None:
    assert problems({"loadBalancer": {"subnetIds": True}, "backend": {"env": False}}) == [
        "backend.env: false — must be a mapping of keys to values, not a boolean",
        "loadBalancer.subnetIds: true — must be a list, not a boolean",
    ]


@pytest.mark.parametrize(("error", "message"), [
    ({"type": "too_short", "input": {}, "ctx": {"min_length": 1, "actual_length": 0}},
     "must have at least 1 entry (it has 0)"),
    ({"type": "too_short", "input": [], "ctx": {"min_length": 2, "actual_length": 0}},
     "must have at least 2 items (it has 0)"),
    ({"type": "too_long", "input": {"a": 1, "b": 2}, "ctx": {"max_length": 1, "actual_length": 2}},
     "must have at most 1 entry (it has 2)"),
    ({"type": "greater_than", "input": 0, "ctx": {"gt": 0}}, "must be more than 0"),
    ({"type": "less_than", "input": 9, "ctx": {"lt": 9}}, "must be less than 9"),
    ({"type": "less_than_equal", "input": 2**31, "ctx": {"le": 2**31 - 1}},
     "must be at most 2147483647 (Kubernetes integers are 32-bit)"),
    ({"type": "string_too_short", "input": "ab", "ctx": {"min_length": 3}}, "must be at least 3 characters long"),
    ({"type": "string_pattern_mismatch", "input": "x", "ctx": {"pattern": "^unknown$"}}, "has the wrong format"),
])
def test_each_pydantic_error_in_the_users_words(error: dict[str, Any], message: str) -> None:
    assert _message({"loc": ("x",), "msg": "", **error}, None) == message
