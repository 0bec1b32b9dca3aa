"""Renders the stacks of a git commit of this project, for `offline diff --base REF`.

The commit is exported with ``git archive`` into a temporary folder (the repository, its index
and its work tree are left alone) and rendered there by that commit's own renderer, ``python -m
offline render``, run with this very interpreter: the same virtualenv, so the same SDK and
provider versions. A commit without a renderer, or whose render fails, is reported per stack.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from types import TracebackType

from config.stackfile import ROOT, stack_names

from .snapshot import SUMMARY, Side, SnapshotError, load_snapshot

DEFAULT_BASES = ("origin/main", "main", "HEAD")
RENDERER = Path("offline") / "render.py"
RENDER_TIMEOUT_S = 600


class GitError(Exception):
    """A git command failed (not a repository, unknown ref, ...)."""


def git(repo: Path, *args: str) -> bytes:
    """Output of ``git -C repo args``; GitError with git's message when it fails."""
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip() or f"git {' '.join(args)} failed"
        raise GitError(message)
    return result.stdout


def resolve(ref: str, repo: Path = ROOT) -> str:
    """The commit ``ref`` names."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(f"{ref!r} is not a commit in {repo}") from None


def default_base(repo: Path = ROOT) -> tuple[str, str]:
    """Where the working tree's changes start: the merge base of HEAD with the first of origin/main
    and main that exists (what a pull request from this branch would be compared with), else HEAD.
    So the diff shows this checkout's own changes — its commits and its uncommitted edits, a stack
    file's included — and never main's newer commits, undone, when the branch is behind it.
    Returns the ref to render and how to name it."""
    for ref in DEFAULT_BASES:
        try:
            resolve(ref, repo)
        except GitError:
            continue
        if ref == "HEAD":
            return ref, ref
        try:
            commit = git(repo, "merge-base", "HEAD", ref).decode().strip()
        except GitError:
            return ref, ref  # no history in common (or no HEAD commit yet): the ref itself
        return commit, f"merge base of HEAD and {ref}"
    raise GitError(f"none of {', '.join(DEFAULT_BASES)} is a commit in {repo}")


def describe_head(repo: Path = ROOT) -> str:
    """`working tree (HEAD abc1234)`, or `working tree` outside a repository."""
    try:
        return f"working tree (HEAD {resolve('HEAD', repo)[:7]})"
    except GitError:
        return "working tree"


def export(commit: str, repo: Path, dest: Path) -> None:
    """The files of ``commit`` into ``dest`` (``git archive``: nothing in the repository changes)."""
    archive = git(repo, "archive", "--format=tar", commit)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")


def _clean_env() -> dict[str, str]:
    """This environment without what would make the child import this checkout's modules."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def failure_for(stack: str, stderr: str) -> str:
    """The renderer's error lines about ``stack`` (each `error:` block naming it), or the end of
    its output when none names it (a crash)."""
    blocks: list[list[str]] = []
    for line in stderr.splitlines():
        if line.startswith("error:") or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    mine = [b for b in blocks if f"stack {stack}:" in b[0] or f"Pulumi.{stack}.yaml" in b[0]]
    lines = [line for block in mine for line in block] or stderr.strip().splitlines()[-15:]
    return "\n".join(lines) or "the renderer failed without a message"


class RefRenderer:
    """Renders the stacks of a commit in the background; use as a context manager.

    ``stacks`` limits the render (default: every stack of the commit). :meth:`result` gives each
    stack's side of the diff: its snapshot, None when the commit has no such stack (so every
    resource is new), or why it could not be rendered.
    """

    def __init__(self, ref: str, stacks: list[str] | None = None, repo: Path = ROOT, name: str | None = None):
        self.commit = resolve(ref, repo)
        self.label = f"{name or ref} ({self.commit[:7]})"
        self._tmp = tempfile.TemporaryDirectory(prefix="offline-base-")
        self._tree = Path(self._tmp.name) / "tree"
        self._out = Path(self._tmp.name) / "render"
        export(self.commit, repo, self._tree)
        present = stack_names(self._tree)
        self.stacks = [s for s in present if stacks is None or s in stacks]
        self.has_renderer = (self._tree / RENDERER).is_file()
        self._process: subprocess.Popen[str] | None = None
        if self.has_renderer and self.stacks:
            command = [sys.executable, "-m", "offline", "render", "--out", str(self._out)]
            for stack in self.stacks:
                command += ["--stack", stack]
            self._process = subprocess.Popen(command, cwd=self._tree, env=_clean_env(), text=True,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def __enter__(self) -> RefRenderer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.communicate()
        self._tmp.cleanup()

    def result(self) -> dict[str, Side]:
        """Waits for the render; every rendered stack's side (stacks the commit lacks are absent)."""
        if not self.has_renderer:
            reason = f"{self.label} has no offline renderer ({RENDERER.as_posix()}): nothing to compare with"
            return {stack: reason for stack in self.stacks}
        stderr = ""
        if self._process is not None:
            try:
                _, stderr = self._process.communicate(timeout=RENDER_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                return {stack: f"{self.label}: the render took more than {RENDER_TIMEOUT_S} s" for stack in self.stacks}
        return {stack: self._side(stack, stderr) for stack in self.stacks}

    def _side(self, stack: str, stderr: str) -> Side:
        folder = self._out / stack
        if not (folder / SUMMARY).is_file():
            return f"{self.label} could not be rendered:\n{failure_for(stack, stderr)}"
        try:
            return load_snapshot(folder)
        except SnapshotError as exc:
            return f"{self.label} rendered a folder this diff cannot read: {exc}"
