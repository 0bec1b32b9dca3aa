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
from pathlib import Path
from typing import Any, Union

from pulumi import RunError
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from .stack import SECRET_KEYS, StackSettings
from .stackfile import OFFLINE_PLACEHOLDER

PROJECT = "spywatcher"
STRING_KEYS = ("kubeconfig",)  # top-level keys whose value is text, never JSON
"""What the offline runner passes for a `secure:` value it cannot decrypt."""


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
    # A key under a namespace that looks like this project's is a typo that Pulumi would silently
    # ignore: keep it (whole) so that validation reports it as an unknown key with a did-you-mean.
    values.update({k: v for k, v in raw.items() if misspelt_namespace(k)})
    secret = {k[len(prefix) :] if k.startswith(prefix) else k for k in secret_keys}
    return values, {k for k in secret if k in values}


def misspelt_namespace(key: str) -> bool:
    """Whether a config key's namespace looks like this project's without being it (`spywatchr:`)."""
    namespace, colon, _ = key.partition(":")
    if not colon or namespace == PROJECT:
        return False
    return difflib.SequenceMatcher(None, namespace.lower(), PROJECT).ratio() >= 0.75


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
    plain = plain_secret_problems(pulumi.get_stack())
    if values.get("secrets") == OFFLINE_PLACEHOLDER:
        pulumi.log.warn(
            f"{PROJECT}:secrets is one encrypted object: offline its entries are unknown, so no app Secret "
            "is rendered from it (`pulumi up` decrypts it and creates them)"
        )
    if plain:
        raise ConfigError(plain)
    return validate_settings(values, secret, pulumi.get_stack())


def plain_secret_problems(stack: str, folder: Path | None = None) -> list[ConfigProblem]:
    """Plain values beside secure ones under a secret key of the stack file, if the stack file is
    at hand (`pulumi up` runs the program in the project folder): Pulumi hands the program the whole
    key as a secret, so only the file shows that a leaf of it is stored readable."""
    from .stackfile import StackYamlError, parse, plain_secret_leaves

    path = (folder or Path.cwd()) / f"Pulumi.{stack}.yaml"
    try:
        document = parse(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError, StackYamlError):
        return []  # no stack file here (config from elsewhere), or one the CLI reports itself
    return [
        ConfigProblem(
            ".".join([key, *(f"[{p}]" if isinstance(p, int) else str(p) for p in leaf)]).replace(".[", "["),
            "",
            f"is plain text in {path.name}:{line} under a secret key: every value under it must be a secret "
            f"(`pulumi config set --secret --path ...`)",
        )
        for key, leaf, line in plain_secret_leaves(document, PROJECT, SECRET_KEYS)
    ]


def validate_settings(values: dict[str, Any], secret_keys: set[str], stack: str = "stack") -> StackSettings:
    """Validate `spywatcher:` config values (prefix removed). ``stack`` names default AWS resources."""
    if values.get("secrets") == OFFLINE_PLACEHOLDER and "secrets" in secret_keys:
        # `pulumi config set --secret spywatcher:secrets '<JSON>'`: one secret holding the whole map,
        # which Pulumi decrypts into JSON text for the program; offline, its content is unknown.
        values = {**values, "secrets": {}}
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
        settings = StackSettings.model_validate(values)
    except ValidationError as exc:
        problems += describe(exc, secret_keys)
    if problems:
        raise ConfigError(problems)
    return settings


# --- Turning pydantic errors into one line per problem ----------------------------------------


def describe(exc: ValidationError, secret_keys: Iterable[str] = ()) -> list[ConfigProblem]:
    secret_keys = set(secret_keys)
    seen: dict[tuple[str, str], ConfigProblem] = {}
    for error in exc.errors(include_url=False):
        path, parent, annotation = _walk(error["loc"])
        field = _field_info(parent, error["loc"])
        secret = bool(error["loc"]) and (error["loc"][0] in SECRET_KEYS or error["loc"][0] in secret_keys)
        problem = ConfigProblem(path, _value_text(error, secret), _message(error, parent, annotation, field))
        seen.setdefault((problem.path, problem.message), problem)
    return list(seen.values())


