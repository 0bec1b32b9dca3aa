"""How pulumi-kubernetes waits for an object that carries `pulumi.com/waitFor`, ported so the
program's wait conditions can be parsed and evaluated here.

Read in pulumi/pulumi-kubernetes v4.32.0 (a03ff6ba), unchanged since in the files named:

- provider/pkg/metadata/overrides.go `ReadyCondition`: the annotation is a JSON array of expressions
  (all must hold on the same observation) or one expression; each begins with `jsonpath=` or
  `condition=`, anything else fails `pulumi up` at that resource;
- provider/pkg/jsonpath/jsonpath.go `Parse`: split on `=` (a `==` is kept), at most one value, no
  shell quotes, the path wrapped in `{…}`, `$` prepended when missing, parsed as RFC 9535 JSONPath
  (github.com/theory/jsonpath); `Matches`: the first node selected; without a value any node
  matches, with one it must be a primitive whose `fmt.Sprint` equals the value;
- provider/pkg/await/condition/jsonpath.go `Satisfied`: not before an integer
  `status.observedGeneration` has reached `metadata.generation`.

The JSONPath itself is evaluated by python-jsonpath in its RFC 9535 mode (`strict=True`). Used by
`render --check` (:func:`problems`: an annotation the provider cannot parse fails `pulumi up` only
after every resource before it has changed) and by the tests, which evaluate the Rollout's wait on
the states its controller writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

WAIT_FOR = "pulumi.com/waitFor"
_BRACKETS = re.compile(r"\{\s*(.*?)\s*\}")
_PLACEHOLDER = "\ufffd"


class WaitForError(ValueError):
    """The provider refuses the annotation (its message, as the provider words it)."""


@dataclass(frozen=True)
class Parsed:
    """One `jsonpath=` expression: the path as written, the expected value ("" = any)."""

    path: str
    value: str
    expr: Any  # a compiled python-jsonpath path

    def __str__(self) -> str:
        return f"{self.path}={self.value}" if self.value else self.path


@dataclass(frozen=True)
class Match:
    matched: bool
    found: str = ""
    message: str = ""


@cache
def _environment() -> Any:
    from jsonpath import JSONPathEnvironment  # dev requirement: `make check` and the tests only

    return JSONPathEnvironment(strict=True)


def parse(raw: str) -> Parsed:
    """`jsonpath.Parse`: one `jsonpath={path}` or `jsonpath={path}=value` expression."""
    from jsonpath import JSONPathError

    if raw == "":
        raise WaitForError("expected a non-empty JSONPath expression")
    if not raw.startswith("jsonpath="):
        raise WaitForError("JSONPath expression must begin with a 'jsonpath=' prefix")
    parts = raw.removeprefix("jsonpath=").replace("==", _PLACEHOLDER).split("=")
    path = parts[0].replace(_PLACEHOLDER, "==")
    if len(parts) > 2:
        got = _quote(raw.removeprefix("jsonpath="))
        raise WaitForError(f"format should be {{.path}}=value or {{.path}}, got {got}")
    value = parts[1].replace(_PLACEHOLDER, "==") if len(parts) == 2 else ""
    if len(parts) == 2 and not value:
        raise WaitForError(f"{path}= requires a value")
    if path.startswith("'") and path.endswith("'"):
        raise WaitForError(f"{path} should omit shell quotes")
    brackets = _BRACKETS.search(path)
    if brackets is None:
        raise WaitForError(f"{path} should be wrapped in brackets {{ ... }}")
    inner = brackets.group(1)
    try:
        expr = _environment().compile(inner if inner.startswith("$") else f"${inner}")
    except JSONPathError as exc:
        raise WaitForError(f"parsing {_quote(path)}: {str(exc).splitlines()[0]}") from None
    return Parsed(path, value, expr)


def _quote(text: str) -> str:
    """Go's %q of a printable string."""
    return json.dumps(text, ensure_ascii=False)


def _sprint(value: Any) -> str:
    """Go's fmt.Sprint of a JSON scalar as unstructured holds it (int64, float64, bool, string, nil)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def matches(parsed: Parsed, obj: Mapping[str, Any]) -> Match:
    """`Parsed.Matches`: the first node the path selects."""
    nodes = [node.obj for node in parsed.expr.finditer(obj)]
    if not nodes:
        return Match(False, message=f"{parsed.path} selected nothing")
    node = nodes[0]
    if isinstance(node, (list, dict)):
        if not parsed.value:
            return Match(True)
        raise WaitForError(f"{_quote(parsed.path)} has a non-primitive value ({node})")
    found = _sprint(node)
    return Match(not parsed.value or parsed.value == found, found)


def expressions(annotation: str) -> list[str]:
    """`ReadyCondition`: a JSON array of strings, or else the whole annotation as one expression."""
    try:
        values = json.loads(annotation)
    except ValueError:
        values = None
    if not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
        values = [annotation]
    if not values:
        raise WaitForError("at least one condition must be specified")
    for expr in values:
        if not expr.startswith(("jsonpath=", "condition=")):
            raise WaitForError(f'expected a "jsonpath=" or "condition=" prefix, got {_quote(expr)}')
    return values


def _generation_observed(obj: Mapping[str, Any]) -> bool:
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if isinstance(generation, bool) or isinstance(observed, bool):
        return True
    if isinstance(generation, int) and isinstance(observed, int):
        return observed >= generation
    return True  # unstructured.NestedInt64 finds no int64 (a Rollout's is a string): no check


def satisfied(annotation: str, obj: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """Whether the provider stops waiting on this observation of the object, and what it logs for
    each expression (`Found …`, `Waiting for …`, `… selected nothing`). `condition=` expressions
    are parsed but not modelled here."""
    ready, log = True, list[str]()
    for expr in expressions(annotation):
        if expr.startswith("condition="):
            raise WaitForError(f"{_quote(expr)}: condition= expressions are not modelled offline")
        parsed = parse(expr)
        if not _generation_observed(obj):
            return False, log  # the provider logs nothing and waits
        match = matches(parsed, obj)
        if match.matched:
            log.append(f"Found {parsed}")
        else:
            found = f" (found {_quote(match.found)})" if match.found else ""
            log.append(match.message or f"Waiting for {parsed}{found}")
            ready = False
            break  # condition.All stops at the first unsatisfied expression
    return ready, log


def problems(obj: Mapping[str, Any]) -> list[str]:
    """What the provider would refuse in the object's waitFor annotation (none: no annotation)."""
    annotation = ((obj.get("metadata") or {}).get("annotations") or {}).get(WAIT_FOR)
    if annotation is None:
        return []
    try:
        for expr in expressions(str(annotation)):
            if expr.startswith("jsonpath="):
                parse(expr)
    except WaitForError as exc:
        return [f"metadata.annotations[{WAIT_FOR}]: pulumi-kubernetes refuses it: {exc}"]
    return []


__all__ = ["WAIT_FOR", "Match", "Parsed", "WaitForError", "expressions", "matches", "parse", "problems", "satisfied"]
