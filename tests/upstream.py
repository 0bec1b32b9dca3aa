"""Where the real upstream artifacts (CRDs, chart values) are, when this checkout has them beside it.

They live in the workspace's ``shared/upstream/`` (see its SOURCES.md), never in the repository:
``../shared/upstream`` of the repository, or two levels up for a git worktree; the environment
variable ``SPYWATCHER_UPSTREAM`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import ROOT


def upstream_dir() -> Path | None:
    override = os.environ.get("SPYWATCHER_UPSTREAM")
    candidates = [Path(override)] if override else [ROOT.parent / "shared" / "upstream",
                                                      ROOT.parent.parent / "shared" / "upstream"]
    return next((c for c in candidates if (c / "crds").is_dir()), None)


def upstream_file(relative: str) -> Path | None:
    folder = upstream_dir()
    path = folder / relative if folder is not None else None
    return path if path is not None and path.exists() else None


MISSING = "no shared/upstream folder beside the repository (set SPYWATCHER_UPSTREAM): upstream checks skipped"
