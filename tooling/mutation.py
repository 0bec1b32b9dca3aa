"""`python -m tooling mutation`: the mutation score of config/, components/, offline/, simulate/, policy/.

mutmut (pinned in requirements-dev.txt, configured under `[tool.mutmut]` in pyproject.toml) changes
the program in one small way at a time and runs the tests that reach the changed function; a mutant
no test notices "survives". It runs in a copy of the tree under build/mutation/work (so editing the
working tree during a run changes nothing), with one worker, niced. Results are kept there: a run
that is stopped resumes where it stopped, and only functions that changed since are run again.

Two things mutmut does not do by itself, done here:
- pydantic `@model_validator(mode="after")` methods (the cross-field rules) are mutated too: mutmut
  skips every decorated function, but such a validator takes only `self` and is safe to trampoline.
- survivors that are equivalent mutants (no observable difference) are excused by an entry in
  `mutation-skips.yaml`, each with its reason; tests/test_mutation_skips.py fails when an entry has
  no reason or its line is gone from the source, and the report lists entries no survivor matched.

The score: killed / (killed + survived), timeouts counting as killed and "no tests" (a mutant no
test reaches) as survived; excused mutants count in neither.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .mutation_changed import (
    ChangedError,
    changed_lines,
    changed_text,
    functions_at,
    on_changed_lines,
    with_only_mutate,
)
from .mutation_sample import PACKAGES, in_parts, package_of, stratified_sample, wilson

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "mutation"
WORK = BUILD / "work"
CHANGED = BUILD / "changed"  # the work copy of `--changed` runs (mutates only the changed files)
SKIPS = ROOT / "mutation-skips.yaml"

# mutmut's exit codes per mutant, grouped into what the score counts.
KILLED = {1, 3, 24, 36, -24, 152, 255, -9, -11, 37}  # failed test, pytest error, timeouts, killed
SURVIVED = {0, 5, 33}  # all tests passed, no tests ran, no test reaches the function
SKIPPED = {34}
TIMEOUTS = {24, -24, 152, 255, 36}  # counted as killed, and shown apart


# --- the mutmut side (runs inside build/mutation/work) ------------------------------------------


def _patch_mutmut() -> None:
    """Let mutmut mutate pydantic after-validators (the cross-field rules) like plain methods."""
    import libcst as cst
    from libcst import matchers as m
    from mutmut.mutation import file_mutation as fm

    after = m.Call(func=m.Name("model_validator"),
                   args=[m.Arg(keyword=m.Name("mode"), value=m.SimpleString('"after"'))])

    def is_after_validator(node: object) -> bool:
        return (isinstance(node, cst.FunctionDef) and len(node.decorators) == 1
                and m.matches(node.decorators[0].decorator, after))

    skip = fm.MutationVisitor._skip_node_and_children

    def skip_node(self: Any, node: Any) -> bool:
        return bool(skip(self, node.with_changes(decorators=()) if is_after_validator(node) else node))

    arrange = fm.function_trampoline_arrangement

    def arrangement(function: Any, mutants: Any, class_name: str | None) -> Any:
        declared, methods, assigned, names = arrange(function, mutants, class_name)
        if is_after_validator(function):
            # only the trampoline stays a validator; the original and the mutants are plain methods
            methods = [methods[0], *(node.with_changes(decorators=()) for node in methods[1:])]
        return declared, methods, assigned, names

    fm.MutationVisitor._skip_node_and_children = skip_node  # type: ignore[method-assign]
    fm.function_trampoline_arrangement = arrangement


def _forget_unmutated_packages() -> None:
    """mutmut runs as `python -m tooling.mutation` in the work copy: anything of a mutated package
    imported by then (the runner imports `config`) is the work copy's unmutated module, and every
    process mutmut forks would keep it and never meet a mutant. Forgetting them lets them be
    imported again from mutants/, which mutmut puts first on sys.path."""
    for name in [n for n in sys.modules if n.split(".")[0] in PACKAGES]:
        del sys.modules[name]


def _mutmut(argv: list[str]) -> int:
    _patch_mutmut()
    _forget_unmutated_packages()
    from mutmut.__main__ import cli

    try:
        cli.main(argv, prog_name="mutmut", standalone_mode=False)
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def _generate() -> int:
    """Write (or refresh) the mutants without running any (cwd: the work copy)."""
    _patch_mutmut()
    from mutmut.__main__ import create_mutants
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths

    set_mutant_under_test("mutant_generation")
    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    setup_source_paths()
    create_mutants(1)
    return 0


def _collect(diffs_of: list[str]) -> int:
    """Print every mutant's name, file, exit code and diff (a survivor's, or any mutant's of a file
    in ``diffs_of``) as JSON (cwd: the work copy)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    out: list[dict[str, Any]] = []
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        source = meta.relative_to("mutants").with_suffix("")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in sorted(codes.items()):
            diff = get_diff_for_mutant(name) if code in SURVIVED or str(source) in diffs_of else ""
            out.append({"name": name, "file": str(source), "code": code, "diff": diff})
    json.dump(out, sys.stdout)
    return 0


