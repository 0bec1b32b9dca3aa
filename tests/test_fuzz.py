"""Bad input, fuzzed: mutated stack files either render objects that pass the strict schemas, or
stop with the project's config error naming a key, with nothing registered. Anything else (a
traceback, a half-registered stack, an object the API server would reject) fails.

`FUZZ_EXAMPLES=2000 make test` explores further than the default run.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import ConfigError
from config.stackfile import read_stack_config
from offline.engine import run_program
from tests.upstream import schema_problems

Path = tuple[Any, ...]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
STACK_CONFIG = {stack: read_stack_config(stack) for stack in ("staging", "production")}

# Values of every wrong kind: types, signs, sizes, emptiness.
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.sampled_from([0, -1, 1, 3601, 65536, 10**12]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "x" * 10_000, "latest", "1e309", "-5", "0.5", "{}", "null", "🙂"]),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=2),
)


def paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every key path in a config tree (top-level keys are `spywatcher:...`)."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def _parent(config: dict[str, Any], path: Path) -> Any:
    node: Any = config
    for key in path[:-1]:
        node = node[key]
    return node


def mutate(config: dict[str, Any], path: Path, action: str, value: Any) -> dict[str, Any]:
    result = copy.deepcopy(config)
    parent, key = _parent(result, path), path[-1]
    if action == "replace":
        parent[key] = value
    elif action == "delete":
        if isinstance(parent, list):
            parent.pop(key)
        else:
            del parent[key]
    elif action == "unknown-key" and isinstance(parent[key], dict):
        parent[key]["fuzzedKey"] = value
    elif action == "unknown-key" and isinstance(parent, dict) and len(path) == 1:
        parent["spywatcher:fuzzed"] = value
    else:  # unknown-key on a leaf: replace the leaf by a mapping
        parent[key] = {"fuzzedKey": value}
    return result


def outcome(stack: str, config: dict[str, Any], secret_keys: set[str]) -> str:
    try:
        plan = run_program(stack, config, secret_keys)
    except ConfigError as error:
        registered = error.plan.resources  # type: ignore[attr-defined]
        assert registered == [], f"resources registered despite a config error: {[r.name for r in registered]}"
        assert error.problems and all(p.path and p.message for p in error.problems), str(error)
        return "refused"
    namespace = next(o for o in plan.k8s_objects() if o["kind"] == "Namespace")
    version = namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"].lstrip("v")
    problems = schema_problems(plan.k8s_objects(), version)
    assert problems == [], "\n".join(map(str, problems))
    return "rendered"


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, dict[str, Any], set[str]]:
    stack = draw(st.sampled_from(sorted(STACK_CONFIG)))
    config, secret_keys = STACK_CONFIG[stack]
    path = draw(st.sampled_from(sorted(paths(config), key=repr)))
    action = draw(st.sampled_from(["replace", "replace", "delete", "unknown-key"]))
    return stack, mutate(config, path, action, draw(ODD_VALUES)), set(secret_keys)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_mutated_stack_files_render_or_are_refused(case: tuple[str, dict[str, Any], set[str]]) -> None:
    stack, config, secret_keys = case
    assert outcome(stack, config, secret_keys) in ("rendered", "refused")


def test_the_fuzzer_reaches_both_outcomes() -> None:
    """The mutations are neither all harmless nor all fatal: the property above checks both paths."""
    config, secret_keys = STACK_CONFIG["staging"]
    harmless = mutate(config, ("spywatcher:backend", "env", "LOG_LEVEL"), "replace", "warn")
    fatal = mutate(config, ("spywatcher:backend", "autoscaling"), "replace", "x" * 10_000)
    assert outcome("staging", harmless, set(secret_keys)) == "rendered"
    assert outcome("staging", fatal, set(secret_keys)) == "refused"
