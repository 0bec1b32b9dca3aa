"""Secrets stay secrets: known secret values set in config appear in no rendered file, no preview
output, no log line and no error message, and reach Pulumi only as secret Outputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from offline.engine import Plan, Secret, reveal, run_stack
from offline.preview import format_plan
from offline.render import render_plan
from tests.conftest import config_error

KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: ci, user: {token: kubeconfig-token-5f1d2c}}]\n"
APP_SECRETS = {
    "backend": {"DATABASE_URL": "postgres://spy:pg-pass-8c2e91@db/spy", "DISCORD_TOKEN": "discord-token-7b3f0a"},
    "frontend": {"SENTRY_DSN": "https://sentry-key-44aa1e@sentry.example.com/1"},
}
VALUES = ["kubeconfig-token-5f1d2c", "pg-pass-8c2e91", "discord-token-7b3f0a", "sentry-key-44aa1e"]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_stack(
        "production",
        overrides={"backend": {"existingSecret": None}},
        secrets={"kubeconfig": KUBECONFIG, "secrets": APP_SECRETS},
    )


def plain_strings(value: Any) -> Iterator[str]:
    """Every string outside a Secret wrapper."""
    if isinstance(value, Secret):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from plain_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from plain_strings(item)


def leaks(text: str) -> list[str]:
    return [v for v in VALUES if v in text]


def test_values_reach_pulumi_only_as_secrets(plan: Plan) -> None:
    for r in plan:
        assert not leaks("\n".join(plain_strings(r.inputs))), f"{r.type} {r.name} holds a secret in plain text"
    assert not leaks("\n".join(plain_strings(plan.outputs)))
    # ...and they are really there, wrapped.
    secrets = {r.name: r for r in plan.of_type("kubernetes:core/v1:Secret")}
    assert reveal(secrets["backend-secrets"].inputs["stringData"]) == APP_SECRETS["backend"]
    assert reveal(secrets["frontend-secrets"].inputs["stringData"]) == APP_SECRETS["frontend"]
    [provider] = plan.of_type("pulumi:providers:kubernetes")
    assert isinstance(provider.inputs["kubeconfig"], Secret) and reveal(provider.inputs["kubeconfig"]) == KUBECONFIG


def test_no_value_in_the_render(plan: Plan) -> None:
    rendered = render_plan(plan, "1.34")
    for path, text in rendered.files.items():
        assert not leaks(text), f"{path} leaks a secret"
    secret_file = next(t for p, t in rendered.files.items() if "backend-secrets" in p)
    assert "DATABASE_URL" in secret_file and "[secret]" in secret_file


def test_no_value_in_the_preview_or_the_logs(plan: Plan) -> None:
    text = format_plan(plan)
    assert not leaks(text)
    assert "kubeconfig=[secret]" in text and "keys=[secret]" in text
    assert plan.logs and not leaks("\n".join(plan.logs))


def test_no_value_in_config_errors() -> None:
    error = config_error(
        "production",
        overrides={"backend": {"autoscaling": {"minReplicas": 0}}},
        secrets={"secrets": {"backend": {"DATABASE_URL": VALUES[1], "bad key": VALUES[2]}}, "kubeconfig": 5},
    )
    assert not leaks(str(error))
    assert any(p.path == "secrets.backend.bad key (key)" for p in error.problems)


def test_a_secret_kubeconfig_is_used_with_its_own_current_context() -> None:
    """`cluster.context` names a context of the local kubeconfig; a kubeconfig given as a secret
    need not have it, so the provider gets no context and uses the kubeconfig's current one."""
    plan = run_stack("staging", secrets={"kubeconfig": KUBECONFIG})
    [provider] = plan.of_type("pulumi:providers:kubernetes")
    assert "context" not in provider.inputs
    assert "kubeconfig-token-5f1d2c" in str(reveal(provider.inputs["kubeconfig"]))
    assert provider.inputs["kubeconfig"] != reveal(provider.inputs["kubeconfig"])  # still a secret
