"""`python -m tooling <verb>`: the developers' tools (docs, mutation); `make docs`, `make mutation`."""

from __future__ import annotations

import sys

from offline.cli import dispatch

VERBS = {
    "docs": ("tooling.docs", "regenerate docs/ and check its links (--check: change nothing)"),
    "mutation": ("tooling.mutation", "mutation score of the program's packages (slow: see docs/development.md)"),
}

if __name__ == "__main__":
    sys.exit(dispatch("python -m tooling", VERBS, sys.argv[1:]))
