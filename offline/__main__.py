"""`python -m offline <verb>`: the program's offline tools. No CLI, cloud or cluster needed."""

from __future__ import annotations

import gc
import importlib
import sys

# verb -> (module with `main(argv) -> int`, one-line help)
VERBS = {
    "preview": ("offline.preview", "print what a stack would create"),
    "render": ("offline.render", "write a stack's desired state as files (--check: validate the schemas)"),
    "diff": ("offline.diff", "compare two renders: stacks, or the working tree against a git ref"),
    "charts": ("offline.charts", "which Helm releases a change touches, and `helm template` them (CI, networked)"),
    "prerequisites": ("offline.prerequisites", "list the CRDs, controllers and AWS permissions a stack needs"),
    "simulate": ("offline.simulate.cli", "replay the HPA controller against a load trace"),
    "mutation": ("offline.mutation", "mutation score of the program's packages (slow: see docs/development.md)"),
    "locks": ("offline.locks", "write the hashed lock files CI installs from (network), or check them"),
    "docs": ("offline.docs", "regenerate docs/ (config reference) and check its links (--check: change nothing)"),
}

# Verbs whose process runs the program once per stack and ends: the cyclic garbage collector stays
# off in them, and everything is frozen before the interpreter's last collection at exit. Their heap
# is mostly the provider packages' classes (hundreds of thousands of objects, none garbage), which
# every collection would walk again (the one at exit alone costs about 0.7 s of CPU); a run frees
# almost everything by reference counting (peak memory of `render --check --all` is within 4 %).
SHORT_LIVED = frozenset({"preview", "prerequisites", "render", "diff"})


def main(argv: list[str]) -> int:
    if argv and argv[0] not in VERBS and argv[0] not in ("-h", "--help"):
        print(f"error: unknown verb {argv[0]!r} (verbs: {', '.join(VERBS)}; --help lists them)", file=sys.stderr)
        return 2
    if not argv or argv[0] in ("-h", "--help"):
        lines = ["usage: python -m offline <verb> [options]", "", "verbs:"]
        lines += [f"  {verb:<10} {text}" for verb, (_, text) in VERBS.items()]
        print("\n".join(lines), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    module, _ = VERBS[argv[0]]
    return int(importlib.import_module(module).main(argv[1:]) or 0)


if __name__ == "__main__":
    short_lived = sys.argv[1:2] and sys.argv[1] in SHORT_LIVED
    if short_lived:
        gc.disable()
    code = main(sys.argv[1:])
    if short_lived:
        gc.freeze()
    sys.exit(code)
