"""`python -m simulate.downtime`: the zero-downtime model on a stack (= python -m offline downtime)."""

from __future__ import annotations

import sys

from simulate.downtime.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
