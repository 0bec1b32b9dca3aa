"""The docs speak of the project to its users: not of how they were written, nor of folders a clone lacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

# How the work was organised, and places outside the repository.
FORBIDDEN = re.compile(
    r"\b(?:agents|(?:by|with|\d+) \w* ?sessions|last session|this session|the issue\b|issue #\d|the lead\b)"
    r"|\.\./shared|/work/|shared design folder|beside this repository",
    re.IGNORECASE,
)


def offending_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if FORBIDDEN.search(line)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_page_says_nothing_of_how_it_was_written_nor_of_folders_outside_the_repository(page: Path) -> None:
    assert offending_lines(page.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("line", [
    "Measured on 2 cores shared with three agents.",
    "The first count, last session, per module.",
    "this 2-core machine shared by 4 sessions",
    "The issue's target is 90 %.",
    "See `reference/autoscaling-guide.md` in the shared design folder beside this repository.",
    "the upstream CRDs in `../shared/upstream/crds` when it is there",
])
def test_the_check_finds_each_kind_of_wording(line: str) -> None:
    assert offending_lines(line) == [line]


@pytest.mark.parametrize("line", [
    "the VPC CNI's policy agent has had bugs", "the EKS Pod Identity agent",
    "its Socket.IO session and affinity cookie", "A function a session- or module-scoped fixture calls",
    "the guide's '3-hour timeout for backend sessions'",
])
def test_the_check_leaves_technical_words_alone(line: str) -> None:
    assert offending_lines(line) == []
