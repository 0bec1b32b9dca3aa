"""`python -m offline <verb>`: the project's offline tools. No CLI, cloud or cluster needed.

The runner's own verbs (preview, render, diff, charts, prerequisites) live in this package; the
simulators (`simulate/`) and the developers' tooling (`tooling/`) have entry points of their own
(`python -m simulate`, `python -m tooling <verb>`) and are reachable from here too, so that one
front door lists everything a user can run.
"""

from __future__ import annotations

import gc
import sys

from offline.cli import dispatch

# verb -> (module with `main(argv) -> int`, one-line help)
VERBS = {
    "preview": ("offline.preview", "print what a stack would create"),
    "render": ("offline.render", "write a stack's desired state as files (--check: validate the schemas)"),
    "diff": ("offline.diff", "compare two renders: stacks, or the working tree against a git ref"),
    "charts": ("offline.charts", "which Helm releases a change touches, and `helm template` them (CI, networked)"),
    "prerequisites": ("offline.prerequisites", "list the CRDs, controllers and AWS permissions a stack needs"),
    "simulate": ("simulate.cli", "replay the HPA controller against a load trace (= python -m simulate)"),
    "downtime": ("simulate.downtime.cli", "check zero downtime: every layer through rollouts, drains, reloads"),
    "docs": ("tooling.docs", "regenerate docs/ and check its links (= python -m tooling docs)"),
    "mutation": ("tooling.mutation", "mutation score of the program's packages (= python -m tooling mutation)"),
}

# Verbs whose process runs the program once per stack and ends: the cyclic garbage collector stays
# off in them, and everything is frozen before the interpreter's last collection at exit. Their heap
# is mostly the provider packages' classes (hundreds of thousands of objects, none garbage), which
# every collection would walk again (the one at exit alone costs about 0.7 s of CPU); a run frees
# almost everything by reference counting (peak memory of `render --check --all` is within 4 %).
SHORT_LIVED = frozenset({"preview", "prerequisites", "render", "diff"})


def main(argv: list[str]) -> int:
    return dispatch("python -m offline", VERBS, argv)


if __name__ == "__main__":
    short_lived = sys.argv[1:2] and sys.argv[1] in SHORT_LIVED
    if short_lived:
        gc.disable()
    code = main(sys.argv[1:])
    if short_lived:
        gc.freeze()
    sys.exit(code)
