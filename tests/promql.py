"""Just enough PromQL reading for tests: the series selectors and grouping labels of an expression,
and the kube-state-metrics series the alerts may use (from the kube-state-metrics metric docs)."""

from __future__ import annotations

import re

# kube-state-metrics v2 series: type and the labels that identify the object.
KUBE_STATE_METRICS = {
    "kube_horizontalpodautoscaler_spec_max_replicas": ("gauge", {"namespace", "horizontalpodautoscaler"}),
    "kube_horizontalpodautoscaler_spec_min_replicas": ("gauge", {"namespace", "horizontalpodautoscaler"}),
    "kube_horizontalpodautoscaler_status_current_replicas": ("gauge", {"namespace", "horizontalpodautoscaler"}),
    "kube_horizontalpodautoscaler_status_desired_replicas": ("gauge", {"namespace", "horizontalpodautoscaler"}),
    "kube_deployment_spec_replicas": ("gauge", {"namespace", "deployment"}),
    "kube_deployment_status_replicas_updated": ("gauge", {"namespace", "deployment"}),
    "kube_deployment_status_replicas_available": ("gauge", {"namespace", "deployment"}),
}
COUNTER_FUNCTIONS = {"rate", "irate", "increase"}
FUNCTIONS = COUNTER_FUNCTIONS | {
    "changes",
    "resets",
    "delta",
    "deriv",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "abs",
    "clamp_min",
    "clamp_max",
    "max_over_time",
    "min_over_time",
    "avg_over_time",
    "histogram_quantile",
    "absent",
    "label_replace",
    "time",
}
KEYWORDS = {"on", "ignoring", "by", "without", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
_TOKEN = re.compile(
    r"\s+|(?P<range>\[[^\]]*\])|(?P<sel>\{[^}]*\})|(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)|(?P<num>[0-9.]+)|(?P<op>>=|<=|==|!=|[-+*/<>(),^%])"
)
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*,?')


def tokens(expr: str) -> list[tuple[str, str]]:
    result, pos = [], 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise ValueError(f"cannot read {expr[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup
        if kind is not None:
            result.append((kind, match.group(kind)))
    return result


def parse_matchers(selector: str) -> dict[str, tuple[str, str]]:
    body = selector[1:-1]
    found = {m.group(1): (m.group(2), m.group(3)) for m in _MATCHER.finditer(body)}
    if _MATCHER.sub("", body).strip():
        raise ValueError(f"cannot read matchers {selector!r}")
    return found


def read(expr: str) -> tuple[list[tuple[str, dict[str, tuple[str, str]], str | None]], list[str]]:
    """The series selectors (name, matchers, enclosing function) and the grouping labels of ``expr``."""
    toks = tokens(expr)
    series, grouping = [], []
    functions: list[str | None] = []  # the function owning each open parenthesis
    index = 0
    while index < len(toks):
        kind, text = toks[index]
        following = toks[index + 1] if index + 1 < len(toks) else ("", "")
        if kind == "name" and text in KEYWORDS:
            if following == ("op", "("):
                close = next(i for i in range(index + 2, len(toks)) if toks[i] == ("op", ")"))
                grouping += [t for k, t in toks[index + 2 : close] if k == "name"]
                index = close
        elif kind == "name" and following == ("op", "("):
            if text not in FUNCTIONS:
                raise ValueError(f"unknown function {text}")
            functions.append(text)
            index += 1
        elif kind == "name":
            matchers = {}
            if following[0] == "sel":
                matchers = parse_matchers(following[1])
                index += 1
            owner = next((f for f in reversed(functions) if f is not None), None)
            series.append((text, matchers, owner))
        elif (kind, text) == ("op", "("):
            functions.append(None)
        elif (kind, text) == ("op", ")"):
            functions.pop()
        index += 1
    return series, grouping