# --- the driver ---------------------------------------------------------------------------------


def _tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def also_copy(files: list[str], source_paths: list[str]) -> list[str]:
    """What mutmut must copy beside the mutated packages: every other file of the working tree
    (tests read stack files, docs, requirements, the rest of offline/ ...), as the largest folders
    that hold no mutated package (mutmut copies an entry into a folder that must already exist),
    and the packages' own files that are not Python (mutmut copies those once and never again)."""
    roots = [p.rstrip("/") for p in source_paths]
    copied = set()
    for name in files:
        parts = name.split("/")
        for end in range(1, len(parts) + 1):
            prefix = "/".join(parts[:end])
            if prefix in roots:
                if not name.endswith(".py"):
                    copied.add(name)
                break
            if not any(root.startswith(prefix + "/") for root in roots):
                copied.add(prefix)
                break
    return sorted(copied)


def with_also_copy(pyproject: str, files: list[str]) -> str:
    """pyproject.toml's text with [tool.mutmut] also_copy set to `files`."""
    listed = "also_copy = [" + ", ".join(json.dumps(f) for f in files) + "]"
    text, count = re.subn(r"^also_copy = \[[^\]]*\]", lambda _: listed, pyproject, count=1, flags=re.MULTILINE)
    if count != 1:
        raise ValueError("pyproject.toml: [tool.mutmut] has no also_copy = [...] line")
    return text


def sync_work_copy(work: Path = WORK, only_mutate: list[str] | None = None) -> None:
    """Make ``work`` (build/mutation/work) the working tree's files, touching only files that
    changed; its pyproject.toml lists every file outside the mutated packages in mutmut's also_copy
    and, with ``only_mutate``, the only files mutmut mutates."""
    import tomllib

    work.mkdir(parents=True, exist_ok=True)
    wanted = set(_tracked_files())
    pyproject = (ROOT / "pyproject.toml").read_text()
    source_paths = tomllib.loads(pyproject)["tool"]["mutmut"]["source_paths"]
    pyproject = with_also_copy(pyproject, also_copy(sorted(wanted), source_paths))
    if only_mutate is not None:
        pyproject = with_only_mutate(pyproject, only_mutate)
    contents = {"pyproject.toml": pyproject.encode()}
    for name in sorted(wanted):
        source, target = ROOT / name, work / name
        content = contents.get(name)
        if content is not None:
            if not target.is_file() or target.read_bytes() != content:
                target.write_bytes(content)
        elif not target.is_file() or target.read_bytes() != source.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for path in sorted(work.rglob("*"), reverse=True):
        relative = path.relative_to(work)
        if relative.parts[0] == "mutants" or "__pycache__" in relative.parts:
            continue
        if path.is_file() and str(relative) not in wanted:
            path.unlink()


