"""`python -m offline diff`: what a change does to each stack, like `pulumi preview --diff`, offline.

Compares two renders semantically: resources created, deleted and updated, and for an update each
field path with its old and new value (list items by their `name`, or another unique key, else by
index); resource options (protect, dependsOn, provider, ...) included. The two sides are either

- the working tree against a git ref (``--base REF``, default origin/main, else main, else HEAD):
  the ref is exported to a temporary folder and rendered there by its own renderer, or
- two stacks (``--stack NEW --against-stack OLD``), or
- two render folders written by `offline render` (``OLD NEW``).

Exit codes, as `git diff --exit-code` and `terraform plan -detailed-exitcode`: 0 no changes, 1 error
(bad usage, unknown ref, a stack of the working tree that cannot be rendered), 2 changes (or a
stack whose base could not be rendered, so changes cannot be ruled out).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn, TextIO

from .snapshot import Resource, Side, Snapshot, SnapshotError, load_renders, snapshot_from_files
from .stackfile import ROOT, stack_names

# --- Field changes -----------------------------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The value on the side of a change where the field does not exist."""

LIST_KEYS = ("name", "key", "topologyKey", "type", "port")
"""Fields that address list items, in order of preference, when unique on both sides."""

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


@dataclass(frozen=True)
class Change:
    """One field that differs: ``old`` is MISSING for an addition, ``new`` for a removal."""

    path: str
    old: Any = MISSING
    new: Any = MISSING

    @property
    def symbol(self) -> str:
        return "+" if self.old is MISSING else "-" if self.new is MISSING else "~"


def join(path: str, key: str) -> str:
    """``path.key``, or ``path["key"]`` when the key is not a plain identifier (labels, annotations)."""
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def list_key(*lists: list[Any]) -> str | None:
    """The field that addresses the items of every list: present in each item, a scalar, unique."""
    items = [item for values in lists for item in values]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in LIST_KEYS:
        if all(_unique_scalar(values, key) for values in lists):
            return key
    return None


def _unique_scalar(values: list[dict[str, Any]], key: str) -> bool:
    found = [item.get(key) for item in values]
    return all(isinstance(v, str | int) and not isinstance(v, bool) for v in found) and len(set(found)) == len(found)


def _same(old: Any, new: Any) -> bool:
    """Equal, telling true from 1 and 1 from "1" (Python's == does not)."""
    return json.dumps(old, sort_keys=True, default=str) == json.dumps(new, sort_keys=True, default=str)


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


def diff_values(old: Any, new: Any, path: str = "") -> list[Change]:
    """Every changed field between two values, addressed by path."""
    if _same(old, new):
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(set(old) | set(new), key=str):
            sub = join(path, str(key))
            changes += diff_values(old.get(key, MISSING), new.get(key, MISSING), sub)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        return _diff_lists(old, new, path)
    return [Change(path, old, new)]


