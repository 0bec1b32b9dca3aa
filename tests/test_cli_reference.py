"""docs/cli.md is what each verb prints for --help (a fast check of the one page; the docs tests
check every generated page, and are left out of the mutation runs)."""

from __future__ import annotations

import os
import re

import pytest

from offline.__main__ import VERBS
from tooling.docs import CLI_BEGIN, CLI_END, CLI_PAGE, cli_reference


def test_the_page_says_what_each_verb_prints_for_help() -> None:
    text = CLI_PAGE.read_text()
    committed = text[text.index(CLI_BEGIN) + len(CLI_BEGIN):text.index(CLI_END)].strip("\n")
    assert committed == cli_reference().strip("\n"), "docs/cli.md is out of date: run `make docs`"


def test_the_cli_page_has_every_verbs_help_and_each_sub_verbs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")  # the page is the same whatever the terminal
    page = cli_reference()
    expected = []
    for verb in VERBS:
        expected.append(f"python -m offline {verb}")
        if verb == "charts":  # the one verb with verbs of its own (`{changed,template} ...`, unlike {text,markdown})
            expected += ["python -m offline charts changed", "python -m offline charts template"]
    assert re.findall(r"^\$ (python -m offline .+) --help$", page, re.MULTILINE) == expected
    assert "  --all          render every stack (Pulumi.<stack>.yaml) and test stack (tests/stacks/)\n" in page
    assert os.environ["COLUMNS"] == "40"
