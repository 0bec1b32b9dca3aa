"""`make mutation`'s reviewed skip file and scoring, checked without running mutmut."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling import mutation
from tooling import mutation_sample as sample
from tooling.mutation import Mutant, load_skips, score, skip_for, skip_problems

ROOT = Path(__file__).resolve().parent.parent

SOURCE = '''
from pydantic import BaseModel, model_validator


def half(value: int) -> int:
    return value // 2


class Window(BaseModel):
    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self
'''

ENTRY = {"file": "pkg/window.py", "function": "Window._ordered", "original": "if self.low > self.high:",
         "mutated": "if self.low >= self.high:", "reason": "equal bounds are refused elsewhere before this runs"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "window.py").write_text(SOURCE)
    return tmp_path


def test_the_reviewed_skip_file_is_valid_and_every_entry_explained() -> None:
    skips = load_skips()
    assert isinstance(skips, list)
    assert skip_problems(skips) == []


def test_a_valid_entry_passes(tree: Path) -> None:
    assert skip_problems([ENTRY], tree) == []


@pytest.mark.parametrize(("change", "problem"), [
    ({"reason": ""}, "entry 0 (pkg/window.py:Window._ordered): missing reason"),
    ({"reason": "   "}, "entry 0 (pkg/window.py:Window._ordered): missing reason"),
    ({"reason": "equivalent"}, "entry 0 (pkg/window.py:Window._ordered): the reason must say why the mutant is "
                               "equivalent"),
    ({"mutated": "if  self.low > self.high:"}, "entry 0 (pkg/window.py:Window._ordered): original and mutated are "
                                               "the same"),
    ({"original": "if self.low < self.high:"}, "entry 0 (pkg/window.py:Window._ordered): stale, "
                                               "`if self.low < self.high:` is no longer in the function"),
    ({"function": "Window._gone"}, "entry 0 (pkg/window.py:Window._gone): stale, the function is gone"),
    ({"function": "Gone._ordered"}, "entry 0 (pkg/window.py:Gone._ordered): stale, the function is gone"),
    ({"file": "pkg/gone.py"}, "entry 0 (pkg/gone.py:Window._ordered): stale, the function is gone"),
])
def test_an_entry_without_a_reason_or_whose_line_is_gone_fails(tree: Path, change: dict[str, str],
                                                                problem: str) -> None:
    assert skip_problems([{**ENTRY, **change}], tree) == [problem]


def test_a_line_of_another_function_does_not_keep_an_entry_alive(tree: Path) -> None:
    entry = {**ENTRY, "function": "half", "original": "if self.low > self.high:"}
    assert skip_problems([entry], tree) == [
        "entry 0 (pkg/window.py:half): stale, `if self.low > self.high:` is no longer in the function"]


def mutant(name: str, code: int | None, diff: str = "", file: str = "config/x.py") -> Mutant:
    return Mutant(name=name, file=file, code=code, diff=diff)


DIFF = """--- pkg/window.py
+++ pkg/window.py
@@ -1,4 +1,4 @@
 def _ordered(self) -> "Window":
-    if self.low > self.high:
+    if self.low >= self.high:
         raise ValueError("low must not exceed high")