def _diff_lists(old: list[Any], new: list[Any], path: str) -> list[Change]:
    key = list_key(old, new)
    if key is not None:
        before = {item[key]: item for item in old}
        after = {item[key]: item for item in new}
        order = [k for k in after] + [k for k in before if k not in after]
        return [c for k in order for c in diff_values(before.get(k, MISSING), after.get(k, MISSING),
                                                       f"{path}[{key}={k}]")]
    if not any(_is_container(item) for item in [*old, *new]):
        return [Change(path, old, new)]  # a list of plain values reads best whole
    changes = []
    for index in range(max(len(old), len(new))):
        before = old[index] if index < len(old) else MISSING
        after = new[index] if index < len(new) else MISSING
        changes += diff_values(before, after, f"{path}[{index}]")
    return changes


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a value with its path (empty dicts and lists of plain values are leaves)."""
    if isinstance(value, dict) and value:
        for key in sorted(value, key=str):
            yield from leaves(value[key], join(path, str(key)))
    elif isinstance(value, list) and any(_is_container(item) for item in value):
        key = list_key(value)
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{key}={item[key]}]" if key else f"{path}[{index}]")
    else:
        yield path, value


# --- Resource and stack changes ----------------------------------------------------------------

Op = Literal["create", "update", "delete"]
OPTIONS = "(options)"


@dataclass(frozen=True)
class ResourceChange:
    """A resource created, updated or deleted, with its field changes and reviewer notes."""

    op: Op
    resource: Resource
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackDiff:
    """One stack's diff, or why there is none (``status`` unavailable: the base could not be
    rendered; error: the new side could not be rendered)."""

    label: str
    resources: tuple[ResourceChange, ...] = ()
    settings: tuple[Change, ...] = ()
    unchanged: int = 0
    status: Literal["compared", "unavailable", "error"] = "compared"
    message: str = ""

    def count(self, op: Op) -> int:
        return sum(1 for r in self.resources if r.op == op)

    @property
    def has_changes(self) -> bool:
        return bool(self.resources or self.settings)


def _created(resource: Resource) -> ResourceChange:
    shown = {k: v for k, v in resource.options.items() if v}
    changes = [Change(path, MISSING, v) for path, v in leaves(shown, OPTIONS)] if shown else []
    if resource.inputs is not None:
        changes += [Change(path, MISSING, v) for path, v in leaves(resource.inputs)]
    return ResourceChange("create", resource, tuple(changes))


def _deleted(resource: Resource) -> ResourceChange:
    notes = ("protected: `pulumi up` refuses to delete it until protect is turned off",) \
        if resource.options.get("protect") else ()
    return ResourceChange("delete", resource, (), notes)


def _updated(old: Resource, new: Resource) -> ResourceChange | None:
    changes = diff_values(old.options, new.options, OPTIONS) + diff_values(old.inputs, new.inputs)
    if not changes:
        return None
    paths = {c.path for c in changes}
    notes = []
    if f"{OPTIONS}.parent" in paths:
        notes.append("parent changed: the URN changes, so Pulumi replaces the resource unless it has an alias")
    if paths & {"metadata.name", "metadata.namespace"}:
        notes.append("name or namespace changed: Kubernetes sees a new object, Pulumi replaces it")
    return ResourceChange("update", new, tuple(changes), tuple(notes))


def diff_snapshots(label: str, old: Snapshot | None, new: Snapshot | None) -> StackDiff:
    """The diff of two renders of a stack (None: the stack does not exist on that side)."""
    before = old.resources if old else {}
    after = new.resources if new else {}
    changes: list[ResourceChange] = []
    unchanged = 0
    for rid in sorted(set(before) | set(after)):
        if rid not in before:
            changes.append(_created(after[rid]))
        elif rid not in after:
            changes.append(_deleted(before[rid]))
        elif (updated := _updated(before[rid], after[rid])) is not None:
            changes.append(updated)
        else:
            unchanged += 1
    settings = diff_values(old.settings if old else {}, new.settings if new else {})
    return StackDiff(label, tuple(changes), tuple(settings), unchanged)


def compare(label: str, old: Side, new: Side, old_is_base: bool = True) -> StackDiff:
    """The diff of two sides; a side that could not be rendered makes the stack unavailable (the
    base) or an error (the side under review, or either side when comparing two stacks)."""
    if isinstance(new, str):
        return StackDiff(label, status="error", message=new)
    if isinstance(old, str):
        return StackDiff(label, status="unavailable" if old_is_base else "error", message=old)
    return diff_snapshots(label, old, new)


def exit_code(diffs: list[StackDiff]) -> int:
    """0 no changes, 1 an error, 2 changes (or a stack that could not be compared)."""
    if any(d.status == "error" for d in diffs):
        return 1
    return 2 if any(d.has_changes or d.status == "unavailable" for d in diffs) else 0


# --- Sides -------------------------------------------------------------------------------------


class UsageError(Exception):
    """The command line asks for something that cannot be compared."""


def working_tree_side(stack: str) -> Side:
    """The render of ``stack`` from this checkout; None when it has no such stack file."""
    from config import ConfigError

    from .render import RenderError, program_failure, render_stack

    if stack not in stack_names():
        return None
    try:
        return snapshot_from_files(render_stack(stack).files)
    except (ConfigError, RenderError) as exc:
        return f"stack {stack}: {exc}"
    except Exception as exc:  # a bug in the program is this stack's error, not the diff's crash
        return f"stack {stack}: {program_failure(exc)}"


def against_ref(ref: str | None, stacks: list[str], repo: Path | None = None) -> tuple[str, list[StackDiff]]:
    """The working tree against a git ref of ``repo`` (default: this checkout's repository; ref
    default: origin/main, main or HEAD), per stack (default: every stack of either side)."""
    from .gitref import RefRenderer, default_base, describe_head

    repo = repo or ROOT
    with RefRenderer(ref or default_base(repo), stacks or None, repo) as base:
        names = sorted(set(stacks or stack_names()) | set(base.stacks))
        unknown = [s for s in stacks if s not in base.stacks and s not in stack_names()]
        if unknown:
            raise UsageError(f"no stack {', '.join(unknown)} in the working tree or in {base.label}")
        heads = {stack: working_tree_side(stack) for stack in names}
        bases = base.result()
        title = f"{base.label} → {describe_head(repo)}"
    return title, [compare(stack, bases.get(stack), heads[stack]) for stack in names]


def against_stack(old: str, new: list[str]) -> tuple[str, list[StackDiff]]:
    """One stack against another (both from the working tree)."""
    if len(new) != 1:
        raise UsageError("--against-stack compares with exactly one --stack")
    unknown = [s for s in (old, new[0]) if s not in stack_names()]
    if unknown:
        raise UsageError(f"no stack file for {', '.join(unknown)} (stacks here: {', '.join(stack_names())})")
    label = f"{old} → {new[0]}"
    return label, [compare(label, working_tree_side(old), working_tree_side(new[0]), old_is_base=False)]


def between_folders(old: Path, new: Path) -> tuple[str, list[StackDiff]]:
    """Two render folders: stacks paired by name, or the only stack of each."""
    before, after = load_renders(old), load_renders(new)
    if len(before) == 1 and len(after) == 1 and set(before) != set(after):
        (old_stack, old_snap), (new_stack, new_snap) = next(iter(before.items())), next(iter(after.items()))
        label = f"{old_stack} → {new_stack}"
        return f"{old} → {new}", [diff_snapshots(label, old_snap, new_snap)]
    names = sorted(set(before) | set(after))
    return f"{old} → {new}", [diff_snapshots(s, before.get(s), after.get(s)) for s in names]


# --- Command line ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


MIN_LIMIT = 4096


def _limit(text: str) -> int:
    if not text.isdigit() or int(text) < MIN_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of at least {MIN_LIMIT}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m offline diff", description=__doc__.split("\n")[0],
                     epilog="exit codes: 0 no changes, 1 error, 2 changes")
    parser.add_argument("folders", nargs="*", type=Path, metavar="OLD NEW",
                        help="two render folders (build/render or build/render/<stack>) instead of stacks")
    parser.add_argument("--stack", action="append", default=[], help="stack to compare (repeatable; default all)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--base", help="git ref to compare the working tree with (default origin/main, main, HEAD)")
    source.add_argument("--against-stack", metavar="STACK", help="compare --stack with this stack instead")
    parser.add_argument("--format", choices=("text", "markdown"), default="text", help="report format")
    parser.add_argument("--out", type=Path, help="write the report here (stdout then gets the text report)")
    parser.add_argument("--summary", type=Path,
                        help="also append the Markdown report, unabridged up to 1 MB, here ($GITHUB_STEP_SUMMARY)")
    parser.add_argument("--max-chars", type=_limit, default=None,
                        help="size limit of the Markdown report (default 65536, GitHub's comment limit)")
    return parser


def _collect(args: argparse.Namespace) -> tuple[str, list[StackDiff]]:
    if args.folders:
        if len(args.folders) != 2 or args.base or args.against_stack or args.stack:
            raise UsageError("give two render folders (OLD NEW) and nothing else to compare")
        return between_folders(*args.folders)
    if args.against_stack:
        return against_stack(args.against_stack, args.stack)
    return against_ref(args.base, args.stack)


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from .gitref import GitError
    from .report import COMMENT_LIMIT, SUMMARY_LIMIT, markdown, text

    try:
        args = _parser().parse_args(argv)
        title, diffs = _collect(args)
    except (UsageError, GitError, SnapshotError, OSError) as exc:
        print(f"error: {exc}", file=err)
        return 1
    limit = args.max_chars or COMMENT_LIMIT
    report = markdown(title, diffs, limit) if args.format == "markdown" else text(title, diffs)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        report = text(title, diffs)
    print(report, file=out, end="")
    if args.summary:
        with args.summary.open("a", encoding="utf-8") as handle:
            handle.write(markdown(title, diffs, SUMMARY_LIMIT))
    return exit_code(diffs)
