"""Runs Prometheus's own `promtool` on what the program renders: `check rules` parses every
expression and template, `test rules` evaluates alerts on synthetic series.

promtool comes from the Debian/Ubuntu package `prometheus` (`.ci/run` installs it). Without it
the promtool tests skip with the install command, except under `CI=true`, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

INSTALL = "sudo apt-get update && sudo apt-get install --no-install-recommends prometheus"
RULE_TESTS = Path(__file__).resolve().parent / "rules"


def promtool() -> str:
    """The path of promtool; skips (or, under CI=true, fails) the test when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        message = f"promtool is not installed (Debian/Ubuntu package `prometheus`): {INSTALL}"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{message}; CI=true, so a missing promtool is a failure (.ci/run installs it)")
        pytest.skip(message)
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def write_rules(groups: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def check_rules(groups: list[dict[str, Any]], folder: Path) -> subprocess.CompletedProcess[str]:
    """`promtool check rules` of a rule file holding ``groups``."""
    write_rules(groups, folder / "rules.yaml")
    return run("check", "rules", "rules.yaml", cwd=folder)
