"""Running the Makefile from a test: `make -n` in a clean make environment.

Under `make test` the suite runs inside make, whose MAKEFLAGS and MAKELEVEL every child make would
inherit (its output would gain `make[1]: Entering directory` lines), and which exports the outer
command line's variables (`make test STACK=production` would reach the child as STACK). The tests'
make starts as a user's would: without those, and without any variable the Makefile reads.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INHERITED = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR"}


def makefile_variables() -> set[str]:
    """The variables the Makefile reads from the command line (its VARIABLES line), both cases."""
    match = re.search(r"^VARIABLES := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "the Makefile has no VARIABLES line"
    names = set(match.group(1).split())
    return names | {name.lower() for name in names}


def own_make_env() -> dict[str, str]:
    dropped = INHERITED | makefile_variables()
    return {name: value for name, value in os.environ.items() if name not in dropped}