def _walk(loc: tuple[Any, ...]) -> tuple[str, Any, Any]:
    """Dotted key path of an error (pydantic's union and key tags dropped), the type holding the
    last key and the type of the value at the path."""
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
    return text or "(root)", parent, annotation


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
    """The value as the user wrote it (JSON, cut to 80 characters); nothing for a missing key."""
    if error["type"] == "missing":
        return ""
    if secret:
        return "[secret]"
    value = error.get("input")
    if value is None and error["type"] == "rule":
        return ""  # a rule about a key that is not set
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    """What YAML made of a value, in the words of a message."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "null" if value is None else type(value).__name__


def _whole_number(value: Any) -> str:
    if isinstance(value, bool):
        return f"must be a whole number, not a boolean: YAML reads `{str(value).lower()}` as true/false"
    if isinstance(value, float):
        if value.is_integer():
            return f"must be a whole number: write {int(value)}, not {value:g} with a decimal point"
        return "must be a whole number"
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.lstrip("+-").isdigit():
            return "must be a whole number, not text: remove the quotes so YAML reads a number"
        return "must be a whole number"
    return f"must be a whole number, not {_kind(value)}"


def _text(value: Any, field: Any) -> str:
    if isinstance(value, bool):
        written = "true" if value else "false"
        return f'must be text, not a boolean: quote it ("{written}") so YAML keeps it text'
    if isinstance(value, int | float):
        example = _pattern_text(field)
        hint = f" ({example})" if example else ""
        return (
            f"must be text{hint}, not a number: write it in quotes so YAML keeps it text "
            "(unquoted, YAML reads a number and drops what a number does not need, such as trailing zeros)"
        )
    return f"must be text, not {_kind(value)}"


def _field_info(parent: Any, loc: tuple[Any, ...]) -> Any:
    """The FieldInfo of the model field an error is about, if the last key is one."""
    model = _unwrap(parent)
    if not loc or not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    for part in reversed(loc):
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field
    return None


def _pattern_text(field: Any) -> str | None:
    """The words for the pattern a string field carries, if any."""
    from .base import PATTERN_TEXT

    for item in getattr(field, "metadata", ()):
        pattern = getattr(item, "pattern", None)
        if pattern is not None:
            return PATTERN_TEXT.get(pattern)
    return None


def _one_of(expected: str) -> str:
    return expected.replace("'", "")


def _message(error: Mapping[str, Any], parent: Any, annotation: Any = None, field: Any = None) -> str:
    """The rule an error broke, in the user's words: no library wording, no regular expressions."""
    from .base import INT32_MAX, PATTERN_TEXT

    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        if len(error["loc"]) == 1 and misspelt_namespace(key):
            namespace, _, rest = key.partition(":")
            return (
                f"unknown config namespace `{namespace}`, which Pulumi would silently ignore; "
                f"did you mean `{PROJECT}:{rest}`?"
            )
        model = _unwrap(parent)
        if isinstance(model, type) and issubclass(model, BaseModel):
            allowed = sorted(f.alias or n for n, f in model.model_fields.items())
            hint = difflib.get_close_matches(key, allowed, n=1)
            maybe = f"did you mean `{hint[0]}`? " if hint else ""
            return f"unknown key; {maybe}allowed keys: {', '.join(allowed)}"
        return "unknown key"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _whole_number(value)
    if kind in ("float_type", "float_parsing"):
        return f"must be a number, not {_kind(value)}"
    if kind in ("bool_type", "bool_parsing"):
        if isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "y", "n"):
            return f"must be true or false: YAML 1.2, which Pulumi reads, takes `{value}` as text, not a boolean"
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return "must be true or false, not text: remove the quotes"
        return f"must be true or false, not {_kind(value)}"
    if kind == "string_type":
        return _text(value, field)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), None)
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        note = " (Kubernetes integers are 32-bit)" if bound == INT32_MAX else ""
        return f"must be {words} {bound}{note}"
    if kind in ("too_short", "too_long"):
        size = ctx.get("min_length" if kind == "too_short" else "max_length")
        words = "at least" if kind == "too_short" else "at most"
        items = "entry" if isinstance(value, dict) else "item"
        return f"must have {words} {size} {items}{'s' if size != 1 else ''} (it has {ctx.get('actual_length')})"
    if kind == "string_too_short":
        size = ctx.get("min_length")
        return "must not be empty" if size == 1 else f"must be at least {size} characters long"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long (it has {len(str(value))})"
    if kind == "string_pattern_mismatch":
        described = PATTERN_TEXT.get(str(ctx.get("pattern")))
        return f"must be {described}" if described else "has the wrong format"
    if kind == "literal_error":
        note = ": YAML read a boolean here; quote the word" if isinstance(value, bool) else ""
        return f"must be {_one_of(str(ctx.get('expected')))}{note}"
    if kind in ("dict_type", "mapping_type"):
        return f"must be a mapping of keys to values, not {_kind(value)}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"must be a list, not {_kind(value)}"
    if kind in ("model_type", "model_attributes_type", "dataclass_type"):
        model = _unwrap(annotation)
        keys = ""
        if isinstance(model, type) and issubclass(model, BaseModel):
            names = sorted(f.alias or n for n, f in model.model_fields.items())
            keys = f" (keys: {', '.join(names[:8])}{', ...' if len(names) > 8 else ''})"
        return f"must be a mapping of settings{keys}, not {_kind(value)}"
    message = str(error["msg"])
    # The models' rules raise ValueError (never assert: `python -O` drops asserts), which pydantic
    # reports as "Value error, <the rule's own text>".
    if message.startswith("Value error, "):
        return message[len("Value error, ") :].strip()
    if message.startswith(("Input should be", "Value should be")):
        rest = message.split(" should be ", 1)[1].strip()
        return f"must be {rest}"
    return message
