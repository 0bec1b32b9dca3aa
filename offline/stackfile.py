"""Reads a stack file (`Pulumi.<stack>.yaml`) into the config map Pulumi would hand the program.

Encrypted values (`secure: v1:…`) cannot be decrypted offline: each is replaced by a placeholder
and its key is marked secret, as Pulumi would mark it. Nothing here needs the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Test stacks: stack files that no environment deploys (e.g. every optional part switched on), so
# that a combination no real stack uses is still rendered, schema-checked (`make check`) and tested.
FIXTURES = ROOT / "tests" / "stacks"
PLACEHOLDER = "offline-placeholder-for-an-encrypted-value"


class StackFileError(Exception):
    """The stack file is missing or is not what Pulumi reads."""


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
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return PLACEHOLDER, True
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


def encode(value: Any) -> str:
    """A config value as Pulumi hands it to a program: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def read_stack_config(stack: str, root: Path = ROOT) -> tuple[dict[str, Any], set[str]]:
    """The stack's config as `{"project:key": value}` (values still structured) and its secret keys."""
    path = stack_file(stack, root)
    if not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise StackFileError(f"no stack file {path.name} (stacks here: {known})")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path.name} is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name} must be a mapping with a `config:` key")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name}: `config` must be a mapping of keys to values")
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in config.items():
        full_key = key if ":" in str(key) else f"{project_name(root)}:{key}"
        values[full_key], is_secret = _decrypt_offline(value)
        if is_secret:
            secret.add(full_key)
    return values, secret


def project_name(root: Path = ROOT) -> str:
    document = yaml.safe_load((root / "Pulumi.yaml").read_text())
    return str(document["name"])