def _upstream_env() -> dict[str, str]:
    """The work copy sits deeper than the checkout, so tests/upstream.py would not find the shared
    upstream CRDs and chart values beside it and every check against them would be skipped: point
    it at the folder the checkout sees."""
    if "SPYWATCHER_UPSTREAM" in os.environ:
        return {}
    found = next((c for c in (ROOT.parent / "shared" / "upstream", ROOT.parent.parent / "shared" / "upstream")
                  if (c / "crds").is_dir()), None)
    return {} if found is None else {"SPYWATCHER_UPSTREAM": str(found)}


def _run_in_work(args: list[str], capture: bool = False, work: Path = WORK) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **_upstream_env()}
    return subprocess.run([sys.executable, "-m", "tooling.mutation", *args], cwd=work, env=env, text=True,
                          capture_output=capture, check=False, preexec_fn=lambda: os.nice(10))


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    code: int | None
    diff: str

    @property
    def package(self) -> str:
        return package_of(self.name)

    @property
    def function(self) -> str:
        key = self.name.rsplit(".", 1)[1].rsplit("__mutmut_", 1)[0]
        return key[1:].strip("ǁ").replace("ǁ", ".") if key.startswith("xǁ") else key.removeprefix("x_")

    def changed_lines(self) -> tuple[str, str]:
        removed = [line[1:].strip() for line in self.diff.splitlines()
                   if line.startswith("-") and not line.startswith("---")]
        added = [line[1:].strip() for line in self.diff.splitlines()
                 if line.startswith("+") and not line.startswith("+++")]
        return " ".join(removed), " ".join(added)


def load_skips(path: Path = SKIPS) -> list[dict[str, str]]:
    entries = yaml.safe_load(path.read_text()) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path.name}: must be a list of entries")
    return entries


def skip_for(mutant: Mutant, skips: list[dict[str, str]]) -> dict[str, str] | None:
    original, mutated = mutant.changed_lines()
    for entry in skips:
        if (entry.get("file") == mutant.file and entry.get("function") == mutant.function
                and " ".join(entry.get("original", "").split()) == " ".join(original.split())
                and " ".join(entry.get("mutated", "").split()) == " ".join(mutated.split())):
            return entry
    return None


def function_source(file: Path, function: str) -> str | None:
    """The source of `function` (`name` or `Class.name`) in `file`, or None if it is not there."""
    tree = ast.parse(file.read_text())
    scope: list[ast.stmt] = tree.body
    *classes, name = function.split(".")
    for class_name in classes:
        found = next((n for n in scope if isinstance(n, ast.ClassDef) and n.name == class_name), None)
        if found is None:
            return None
        scope = found.body
    node = next((n for n in scope if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name), None)
    return None if node is None else ast.get_source_segment(file.read_text(), node)


def skip_problems(skips: list[dict[str, str]], root: Path = ROOT) -> list[str]:
    """What is wrong with the skip file without running mutmut: missing reasons, stale lines."""
    problems = []
    for index, entry in enumerate(skips):
        label = f"entry {index} ({entry.get('file')}:{entry.get('function')})"
        missing = [k for k in ("file", "function", "original", "mutated", "reason")
                   if not str(entry.get(k, "")).strip()]
        if missing:
            problems.append(f"{label}: missing {', '.join(missing)}")
            continue
        if len(entry["reason"].split()) < 5:
            problems.append(f"{label}: the reason must say why the mutant is equivalent")
        if " ".join(entry["original"].split()) == " ".join(entry["mutated"].split()):
            problems.append(f"{label}: original and mutated are the same")
        file = root / entry["file"]
        source = function_source(file, entry["function"]) if file.is_file() else None
        if source is None:
            problems.append(f"{label}: stale, the function is gone")
            continue
        lines = {" ".join(line.split()) for line in source.splitlines()}
        if not all(" ".join(part.split()) in lines for part in _entry_lines(entry["original"], source)):
            problems.append(f"{label}: stale, `{entry['original']}` is no longer in the function")
    return problems


