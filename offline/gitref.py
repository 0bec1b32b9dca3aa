"""Renders the stacks of a git commit of this project, for `offline diff --base REF`.

The commit is exported with ``git archive`` into a temporary folder (the repository, its index
and its work tree are left alone) and rendered there by that commit's own renderer, ``python -m
offline render``, run with this very interpreter: the same virtualenv, so the same SDK and
provider versions. A commit without a renderer, or whose render fails, is reported per stack.

When the working tree differs from the commit only in stack files (and in documentation, which the
program never reads), the commit's program and renderer are this checkout's own: its stacks are
rendered in this process instead (:func:`same_program`), after the working tree's, so the SDK and
provider modules are loaded and warmed once, not twice.

A stack rendered without error in a process of its own is kept in a cache outside the repository (this user's own folder
in the system's temporary folder, :func:`cache_root`), under the commit and a fingerprint of the
interpreter and its installed packages (:func:`environment_key`): a commit's files never change,
so the next diff against the same base (a developer's `make diff` while editing a stack file)
renders only the working tree. The newest :data:`CACHE_KEEP` entries are kept.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path
from types import TracebackType

from config.stackfile import ROOT

from .snapshot import SUMMARY, Side, SnapshotError, load_snapshot

DEFAULT_BASES = ("origin/main", "main", "HEAD")
RENDERER = Path("offline") / "render.py"
RENDER_TIMEOUT_S = 600
CACHE_KEEP = 8  # commits (with their interpreter) whose renders the cache keeps


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


def environment_key() -> str:
    """What a commit's render depends on beside its files: this interpreter and the packages
    installed for it (their `*.dist-info` folders name each one's version)."""
    folders = sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})
    packages = sorted(name for folder in folders if os.path.isdir(folder)
                      for name in os.listdir(folder) if name.endswith(".dist-info"))
    text = "\n".join([sys.version, os.path.realpath(sys.executable), *packages])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_root() -> Path | None:
    """This user's cache of base renders, or None when there is none to trust: the folder must be
    this user's and no one else's (another user could otherwise plant a render)."""
    root = Path(tempfile.gettempdir()) / f"spywatcher-offline-diff-{os.getuid()}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.stat()
    except OSError:
        return None
    return root if info.st_uid == os.getuid() and not info.st_mode & 0o077 else None


def _evict(root: Path, keep: int = CACHE_KEEP) -> None:
    entries = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def same_program(commit: str, repo: Path = ROOT) -> bool:
    """Whether the working tree of ``repo`` runs ``commit``'s program: every file that differs
    between them (changed, added, deleted, untracked) is a stack file, under docs/ or a Markdown
    file."""
    changed = git(repo, "diff", "--name-only", "--no-renames", commit, "--").decode().splitlines()
    untracked = git(repo, "ls-files", "--others", "--exclude-standard").decode().splitlines()
    return all(("/" not in path and fnmatch.fnmatchcase(path, "Pulumi.*.yaml")) or path.startswith("docs/")
               or path.endswith(".md") for path in changed + untracked)


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

    def __init__(self, ref: str, stacks: list[str] | None = None, repo: Path = ROOT, name: str | None = None,
                 cache: Path | None = None):
        self.commit = resolve(ref, repo)
        self.label = f"{name or ref} ({self.commit[:7]})"
        self._tmp = tempfile.TemporaryDirectory(prefix="offline-base-")
        self._tree = Path(self._tmp.name) / "tree"
        self._out = Path(self._tmp.name) / "render"
        top = git(repo, "ls-tree", "--name-only", self.commit).decode().splitlines()
        present = sorted(n[len("Pulumi."):-len(".yaml")] for n in top if fnmatch.fnmatchcase(n, "Pulumi.*.yaml"))
        self.stacks = [s for s in present if stacks is None or s in stacks]
        self.has_renderer = bool(git(repo, "ls-tree", self.commit, RENDERER.as_posix()).strip())
        root = cache if cache is not None else cache_root()
        self._cache = root / f"{self.commit}-{environment_key()}" if root is not None else None
        self.cached = [s for s in self.stacks if self._cache is not None and (self._cache / s / SUMMARY).is_file()]
        if self.cached and self._cache is not None:
            os.utime(self._cache)  # recently used: the last to be evicted
        self._process: subprocess.Popen[str] | None = None
        self._repo = repo
        # This process runs this checkout's program: the commit's too, when only stack files differ.
        self.here = bool(self.stacks) and repo.resolve() == ROOT.resolve() and same_program(self.commit, repo)
        missing = [s for s in self.stacks if s not in self.cached]
        if self.has_renderer and missing and not self.here:
            export(self.commit, repo, self._tree)
            command = [sys.executable, "-m", "offline", "render", "--out", str(self._out)]
            for stack in missing:
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

    def _render_here(self, stack: str) -> Side:
        """``stack`` of the commit rendered in this process, which runs the commit's program (:func:`same_program`)."""
        from config import ConfigError
        from config.stackfile import StackFileError, located, read_stack_config

        from .engine import plan_settings, run_program
        from .render import RenderError, program_failure, render_plan
        from .snapshot import snapshot_from_files

        files = Path(self._tmp.name) / "stack-files"
        files.mkdir(exist_ok=True)
        for name in ("Pulumi.yaml", f"Pulumi.{stack}.yaml"):
            (files / name).write_bytes(git(self._repo, "show", f"{self.commit}:{name}"))
        try:
            plan = run_program(stack, *read_stack_config(stack, files))
            rendered = render_plan(plan, plan_settings(plan).cluster.kubernetes_version)
        except StackFileError as exc:
            error = f"error: {exc}"
        except ConfigError as exc:
            error = f"error: stack {stack}: {located(stack, exc, files)}"
        except RenderError as exc:
            error = f"error: stack {stack}: {exc}"
        except Exception as exc:  # a bug in the program: this stack's error, as the renderer reports it
            error = f"error: stack {stack}: {program_failure(exc)}"
        else:
            return snapshot_from_files(rendered.files)
        return f"{self.label} could not be rendered:\n{error}"

    def _side(self, stack: str, stderr: str) -> Side:
        if self.here and stack not in self.cached:
            return self._render_here(stack)
        cached = stack in self.cached and self._cache is not None
        folder = self._cache / stack if cached and self._cache is not None else self._out / stack
        if not (folder / SUMMARY).is_file():
            return f"{self.label} could not be rendered:\n{failure_for(stack, stderr)}"
        try:
            snapshot = load_snapshot(folder)
        except SnapshotError as exc:
            return f"{self.label} rendered a folder this diff cannot read: {exc}"
        if not cached:
            self._keep(stack, folder)
        return snapshot

    def _keep(self, stack: str, folder: Path) -> None:
        """Puts a stack's render in the cache: copied beside its place, then renamed into it, so a
        reader never sees half of one (another diff that got there first wins)."""
        if self._cache is None:
            return
        try:
            self._cache.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{stack}-", dir=self._cache))
        except OSError:
            return  # a cache that cannot be written only costs the next diff a render
        try:
            shutil.copytree(folder, staging / stack)
            os.replace(staging / stack, self._cache / stack)
            _evict(self._cache.parent)
        except OSError:
            pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
