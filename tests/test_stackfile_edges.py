"""The stack-file reader (config/stackfile.py) on edge inputs: numbers at the int64 and uint64 limits
with a sign, YAML merge keys (which side wins), keys that YAML reads as other scalars, a byte-order
mark, non-finite numbers inside lists, a `secure:` mapping with more in it, a secret key that is all
plain, a key that is only colons, a null top-level value, a stack name in both the project and the
test stacks. Go's yaml.v3 (gopkg.in/yaml.v3 resolve.go, decode.go) and the Pulumi CLI decide each."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from config.stackfile import (
    Document,
    StackFileError,
    UnknownStackError,
    encode,
    non_finite,
    parse,
    plain_leaves,
    plain_secret_leaves,
    read_stack_config,
    resolve_plain,
    stack_file,
)


@pytest.mark.parametrize(("text", "value"), [
    ("9223372036854775807", 2**63 - 1),
    ("+9223372036854775807", 2**63 - 1),
    # ParseInt fails past int64; ParseUint takes no sign, so a signed one is a float
    ("+9223372036854775808", 9.223372036854775808e18),
    ("+18446744073709551615", 1.8446744073709551615e19),
    ("-9223372036854775808", -(2**63)),
    ("0", 0), ("-0", 0), ("07", 7), ("010", 8), ("0_10", 8),
])
def test_integers_at_the_go_limits(text: str, value: int | float) -> None:
    assert resolve_plain(text) == value
    assert type(resolve_plain(text)) is type(value)


def test_a_merge_key_takes_the_first_source_and_the_mappings_own_keys_win() -> None:
    """YAML's merge key: an explicit key overrides a merged one; of several sources the first wins."""
    document = parse("a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\nd:\n  <<: *b\n  z: 4\n", "f")
    assert document.value["c"] == {"x": 1, "y": 3, "z": 2}
    assert document.value["d"] == {"x": 2, "z": 4}


def test_a_key_that_yaml_reads_as_another_scalar_is_the_text_written() -> None:
    assert parse("true: 1\n~: 2\n1.50: 3\n0x10: 4\n", "f").value == {"true": 1, "~": 2, "1.50": 3, "0x10": 4}


def test_a_byte_order_mark_and_an_empty_file() -> None:
    assert parse("\ufeffconfig: {a: 1}\n", "f").value == {"config": {"a": 1}}
    empty = parse("", "f")
    assert (empty.value, empty.lines, empty.line(("config", "x"))) == (None, {}, 1)


def test_a_non_finite_number_is_found_inside_lists_too() -> None:
    assert non_finite([1, {"a": [2.5, math.inf]}]) == (1, "a", 1)
    assert non_finite({"a": [1, {"b": -math.inf}]}) == ("a", 1, "b")
    assert non_finite({"a": [1.5, "nan"]}) is None


def test_only_a_mapping_of_exactly_secure_text_is_a_secret() -> None:
    assert plain_leaves({"secure": "v1:abc"}) == []
    assert plain_leaves({"secure": "v1:abc", "x": 1}) == [("secure",), ("x",)]
    assert plain_leaves({"secure": 5}) == [("secure",)]
    assert plain_leaves({"a": [{"secure": "v1:a"}, "b"]}) == [("a", 1)]


def test_a_secret_key_without_any_secure_leaf_is_not_a_mix() -> None:
    """All plain: the whole key is not a secret, which validate_settings reports once for the key."""
    all_plain = Document("f", {"config": {"spywatcher:secrets": {"backend": {"A": "x", "B": "y"}}}})
    assert plain_secret_leaves(all_plain, "spywatcher", ("secrets",)) == []
    mixed = Document("f", {"config": {"spywatcher:secrets": {"backend": {"A": {"secure": "v1:a"}, "B": "y"}}}},
                     {("config", "spywatcher:secrets", "backend", "B"): 7})
    assert plain_secret_leaves(mixed, "spywatcher", ("secrets",)) == [("secrets", ("backend", "B"), 7)]


