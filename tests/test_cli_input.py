"""Every verb of `python -m offline`, driven with bad arguments and paths: the documented exit code
(docs/reviewing-changes.md), one `error:` line, no traceback, and nothing written anywhere but the
output the command line named."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.stackfile import ROOT
from offline import diff, preview, render
from simulate import cli as simulate
from simulate.downtime import cli as downtime
from tests.test_docs import docs_main

Main = Callable[..., int]
HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "web"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 2,
        "maxReplicas": 10,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                 "averageUtilization": 50}}}],
    },
}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with an HPA, a trace, a file where a folder is expected, and one stack's render."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "hpa.yaml").write_text(yaml.safe_dump(HPA))
    (folder / "trace.csv").write_text("time_s,cpu\n0,2000\n60,4000\n")
    (folder / "a-file").write_text("not a folder\n")
    assert render.main(["--stack", "staging", "--out", str(folder / "renders")], io.StringIO(), io.StringIO()) == 0
    return folder


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@contextlib.contextmanager
def _in(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run(main: Main, argv: list[str], work: Path) -> tuple[int, str, str]:
    """Run a verb in ``work``; fail if it wrote anything there or in the repository root."""
    root_before = {p for p in os.listdir(ROOT) if p != "build"}
    work_before = _tree(work)
    out, err = io.StringIO(), io.StringIO()
    with _in(work):
        code = main(argv, out, err)
    assert {p for p in os.listdir(ROOT) if p != "build"} == root_before, "wrote into the repository root"
    assert _tree(work) == work_before, f"wrote {sorted(_tree(work) - work_before)} for {argv}"
    return code, out.getvalue(), err.getvalue()


def assert_one_line(code: int, err: str, codes: set[int], argv: list[str]) -> None:
    assert code in codes, f"exit {code} for {argv}: {err}"
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("error: "), f"{argv}: {err!r}"


# --- Generated bad command lines ---------------------------------------------------------------

BAD_PATHS = ["", " ", "/nonexistent-dir/sub/out", "a-file/sub", "a-file/sub/deeper", "/proc/self/nope/out",
             "/proc/no-such-dir/x", "/"]
BAD_NUMBERS = ["inf", "-inf", "nan", "NaN", "1e999", "-1", "abc", "", " ", "1_0x", "١٢"]
OPTION = st.from_regex(r"--[a-z][a-z-]{0,14}", fullmatch=True)


def _unknown(known: set[str]) -> st.SearchStrategy[str]:
    return OPTION.filter(lambda o: o not in known)


def _options(parser: Any) -> set[str]:
    return {o for action in parser._actions for o in action.option_strings}


@st.composite
def bad_render(draw: st.DrawFn) -> list[str]:
    known = {"--stack", "--all", "--out", "--check", "-h", "--help"}
    kind = draw(st.sampled_from(["out", "option", "stack"]))
    if kind == "out":
        return ["--stack", "staging", "--out", draw(st.sampled_from([*BAD_PATHS, str(ROOT), "."]))]
    if kind == "option":
        return ["--stack", "staging", draw(_unknown(known))]
    return ["--stack", draw(st.text(min_size=1, max_size=12).filter(lambda s: s not in ("staging", "production"))),
            "--out", "/nonexistent-dir/out"]


@st.composite
def bad_preview(draw: st.DrawFn) -> list[str]:
    if draw(st.booleans()):
        return [draw(_unknown({"--stack", "-h", "--help"}))]
    name = draw(st.text(min_size=1, max_size=12).filter(lambda s: s not in ("staging", "production")))
    return ["--stack", name]


@st.composite
def bad_diff(draw: st.DrawFn) -> list[str]:
    folders = ["renders/staging", "renders/staging"]
    kind = draw(st.sampled_from(["out", "summary", "option", "max-chars", "folders"]))
    if kind in ("out", "summary"):
        return [*folders, f"--{kind}", draw(st.sampled_from(BAD_PATHS))]
    if kind == "option":
        return [*folders, draw(_unknown(_options(diff._parser())))]
    if kind == "max-chars":
        return [*folders, "--max-chars", draw(st.sampled_from(BAD_NUMBERS))]
    return [draw(st.sampled_from(["renders/nope", "a-file", ""])), "renders/staging"]


SECONDS = ["--duration", "--sync-period", "--pod-startup", "--scheduling-delay", "--image-pull",
           "--metric-resolution", "--kubelet-housekeeping", "--cpu-initialization-period"]


@st.composite
def bad_simulate(draw: st.DrawFn) -> list[str]:
    base = ["--hpa", "hpa.yaml", "--requests", "cpu=500m"]
    kind = draw(st.sampled_from(["number", "option", "path", "count", "bound"]))
    if kind == "number":
        return [*base, "--trace", "trace.csv", draw(st.sampled_from(SECONDS)), draw(st.sampled_from(BAD_NUMBERS))]
    if kind == "option":
        return [*base, "--trace", "trace.csv", draw(_unknown(_options(simulate._parser())))]
    if kind == "count":
        return [*base, "--trace", "trace.csv", "--initial-replicas", draw(st.sampled_from(["0", "-2", "1.5", "x",
                                                                                            "10000000000"]))]
    if kind == "bound":
        return [*base, "--trace", "trace.csv", "--duration", "1e9", "--sync-period", draw(st.sampled_from(["1", "15"]))]
    option = draw(st.sampled_from(["--hpa", "--trace", "--out", "--plot"]))
    path = draw(st.sampled_from(["/nonexistent-dir/x", "a-file/sub", "", "/proc/self/nope/x"]))
    args = {"--hpa": "hpa.yaml", "--trace": "trace.csv"}
    args[option] = path
    return [a for pair in args.items() for a in pair] + ["--requests", "cpu=500m"]


@st.composite
def bad_downtime(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["option", "scenario", "stack"]))
    if kind == "option":
        return ["--stack", "staging", draw(_unknown({"--stack", "--scenario", "--json", "-h", "--help"}))]
    if kind == "scenario":
        return ["--scenario", draw(st.text(min_size=1, max_size=20).filter(lambda s: s not in downtime.SCENARIOS))]
    return ["--stack", draw(st.text(min_size=1, max_size=12).filter(lambda s: s not in ("staging", "production")))]


@st.composite
def bad_docs(draw: st.DrawFn) -> list[str]:
    extra = draw(st.one_of(_unknown({"--check"}), st.text(min_size=1, max_size=10).filter(lambda s: s != "--check")))
    return draw(st.permutations(["--check", extra])) if draw(st.booleans()) else [extra]


CASES: dict[str, tuple[Main, Any, set[int]]] = {
    # verb: (main, bad command lines, the exit codes its docs give for them)
    "render": (render.main, bad_render(), {1, 2}),
    "preview": (preview.main, bad_preview(), {2}),
    "diff": (diff.main, bad_diff(), {1}),
    "simulate": (simulate.main, bad_simulate(), {2}),
    "downtime": (downtime.main, bad_downtime(), {2}),
    "docs": (docs_main, bad_docs(), {2}),
}


@pytest.mark.parametrize("verb", sorted(CASES))
def test_bad_command_lines_end_with_one_line_and_the_documented_code(verb: str, work: Path) -> None:
    main, strategy, codes = CASES[verb]

    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    def check(argv: list[str]) -> None:
        code, _, err = run(main, argv, work)
        assert_one_line(code, err, codes, argv)

    check()


# --- The classes of the issue, one by one ------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["--out", ""], 2, "error: --out: an empty path"),
        (["--out", "a-file"], 2, "is a file, not a folder"),
        (["--out", "/nonexistent-dir/renders"], 2, "the folder /nonexistent-dir does not exist"),
        (["--out", str(ROOT)], 2, "is the repository root"),
        (["--out", "/"], 2, "error: --out /: is the filesystem root; give a folder for the output"),
        (["--out", "renders", "--chek"], 2, "error: unrecognized arguments: --chek"),
        (["--out", "renders", "--ch"], 2, "error: unrecognized arguments: --ch"),
    ],
)
def test_render_refuses_unwritable_outputs_before_rendering(argv: list[str], code: int, words: str,
                                                            work: Path) -> None:
    result, _, err = run(render.main, ["--stack", "staging", *argv], work)
    assert (result, words in err, err.count("\n")) == (code, True, 1), err


def test_render_reports_a_write_failure_in_one_line(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise OSError(30, "Read-only file system", str(work / "renders" / "staging"))

    monkeypatch.setattr(render, "write", refuse)
    code, _, err = run(render.main, ["--stack", "staging", "--out", "renders"], work)
    assert (code, err) == (1, f"error: stack staging: cannot write {work}/renders/staging: Read-only file system\n")


@pytest.mark.parametrize(
    ("option", "path", "words"),
    [
        ("--out", "", "error: --out: an empty path"),
        ("--out", "/nonexistent-dir/report.md", "the folder /nonexistent-dir does not exist"),
        ("--out", "renders", "is a folder; give a file name"),
        ("--summary", "a-file/summary.md", "is not a folder"),
        ("--summary", "/proc/self/nope/summary.md", "does not exist"),
    ],
)
def test_diff_refuses_unwritable_outputs(option: str, path: str, words: str, work: Path) -> None:
    code, out, err = run(diff.main, ["renders/staging", "renders/staging", option, path], work)
    assert (code, out) == (1, "")
    assert words in err and err.count("\n") == 1, err


def test_an_output_whose_folder_is_a_file_is_refused_in_exactly_one_line(work: Path) -> None:
    code, out, err = run(diff.main, ["renders/staging", "renders/staging", "--summary", "a-file/summary.md"], work)
    assert (code, out, err) == (
        1, "", f"error: --summary a-file/summary.md: the folder {work.resolve() / 'a-file'} is not a folder\n")


def test_diff_writes_its_report_into_a_new_build_folder(work: Path) -> None:
    report = ROOT / "build" / "robust-test" / "nested" / "plan.md"
    shutil.rmtree(report.parent.parent, ignore_errors=True)
    try:
        with _in(work):
            code = diff.main(["renders/staging", "renders/staging", "--out", str(report)], io.StringIO(), io.StringIO())
        assert code == 0 and report.read_text().startswith("")
        assert report.is_file()
    finally:
        shutil.rmtree(report.parent.parent, ignore_errors=True)


def test_an_unknown_verb_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from offline.__main__ import main

    assert main(["rendr"]) == 2
    assert capsys.readouterr().err == (
        "error: unknown verb 'rendr' (verbs: preview, render, diff, charts, prerequisites, simulate, downtime, docs, "
        "mutation; --help lists them)\n"
    )


def test_help_names_the_front_door_and_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    from offline.__main__ import main

    assert main(["--help"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["usage: python -m offline <verb> [options]", "", "verbs:"]
    assert lines[3].split(None, 1) == ["preview", "print what a stack would create"]
    assert [line.split()[0] for line in lines[3:]] == ["preview", "render", "diff", "charts", "prerequisites",
                                                       "simulate", "downtime", "docs", "mutation"]


# --- simulate: numbers, bounds and traces ------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999"])
@pytest.mark.parametrize("option", SECONDS)
def test_simulate_refuses_non_finite_numbers(option: str, value: str, work: Path) -> None:
    argv = ["--hpa", "hpa.yaml", "--trace", "trace.csv", "--requests", "cpu=500m", f"{option}={value}"]
    code, _, err = run(simulate.main, argv, work)
    assert code == 2 and err.count("\n") == 1
    assert "is not a finite number" in err or "is not a number" in err, err


def test_simulate_refuses_runs_beyond_its_bound_before_running(work: Path) -> None:
    argv = ["--hpa", "hpa.yaml", "--trace", "trace.csv", "--requests", "cpu=500m", "--duration", "3600000"]
    code, _, err = run(simulate.main, argv, work)
    assert (code, err) == (2, "error: 3.6e+06 s at one sync every 15 s is 240,001 syncs, more than the bound of "
                              "200,000: shorten --duration or lengthen --sync-period\n")
    code, _, err = run(simulate.main, [*argv[:-2], "--sync-period", "0"], work)
    assert (code, err) == (2, "error: --sync-period must be more than 0 seconds\n")


def _trace(work: Path, name: str, text: str | bytes) -> str:
    path = work / "traces" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("time_s,cpu,cpu\n0,1,2\n", "repeats the column cpu in its header"),
        ("time_s,cpu\n0,2000,7\n", "line 2: 3 values for 2 columns"),
        ("time_s,cpu\n" + "".join(f"{t},1\n" for t in range(51)), "more than 50 rows, the bound of a trace"),
        (b"\xff\xfetime_s,cpu\n", "is not a UTF-8 CSV file"),
    ],
)
def test_simulate_refuses_traces_it_would_misread(text: str | bytes, words: str, work: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from simulate import trace

    monkeypatch.setattr(trace, "MAX_TRACE_ROWS", 50)
    argv = ["--hpa", "hpa.yaml", "--trace", _trace(work, "bad.csv", text), "--requests", "cpu=500m"]
    code, _, err = run(simulate.main, argv, work)
    assert code == 2 and words in err and err.count("\n") == 1, err


def test_simulate_reads_a_bom_and_warns_of_unused_columns(work: Path) -> None:
    trace = _trace(work, "bom.csv", "\ufefftime_s,cpu,note\n0,2000,a\n60,4000,b\n")
    code, out, err = run(simulate.main, ["--hpa", "hpa.yaml", "--trace", trace, "--requests", "cpu=500m"], work)
    assert code == 0, err
    assert err == f"warning: trace {trace}: column note not used by the HPA's metrics\n"
    assert "syncs every 15 s" in out
    trace = _trace(work, "two.csv", "time_s,cpu,note,zone\n0,2000,a,b\n60,4000,b,c\n")
    code, out, err = run(simulate.main, ["--hpa", "hpa.yaml", "--trace", trace, "--requests", "cpu=500m"], work)
    assert (code, err) == (0, f"warning: trace {trace}: columns note, zone not used by the HPA's metrics\n")
