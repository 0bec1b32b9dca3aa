"""No config value is coerced across types, every integer carries its API's bounds, and every
message speaks the user's language: no regular expression, no pydantic wording.

The rules are checked on the models themselves (so a key added later gets them too) and by
replacing every leaf of both stacks' settings with a value of the wrong type or out of range.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import ConfigError, validate_settings
from config.base import PATTERN_TEXT
from config.stack import StackSettings
from offline.engine import run_program
from tests.conftest import MINIMAL_CONFIG, config_error, problem_for, stack_settings

# The Kubernetes API's int32 range, written out: not read from config.base, which is under test.
INT32_MIN, INT32_MAX = -2_147_483_648, 2_147_483_647

Path = tuple[str | int, ...]
# Leaves that are Kubernetes quantities: the API reads `cpu: 1` and `cpu: "1"` alike.
QUANTITY_KEYS = {"cpu", "memory", "sizeLimit"}
# Wording that belongs to pydantic or to a regular expression, never to a message.
LIBRARY_WORDS = ("Input should", "instance of", "after validation", "pattern", "Value error", "^", "$", "[a-z",
                 "\\d", "greater than or equal", "less than or equal", "valid dictionary")


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


SCHEMA = StackSettings.model_json_schema(by_alias=True)


def test_every_integer_of_the_models_is_bounded_to_int32() -> None:
    integers = [s for s in _schemas(SCHEMA) if s.get("type") == "integer"]
    assert len(integers) > 40
    unbounded = [
        s for s in integers
        if s.get("minimum", INT32_MIN - 1) < INT32_MIN or s.get("maximum", INT32_MAX + 1) > INT32_MAX
    ]
    assert unbounded == [], "integers without int32 bounds (use config.base.int32):\n" + json.dumps(unbounded)


def test_every_pattern_of_the_models_has_words_for_messages() -> None:
    patterns = {s["pattern"] for s in _schemas(SCHEMA) if isinstance(s.get("pattern"), str)}
    assert len(patterns) > 15
    assert sorted(p for p in patterns if p not in PATTERN_TEXT) == [], "use config.base.matching(pattern, words)"


def test_the_field_helpers_give_strict_bounded_metadata_and_one_wording_per_pattern(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """int32() and matching() run when the models are defined; called here, so a change to them shows."""
    from config import base

    field = base.int32(ge=-(2**40), le=2**40, description="d")
    assert (field.description, repr(field.metadata)) == (
        "d", f"[Strict(strict=True), Ge(ge={INT32_MIN}), Le(le={INT32_MAX})]")
    assert repr(base.int32(ge=1, le=9).metadata) == "[Strict(strict=True), Ge(ge=1), Le(le=9)]"
    monkeypatch.setattr(base, "PATTERN_TEXT", {})
    field = base.matching("^[a-z]$", "one lowercase letter", description="d")
    assert (field.description, repr(field.metadata)) == (
        "d", "[Strict(strict=True), _PydanticGeneralMetadata(pattern='^[a-z]$')]")
    assert base.PATTERN_TEXT == {"^[a-z]$": "one lowercase letter"}
    base.matching("^[a-z]$", "one lowercase letter")
    with pytest.raises(ValueError, match=r"pattern '\^\[a-z\]\$' is described both as "
                                         r"'one lowercase letter' and 'a letter'"):
        base.matching("^[a-z]$", "a letter")
    assert base.PATTERN_TEXT == {"^[a-z]$": "one lowercase letter"}


def test_the_models_are_strict() -> None:
    from config import base

    assert base.Model.model_config.get("strict") is True


# --- Every leaf of both stacks, confused --------------------------------------------------------


def full_config(stack: str) -> dict[str, Any]:
    """Every setting of a stack, defaults included, as a stack file would spell it."""
    dump = stack_settings(stack).model_dump(by_alias=True, mode="python")
    return {k: v for k, v in dump.items() if v not in (None, {})}


CONFIGS = {stack: full_config(stack) for stack in ("staging", "production")}


def leaves(value: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*prefix, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, (*prefix, index))
    elif not isinstance(value, dict | list) and value is not None:
        yield prefix, value


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def replaced(config: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    result = copy.deepcopy(config)
    node: Any = result
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return result


def confusions(path: Path, value: Any) -> list[Any]:
    """Values of the wrong type (or out of the API's range) for a leaf."""
    if isinstance(value, bool):
        return [int(value), str(value).lower(), "yes"]
    if isinstance(value, int):
        return [True, float(value) + 0.5, float(value), str(value), INT32_MAX + 1, INT32_MIN - 1]
    if isinstance(value, float):  # a number that may have a fraction: never a boolean or text
        return [True, str(value), f"{value}%"]
    if isinstance(value, str):
        quantity = path[-1] in QUANTITY_KEYS
        return [True, False] if quantity else [True, 5, 1.5]
    raise AssertionError(f"unexpected leaf {path}: {value!r}")


CASES = sorted(
    {(stack, path, json.dumps(bad)): (stack, path, bad)
     for stack, config in CONFIGS.items()
     for path, value in leaves(config)
     for bad in confusions(path, value)}.values(),
    key=repr,
)


def test_the_full_configs_are_valid_as_they_are() -> None:
    for stack, config in CONFIGS.items():
        assert validate_settings(copy.deepcopy(config), set(), stack) == stack_settings(stack)


def _refused(stack: str, path: Path, bad: Any) -> str:
    config = replaced(CONFIGS[stack], path, bad)
    with pytest.raises(ConfigError) as caught:
        validate_settings(config, set(), stack)
    key = dotted(path)
    found = [str(p) for p in caught.value.problems if p.path == key]
    assert found, f"{key} = {bad!r} was not refused at its key:\n{caught.value}"
    for message in found:
        assert not any(w in message for w in LIBRARY_WORDS), message
    return found[0]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(CASES))
