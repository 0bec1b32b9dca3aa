"""CI installs with `pip --require-hashes` from locks that match the pins (tooling/locks.py)."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.conftest import ROOT
from tooling import locks


def test_the_locks_hold_exactly_the_pins_each_with_hashes() -> None:
    assert locks.check() == []


def test_a_lock_entry_is_read_with_every_hash_of_its_continuation_lines() -> None:
    text = "# header\nfoo==1.2 \\\n    --hash=sha256:" + "a" * 64 + " \\\n    --hash=sha256:" + "b" * 64 + "\nbar==2\n"
    assert locks.read_lock(text) == {"foo": ("1.2", ["a" * 64, "b" * 64]), "bar": ("2", [])}


def test_check_names_a_stale_version_a_missing_hash_and_a_missing_package(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    lock = locks.Lock("dev.txt", "test", "constraints.txt")
    constraints = locks.read_pins((ROOT / "constraints.txt").read_text())
    entries = dict(constraints)
    entries["pyyaml"] = "6.0.2"  # stale
    del entries["pytest"]  # missing
    text = "\n".join(f"{n}=={v} \\\n    --hash=sha256:{'c' * 64}" for n, v in entries.items() if n != "ruff")
    (tmp_path / "dev.txt").write_text(text + f"\nruff=={constraints['ruff']}\nextra==1 --hash=sha256:{'d' * 64}\n")
    (tmp_path / "constraints.txt").write_text((ROOT / "constraints.txt").read_text())
    monkeypatch.setattr(locks, "ROOT", tmp_path)
    monkeypatch.setattr(locks, "LOCKS", (lock,))
    assert locks.check() == [
        f"dev.txt: no pytest=={constraints['pytest']}; run `make locks`",
        "dev.txt: extra is not in what constraints.txt installs; run `make locks`",
        "dev.txt: pyyaml==6.0.2, but constraints.txt pins 6.0.3",
        "dev.txt: ruff has no --hash",
    ]


def test_the_runtime_lock_is_what_requirements_pull_in_not_the_test_tools() -> None:
    runtime = locks.read_lock((ROOT / "locks" / "runtime.txt").read_text())
    assert {"pulumi", "pulumi-kubernetes", "pulumi-aws", "pydantic", "pyyaml", "grpcio"} <= runtime.keys()
    assert not {"pytest", "mypy", "ruff", "hypothesis", "mutmut", "checkov"} & runtime.keys()


def test_a_dependency_of_a_dependency_is_in_the_closure_and_a_marker_for_another_python_is_not() -> None:
    class Dist:
        def __init__(self, *requires: str) -> None:
            self.requires = list(requires)

    installed = {
        "app": Dist("lib[fast]", 'old ; python_version < "3.0"', 'tool ; extra == "dev"'),
        "lib": Dist('speedup ; extra == "fast"'),
        "speedup": Dist(),
        "old": Dist(),
        "tool": Dist(),
    }
    assert locks.closure(["app"], installed) == {"app", "lib", "speedup"}  # type: ignore[arg-type]
    with pytest.raises(LookupError, match="missing is required but not installed"):
        locks.closure(["missing"], {})


def test_the_closure_walk_agrees_with_the_installed_metadata_for_pulumi() -> None:
    found = locks.closure(["pulumi"], locks.installed_distributions())
    direct = {Requirement(line).name.lower() for line in metadata.distribution("pulumi").requires or []
              if Requirement(line).marker is None}
    assert direct and direct <= found
    assert "pytest" not in found


def test_the_policy_pack_installs_from_hashes_with_setuptools_pinned() -> None:
    entries = locks.read_lock((ROOT / "policy" / "requirements.txt").read_text())
    assert entries["pulumi-policy"][0] == "1.21.0" and entries["setuptools"][0] == "84.2.1"
    assert all(hashes for _, hashes in entries.values())


@pytest.mark.parametrize(("locked", "expected"), [
    ("1", ["--require-hashes --no-deps -r locks/runtime.txt", "--require-hashes --no-deps -r locks/dev.txt",
           "--require-hashes --no-deps -r locks/scan.txt"]),
    ("", ["-r requirements.txt -c constraints.txt", "-r requirements-dev.txt -c constraints.txt",
          "-r requirements-scan.txt -c constraints-scan.txt"]),
])
def test_make_installs_from_the_locks_only_when_pip_locked_is_1(locked: str, expected: list[str]) -> None:
    result = subprocess.run(["make", "-n", "-B", "test", f"PIP_LOCKED={locked}"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    installs = [line.split("--disable-pip-version-check", 1)[1].strip()
                for line in result.stdout.splitlines() if " -m pip install --quiet" in line and "build/pin" not in line]
    assert installs == expected


def test_every_workflow_installs_with_hashes() -> None:
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        assert document["env"]["PIP_LOCKED"] == "1", path.name
        for job in document["jobs"].values():
            assert "PIP_LOCKED" not in job.get("env", {}), path.name
            for step in job["steps"]:
                assert "pip install" not in str(step.get("run", "")), f"{path.name}: pip outside make"