def _entry_lines(original: str, source: str) -> list[str]:
    """The source lines an entry's `original` stands for (a joined multi-line change is one string)."""
    normalized = [" ".join(line.split()) for line in source.splitlines()]
    text = " ".join(original.split())
    if text in normalized:
        return [text]
    for start in range(len(normalized)):  # consecutive lines joined by one space
        joined = ""
        for end in range(start, len(normalized)):
            joined = f"{joined} {normalized[end]}".strip()
            if joined == text:
                return normalized[start:end + 1]
            if len(joined) > len(text):
                break
    return [text]


@dataclass
class Score:
    killed: int = 0
    survived: int = 0
    excused: int = 0
    not_run: int = 0
    timeouts: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def value(self) -> float | None:
        total = self.killed + self.survived
        return None if total == 0 else self.killed / total

    def text(self) -> str:
        value = self.value
        shown = "n/a" if value is None else f"{100 * value:.1f} %"
        return f"{shown} ({self.killed} killed, {self.survived} survived, {self.excused} excused)"


def score(mutants: list[Mutant], skips: list[dict[str, str]]) -> tuple[dict[str, Score], list[Mutant], set[int]]:
    per_package: dict[str, Score] = defaultdict(Score)
    survivors: list[Mutant] = []
    used: set[int] = set()
    for mutant in mutants:
        entry = per_package[mutant.package]
        if mutant.code is None:
            entry.not_run += 1
        elif mutant.code in SURVIVED:
            skip = skip_for(mutant, skips)
            if skip is not None:
                entry.excused += 1
                used.add(id(skip))
            else:
                entry.survived += 1
                survivors.append(mutant)
        elif mutant.code in SKIPPED:
            entry.excused += 1
        else:
            entry.killed += 1
            entry.timeouts += mutant.code in TIMEOUTS
    return per_package, survivors, used


