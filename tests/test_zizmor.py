"""zizmor (offline, pinned in requirements-scan.txt) over .github/workflows with its most thorough
persona: no finding apart from the explicit skip list in `zizmor-skips.yaml`, where each entry says
why, and a workflow with the classic mistakes is reported."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

SKIPS = yaml.safe_load((ROOT / "zizmor-skips.yaml").read_text())
ZIZMOR = Path(os.environ.get("ZIZMOR", ROOT / ".venv-scan" / "bin" / "zizmor"))


def run_zizmor(*files: Path) -> list[dict[str, Any]]:
    if not ZIZMOR.is_file():
        pytest.fail(f"zizmor is not installed at {ZIZMOR}: `make test` installs it into .venv-scan")
    result = subprocess.run(
        [str(ZIZMOR), "--offline", "--persona", "auditor", "--format", "json", "--no-progress", *map(str, files)],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "NO_COLOR": "1"},
    )
    # 0: no finding; 10-14: findings of the highest severity (zizmor's exit codes); anything else is a failure.
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr[-2000:]
    return list(json.loads(result.stdout))


def where(finding: dict[str, Any]) -> str:
    """`<workflow file>` or `<workflow file>:<job>` of a finding's primary location."""
    primary = next(loc for loc in finding["locations"] if loc["symbolic"]["kind"] == "Primary")
    path = Path(primary["symbolic"]["key"]["Local"]["verbatim_path"]).name
    route = [step.get("Key") for step in primary["symbolic"]["route"]["route"]]
    return f"{path}:{route[1]}" if route[:1] == ["jobs"] and len(route) > 1 else path


def skip_for(ident: str, place: str) -> dict[str, Any] | None:
    for entry in SKIPS:
        if entry["id"] == ident and any(
            fnmatch.fnmatchcase(place, pattern) or place.startswith(f"{pattern}:") for pattern in entry["only"]
        ):
            return entry
    return None


@pytest.fixture(scope="module")
def findings() -> list[dict[str, Any]]:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert [w.name for w in workflows] == ["deploy.yml", "pull-request.yml"]
    return run_zizmor(*workflows)


def test_skip_list_entries_explain_themselves() -> None:
    for entry in SKIPS:
        assert set(entry) == {"id", "name", "reason", "only"}, entry
        assert len(entry["reason"]) > 80 and entry["only"], entry


def test_no_finding_outside_the_skip_list(findings: list[dict[str, Any]]) -> None:
    unexplained = sorted(f"{f['ident']} {where(f)}: {f['desc']}" for f in findings
                         if skip_for(f["ident"], where(f)) is None)
    assert unexplained == [], "\n".join(unexplained)


def test_every_skip_is_still_needed(findings: list[dict[str, Any]]) -> None:
    found = {(f["ident"], where(f)) for f in findings}
    stale = [f"{entry['id']} {pattern}" for entry in SKIPS for pattern in entry["only"]
             if not any(ident == entry["id"] and (place == pattern or place.startswith(f"{pattern}:"))
                        for ident, place in found)]
    assert stale == [], f"skip-list entries that no longer match a finding: {stale}"


def test_the_scan_can_fail(tmp_path: Path) -> None:
    """The shipped pull-request workflow with a checkout that keeps its token and a step that pastes
    the pull request's title into a shell: both reported, neither excused."""
    shutil.copy(ROOT / ".github" / "workflows" / "pull-request.yml", tmp_path / "pull-request.yml")
    bad = tmp_path / "pull-request.yml"
    text = bad.read_text()
    assert text.count("persist-credentials: false") >= 4
    text = text.replace("persist-credentials: false", "persist-credentials: true", 1)
    text = text.replace("      - run: .ci/run", '      - run: echo "${{ github.event.pull_request.title }}"\n'
                        "      - run: .ci/run", 1)
    bad.write_text(text)
    reported = {(f["ident"], where(f)) for f in run_zizmor(bad) if skip_for(f["ident"], where(f)) is None}
    assert reported == {("artipacked", "pull-request.yml:test"), ("template-injection", "pull-request.yml:test")}
