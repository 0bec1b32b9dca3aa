"""What a user types out of habit works, or says in one line what to type instead."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import re
import subprocess

import pytest

from offline.__main__ import VERBS as OFFLINE_VERBS
from offline.cli import dispatch, summary
from tests.conftest import ROOT
from tests.makefile import makefile_variables, own_make_env
from tooling.__main__ import VERBS as TOOLING_VERBS


def help_text(prog: str, verbs: dict[str, tuple[str, str]], verb: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = dispatch(prog, verbs, [verb, "--help"])
        except SystemExit as exit_:
            code = exit_.code  # type: ignore[assignment]
    assert code == 0
    return out.getvalue()


def description(help_: str) -> str:
    """The paragraph between the usage lines and the first option group, as one line."""
    paragraphs = help_.split("\n\n")
    return " ".join(paragraphs[1].split())


@pytest.mark.parametrize(("prog", "verbs", "verb"), [
    *(("python -m offline", OFFLINE_VERBS, verb) for verb in OFFLINE_VERBS),
    *(("python -m tooling", TOOLING_VERBS, verb) for verb in TOOLING_VERBS),
])
def test_every_verb_answers_help_with_its_whole_first_paragraph(prog: str, verbs: dict[str, tuple[str, str]],
                                                                verb: str) -> None:
    text = help_text(prog, verbs, verb)
    assert re.match(rf"usage: python -m (offline|tooling) {verb} \[-h\]", text), text.splitlines()[0]
    assert description(text).endswith("."), description(text)


@pytest.mark.parametrize(("verb", "expected"), [
    ("charts", "What a chart bump or a values change renders, for the CI job that runs `helm template` (networked: "
               "it downloads the pinned charts; never run by the tests)."),
    ("prerequisites", "What a stack needs in the cluster and the AWS account before `pulumi up`, derived from what "
                      "the stack registers."),
    ("preview", "What the stack would create, like `pulumi preview`."),
    ("docs", "Regenerates the generated parts of `docs/` and checks every link."),
])
def test_a_description_is_the_docstrings_first_paragraph_not_its_first_line(verb: str, expected: str) -> None:
    assert description(help_text("python -m offline", OFFLINE_VERBS, verb)) == expected


def test_summary_joins_the_first_paragraph_and_drops_the_command() -> None:
    doc = "`python -m offline x --stack S`: what a stack\nneeds, in full.\n\nDetails that stay out."
    assert summary(doc) == "What a stack needs, in full."
    assert summary(None) == ""


def offline_cli(argv: list[str]) -> tuple[int, str, str]:
    """``python -m offline argv`` in this process (its entry point is tested in test_preview.py): what the
    mutation runs see, and a second faster than a new interpreter."""
    out, err = io.StringIO(), io.StringIO()
    main = importlib.import_module(OFFLINE_VERBS[argv[0]][0]).main
    streams = {"out": out, "err": err} if "err" in inspect.signature(main).parameters else {}
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # for a verb that prints to sys.*
        code = main(argv[1:], **streams)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", [["preview", "production"], ["prerequisites", "production"],
                                  ["render", "production"], ["simulate", "production"]])
def test_a_stack_named_without_its_option_is_answered_with_the_option(argv: list[str]) -> None:
    assert offline_cli(argv) == (
        2, "", "error: unrecognized arguments: production (a stack is named with --stack: --stack production)\n")


@pytest.mark.parametrize(("argv", "expected"), [
    (["--stak", "production"], "--stak production (a stack is named with --stack: --stack production)"),
    (["--frobnicate"], "--frobnicate"),
    (["staging", "production"], "staging production"),
])
def test_the_hint_is_given_for_one_bare_word_only(argv: list[str], expected: str) -> None:
    assert offline_cli(["preview", *argv]) == (2, "", f"error: unrecognized arguments: {expected}\n")


def test_no_hint_where_a_verb_has_no_stack_option() -> None:
    code, out, err = offline_cli(["docs", "production"])
    assert (code, out, err) == (2, "", "error: unrecognized arguments: production (usage: python -m tooling docs "
                                       "[--check])\n")


def make_n(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=own_make_env())


def commands(*args: str, runs: str = "-m offline") -> list[str]:
    """The command lines `make -n` prints that run ``runs``, each on one line."""
    result = make_n(*args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.replace("\\\n", " ").splitlines()
    return [" ".join(line.split()) for line in lines if runs in line]


PY = ".venv/bin/python -m offline"


@pytest.mark.parametrize(("args", "expected"), [
    (["preview", "stack=production"], f"{PY} preview --stack production"),
    (["preview", "STACK=production"], f"{PY} preview --stack production"),
    (["prerequisites", "stack=production"], f"{PY} prerequisites --stack production"),
    (["render", "stack=production", "out=build/r"], f"{PY} render --stack production --out build/r"),
    (["check", "stack=production", "crds=crds"], [f"{PY} render --check --stack production --crds crds",
                                                  f"{PY} downtime --stack production"]),
    (["check"], [f"{PY} render --check --all", f"{PY} downtime --all"]),
    (["diff", "against=staging", "stack=production"], f"{PY} diff --format text --stack production "
                                                      "--against-stack staging"),
    (["diff", "base=HEAD~1", "format=markdown", "out=build/d.md"], f"{PY} diff --format markdown --out build/d.md "
                                                                   "--base HEAD~1"),
    (["simulate", "PLOT=build/x.png"], f"{PY} simulate --stack staging --workload backend --scenario spike "
                                       "--plot build/x.png"),
    (["simulate", "plot=build/x.png", "out=build/t.csv", "workload=frontend", "scenario=flash", "stack=production"],
     f"{PY} simulate --stack production --workload frontend --scenario flash --out build/t.csv --plot build/x.png"),
    (["simulate", "TRACE=load.csv"], f"{PY} simulate --stack staging --workload backend --trace load.csv"),
    (["downtime", "stack=production", "downtime=rollout"], f"{PY} downtime --stack production --scenario rollout"),
])
def test_make_passes_each_variable_in_either_case(args: list[str], expected: str | list[str]) -> None:
    assert commands(*args) == (expected if isinstance(expected, list) else [expected])


def test_make_refuses_a_variable_nothing_reads_and_one_given_twice() -> None:
    result = make_n("preview", "stak=production")
    assert result.returncode == 2 and result.stdout == ""
    assert re.fullmatch(r"Makefile:\d+: \*\*\* unknown variable stak: the Makefile reads PYTHON STACK OUT CRDS BASE "
                        r"AGAINST FORMAT WORKLOAD SCENARIO TRACE PLOT DOWNTIME ONLY SAMPLE RETEST BATCHES JOBS MAX "
                        r"UPGRADE UV "
                        r"\(or the same in lower case\)\.  Stop\.\n", result.stderr), result.stderr
    twice = make_n("preview", "STACK=staging", "stack=production")
    assert twice.returncode == 2
    assert twice.stderr.endswith("*** stack is given twice, in upper and lower case: give it once.  Stop.\n")


def test_what_make_runs_keeps_the_bytecode_of_what_it_imports() -> None:
    """uv installs without bytecode; with PYTHONDONTWRITEBYTECODE set (as on many CI images) every
    process the Makefile starts would compile the Pulumi SDK and providers again."""
    probe = 'probe: ; @$(PYTHON) -c "import sys; print(sys.dont_write_bytecode)"'
    result = subprocess.run(["make", "-s", "--eval", probe, "probe"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env={**own_make_env(), "PYTHONDONTWRITEBYTECODE": "1"})
    assert (result.returncode, result.stdout, result.stderr) == (0, "False\n", "")


@pytest.mark.parametrize(("argv", "expected"), [
    (["docs", "\n"], "error: unrecognized arguments: \\n (usage: python -m tooling docs [--check])\n"),
    (["preview", "a\tb\x1b"], "error: unrecognized arguments: a\\tb\\x1b\n"),
    (["preview", "staging\r"], "error: unrecognized arguments: staging\\r (a stack is named with --stack: --stack "
                               "staging)\n"),  # the hint names the word without its trailing whitespace
])
def test_an_error_quoting_a_control_character_stays_one_line(argv: list[str], expected: str) -> None:
    assert offline_cli(argv) == (2, "", expected)


def test_every_variable_the_makefile_defaults_can_be_given_on_the_command_line() -> None:
    # A `NAME ?= value` line documents a knob; refusing it on the command line would make it dead.
    defaults = set(re.findall(r"^([A-Z_]+)\s*\?=", (ROOT / "Makefile").read_text(), re.MULTILINE))
    assert defaults and defaults <= makefile_variables()


def test_make_mutation_passes_its_sample_knobs() -> None:
    refused = make_n("mutation", "SAMPLE=140", "seed=1")
    assert refused.returncode == 2 and "unknown variable seed:" in refused.stderr
    assert commands("mutation", "SAMPLE=140", "batches=4", "JOBS=2", "only=config.*", runs="-m tooling") == [
        "nice .venv/bin/python -m tooling mutation --only 'config.*' --sample 140 --batches 4 --jobs 2"
    ]
    assert commands("mutation", "BASE=origin/main", "max=60", runs="-m tooling") == [
        "nice .venv/bin/python -m tooling mutation --changed origin/main --max-mutants 60 --jobs 1"
    ]
