"""`python -m offline preview`: the offline view of a stack, and its exit codes."""

from __future__ import annotations

import io
import re
import subprocess
import sys

from offline.preview import main
from tests.conftest import ROOT


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_preview_lists_every_resource_with_key_settings() -> None:
    code, out, _ = run("--stack", "production")
    assert code == 0
    assert "Previewing stack production offline" in out
    rows = [line for line in out.splitlines() if line.startswith(" +")]
    assert len(rows) == int(out.rsplit("+ ", 1)[1].split()[0])
    def settings(logical: str, name: str) -> str:
        """The settings column of a row (columns are two spaces apart or more, settings one)."""
        [line] = [row for row in rows if f" {logical} " in row]
        *_, namespace, object_name, text = re.split(r"\s{2,}", line.strip())
        assert (namespace, object_name) == ("spywatcher", name)
        return text

    assert settings("backend-hpa", "spywatcher-backend-hpa") == (
        "replicas=2..10 cpu=70% memory=80% up=Max(100%/30s,2 pods/30s) window=0s down=Min(50%/60s,1 pods/60s) "
        "window=300s")
    assert settings("backend-deployment", "spywatcher-backend") == (
        "image=ghcr.io/subculture-collective/spywatcher-backend:v2.0.0 replicas=HPA surge=1 unavailable=0 "
        "requests=500m/512Mi limits=1/1Gi grace=30s preStop=15s")
    assert settings("frontend-pdb", "spywatcher-frontend-pdb") == (
        "minAvailable=1 unhealthyPodEvictionPolicy=AlwaysAllow")


def test_preview_staging_is_the_default() -> None:
    code, out, _ = run()
    assert code == 0 and "stack staging" in out and "replicas=2..4" in out


def test_unknown_stack_exits_2() -> None:
    code, _, err = run("--stack", "qa")
    assert code == 2 and "no stack file Pulumi.qa.yaml" in err


def test_bad_stack_file_exits_1_with_the_problems(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from offline import engine

    def broken(stack, overrides=None, secrets=None):  # type: ignore[no-untyped-def]
        return original(stack, {"backend": {"autoscaling": {"minReplicas": 0}}})

    original = engine.run_stack
    monkeypatch.setattr("offline.engine.run_stack", broken)  # what every stack-running verb calls
    code, out, err = run("--stack", "staging")
    assert code == 1 and out == ""
    assert "backend.autoscaling.minReplicas: 0 — must be at least 1" in err
    assert "Traceback" not in err


def test_module_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "offline", "preview", "--stack", "staging"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "spywatcher:workload:Workload" in result.stdout