def report(mutants: list[Mutant], skips: list[dict[str, str]], sampled: int | None, scope: str = "",
           whole: bool = True) -> str:
    """The report; `whole`: the run covered every mutant, so a skip entry no survivor matched is stale."""
    per_package, survivors, used = score(mutants, skips)
    total = Score(killed=sum(s.killed for s in per_package.values()),
                  survived=sum(s.survived for s in per_package.values()),
                  excused=sum(s.excused for s in per_package.values()),
                  not_run=sum(s.not_run for s in per_package.values()),
                  timeouts=sum(s.timeouts for s in per_package.values()))
    version = _mutmut_version()
    lines = [f"# Mutation testing report ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, mutmut {version})", ""]
    if scope:
        lines += [scope, ""]
    if sampled:
        low, high = wilson(total.killed, total.killed + total.survived)
        lines.append(f"Stratified random sample of {len(mutants)} mutants (in proportion to each package's "
                     f"mutants): score {total.text()}, 95 % interval {100 * low:.1f}–{100 * high:.1f} %.")
    lines += ["", "| package | score | 95 % interval | killed (of them timeouts) | survived | excused | not run |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for package in sorted(per_package):
        s = per_package[package]
        lines.append(f"| {package} | {_shown(s)} | {_interval(s)} | {s.killed} ({s.timeouts}) | {s.survived} "
                     f"| {s.excused} | {s.not_run} |")
    lines.append(f"| **all** | **{_shown(total)}** | {_interval(total)} | {total.killed} ({total.timeouts}) "
                 f"| {total.survived} | {total.excused} | {total.not_run} |")
    unused = [e for e in skips if id(e) not in used]
    if unused and whole and not sampled and total.not_run == 0:
        lines += ["", "## Stale skip entries (no surviving mutant matches them)", ""]
        lines += [f"- {e.get('file')} `{e.get('function')}`: `{e.get('original')}`" for e in unused]
    lines += ["", f"## Surviving mutants ({len(survivors)})", ""]
    for mutant in survivors:
        status = "no test reaches it" if mutant.code == 33 else "survived"
        lines += [f"### {mutant.name} ({status})", "", "```diff", mutant.diff.strip(), "```", ""]
    return "\n".join(lines) + "\n"


def _shown(s: Score) -> str:
    return "n/a" if s.value is None else f"{100 * s.value:.1f} %"


def _interval(s: Score) -> str:
    if s.value is None:
        return "n/a"
    low, high = wilson(s.killed, s.killed + s.survived)
    return f"{100 * low:.1f}–{100 * high:.1f} %"


def _mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def collect_results(work: Path = WORK, diffs_of: list[str] | None = None) -> list[Mutant]:
    """Every mutant's result; with ``diffs_of`` (source files), the diffs of all their mutants too."""
    result = _run_in_work(["_collect", *(diffs_of or [])], capture=True, work=work)
    if result.returncode != 0:
        raise RuntimeError(f"reading mutmut's results failed:\n{result.stderr}")
    return [Mutant(**item) for item in json.loads(result.stdout or "[]")]


def main(argv: list[str]) -> int:
    if argv[:1] == ["_mutmut"]:
        return _mutmut(argv[1:])
    if argv[:1] == ["_collect"]:
        return _collect(argv[1:])
    if argv[:1] == ["_generate"]:
        return _generate()
    from offline.cli import summary as first_paragraph

    parser = argparse.ArgumentParser(prog="python -m tooling mutation", description=first_paragraph(__doc__))
    parser.add_argument("--only", action="append", default=[],
                        help="mutant names to run, as globs (e.g. 'config.schedule.*'); default: all")
    parser.add_argument("--sample", type=int,
                        help="run a random sample of about this many mutants, stratified by package (an estimate); "
                             "mutants with a result are not run again")
    parser.add_argument("--retest", action="store_true",
                        help="with --sample: run the sample's survivors again too (after adding tests)")
    parser.add_argument("--seed", type=int, default=18, help="seed of --sample")
    parser.add_argument("--report-only", action="store_true", help="write the report from the last results")
    parser.add_argument("--changed", metavar="BASE",
                        help="only the mutants on the lines changed since the merge base with the git ref BASE "
                             "(committed or not), each run against the tests that reach its function; "
                             "exit 3 if any survives")
    parser.add_argument("--batches", type=int, default=1,
                        help="with --sample: run it in this many parts, each a stratified share of it, so a run "
                             "stopped after any part leaves a stratified sample (each part costs mutmut one "
                             "clean run of its tests; default 1)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--max-mutants", type=int,
                        help="with --changed: at most this many of the changed lines' mutants, a random sample "
                             "(--seed) when there are more (a time bound for CI)")
    args = parser.parse_args(argv)
    for option, value in (("--jobs", args.jobs), ("--batches", args.batches)):
        if value < 1:
            parser.error(f"{option} must be 1 or more, not {value}")
    if args.batches > 1 and not args.sample:
        parser.error("--batches splits a --sample: give --sample too")
    if args.max_mutants is not None and args.max_mutants < 1:
        parser.error(f"--max-mutants must be 1 or more, not {args.max_mutants}")

    skips = load_skips()
    if problems := skip_problems(skips):
        print("mutation-skips.yaml:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    started = datetime.now(UTC)
    if args.changed:
        return run_changed(args.changed, args.jobs, skips, started, args.max_mutants, args.seed)
    names: list[str] = list(args.only)
    run_names = names
    if not args.report_only:
        sync_work_copy()
    if args.sample:
        if not args.report_only:  # new or changed functions' mutants lose their result
            _run_in_work(["_generate"], capture=True)
        known = {m.name: m.code for m in collect_results()}
        pool = [n for n in known if not args.only or any(fnmatch.fnmatch(n, g) for g in args.only)]
        names = stratified_sample(sorted(pool), args.sample, args.seed)
        run_names = [n for n in names if known[n] is None or (args.retest and known[n] in SURVIVED)]
        print(f"sample: {len(names)} mutants, {len(run_names)} to run")
    if not args.report_only and (run_names or not args.sample):
        for part in in_parts(run_names, args.batches, args.seed) if args.sample else [run_names]:
            run = _run_in_work(["_mutmut", "run", "--max-children", str(args.jobs), *part])
            if run.returncode != 0:
                print(f"mutmut failed with exit code {run.returncode}", file=sys.stderr)
                return 1
    mutants = collect_results()
    if args.sample:
        chosen = set(names)
        mutants = [m for m in mutants if m.name in chosen]
    elif names:
        mutants = [m for m in mutants if any(fnmatch.fnmatch(m.name, n) for n in names)]
    elapsed = (datetime.now(UTC) - started).total_seconds()
    if args.sample:
        which = f"a random sample of {', '.join(args.only) or 'all mutants'}"
    else:
        which = ", ".join(names) if names else "all mutants"
    scope = f"Scope: {which}; {len(mutants)} mutants; this run took {elapsed:.0f} s."
    text = report(mutants, skips, args.sample, scope, whole=not args.sample and not names)
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "report.md").write_text(text)
    summary, _, survivors = text.partition("## Surviving mutants")
    print(summary.rstrip())
    print(f"\n## Surviving mutants{survivors}" if survivors.strip() else "")
    print(f"report: {BUILD / 'report.md'}")
    return 0


def run_changed(base: str, jobs: int, skips: list[dict[str, str]], started: datetime, limit: int | None = None,
                seed: int = 18) -> int:
    """The mutants on the lines changed since the merge base with ``base`` (at most ``limit``, a
    random sample by ``seed`` when there are more); 3 if any survives."""
    try:
        changed = changed_lines(ROOT, base, PACKAGES)
    except ChangedError as exc:
        print(f"--changed {base}: {exc}", file=sys.stderr)
        return 1
    texts: dict[tuple[str, str], set[str]] = {}
    for name, lines in changed.items():
        source = (ROOT / name).read_text()
        for function, inside in functions_at(source, lines).items():
            texts[(name, function)] = changed_text(source, inside)
    files = sorted({name for name, _ in texts})
    print(f"changed since {base}: {sum(map(len, changed.values()))} lines in {len(changed)} files, "
          f"{len(texts)} functions")
    if not texts:
        print("no mutable code changed: nothing to run")
        return 0
    sync_work_copy(CHANGED, only_mutate=files)
    _run_in_work(["_generate"], capture=True, work=CHANGED)
    chosen = sorted(m.name for m in collect_results(CHANGED, diffs_of=files)
                    if (m.file, m.function) in texts and on_changed_lines(m.diff, texts[(m.file, m.function)]))
    found = len(chosen)
    if limit is not None and found > limit:
        chosen = sorted(random.Random(seed).sample(chosen, limit))
    print(f"{found} mutants on the changed lines" + (f", a random {len(chosen)} of them run" if len(chosen) < found
                                                        else ""))
    if chosen:
        run = _run_in_work(["_mutmut", "run", "--max-children", str(jobs), *chosen], work=CHANGED)
        if run.returncode != 0:
            print(f"mutmut failed with exit code {run.returncode}", file=sys.stderr)
            return 1
    wanted = set(chosen)
    mutants = [m for m in collect_results(CHANGED) if m.name in wanted]
    elapsed = (datetime.now(UTC) - started).total_seconds()
    sampled = f" (a random {len(chosen)} of {found})" if len(chosen) < found else ""
    scope = (f"Scope: the mutants on the lines changed since the merge base with {base}; {len(mutants)} mutants"
             f"{sampled} in {len(files)} files; this run took {elapsed:.0f} s.")
    text = report(mutants, skips, None, scope, whole=False)
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "changed.md").write_text(text)
    print(text.rstrip())
    print(f"report: {BUILD / 'changed.md'}")
    return 3 if score(mutants, skips)[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
