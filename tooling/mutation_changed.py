"""`python -m tooling mutation --changed BASE`: mutation-test only what a branch changed.

The lines the working tree changed or added since its merge base with BASE (`git diff -U0`, plus
untracked files) in the mutated packages are mapped to the functions mutmut mutates (top-level
functions and methods; a nested function is part of its outer one). Of those functions' mutants,
only the ones whose changed line is one of the branch's changed lines are run, each against the
tests that reach its function (mutmut's record of which tests call what). It runs in a work copy
of its own (build/mutation/changed) whose mutmut configuration mutates only the changed files, so
the whole-package results in build/mutation/work are left alone.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections import defaultdict
from pathlib import Path

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class ChangedError(Exception):
    """The base ref cannot be compared with (unknown ref, no common history)."""


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ChangedError(f"git {' '.join(args)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout


def parse_diff(diff: str) -> dict[str, set[int]]:
    """File -> the line numbers (of the new side) that a `git diff -U0` added or changed; a file
    whose hunks only delete lines has none (there is nothing left on those lines to mutate)."""
    lines: dict[str, set[int]] = defaultdict(set)
    current: str | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            current = target[2:] if target.startswith("b/") else None  # /dev/null: a deleted file
        elif current is not None and (hunk := HUNK.match(line)):
            start, count = int(hunk.group(1)), int(hunk.group(2) or 1)
            lines[current].update(range(start, start + count))
    return {name: found for name, found in lines.items() if found}


def changed_lines(root: Path, base: str, packages: tuple[str, ...]) -> dict[str, set[int]]:
    """File -> changed line numbers, for the Python files of ``packages`` the working tree changed
    since its merge base with ``base`` (committed or not), new untracked files whole."""
    merge_base = _git(root, "merge-base", base, "HEAD").strip()
    paths = [f"{p}/*.py" for p in packages]
    changed = parse_diff(_git(root, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", merge_base,
                              "--", *paths))
    for name in _git(root, "ls-files", "--others", "--exclude-standard", "--", *paths).splitlines():
        count = len((root / name).read_text().splitlines())
        if count:
            changed[name] = set(range(1, count + 1))
    return changed


def functions_at(source: str, lines: set[int]) -> dict[str, set[int]]:
    """The functions mutmut mutates (`name`, `Class.name`) that hold any of ``lines``, each with the
    lines of its own it holds (decorators included)."""
    found: dict[str, set[int]] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and not prefix:
                visit(node.body, f"{node.name}.")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                inside = {n for n in lines if first <= n <= (node.end_lineno or node.lineno)}
                if inside:
                    found[prefix + node.name] = inside

    visit(ast.parse(source).body, "")
    return found


def changed_text(source: str, lines: set[int]) -> set[str]:
    """The changed lines' text, whitespace-normalized (as a mutant's diff is compared)."""
    text = source.splitlines()
    return {" ".join(text[n - 1].split()) for n in lines if 0 < n <= len(text) and text[n - 1].strip()}


def on_changed_lines(diff: str, texts: set[str]) -> bool:
    """Whether a mutant's diff changes one of the branch's changed lines: a line it removes is one
    of them (a line unchanged but equal in text to a changed one of the same function counts too)."""
    removed = [" ".join(line[1:].split()) for line in diff.splitlines()
               if line.startswith("-") and not line.startswith("---")]
    return any(line in texts for line in removed if line)


def with_only_mutate(pyproject: str, files: list[str]) -> str:
    """pyproject.toml's text with [tool.mutmut] also told to mutate only ``files``."""
    listed = "only_mutate = [" + ", ".join(f'"{f}"' for f in files) + "]"
    text, count = re.subn(r"^(also_copy = \[[^\]]*\])$", lambda m: f"{m.group(1)}\n{listed}", pyproject, count=1,
                          flags=re.MULTILINE)
    if count != 1:
        raise ValueError("pyproject.toml: [tool.mutmut] has no also_copy = [...] line")
    return text