"""


def test_mutant_names_give_the_package_function_and_changed_lines() -> None:
    method = mutant("config.namespace.xǁLimitRangeǁ_ordered__mutmut_7", 0, DIFF)
    assert (method.package, method.function) == ("config", "LimitRange._ordered")
    assert method.changed_lines() == ("if self.low > self.high:", "if self.low >= self.high:")
    function = mutant("simulate.controller.x_desired_replicas__mutmut_12", 1)
    assert (function.package, function.function) == ("simulate", "desired_replicas")
    assert mutant("policy.spywatcher_policies.x_check__mutmut_1", 1).package == "policy"
    assert mutant("components.k8s.x_labels__mutmut_1", 1).package == "components"


def test_an_entry_excuses_only_its_own_mutant() -> None:
    survivor = mutant("pkg.window.xǁWindowǁ_ordered__mutmut_3", 0, DIFF, file="pkg/window.py")
    assert skip_for(survivor, [ENTRY]) is ENTRY
    assert skip_for(survivor, [{**ENTRY, "mutated": "if self.low < self.high:"}]) is None
    assert skip_for(survivor, [{**ENTRY, "function": "Window.other"}]) is None
    assert skip_for(survivor, [{**ENTRY, "file": "pkg/other.py"}]) is None


def test_the_score_counts_timeouts_as_killed_and_untested_as_survived() -> None:
    excused = mutant("pkg.window.xǁWindowǁ_ordered__mutmut_3", 0, DIFF, file="pkg/window.py")
    mutants = [
        mutant("config.a.x_f__mutmut_1", 1),     # a test failed
        mutant("config.a.x_f__mutmut_2", 36),    # timeout
        mutant("config.a.x_f__mutmut_3", 0),     # survived
        mutant("config.a.x_f__mutmut_4", 33),    # no test reaches it
        mutant("config.a.x_f__mutmut_5", None),  # not run yet
        mutant("policy.p.x_g__mutmut_1", 3),     # pytest internal error: killed
        excused,
    ]
    per_package, survivors, used = score(mutants, [ENTRY])
    config = per_package["config"]
    assert (config.killed, config.survived, config.excused, config.not_run) == (2, 2, 0, 1)
    assert config.value == 0.5
    assert (per_package["policy"].killed, per_package["policy"].value) == (1, 1.0)
    assert (per_package["pkg.window"].excused, per_package["pkg.window"].value) == (1, None)
    assert [m.name for m in survivors] == ["config.a.x_f__mutmut_3", "config.a.x_f__mutmut_4"]
    assert used == {id(ENTRY)}


def test_the_sample_interval_brackets_the_observed_score() -> None:
    low, high = sample.wilson(90, 100)
    assert (round(low, 3), round(high, 3)) == (0.826, 0.945)
    assert sample.wilson(0, 0) == (0.0, 1.0)


def test_mutmut_copies_every_file_but_the_mutated_packages() -> None:
    """A file the tests read that mutmut did not copy fails the whole run at collection."""
    import tomllib

    # A mutated package inside a folder (tools/sim) leaves that folder's other files copied one by one.
    files = ["tools/locks.py", "tools/sim/hpa.py", "simulated.py", "config/base.py", "tooling/docs.py",
             "requirements.txt", "tests/conftest.py", "tests/stacks/a.yaml", "policy/PulumiPolicy.yaml",
             "configs/x.yaml", ".ci/run"]
    copied = mutation.also_copy(files, ["config", "components", "tools/sim", "policy"])
    assert copied == [".ci", "configs", "policy/PulumiPolicy.yaml", "requirements.txt", "simulated.py", "tests",
                      "tooling", "tools/locks.py"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    written = tomllib.loads(mutation.with_also_copy(pyproject, copied))["tool"]["mutmut"]
    assert written["also_copy"] == copied
    assert written["source_paths"] == tomllib.loads(pyproject)["tool"]["mutmut"]["source_paths"]
    with pytest.raises(ValueError, match="no also_copy"):
        mutation.with_also_copy("[tool.mutmut]\n", copied)


def test_the_sample_is_stratified_by_package_and_a_larger_one_extends_it() -> None:
    names = ([f"config.a.x_f__mutmut_{i}" for i in range(600)]
             + [f"components.b.x_g__mutmut_{i}" for i in range(300)]
             + [f"policy.spywatcher_policies.x_h__mutmut_{i}" for i in range(100)])
    small = sample.stratified_sample(names, 100, seed=18)
    packages = [Mutant(n, "", None, "").package for n in small]
    assert (packages.count("config"), packages.count("components"), packages.count("policy")) == (60, 30, 10)
    assert small == sample.stratified_sample(list(reversed(names)), 100, seed=18)
    assert small != sample.stratified_sample(names, 100, seed=19)
    larger = sample.stratified_sample(names, 250, seed=18)
    assert len(larger) == 250 and set(small) < set(larger)
    assert sorted(sample.stratified_sample(names, 5000, seed=18)) == sorted(names)


def test_mutmut_mutates_pydantic_after_validators_and_keeps_one_validator() -> None:
    pytest.importorskip("mutmut")
    from mutmut.mutation import file_mutation

    mutation._patch_mutmut()
    mutated = file_mutation.mutate_file_contents("window.py", SOURCE)
    validator_mutants = [n for n in mutated.mutant_names if "_ordered" in n]
    assert len(validator_mutants) >= 3, mutated.mutant_names
    # pydantic must see exactly one validator: the trampoline; the copies are plain methods
    assert mutated.code.count('@model_validator(mode="after")') == 1


def test_a_sample_run_in_parts_is_stratified_after_each_part() -> None:
    names = ([f"config.a.x_f__mutmut_{i}" for i in range(60)]
             + [f"components.b.x_g__mutmut_{i}" for i in range(30)]
             + [f"policy.spywatcher_policies.x_h__mutmut_{i}" for i in range(10)])
    parts = sample.in_parts(names, 4, seed=18)
    counts = [tuple(sum(Mutant(n, "", None, "").package == p for n in part) for p in ("config", "components", "policy"))
              for part in parts]
    assert counts == [(15, 8, 3), (15, 7, 2), (15, 8, 3), (15, 7, 2)]
    assert sorted(n for part in parts for n in part) == sorted(names)
    # Each package's mutants go out in the sample's own shuffled order: the first part is the
    # smaller sample of a quarter's size.
    assert set(parts[0]) == set(sample.stratified_sample(names, 25, seed=18))
    assert [sorted(part) for part in sample.in_parts(names, 1, seed=18)] == [sorted(names)]
    assert len(sample.in_parts(names[:3], 8, seed=18)) == 3  # no empty part is run


@pytest.mark.parametrize(("argv", "message"), [
    (["--sample", "140", "--batches", "0"], "--batches must be 1 or more, not 0"),
    (["--batches", "4"], "--batches splits a --sample: give --sample too"),
    (["--jobs", "0"], "--jobs must be 1 or more, not 0"),
])
def test_mutation_refuses_a_bad_count(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        mutation.main(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"python -m tooling mutation: error: {message}"
