"""What every verb's command line shares: one-line usage errors, output paths checked up front,
and running one stack for a verb that prints something about it (`run_verb`).

A bad argument or path ends a verb with one line on stderr (``error: …``) and the verb's usage
exit code, before anything is rendered or written; see docs/reviewing-changes.md for the codes.
An output's folder must exist, except under the repository's ``build/``, which is created (CI
writes ``build/offline-plan.md`` on a fresh checkout); an output is never the repository root.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO

from config.stackfile import ROOT


class UsageError(Exception):
    """The command line asks for something that cannot be done; the message is one line."""


def summary(doc: str | None) -> str:
    """A verb's description for ``--help``: its module docstring's first paragraph as one sentence,
    without the ```python -m …`: `` that the usage line already shows."""
    text = " ".join((doc or "").strip().split("\n\n", 1)[0].split())
    text = re.sub(r"^`python -m [^`]*`: ", "", text)
    return text[:1].upper() + text[1:]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are a :class:`UsageError` (one line), not usage text and exit.
    Options must be spelt out: a typo such as `--chek` is an error, never a prefix of another option.
    A stack named without its option (`preview production`) is answered with `--stack production`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(one_line(with_stack_hint(self, message)))


def one_line(text: str) -> str:
    """``text`` with each control character written as its escape (a newline in an argument is
    `\\n`), so that an error quoting what the user typed stays one line."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: m.group().encode("unicode_escape").decode(), text)


def with_stack_hint(parser: argparse.ArgumentParser, message: str) -> str:
    """``message``, and when its one unrecognized word is likely a stack, how to name a stack."""
    prefix = "unrecognized arguments: "
    if message.startswith(prefix) and "--stack" in parser._option_string_actions:
        words = [word for word in message[len(prefix):].split() if not word.startswith("-")]
        if len(words) == 1:
            return f"{message} (a stack is named with --stack: --stack {words[0]})"
    return message


BUILD = ROOT / "build"
"""The repository's scratch folder: the only place where a missing folder is created for an output."""


def _parent(path: Path) -> Path:
    parent = Path(os.path.abspath(path)).parent
    if not parent.exists() and parent.is_relative_to(BUILD):
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {parent}: {exc.strerror or exc}") from None
    return parent


def output_file(text: str, option: str) -> Path:
    """A file a verb will write (or append to): its folder exists and it is not a folder itself."""
    if not text.strip():
        raise UsageError(f"{option}: an empty path")
    path = Path(text)
    parent = _parent(path)
    if not parent.is_dir():
        state = "is not a folder" if parent.exists() else "does not exist"
        raise UsageError(f"{option} {text}: the folder {parent} {state}")
    if path.is_dir():
        raise UsageError(f"{option} {text}: is a folder; give a file name")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {text}: cannot be written (permission denied)")
    return path


def output_folder(text: str, option: str, default: Path | None = None) -> Path:
    """A folder a verb writes into: its parent exists (only ``default`` is created), it is not a
    file, and it is neither the repository root nor the filesystem root."""
    if not text.strip():
        raise UsageError(f"{option}: an empty path")
    path = Path(text)
    if default is not None and Path(os.path.abspath(path)) == Path(os.path.abspath(default)):
        return path
    absolute = Path(os.path.abspath(path))
    if absolute == ROOT or absolute == Path(os.path.abspath(ROOT)):
        raise UsageError(f"{option} {text}: is the repository root; give a folder for the output, such as build/render")
    if absolute == Path(absolute.anchor):
        # Writable as root (a container, CI): one folder per stack would land at the top of the disk.
        raise UsageError(f"{option} {text}: is the filesystem root; give a folder for the output, such as build/render")
    parent = _parent(path)
    if not parent.is_dir():
        state = "is not a folder" if parent.exists() else "does not exist"
        raise UsageError(f"{option} {text}: the folder {parent} {state}")
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {text}: is a file, not a folder")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise UsageError(f"{option} {text}: cannot be written (permission denied)")
    return path


def run_verb(prog: str, description: str, argv: list[str], out: TextIO, err: TextIO,
             show: Callable[[Any, str], str]) -> int:
    """A verb that runs one stack (``--stack``, default staging) and prints ``show(plan, stack)``:
    bad usage exits 2, a stack file problem with its own code, a config problem 1, each in one line."""
    from config import ConfigError
    from config.stackfile import StackFileError, located

    from .engine import run_stack

    parser = Parser(prog=prog, description=description)
    parser.add_argument("--stack", default="staging", help="stack name (default: staging)")
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return 2
    try:
        plan = run_stack(args.stack)
    except StackFileError as exc:
        print(f"error: {exc}", file=err)
        return exc.exit_code
    except ConfigError as exc:
        print(f"error: stack {args.stack}: {located(args.stack, exc)}", file=err)
        return 1
    print(show(plan, args.stack), file=out)
    return 0


def dispatch(prog: str, verbs: dict[str, tuple[str, str]], argv: list[str]) -> int:
    """``prog <verb> [options]``: run ``verbs[verb]``'s module ``main(argv)``, imported only then.
    No verb, or ``-h``/``--help``, lists the verbs; an unknown verb is one line and exit 2."""
    if argv and argv[0] not in verbs and argv[0] not in ("-h", "--help"):
        print(f"error: unknown verb {argv[0]!r} (verbs: {', '.join(verbs)}; --help lists them)", file=sys.stderr)
        return 2
    if not argv or argv[0] in ("-h", "--help"):
        width = max(len(verb) for verb in verbs)
        lines = [f"usage: {prog} <verb> [options]", "", "verbs:"]
        lines += [f"  {verb:<{width}}  {text}" for verb, (_, text) in verbs.items()]
        print("\n".join(lines), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    module, _ = verbs[argv[0]]
    return int(importlib.import_module(module).main(argv[1:]) or 0)
