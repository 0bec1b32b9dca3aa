"""`python -m offline diff`: what a change does to each stack, like `pulumi preview --diff`, offline.

Compares two renders semantically (:mod:`offline.changes`): resources created, deleted and updated,
and for an update each field path with its old and new value (list items by their `name`, or
another unique key, else by index); resource options (protect, dependsOn, provider, ...) included.
This module finds the two sides and prints the result (:mod:`offline.report`). The sides are either

- the working tree against a git ref (``--base REF``; default: where this checkout's changes
  start, the merge base of HEAD with origin/main, else main, else HEAD itself): the ref is
  exported to a temporary folder and rendered there by its own renderer, or
- two stacks (``--stack NEW --against-stack OLD``), or
- two render folders written by `offline render` (``OLD NEW``).

Exit codes, as `git diff --exit-code` and `terraform plan -detailed-exitcode`: 0 no changes, 1 error
(bad usage, unknown ref, a stack of the working tree that cannot be rendered), 2 changes (or a
stack whose base could not be rendered, so changes cannot be ruled out), 3 changes of which
`pulumi up` would refuse a step (offline.replacement: protect, a name still taken, Helm's ownership
of a moved release's objects, …).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from config.stackfile import ROOT, stack_names

from .changes import StackDiff, compare, diff_snapshots, exit_code
from .cli import Parser, UsageError, output_file, summary
from .report import COMMENT_LIMIT, SUMMARY_LIMIT, markdown, text
from .snapshot import Side, SnapshotError, load_renders, snapshot_from_files

# --- Sides -------------------------------------------------------------------------------------


def working_tree_side(stack: str) -> Side:
    """The render of ``stack`` from this checkout; None when it has no such stack file."""
    from config import ConfigError
    from config.stackfile import StackFileError

    from .render import RenderError, program_failure, render_stack

    if stack not in stack_names():
        return None
    try:
        return snapshot_from_files(render_stack(stack).files)
    except (ConfigError, RenderError, StackFileError) as exc:
        return f"stack {stack}: {exc}"
    except Exception as exc:  # a bug in the program is this stack's error, not the diff's crash
        return f"stack {stack}: {program_failure(exc)}"


def against_ref(ref: str | None, stacks: list[str], repo: Path | None = None) -> tuple[str, list[StackDiff]]:
    """The working tree against a git ref of ``repo`` (default: this checkout's repository; ref
    default: where this checkout's changes start, the merge base of HEAD with origin/main or main,
    else HEAD), per stack (default: every stack of either side)."""
    from .gitref import RefRenderer, default_base, describe_head

    repo = repo or ROOT
    commit, name = (ref, ref) if ref else default_base(repo)
    with RefRenderer(commit, stacks or None, repo, name) as base:
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
        return f"{old} → {new}", [diff_snapshots(label, old_snap, new_snap, steps=False)]
    names = sorted(set(before) | set(after))
    return f"{old} → {new}", [diff_snapshots(s, before.get(s), after.get(s)) for s in names]


# --- Command line ------------------------------------------------------------------------------


MIN_LIMIT = 4096


def _limit(text: str) -> int:
    if not text.isdigit() or int(text) < MIN_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of at least {MIN_LIMIT}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m offline diff", description=summary(__doc__),
                     epilog="exit codes: 0 no changes, 1 error, 2 changes, 3 changes `pulumi up` would refuse")
    parser.add_argument("folders", nargs="*", type=Path, metavar="OLD NEW",
                        help="two render folders (build/render or build/render/<stack>) instead of stacks")
    parser.add_argument("--stack", action="append", default=[], help="stack to compare (repeatable; default all)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--base", help="git ref to compare the working tree with (default: the merge base of HEAD "
                             "with origin/main or main, else HEAD)")
    source.add_argument("--against-stack", metavar="STACK", help="compare --stack with this stack instead")
    parser.add_argument("--format", choices=("text", "markdown"), default="text", help="report format")
    parser.add_argument("--out", help="write the report here (stdout then gets the text report)")
    parser.add_argument("--summary",
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

    try:
        args = _parser().parse_args(argv)
        report_file = None if args.out is None else output_file(args.out, "--out")
        summary_file = None if args.summary is None else output_file(args.summary, "--summary")
        title, diffs = _collect(args)
    except (UsageError, GitError, SnapshotError, OSError) as exc:
        print(f"error: {exc}", file=err)
        return 1
    limit = args.max_chars or COMMENT_LIMIT
    report = markdown(title, diffs, limit) if args.format == "markdown" else text(title, diffs)
    try:
        if report_file is not None:
            report_file.write_text(report, encoding="utf-8")
            report = text(title, diffs)
        print(report, file=out, end="")
        if summary_file is not None:
            with summary_file.open("a", encoding="utf-8") as handle:
                handle.write(markdown(title, diffs, SUMMARY_LIMIT))
    except OSError as exc:
        print(f"error: cannot write {exc.filename or 'the report'}: {exc.strerror or exc}", file=err)
        return 1
    return exit_code(diffs)
