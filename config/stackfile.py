"""Stack files (`Pulumi.<stack>.yaml`): read as the Pulumi CLI reads them, into the config map
Pulumi would hand the program.

The CLI parses stack files with Go's gopkg.in/yaml.v3, which follows YAML 1.2: only `true`/`false`
(in three spellings) are booleans, so `yes`, `on`, `off`, `y` and `n` stay text; `~`, `null` and
an empty value are null; integers are what Go's ``strconv.ParseInt(text, 0, 64)`` accepts once
underscores are removed (`0x1F`, `0o17`, the YAML 1.1 octal `017`, `0b101`), then unsigned 64-bit
ones, then floats (`1.5`, `1e3`, `.5`, `.inf`, `.nan`); timestamps stay text. PyYAML's default
resolver is YAML 1.1 (`on` is true, `1_000` is 1000 but `0o17` is text, `2024-01-01` a date), so
this module resolves plain scalars itself, as yaml.v3's ``resolve`` does. A repeated key is an
error, as in yaml.v3. Every value keeps the line it was written on, for messages.

Pulumi's config values (``pkg/resource/config/value.go``): a top-level scalar is handed to the
program as its text exactly as written (`1.30` stays "1.30"); a mapping or list is handed over as
JSON of the values above; `{secure: v1:…}` is a secret.

Encrypted values (`secure: v1:…`)
cannot be decrypted offline: each is replaced by a placeholder and its key is marked secret, as
Pulumi would mark it. A file the CLI would refuse, or whose values it could not hand over, is a
:class:`StackFileError` naming the file and the line (exit code 1); an unknown stack is an
:class:`UnknownStackError` (exit code 2, bad usage). Nothing here needs the CLI.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

KeyPath = tuple[str | int, ...]
"""Where a value sits in a YAML document: mapping keys and list indexes from the top."""

OFFLINE_PLACEHOLDER = "offline-placeholder-for-an-encrypted-value"
"""What an encrypted value (`secure: v1:…`) reads as offline, where it cannot be decrypted."""

_PLAIN = "tag:spywatcher:plain"
_STR = "tag:yaml.org,2002:str"
_SPECIAL: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_GO_INT = re.compile(r"^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")


class StackYamlError(ValueError):
    """A stack file that the Pulumi CLI would not read; the message names the file and the line."""


class _Loader(yaml.SafeLoader):
    """Composes nodes only; every plain scalar is tagged for :func:`resolve_plain`."""


_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver(_PLAIN, re.compile(""), None)


def _go_int(plain: str) -> int | None:
    match = _GO_INT.match(plain)
    if match is None:
        return None
    sign, body = match.groups()
    prefix = body[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        number = int(body[2:], {"0x": 16, "0o": 8, "0b": 2}[prefix])
    elif body.startswith("0") and len(body) > 1:
        number = int(body[1:], 8)  # Go's base 0: a leading 0 is octal (YAML 1.1's 0777)
    else:
        number = int(body)
    number = -number if sign == "-" else number
    if -(2**63) <= number < 2**63 or (not sign and number < 2**64):
        return number
    return None


def resolve_plain(text: str) -> Any:
    """The value of an unquoted scalar, as yaml.v3 resolves it into an `interface{}`."""
    if text in _SPECIAL:
        return _SPECIAL[text]
    first = text[0]
    if first == ".":
        return float(text) if _DOT_FLOAT.match(text) else text
    if first in "+-0123456789":
        plain = text.replace("_", "")
        number = _go_int(plain)
        if number is not None:
            return number
        if _YAML_FLOAT.match(plain):
            return float(plain)
    return text


@dataclass
class Document:
    """A parsed stack file: the value, and the line (1-based) of every key path in it."""

    name: str
    value: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    raw: dict[KeyPath, str] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def where(self, path: KeyPath) -> str:
        return f"{self.name}:{self.line(path)}"


def _error(name: str, node: Node, message: str) -> StackYamlError:
    mark = node.start_mark
    return StackYamlError(f"{name}:{mark.line + 1}:{mark.column + 1}: {message}")


def _build(document: Document, node: Node, path: KeyPath) -> Any:
    document.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, ScalarNode):
        document.raw[path] = node.value
        if node.tag == _PLAIN:
            return resolve_plain(node.value)
        if node.tag == _STR:
            return node.value
        explicit = resolve_plain(node.value)
        kind = node.tag.rsplit(":", 1)[-1]
        if kind == "binary":
            raise _error(document.name, node, "a `!!binary` value cannot be a config value")
        return explicit
    if isinstance(node, SequenceNode):
        return [_build(document, item, (*path, index)) for index, item in enumerate(node.value)]
    if isinstance(node, MappingNode):
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _PLAIN and key_node.value == "<<":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    part = _build(Document(document.name, None), source, path)
                    if not isinstance(part, dict):
                        raise _error(document.name, source, "a `<<` merge needs a mapping")
                    merged = {**part, **merged}
                continue
            if not isinstance(key_node, ScalarNode):
                raise _error(document.name, key_node, "a key must be a plain value, not a list or mapping")
            key = _build(Document(document.name, None), key_node, ())
            key = key if isinstance(key, str) else key_node.value
            if key in first_line:
                raise _error(
                    document.name,
                    key_node,
                    f"key `{key}` appears twice in one mapping (first on line {first_line[key]}); "
                    "the Pulumi CLI refuses the file",
                )
            first_line[key] = key_node.start_mark.line + 1
            document.lines[(*path, key)] = first_line[key]
            result[key] = _build(document, value_node, (*path, key))
        return {**merged, **result}
    raise _error(document.name, node, "unexpected YAML node")  # pragma: no cover


_HINTS = (
    ("'\\t'", "a tab: YAML indents with spaces only"),
    ("mapping values are not allowed", "a `key: value` where a value was expected; quote values that contain `: `"),
    ("could not find expected ':'", "a line that is neither `key: value` nor a list item"),
    ("found undefined alias", "an alias (*name) without its anchor (&name)"),
)


def parse(text: str, name: str) -> Document:
    """A stack file's text as a :class:`Document`; :class:`StackYamlError` names file and line.

    Each caller gets its own copy; the parse of a text is kept (PyYAML's composer is pure Python:
    a stack file read twice per run made a tenth of a run's CPU)."""
    return copy.deepcopy(_parsed(text, name))


@functools.lru_cache(maxsize=32)
def _parsed(text: str, name: str) -> Document:
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = f"{exc.context}, {exc.problem}" if exc.context and exc.problem else (exc.problem or str(exc))
        hint = next((h for needle, h in _HINTS if needle in str(exc)), "")
        raise StackYamlError(f"{where}: invalid YAML: {problem}{f' ({hint})' if hint else ''}") from None
    except yaml.YAMLError as exc:
        raise StackYamlError(f"{name}: invalid YAML: {exc}") from None
    if len(nodes) > 1:
        raise _error(name, nodes[1], "a stack file holds one YAML document, not several")
    document = Document(name, None)
    if nodes:
        document.value = _build(document, nodes[0], ())
    return document


def non_finite(value: Any, path: KeyPath = ()) -> KeyPath | None:
    """The first path under ``value`` holding `.nan` or `.inf`, which JSON (and so Pulumi) cannot carry."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        for key, item in value.items():
            if (found := non_finite(item, (*path, key))) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := non_finite(item, (*path, index))) is not None:
                return found
    return None


def is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def plain_leaves(value: Any, path: KeyPath = ()) -> list[KeyPath]:
    """Every leaf under ``value`` that is not a `secure:` value (a secret in a stack file)."""
    if is_secure(value):
        return []
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in plain_leaves(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in plain_leaves(item, (*path, index))]
    return [path]


def plain_secret_leaves(document: Document, project: str, keys: tuple[str, ...]) -> list[tuple[str, KeyPath, int]]:
    """(key, path, line) of every plain leaf beside a `secure:` one under the project's ``keys``."""
    config = document.value.get("config") if isinstance(document.value, dict) else None
    found = []
    for key, value in (config or {}).items() if isinstance(config, dict) else ():
        short = key.removeprefix(f"{project}:") if isinstance(key, str) else key
        if short not in keys or not isinstance(value, dict | list) or is_secure(value):
            continue
        plain = plain_leaves(value)
        if plain and len(plain) < len(_leaves_count(value)):
            found += [(short, p, document.line(("config", key, *p))) for p in plain]
    return found


def _leaves_count(value: Any, path: KeyPath = ()) -> list[KeyPath]:
    if is_secure(value):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _leaves_count(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _leaves_count(item, (*path, index))]
    return [path]


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
        return OFFLINE_PLACEHOLDER, True
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
    return _project_of((root / "Pulumi.yaml").read_text())


@functools.lru_cache(maxsize=8)
def _project_of(text: str) -> str:
    return str(yaml.safe_load(text)["name"])


def _key_path(dotted: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for token in re.findall(r"\[\d+\]|[^.\[\]]+", dotted.removesuffix(" (key)")):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return tuple(parts)


def located(stack: str, error: Any, root: Path = ROOT) -> str:
    """A config error (``config.ConfigError``) with each problem followed by the stack-file line of
    its key, or of the nearest enclosing key the file spells out (defaults have no line)."""
    try:
        document = read_document(stack, root)
    except StackFileError:
        return str(error)
    project = project_name(root)
    lines = [str(error).splitlines()[0]]
    for problem in error.problems:
        path = _key_path(problem.path)
        top = str(path[0]) if path else ""
        key = ("config", top if ":" in top else f"{project}:{top}", *path[1:])
        if ("config", key[1]) not in document.lines:
            key = ("config", top, *path[1:])
        lines.append(f"  - {problem} ({document.where(key)})")
    return "\n".join(lines)
