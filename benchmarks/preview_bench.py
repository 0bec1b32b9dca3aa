"""How long `make preview` takes against its floor: `python benchmarks/preview_bench.py`.

The preview is `python -m offline preview --stack STACK` as a fresh process (what `make preview`
runs, wall time). The floor is a fresh process that only imports pulumi and the provider modules
the program really loads (found by running the program once, untimed: every `pulumi_kubernetes`
and `pulumi_aws` module it loaded, lazily loaded ones forced), which any Pulumi program using them
pays before it registers anything. Runs alternate floor and preview so both see the same machine
load; prints the median of each and their ratio. Target: at most 1.5x the floor.

``--breakdown`` also times the phases of one preview inside a single process (imports, config
models, the program, the report), to show where time above the floor goes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5
PROVIDERS = ("pulumi_kubernetes", "pulumi_aws")

# Runs the program once and prints the provider modules it loaded (lazy modules only once loaded;
# not pulumi_kubernetes' one-class modules such as `core.v1.Service`, which their package imports,
# and importing them again by name would shadow the class with the module).
LOADED_MODULES = """
import json, sys, types
from offline.engine import run_stack
run_stack(sys.argv[1])
print(json.dumps(sorted(
    name for name, module in sys.modules.items()
    if name.split(".")[0] in {providers!r} and type(module) is types.ModuleType
    and not name.rsplit(".", 1)[-1][:1].isupper()
)))
"""

# The floor: pulumi and those modules, each forced to load (dir() loads a lazy module).
FLOOR = """
import importlib, json, sys
import pulumi
for name in json.loads(sys.argv[1]):
    dir(importlib.import_module(name))
"""

# Phases of one preview in one process.
BREAKDOWN = """
import importlib, json, sys, time
marks = [("start", time.perf_counter())]
import pulumi
for name in json.loads(sys.argv[2]):
    dir(importlib.import_module(name))
marks.append(("import pulumi + provider modules (the floor)", time.perf_counter()))
from offline.engine import run_stack
from offline.preview import format_plan
marks.append(("import the offline runner", time.perf_counter()))
import config.stack
marks.append(("import config (pydantic models)", time.perf_counter()))
plan = run_stack(sys.argv[1])
marks.append(("run the program under the mocks", time.perf_counter()))
format_plan(plan)
marks.append(("format the preview", time.perf_counter()))
print(json.dumps([(label, end - start) for (_, start), (label, end) in zip(marks, marks[1:])]))
"""


def python(*args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter running ``args`` in the project; its stderr on failure."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"failed: python {' '.join(args[:3])} ...\n{result.stderr}")
    return result


def wall(*args: str) -> float:
    """Wall time of one fresh interpreter running ``args``."""
    start = time.perf_counter()
    python(*args)
    return time.perf_counter() - start


def loaded_modules(stack: str) -> list[str]:
    code = LOADED_MODULES.format(providers=set(PROVIDERS))
    return list(json.loads(python("-c", code, stack).stdout))


def measure(stack: str, modules: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Floor and preview wall times, alternating, after one untimed warm-up of each."""
    floor_args = ("-c", FLOOR, json.dumps(modules))
    preview_args = ("-m", "offline", "preview", "--stack", stack)
    wall(*floor_args), wall(*preview_args)  # bytecode caches and the OS page cache
    floors, previews = [], []
    for _ in range(runs):
        floors.append(wall(*floor_args))
        previews.append(wall(*preview_args))
    return floors, previews


def breakdown(stack: str, modules: list[str]) -> list[tuple[str, float]]:
    phases = json.loads(python("-c", BREAKDOWN, stack, json.dumps(modules)).stdout)
    return [(str(label), float(seconds)) for label, seconds in phases]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="staging", help="stack to preview (default: staging)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (at least 5; default 7)")
    parser.add_argument("--breakdown", action="store_true", help="also time the phases of one preview")
    args = parser.parse_args()
    runs = max(args.runs, 5)
    modules = loaded_modules(args.stack)
    floors, previews = measure(args.stack, modules, runs)
    floor, preview = statistics.median(floors), statistics.median(previews)
    ratio = preview / floor
    print(f"floor   (python -c: import pulumi + {len(modules)} provider modules the program loads): "
          f"median {floor:.2f} s, min {min(floors):.2f} s over {runs} runs")
    print(f"preview (python -m offline preview --stack {args.stack}): "
          f"median {preview:.2f} s, min {min(previews):.2f} s over {runs} runs")
    print(f"ratio   {ratio:.2f}x the floor (target: at most {TARGET}x) -> {'ok' if ratio <= TARGET else 'OVER'}")
    if args.breakdown:
        print("\none preview, phase by phase (one process):")
        for label, seconds in breakdown(args.stack, modules):
            print(f"  {seconds:6.2f} s  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
