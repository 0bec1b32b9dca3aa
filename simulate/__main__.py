"""`python -m simulate`: replay the HPA controller on a stack's workload (see docs/simulator.md)."""

from __future__ import annotations

import sys

from simulate.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
