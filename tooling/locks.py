"""`python -m tooling locks`: the hashed lock files CI installs from, with `pip --require-hashes`.

A pin says which version; only a hash says which bytes. In hash-checking mode pip refuses any file
whose sha256 is not listed, so a replaced upload or a compromised mirror cannot reach the CI jobs
that hold deploy credentials. Each lock lists, per pinned package, the sha256 of every file PyPI has
for that version (wheels for every platform and the sdist), so the same lock installs anywhere.

| lock | what it installs | its pins come from |
|---|---|---|
| `locks/runtime.txt` | `make install` (the deploy jobs) | requirements.txt and what it pulls in |
| `locks/dev.txt` | `make test` | constraints.txt (a freeze of a fresh dev venv) |
| `locks/scan.txt` | checkov's `.venv-scan` | constraints-scan.txt |
| `policy/requirements.txt` | the policy pack (via the Pulumi CLI) | pulumi, pulumi-policy, protobuf + deps |

`write` asks PyPI's simple JSON API for the hashes (network; `make constraints` runs it after
re-pinning). `check` is offline (tests/test_locks.py runs it): every lock has exactly its source's
pins, what a runtime or policy lock installs is closed under its packages' dependencies (read from
the installed metadata, markers evaluated for this interpreter), and every pin has a hash. The
Makefile installs from the locks, with `--require-hashes --no-deps`, when `PIP_LOCKED=1` (the
GitHub workflows set it); without it, from the requirement files and constraints as before.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
INDEX = "https://pypi.org/simple"


PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def read_pins(text: str) -> dict[str, str]:
    """`name==version` lines of a requirements or constraints file, by canonical name."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


@dataclass(frozen=True)
class Lock:
    path: str
    header: str
    source: str  # the file that pins the versions
    roots: tuple[str, ...] = ()  # when set, the lock holds only these and what they pull in
    pins: tuple[tuple[str, str], ...] = ()  # versions `source` cannot hold (pip freeze leaves out setuptools)


LOCKS = (
    Lock("locks/runtime.txt", "What `make install` installs (the deploy jobs): requirements.txt and its dependencies.",
         "constraints.txt", tuple(read_pins((ROOT / "requirements.txt").read_text()))),
    Lock("locks/dev.txt", "What `make test` installs: constraints.txt.", "constraints.txt"),
    Lock("locks/scan.txt", "checkov's .venv-scan: constraints-scan.txt.", "constraints-scan.txt"),
    Lock("policy/requirements.txt", "The policy pack's own environment (the Pulumi CLI creates policy/venv from this "
         "file;\n# the hashes switch its pip to hash-checking mode): pulumi, pulumi-policy, protobuf and their "
         "dependencies.", "constraints.txt", ("pulumi", "pulumi-policy", "protobuf"),
         # pulumi-policy requires setuptools; a current release, not a venv's bundled 65.5 (CVE-2024-6345)
         (("setuptools", "84.2.1"),)),
)

def read_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """A lock's entries: canonical name -> (version, sha256 hashes); continuation lines joined."""
    entries: dict[str, tuple[str, list[str]]] = {}
    for entry in text.replace("\\\n", " ").splitlines():
        match = PIN.match(entry.strip())
        if match:
            entries[canonicalize_name(match.group(1))] = (match.group(2), HASH.findall(entry))
    return entries


def closure(roots: Iterable[str], installed: Mapping[str, metadata.Distribution]) -> set[str]:
    """The roots and every package their installed metadata requires (markers evaluated here)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(canonicalize_name(name), frozenset[str]()) for name in roots]
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        name, extras = item
        if name not in installed:
            raise LookupError(f"{name} is required but not installed in {sys.prefix}")
        for line in installed[name].requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras | {""}):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return {name for name, _ in seen}


def installed_distributions() -> dict[str, metadata.Distribution]:
    return {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}


def expected_pins(lock: Lock, installed: Mapping[str, metadata.Distribution] | None = None) -> dict[str, str]:
    """The pins `lock` must hold: its source's, or the closure of its roots pinned by constraints.txt."""
    source = {**read_pins((ROOT / lock.source).read_text()), **dict(lock.pins)}
    if not lock.roots:
        return source
    names = closure(lock.roots, installed if installed is not None else installed_distributions())
    missing = sorted(names - source.keys())
    if missing:
        raise LookupError(f"{lock.source} pins none of {', '.join(missing)}: run `make constraints`")
    return {name: source[name] for name in names}


def check(installed: Mapping[str, metadata.Distribution] | None = None) -> list[str]:
    """What is wrong with the locks, one line each (empty: they are current)."""
    problems: list[str] = []
    if installed is None and any(lock.roots for lock in LOCKS):
        installed = installed_distributions()  # read once, not once per lock
    for lock in LOCKS:
        path = ROOT / lock.path
        if not path.exists():
            problems.append(f"{lock.path}: missing; run `make locks`")
            continue
        entries = read_lock(path.read_text())
        expected = expected_pins(lock, installed)
        for name in sorted(expected.keys() - entries.keys()):
            problems.append(f"{lock.path}: no {name}=={expected[name]}; run `make locks`")
        for name in sorted(entries.keys() - expected.keys()):
            problems.append(f"{lock.path}: {name} is not in what {lock.source} installs; run `make locks`")
        for name in sorted(entries.keys() & expected.keys()):
            version, hashes = entries[name]
            if Version(version) != Version(expected[name]):
                problems.append(f"{lock.path}: {name}=={version}, but {lock.source} pins {expected[name]}")
            if not hashes:
                problems.append(f"{lock.path}: {name} has no --hash")
    return problems


# --- write (network) ----------------------------------------------------------------------------


def release_hashes(name: str, version: str, index: str = INDEX) -> list[str]:
    """sha256 of every file PyPI has for `name==version` (wheels and sdist), sorted."""
    request = urllib.request.Request(f"{index}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    wanted = Version(version)
    hashes: set[str] = set()
    for entry in files:
        filename = entry["filename"]
        try:
            if filename.endswith(".whl"):
                file_version = parse_wheel_filename(filename)[1]
            elif filename.endswith((".tar.gz", ".zip")):
                file_version = parse_sdist_filename(filename)[1]
            else:
                continue
        except ValueError:
            continue  # a file name that is not a valid distribution name cannot be installed either
        if file_version == wanted and not entry.get("yanked") and "sha256" in entry["hashes"]:
            hashes.add(entry["hashes"]["sha256"])
    if not hashes:
        raise LookupError(f"PyPI has no files for {name}=={version}")
    return sorted(hashes)


def render(lock: Lock, pins: Mapping[str, str], hashes: Mapping[str, list[str]]) -> str:
    lines = [f"# {lock.header}", "# Written by `make locks` (tooling/locks.py) from the pins; do not edit by hand."]
    for name in sorted(pins):
        entry = [f"{name}=={pins[name]}", *(f"    --hash=sha256:{digest}" for digest in hashes[name])]
        lines.append(" \\\n".join(entry))
    return "\n".join(lines) + "\n"


def write() -> None:
    installed = installed_distributions()
    cache: dict[tuple[str, str], list[str]] = {}
    for lock in LOCKS:
        pins = expected_pins(lock, installed)
        for name, version in pins.items():
            if (name, version) not in cache:
                cache[(name, version)] = release_hashes(name, version)
        text = render(lock, pins, {name: cache[(name, version)] for name, version in pins.items()})
        path = ROOT / lock.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {lock.path}: {len(pins)} packages")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling locks", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("write", "check"))
    args = parser.parse_args(argv)
    if args.action == "write":
        write()
        return 0
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0
