"""Stack files are read as the Pulumi CLI reads them (Go yaml.v3: YAML 1.2), and every problem in
one ends with one line naming the file and the line, exit code 1."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

import config.stackfile as stackfile
from config import ConfigError
from config.stackfile import (
    OFFLINE_PLACEHOLDER,
    ROOT,
    StackFileError,
    StackYamlError,
    UnknownStackError,
    parse,
    read_stack_config,
    resolve_plain,
)
from offline.engine import run_program, run_stack
from tests.conftest import config_error, problem_for

STAGING = (ROOT / "Pulumi.staging.yaml").read_text()


def test_the_stacks_every_per_stack_test_runs_on_are_found() -> None:
    """`plan`, `stack` and `fixture_plans` are parametrized by these lists: one stack missing here
    would drop its tests silently, not fail them."""
    from config.stackfile import fixture_names, stack_names
    from tests.conftest import STACKS

    assert (STACKS, stack_names(), fixture_names()) == (["production", "staging"], ["production", "staging"],
                                                        ["all-options", "rollouts"])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # YAML 1.1 booleans are text in YAML 1.2 (and in yaml.v3)
        ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("n", "n"), ("Yes", "Yes"),
        ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False),
        ("~", None), ("null", None), ("Null", None), ("", None),
        ("42", 42), ("+42", 42), ("-42", -42), ("1_000", 1000), ("0x1F", 31), ("0o17", 15), ("017", 15),
        ("0b101", 5), ("-0x10", -16), ("9223372036854775808", 9223372036854775808),
        # int64, or uint64 without a sign; beyond either, a float (yaml.v3's resolve)
        ("-9223372036854775808", -(2**63)), ("-9223372036854775809", -9.223372036854775809e18),
        ("18446744073709551615", 2**64 - 1), ("18446744073709551616", 1.8446744073709551616e19),
        ("1.5", 1.5), ("1.30", 1.3), ("1e3", 1000.0), (".5", 0.5), ("089", 89.0), ("-.inf", -math.inf),
        ("2024-01-01", "2024-01-01"), ("1.2.3", "1.2.3"), ("0x", "0x"), ("v1", "v1"), ("-", "-"), (".", "."),
    ],
)
def test_plain_scalars_resolve_as_yaml_v3_does(text: str, value: Any) -> None:
    assert resolve_plain(text) == value
    assert type(resolve_plain(text)) is type(value)


def test_nan_and_quoted_values() -> None:
    assert math.isnan(resolve_plain(".nan"))
    document = parse('a: "on"\nb: \'1\'\nc: !!str 5\nd: on\n', "x.yaml")
    assert document.value == {"a": "on", "b": "1", "c": "5", "d": "on"}
    with pytest.raises(StackYamlError) as caught:
        parse("a: !!binary aGVsbG8=\n", "x.yaml")
    assert str(caught.value) == "x.yaml:1:4: a `!!binary` value cannot be a config value"


def _stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, stack: str = "broken") -> str:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(text, encoding="utf-8")
    real = stackfile.stack_file
    monkeypatch.setattr(stackfile, "stack_file", lambda name, root=ROOT: path if name == stack else real(name, root))
    return stack


def test_on_yes_off_reach_the_program_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = STAGING.replace("    protect: false\n", "    protect: off\n").replace(
        "    deletionProtection: false\n", "    deletionProtection: on\n"
    )
    stack = _stack(tmp_path, monkeypatch, text)
    values, _ = read_stack_config(stack)
    assert values["spywatcher:loadBalancer"]["protect"] == "off"
    error = config_error(stack)
    assert "YAML 1.2, which Pulumi reads, takes `off` as text" in problem_for(error, "loadBalancer.protect")
    assert "takes `on` as text" in problem_for(error, "loadBalancer.deletionProtection")


def test_a_top_level_scalar_is_handed_over_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = _stack(tmp_path, monkeypatch, STAGING + "  spywatcher:kubeconfig: 1.30\n  aws:region: on\n")
    values, _ = read_stack_config(stack)
    assert values["spywatcher:kubeconfig"] == "1.30"
    assert values["aws:region"] == "on"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("config:\n  spywatcher:cluster:\n\tname: x\n", 3, "a tab: YAML indents with spaces only"),
        ("config:\n  spywatcher:backend: {image: [\n", 3, "invalid YAML"),
        ("config:\n  spywatcher:backend:\n    image: a: b\n", 3, "quote values that contain `: `"),
        ("config: [a, b]\n", 1, "`config` must be a mapping of `spywatcher:<key>` to values"),
        ("- config\n", 1, "the file must be a mapping with a `config:` key"),
        ("config:\n  spywatcher:backend: {}\n  spywatcher:backend: {}\n", 3, "key `spywatcher:backend` appears twice"),
        ("config:\n  spywatcher:backend:\n    env:\n      A: .nan\n", 4, "spywatcher:backend.env.A: `.nan` and `.inf`"),
        ("config:\n  a:b:c: 1\n", 2, "`a:b:c` is not a config key"),
        ("config: {}\n---\nconfig: {}\n", 3, "one YAML document"),
        ("config:\n  spywatcher:secrets:\n    backend:\n      A: {secure: v1:abc}\n      B: plain\n", 5,
         "spywatcher:secrets.backend.B is plain text under the secret key spywatcher:secrets: every value under"),
    ],
)
def test_a_broken_stack_file_is_one_line_with_its_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int, words: str
) -> None:
    from offline.preview import main as preview
    from offline.render import main as render

    stack = _stack(tmp_path, monkeypatch, text)
    with pytest.raises(StackFileError) as caught:
        read_stack_config(stack)
    message = str(caught.value)
    assert message.startswith(f"Pulumi.{stack}.yaml:{line}"), message
    assert words in message and "\n" not in message, message
    for main, argv in ((render, ["--stack", stack, "--out", str(tmp_path / "out")]), (preview, ["--stack", stack])):
        out, err = io.StringIO(), io.StringIO()
        assert main(argv, out, err) == 1
        assert err.getvalue() == f"error: {message}\n"
    assert not (tmp_path / "out" / stack).exists()


def test_an_unknown_stack_is_bad_usage() -> None:
    from offline.render import main as render

    with pytest.raises(UnknownStackError):
        read_stack_config("no-such-stack")
    err = io.StringIO()
    assert render(["--stack", "no-such-stack", "--out", "/nonexistent-dir/x"], io.StringIO(), err) == 2
    assert err.getvalue().startswith("error: no stack file Pulumi.no-such-stack.yaml (stacks here: ")


def test_diff_reports_a_broken_working_tree_stack_file_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from offline.diff import working_tree_side

    _stack(tmp_path, monkeypatch, "config:\n  spywatcher:cluster:\n\tname: x\n", stack="staging")
    side = working_tree_side("staging")
    assert isinstance(side, str)
    assert side.startswith("stack staging: Pulumi.staging.yaml:3:1: invalid YAML"), side
    assert "Traceback" not in side and "\n" not in side


def test_a_misspelt_project_namespace_is_reported_with_the_key_meant() -> None:
    error = config_error("staging", {"spywatchr:frontend": {"image": "f:1"}, "Spywatcher:canary": {}})
    assert "unknown config namespace `spywatchr`, which Pulumi would silently ignore; did you mean " \
        "`spywatcher:frontend`?" in problem_for(error, "spywatchr:frontend")
    assert "did you mean `spywatcher:canary`?" in problem_for(error, "Spywatcher:canary")
    # Other projects' and providers' namespaces are none of this program's business.
    run_stack("staging", {"aws:region": "us-east-1", "kubernetes:context": "x"})


def test_a_misspelt_secret_key_never_shows_its_value() -> None:
    error = config_error("staging", secrets={"spywatchr:secrets": {"backend": {"TOKEN": "hunter2"}}})
    assert "hunter2" not in str(error)
    assert "[secret]" in problem_for(error, "spywatchr:secrets")


def test_secrets_set_as_one_whole_secret_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `pulumi config set --secret spywatcher:secrets '{"frontend": {...}}'` stores one secure value.
    stack = _stack(tmp_path, monkeypatch, STAGING + "  spywatcher:secrets:\n    secure: v1:AAAABBBB\n")
    config, secret_keys = read_stack_config(stack)
    assert config["spywatcher:secrets"] == OFFLINE_PLACEHOLDER and "spywatcher:secrets" in secret_keys
    plan = run_program(stack, config, secret_keys)  # offline: content unknown, so no Secret, and a warning
    assert not [o for o in plan.k8s_objects() if o["kind"] == "Secret"]
    assert any("spywatcher:secrets is one encrypted object" in line for line in plan.logs)
    # `pulumi up` hands the decrypted JSON text to the program, which reads it as the map.
    config["spywatcher:secrets"] = json.dumps({"frontend": {"API_TOKEN": "s3cret"}})
    plan = run_program(stack, config, secret_keys)
    secret = plan.k8s("Secret", "spywatcher-frontend-secrets")
    assert secret["stringData"] == {"API_TOKEN": "[secret]"}
    with pytest.raises(ConfigError) as caught:
        run_program(stack, {**config, "spywatcher:secrets": "not json"}, secret_keys)
    assert "must be a mapping of keys to values, not text" in problem_for(caught.value, "secrets")


def test_config_problems_name_the_stack_file_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from offline.preview import main as preview

    lines = STAGING.splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text == "      maxReplicas: 4")
    stack = _stack(tmp_path, monkeypatch, STAGING.replace("      maxReplicas: 4\n", "      maxReplicas: 4000000000\n"))
    err = io.StringIO()
    assert preview(["--stack", stack], io.StringIO(), err) == 1
    assert (
        "  - backend.autoscaling.maxReplicas: 4000000000 — must be at most 2147483647 (Kubernetes integers are "
        f"32-bit) (Pulumi.{stack}.yaml:{line})\n"
    ) in err.getvalue()


def test_pulumi_up_refuses_a_plain_leaf_under_a_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pulumi up` hands the program the whole key as a secret; the stack file beside it shows the
    plain leaf, so the program refuses it there too, not only the offline tools."""
    from config.loader import plain_secret_problems

    secrets = "  spywatcher:secrets:\n    frontend:\n      A: {secure: v1:abc}\n      B: plain\n"
    (tmp_path / "Pulumi.mixed.yaml").write_text(STAGING + secrets)
    [problem] = plain_secret_problems("mixed", tmp_path)
    assert str(problem) == (
        "secrets.frontend.B: is plain text in Pulumi.mixed.yaml:"
        f"{len(STAGING.splitlines()) + 4} under a secret key: every value under it must be a secret "
        "(`pulumi config set --secret --path ...`)"
    )
    config, secret_keys = read_stack_config("staging")
    config["spywatcher:secrets"] = {"frontend": {"A": "x", "B": "plain"}}
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        run_program("mixed", config, secret_keys | {"spywatcher:secrets"})
    assert [p.path for p in caught.value.problems] == ["secrets.frontend.B"]
    assert caught.value.plan.resources == []  # type: ignore[attr-defined]
    assert plain_secret_problems("staging", ROOT) == []