def test_a_value_of_the_wrong_type_or_range_is_refused_at_its_key(case: tuple[str, Path, Any]) -> None:
    _refused(*case)


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(CASES))
def test_through_the_program_a_confused_value_registers_nothing(case: tuple[str, Path, Any]) -> None:
    stack, path, bad = case
    config = {f"spywatcher:{k}": v for k, v in replaced(CONFIGS[stack], path, bad).items()}
    with pytest.raises(ConfigError) as caught:
        run_program(stack, config, set())
    assert caught.value.plan.resources == []  # type: ignore[attr-defined]
    assert dotted(path) in [p.path for p in caught.value.problems], str(caught.value)


def test_the_confusions_cover_every_kind_of_leaf() -> None:
    kinds = {type(bad).__name__ for _, _, bad in CASES}
    assert kinds == {"bool", "int", "float", "str"}
    assert len(CASES) > 500


# --- The classes of the issue, one by one --------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        ({"backend": {"autoscaling": {"cpuUtilization": True}}}, "backend.autoscaling.cpuUtilization",
         ("backend.autoscaling.cpuUtilization: true — must be a whole number, not a boolean: YAML reads `true` as "
          "true/false")),
        ({"backend": {"autoscaling": {"maxReplicas": 3_000_000_000}}}, "backend.autoscaling.maxReplicas",
         "backend.autoscaling.maxReplicas: 3000000000 — must be at most 2147483647 (Kubernetes integers are 32-bit)"),
        ({"backend": {"autoscaling": {"maxReplicas": 4.0}}}, "backend.autoscaling.maxReplicas",
         "backend.autoscaling.maxReplicas: 4.0 — must be a whole number: write 4, not 4 with a decimal point"),
        ({"backend": {"autoscaling": {"maxReplicas": "4"}}}, "backend.autoscaling.maxReplicas",
         ("backend.autoscaling.maxReplicas: \"4\" — must be a whole number, not text: remove the quotes so YAML "
          "reads a number")),
        ({"backend": {"env": {"PORT": 3001}}}, "backend.env.PORT",
         ("backend.env.PORT: 3001 — must be text, not a number: write it in quotes so YAML keeps it text "
          "(unquoted, YAML reads a number and drops what a number does not need, such as trailing zeros)")),
        ({"loadBalancer": {"protect": "false"}}, "loadBalancer.protect",
         "loadBalancer.protect: \"false\" — must be true or false, not text: remove the quotes"),
        ({"loadBalancer": {"protect": "True"}}, "loadBalancer.protect",
         "loadBalancer.protect: \"True\" — must be true or false, not text: remove the quotes"),
        ({"loadBalancer": {"protect": "off"}}, "loadBalancer.protect",
         ("loadBalancer.protect: \"off\" — must be true or false: YAML 1.2, which Pulumi reads, takes `off` as text,"
          " not a boolean")),
        ({"loadBalancer": {"protect": "n"}}, "loadBalancer.protect",
         ("loadBalancer.protect: \"n\" — must be true or false: YAML 1.2, which Pulumi reads, takes `n` as text,"
          " not a boolean")),
        ({"cluster": {"kubernetesVersion": 1.3}}, "cluster.kubernetesVersion",
         ("cluster.kubernetesVersion: 1.3 — must be text (a Kubernetes minor version such as \"1.34\" (1.30 or "
          "later)), not a number: write it in quotes so YAML keeps it text (unquoted, YAML reads a number and "
          "drops what a number does not need, such as trailing zeros)")),
        ({"routing": {"routes": [{"name": "x", "host": "api", "workload": "backend", "pathType": True}]}},
         "routing.routes[0].pathType",
         "routing.routes[0].pathType: true — must be Prefix or Exact: YAML read a boolean here; quote the word"),
        ({"backend": "big"}, "backend",
         ("backend: \"big\" — must be a mapping of settings (keys: autoscaling, containerPort, disruptionBudget, "
          "env, existingSecret, image, metricsPort, probes, ...), not text")),
        ({"backend": {"resources": {"requests": {"memory": "256m"}}}}, "backend.resources.requests.memory",
         ("backend.resources.requests.memory: \"256m\" — must be a whole number of bytes: 256m is 0.256 bytes (`m` "
          "means thousandths); write Mi for mebibytes, e.g. 256Mi")),
        ({"namespace": {"limitRange": {"max": {"memory": "1500m"}}}}, "namespace.limitRange.max.memory",
         ("namespace.limitRange.max.memory: \"1500m\" — must be a whole number of bytes: 1500m is 1.5 bytes (`m` "
          "means thousandths); write Mi for mebibytes, e.g. 256Mi")),
        ({"backend": {"scratchVolumes": [{"mountPath": "/tmp", "sizeLimit": "10m"}]}},
         "backend.scratchVolumes[0].sizeLimit",
         ("backend.scratchVolumes[0].sizeLimit: \"10m\" — must be a whole number of bytes: 10m is 0.01 bytes (`m` "
          "means thousandths); write Mi for mebibytes, e.g. 256Mi")),
        ({"scheduling": {"resources": {"cpu": "50m", "memory": "64500m"}}}, "scheduling.resources.memory",
         ("scheduling.resources.memory: \"64500m\" — must be a whole number of bytes: 64500m is 64.5 bytes (`m` "
          "means thousandths); write Mi for mebibytes, e.g. 256Mi")),
        ({"cluster": {"vpcCidr": "10.1.0.1/16"}}, "cluster.vpcCidr",
         "cluster.vpcCidr: \"10.1.0.1/16\" — must be a CIDR block whose host bits are zero: did you mean 10.1.0.0/16?"),
        ({"loadBalancer": {"subnetIds": ["subnet-0f1e2d3c4b5a60001"]}}, "loadBalancer.subnetIds",
         ("loadBalancer.subnetIds: [\"subnet-0f1e2d3c4b5a60001\"] — an application load balancer needs subnets in at"
          " least two zones")),
        ({"loadBalancer": {"certificate": {"domains": []}}}, "loadBalancer.certificate.domains",
         "loadBalancer.certificate.domains: [] — must have at least 1 item (it has 0)"),
        ({"backend": {"image": ""}}, "backend.image", "backend.image: \"\" — must not be empty"),
        ({"namespace": {"name": "x" * 64}}, "namespace.name",
         ("namespace.name: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" — must be at most 63"
          " characters long (it has 64)")),
    ],
)
def test_messages_name_the_rule_in_the_users_words(overrides: dict[str, Any], path: str, message: str) -> None:
    assert problem_for(config_error("staging", overrides), path) == message
    assert not any(w in message for w in LIBRARY_WORDS), message


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com:5000/spywatcher-backend:v2.0.0",
        "localhost:5000/team/nested/path/backend:v2",
        "ghcr.io/org/backend@sha256:" + "a" * 64,
        "ghcr.io/org/backend:v2.0.0@sha256:" + "b" * 64,
        "[::1]:5000/backend:v2",
        "backend:v2_rc.1-x",
    ],
)
def test_every_valid_pinned_image_reference_is_accepted(image: str) -> None:
    values = {**copy.deepcopy(MINIMAL_CONFIG), "backend": {"image": image}}
    assert validate_settings(values, set(), "s").backend.image == image


