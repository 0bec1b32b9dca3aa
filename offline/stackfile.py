"""Reads a stack file (`Pulumi.<stack>.yaml`) into the config map Pulumi would hand the program.

The file is read with YAML 1.2 rules, as the Pulumi CLI (Go yaml.v3) reads it
(:mod:`config.stackyaml`): `on`, `yes` and `off` are text. Encrypted values (`secure: v1:…`)
cannot be decrypted offline: each is replaced by a placeholder and its key is marked secret, as
Pulumi would mark it. A file the CLI would refuse, or whose values it could not hand over, is a
:class:`StackFileError` naming the file and the line (exit code 1); an unknown stack is an
:class:`UnknownStackError` (exit code 2, bad usage). Nothing here needs the CLI.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from config.loader import OFFLINE_PLACEHOLDER as PLACEHOLDER
from config.stackyaml import Document, StackYamlError, is_secure, non_finite, parse, plain_leaves

ROOT = Path(__file__).resolve().parent.parent
# Test stacks: stack files that no environment deploys (e.g. every optional part switched on), so
# that a combination no real stack uses is still rendered, schema-checked (`make check`) and tested.
FIXTURES = ROOT / "tests" / "stacks"


class StackFileError(Exception):
    """The stack file is not what Pulumi reads; the message names the file and the line."""

    exit_code = 1


class UnknownStackError(StackFileError):
    """There is no stack file for the stack (bad usage)."""

    exit_code = 2


def stack_names(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def fixture_names(root: Path = ROOT) -> list[str]:
    """The test stacks in ``tests/stacks/`` (never deployed; rendered and checked like stacks)."""
    return stack_names(root / FIXTURES.relative_to(ROOT))


def stack_file(stack: str, root: Path = ROOT) -> Path:
    """`Pulumi.<stack>.yaml` of the project, else of the test stacks."""
    path = root / f"Pulumi.{stack}.yaml"
    fixture = root / FIXTURES.relative_to(ROOT) / path.name
    return fixture if not path.is_file() and fixture.is_file() else path


def _decrypt_offline(value: Any) -> tuple[Any, bool]:
    """The value with every `secure:` leaf replaced by a placeholder, and whether it had any."""
    if is_secure(value):
        return PLACEHOLDER, True
    if isinstance(value, dict):
        found = False
        result = {}
        for key, item in value.items():
            result[key], secret = _decrypt_offline(item)
            found |= secret
        return result, found
    if isinstance(value, list):
        pairs = [_decrypt_offline(item) for item in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return value, False


def _dotted(key: str, path: tuple[str | int, ...]) -> str:
    text = key
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def encode(value: Any) -> str:
    """A config value as Pulumi hands it to a program: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def read_document(stack: str, root: Path = ROOT) -> Document:
    """The stack file of ``stack``, parsed as the Pulumi CLI parses it."""
    path = stack_file(stack, root)
    if not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise UnknownStackError(f"no stack file {path.name} (stacks here: {known})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StackFileError(f"{path.name}: cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return parse(text, path.name)
    except StackYamlError as exc:
        raise StackFileError(str(exc)) from None


def read_stack_config(stack: str, root: Path = ROOT) -> tuple[dict[str, Any], set[str]]:
    """The stack's config as `{"project:key": value}` (values still structured) and its secret keys."""
    from config.stack import SECRET_KEYS

    document = read_document(stack, root)
    name = document.name
    if document.value is None:
        return {}, set()
    if not isinstance(document.value, dict):
        raise StackFileError(f"{name}:{document.line(())}: the file must be a mapping with a `config:` key")
    config = document.value.get("config")
    if config is None:
        return {}, set()
    if not isinstance(config, dict):
        raise StackFileError(
            f"{document.where(('config',))}: `config` must be a mapping of `{project_name(root)}:<key>` to values"
        )
    project = project_name(root)
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in config.items():
        where = ("config", key)
        if not isinstance(key, str) or key.count(":") > 1 or not key.strip(":"):
            raise StackFileError(f"{document.where(where)}: `{key}` is not a config key such as `{project}:backend`")
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict | list):
            if (bad := non_finite(value)) is not None:
                raise StackFileError(
                    f"{document.where((*where, *bad))}: {_dotted(full_key, bad)}: `.nan` and `.inf` cannot be "
                    "config values (Pulumi hands structured values to the program as JSON, which has neither)"
                )
            values[full_key], is_secret = _decrypt_offline(value)
        else:
            # Pulumi hands a top-level scalar to the program as the text written (`1.30` stays "1.30").
            values[full_key], is_secret = ("" if value is None else document.raw.get(where, str(value))), False
        if is_secret:
            secret.add(full_key)
            short = full_key.split(":", 1)[1]
            plain = plain_leaves(value) if full_key.startswith(f"{project}:") and short in SECRET_KEYS else []
            if plain:
                raise StackFileError(
                    f"{document.where((*where, *plain[0]))}: {_dotted(full_key, plain[0])} is plain text under "
                    f"the secret key {full_key}: every value under it must be a secret, or the stack file keeps "
                    f"it readable (`pulumi config set --secret --path '{_dotted(full_key, plain[0])}' ...`)"
                )
    return values, secret


def project_name(root: Path = ROOT) -> str:
    document = yaml.safe_load((root / "Pulumi.yaml").read_text())
    return str(document["name"])


def _key_path(dotted: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for token in re.findall(r"\[\d+\]|[^.\[\]]+", dotted.removesuffix(" (key)")):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return tuple(parts)


def located(stack: str, error: Any) -> str:
    """A config error (``config.ConfigError``) with each problem followed by the stack-file line of
    its key, or of the nearest enclosing key the file spells out (defaults have no line)."""
    try:
        document = read_document(stack)
    except StackFileError:
        return str(error)
    project = project_name()
    lines = [str(error).splitlines()[0]]
    for problem in error.problems:
        path = _key_path(problem.path)
        top = str(path[0]) if path else ""
        key = ("config", top if ":" in top else f"{project}:{top}", *path[1:])
        if ("config", key[1]) not in document.lines:
            key = ("config", top, *path[1:])
        lines.append(f"  - {problem} ({document.where(key)})")
    return "\n".join(lines)
