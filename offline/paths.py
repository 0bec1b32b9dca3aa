"""Property paths as the engine and the providers write them: ``spec.containers[0].image``,
``.spec.containers[*].image`` (a JSONPath pattern, ``*`` any item) and
``metadata.labels["app.kubernetes.io/name"]`` (a key that is not a plain name, quoted)."""

from __future__ import annotations

import json
import re

PathT = tuple[str | int, ...]

_STEP = re.compile(r'([^.\[\]"]+)|\[(\*|\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def parse_path(text: str) -> PathT:
    """``.spec.containers[*].image``, ``spec.containers[0].image`` or
    ``metadata.labels["app.kubernetes.io/name"]`` as steps (``*``: any item)."""
    steps: list[str | int] = []
    for key, index, quoted in _STEP.findall(text):
        if quoted or (not key and not index):
            steps.append(json.loads(f'"{quoted}"'))
        else:
            steps.append(key if key else ("*" if index == "*" else int(index)))
    return tuple(steps)


def dotted(path: PathT) -> str:
    """A path as ``spec.containers[0].image``; a key that is not a plain name in ``["…"]``."""
    text = ""
    for step in path:
        if isinstance(step, int) or step == "*":
            text += f"[{step}]"
        elif not _IDENTIFIER.match(step):
            text += f"[{json.dumps(step, ensure_ascii=False)}]"
        else:
            text += f".{step}" if text else step
    return text
