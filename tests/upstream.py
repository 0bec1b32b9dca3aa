"""Where the real upstream artifacts (CRDs, chart values) are, when this checkout has them beside it.

They live in the workspace's ``shared/upstream/`` (see its SOURCES.md), never in the repository:
``../shared/upstream`` of the repository, or two levels up for a git worktree; the environment
variable ``SPYWATCHER_UPSTREAM`` overrides both. ``make check`` finds them the same way
(``offline.crd_check.upstream_folder``).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from offline.crd_check import UPSTREAM_VARIABLE, CrdChecker, upstream_folder
from offline.schema import NO_SCHEMA, SchemaProblem, check_objects, unchecked_crds


def upstream_dir() -> Path | None:
    return upstream_folder()


def upstream_file(relative: str) -> Path | None:
    folder = upstream_dir()
    path = folder / relative if folder is not None else None
    return path if path is not None and path.exists() else None


MISSING = f"no shared/upstream folder beside the repository (set {UPSTREAM_VARIABLE}): upstream checks skipped"


def skip_without_upstream(reason: str) -> None:
    """Skip a test that needs the upstream folder; under CI=true, where shared/ is always laid
    beside the clone, fail instead."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(reason)
    pytest.skip(reason)


@cache
def found_crds() -> CrdChecker | None:
    """The upstream CRDs as `make check` finds them: they check the custom resources that have no
    schema in offline/crds/ (the Gateway API and Envoy Gateway kinds)."""
    folder = upstream_dir()
    return CrdChecker(folder / "crds", fills_gaps=True) if folder is not None else None


def schema_problems(objects: list[dict[str, Any]], kubernetes_version: str = "1.34") -> list[SchemaProblem]:
    """Every schema problem of ``objects`` as `make check` reports them. Without the upstream CRDs,
    a render whose only problems are kinds with no schema here is skipped (failed under CI=true),
    naming the CRDs it needs."""
    problems = check_objects(objects, kubernetes_version, found_crds())
    gaps = [p for p in problems if p.message.startswith(NO_SCHEMA)]
    if gaps and len(gaps) == len(problems):
        skip_without_upstream(f"{MISSING}; no schema here for {', '.join(unchecked_crds(objects, kubernetes_version))}")
    return problems
