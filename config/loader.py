"""Reads the stack's `spywatcher:` config, validates it and reports every problem at once.

The program calls :func:`load_settings` before it registers any resource: bad input ends the
run with a :class:`ConfigError` (a ``pulumi.RunError``, so Pulumi prints the message without a
stack trace), one line per problem naming the key path, the value and the rule.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Union

from pulumi import RunError
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from .stack import SECRET_KEYS, StackSettings

PROJECT = "spywatcher"
STRING_KEYS = ("kubeconfig",)  # top-level keys whose value is text, never JSON


@dataclass(frozen=True)
class ConfigProblem:
    path: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.value} — {self.message}" if self.value else f"{self.path}: {self.message}"


class ConfigError(RunError):
    """The stack configuration is invalid; nothing has been registered."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = [f"invalid stack configuration ({count}; keys are under `{PROJECT}:`):"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


def read_pulumi_config() -> tuple[dict[str, Any], set[str]]:
    """The running stack's `spywatcher:` keys (prefix removed, values parsed) and the secret ones.

    Pulumi hands config to a program through the runtime config map (set by the language host or
    by the mocks) and the PULUMI_CONFIG environment; both are read.
    """
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = set(runtime_config.get_config_secret_keys_env()) | {k for k in raw if runtime_config.is_config_secret(k)}
    return project_config(raw, secret)


def project_config(raw: Mapping[str, Any], secret_keys: Iterable[str]) -> tuple[dict[str, Any], set[str]]:
    """The `spywatcher:` keys of a Pulumi config map (`{"project:key": value}`), prefix removed and
    JSON text parsed, and which of them are secret."""
    prefix = f"{PROJECT}:"
    values = {k[len(prefix) :]: _parse(k[len(prefix) :], v) for k, v in raw.items() if k.startswith(prefix)}
    return values, {k[len(prefix) :] for k in secret_keys if k.startswith(prefix)}


def _parse(key: str, text: Any) -> Any:
    if not isinstance(text, str) or key in STRING_KEYS:
        return text
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def load_settings() -> StackSettings:
    """Validated settings of the running stack, or ConfigError with every problem."""
    import pulumi

    values, secret = read_pulumi_config()
    return validate_settings(values, secret, pulumi.get_stack())


def validate_settings(values: dict[str, Any], secret_keys: set[str], stack: str = "stack") -> StackSettings:
    """Validate `spywatcher:` config values (prefix removed). ``stack`` names default AWS resources."""
    problems = [
        ConfigProblem(
            key,
            "",
            f"must be stored as a secret: `pulumi config set --secret {PROJECT}:{key} ...` "
            "(or `--secret --path` for one entry); plain text would land in the stack file and state",
        )
        for key in SECRET_KEYS
        if key in values and key not in secret_keys
    ]
    try:
        settings = StackSettings.model_validate(values, context={"stack": stack})
    except ValidationError as exc:
        problems += describe(exc)
    if problems:
        raise ConfigError(problems)
    return settings


# --- Turning pydantic errors into one line per problem ----------------------------------------


def describe(exc: ValidationError) -> list[ConfigProblem]:
    seen: dict[tuple[str, str], ConfigProblem] = {}
    for error in exc.errors(include_url=False):
        path, parent = _walk(error["loc"])
        secret = bool(error["loc"]) and error["loc"][0] in SECRET_KEYS
        problem = ConfigProblem(path, _value_text(error, secret), _message(error, parent))
        seen.setdefault((problem.path, problem.message), problem)
    return list(seen.values())


def _walk(loc: tuple[Any, ...]) -> tuple[str, Any]:
    """Dotted key path of an error (pydantic's union and key tags dropped) and the type holding
    the last key."""
    text = ""
    annotation: Any = StackSettings
    parent: Any = StackSettings
    for part in loc:
        if part == "[key]":
            text += " (key)"
            continue
        child = _child(annotation, part)
        if child is _TAG:
            continue
        parent, annotation = annotation, child
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(root)", parent


_TAG = object()


def _child(annotation: Any, part: Any) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None  # an unknown key: its type is unknown
    origin = typing.get_origin(annotation)
    if origin in (list, tuple) and isinstance(part, int):
        return typing.get_args(annotation)[0]
    if origin is dict:
        return typing.get_args(annotation)[1]
    if annotation is None or (isinstance(part, str) and not _is_key(part)):
        return _TAG
    return None


def _is_key(part: str) -> bool:
    return part.replace("_", "").replace("-", "").replace(".", "").isalnum()


def _unwrap(annotation: Any) -> Any:
    """The model inside Optional[...]/Annotated[...], if any."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [m for m in members if isinstance(_unwrap(m), type) and issubclass(_unwrap(m), BaseModel)]
            annotation = _unwrap(models[0]) if models else (members[0] if len(members) == 1 else None)
            if annotation is None or not models:
                return annotation
        else:
            return annotation


def _value_text(error: Mapping[str, Any], secret: bool) -> str:
    if error["type"] == "missing":
        return ""
    if secret:
        return "[secret]"
    value = error.get("input")
    if isinstance(value, dict | list):
        return ""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _message(error: Mapping[str, Any], parent: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        model = _unwrap(parent)
        if isinstance(model, type) and issubclass(model, BaseModel):
            allowed = sorted(f.alias or n for n, f in model.model_fields.items())
            hint = difflib.get_close_matches(key, allowed, n=1)
            maybe = f"did you mean `{hint[0]}`? " if hint else ""
            return f"unknown key; {maybe}allowed keys: {', '.join(allowed)}"
        return "unknown key"
    message = error["msg"]
    for prefix in ("Input should be", "Value should be", "Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            rest = message[len(prefix) :].strip()
            message = f"must be {rest}" if prefix.endswith("be") else rest
    if kind == "string_pattern_mismatch":
        message = f"must match the pattern {error['ctx']['pattern']}"
    return message