@pytest.mark.parametrize(
    ("image", "words"),
    [
        ("registry.example.com:5000/backend", "must be pinned"),
        ("registry.example.com:5000/backend:latest", "must be pinned"),
        ("backend", "must be pinned"),
        ("Backend:v1", "must be a container image reference such as"),
        ("ghcr.io/org/backend@sha256:abc", "must be a container image reference"),
        ("back end:v1", "must be a container image reference"),
    ],
)
def test_unpinned_or_malformed_images_are_refused(image: str, words: str) -> None:
    values = {**copy.deepcopy(MINIMAL_CONFIG), "backend": {"image": image}}
    with pytest.raises(ConfigError) as caught:
        validate_settings(values, set(), "s")
    assert words in problem_for(caught.value, "backend.image")


def test_two_host_keys_with_one_hostname_cannot_route_the_same_path() -> None:
    hosts = {"frontend": "staging.spywatcher.example.com", "api": "staging.spywatcher.example.com"}
    message = problem_for(config_error("staging", {"routing": {"hosts": hosts}}), "routing.routes[1].path")
    assert "is already routed on staging.spywatcher.example.com by routes[0] (routes[0] uses host `frontend`)" \
        in message


def test_an_acm_certificate_outside_the_clusters_region_is_refused() -> None:
    arn = "arn:aws:acm:eu-west-1:111122223333:certificate/7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    error = config_error("staging", {"loadBalancer": {"certificate": {"arn": arn}}})
    message = problem_for(error, "loadBalancer.certificate.arn")
    assert "is an ACM certificate in eu-west-1, but the load balancer is in the cluster's region us-east-1" in message
    extra = {"arn": arn, "domains": ["staging.spywatcher.example.com"]}
    error = config_error("staging", {"loadBalancer": {"additionalCertificates": [extra]}})
    assert "eu-west-1" in problem_for(error, "loadBalancer.additionalCertificates[0].arn")


def test_a_version_label_never_ends_in_punctuation() -> None:
    from components.k8s import labels

    assert labels("backend", "i", "v1.0-")["app.kubernetes.io/version"] == "v1.0"
    assert "app.kubernetes.io/version" not in labels("backend", "i", "_")