def _root(tmp_path: Path, stacks: dict[str, str], fixtures: dict[str, str] | None = None) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: spywatcher\nruntime: python\n")
    for name, text in stacks.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(text)
    for name, text in (fixtures or {}).items():
        (tmp_path / "tests" / "stacks").mkdir(parents=True, exist_ok=True)
        (tmp_path / "tests" / "stacks" / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("key", [":", "::", "a:b:c"])
def test_a_key_of_colons_only_is_no_config_key(tmp_path: Path, key: str) -> None:
    root = _root(tmp_path, {"s": f"config:\n  '{key}': 1\n"})
    with pytest.raises(StackFileError) as caught:
        read_stack_config("s", root)
    assert str(caught.value) == f"Pulumi.s.yaml:2: `{key}` is not a config key such as `spywatcher:backend`"


def test_top_level_scalars_are_handed_over_as_text(tmp_path: Path) -> None:
    root = _root(tmp_path, {"s": "config:\n  aws:region: ~\n  spywatcher:a: null\n  spywatcher:b: 0x10\n"
                                 "  spywatcher:c: true\n  spywatcher:d:\n"})
    assert read_stack_config("s", root) == (
        {"aws:region": "", "spywatcher:a": "", "spywatcher:b": "0x10", "spywatcher:c": "true", "spywatcher:d": ""},
        set())


def test_only_the_projects_secret_keys_must_be_wholly_secret(tmp_path: Path) -> None:
    text = "config:\n  other:secrets:\n    a: {secure: v1:abc}\n    b: plain\n"
    assert read_stack_config("s", _root(tmp_path, {"s": text})) == (
        {"other:secrets": {"a": "offline-placeholder-for-an-encrypted-value", "b": "plain"}}, {"other:secrets"})


def test_a_project_stack_wins_over_a_test_stack_of_the_same_name(tmp_path: Path) -> None:
    root = _root(tmp_path, {"s": "config: {}\n"}, {"s": "config: {}\n", "t": "config: {}\n"})
    assert stack_file("s", root) == root / "Pulumi.s.yaml"
    assert stack_file("t", root) == root / "tests" / "stacks" / "Pulumi.t.yaml"
    assert stack_file("u", root) == root / "Pulumi.u.yaml"


def test_an_unknown_stack_where_there_are_none_says_none(tmp_path: Path) -> None:
    with pytest.raises(UnknownStackError) as caught:
        read_stack_config("x", _root(tmp_path, {}))
    assert str(caught.value) == "no stack file Pulumi.x.yaml (stacks here: none)"


@pytest.mark.parametrize(("value", "text"), [("a b", "a b"), ({"a": 1}, '{"a": 1}'), (True, "true"), (None, "null"),
                                             ([1.5], "[1.5]")])
def test_a_value_is_handed_over_as_text_or_json(value: Any, text: str) -> None:
    assert encode(value) == text


def test_each_problem_is_located_on_its_key_spelt_with_or_without_the_project(tmp_path: Path) -> None:
    """`spywatcher:backend` and a bare `secrets` are both the project's keys; a key's own problem (`(key)`)
    is on that key's line; a key the file does not spell is on the nearest line it has (the file's first)."""
    from config import ConfigError, ConfigProblem
    from config.stackfile import located

    root = _root(tmp_path, {"s": "config:\n  spywatcher:backend:\n    image: x\n  secrets:\n    backend:\n"
                                 "      bad key: {secure: v1:a}\n"})
    error = ConfigError([ConfigProblem("backend.image", '"x"', "m"),
                         ConfigProblem("secrets.backend.bad key (key)", "", "k"),
                         ConfigProblem("frontend.image", "", "is required")])
    assert located("s", error, root) == (
        "invalid stack configuration (3 problems; keys are under `spywatcher:`):\n"
        '  - backend.image: "x" — m (Pulumi.s.yaml:3)\n'
        "  - secrets.backend.bad key (key): k (Pulumi.s.yaml:6)\n"
        "  - frontend.image: is required (Pulumi.s.yaml:1)")
