"""How long `make preview` takes against its floor: `python benchmarks/preview_bench.py`.

The preview is `python -m offline preview --stack STACK` as a fresh process (what `make preview`
runs, wall time). The floor is what any Pulumi program declaring the same resources pays: a fresh
interpreter that imports pulumi and reaches each resource class the stack registers the way a
program does, by attribute access (`pulumi_aws.lb.TargetGroup`, `pulumi_kubernetes.apps.v1.Deployment`,
…), which loads that class's package. The classes are found by running the program once, untimed,
and recording the class of every resource it constructs; every registered type must be accounted
for (the program's own component classes are the program, not the floor).

Runs alternate floor and preview, after one untimed warm-up of each, so both see the same machine
load; the machine is shared and noisy, so the headline is the ratio of the **minima** (medians are
printed too). Target: at most 1.3x the floor. The runner keeps the cyclic garbage collector off and
freezes everything before the interpreter's last collection (offline/__main__.py), which the floor
does not; a "lean floor" that does the same is timed too, so the runner's own cost shows on equal
terms. `--stack all-options` measures the test stack with
every optional part switched on (tests/stacks/Pulumi.all-options.yaml).

``--diff REF`` also times `make diff` (every stack against git REF: the base renders in its own
process while the working tree renders in this one) against one preview, alternating; target at
most 2.5x. It is timed twice: *cold*, the base rendered (an empty cache: a pull request's CI job,
or the first diff against a new base), and *warm*, the base's render read from the cache a previous
diff against it left (offline/gitref.py). ``--diff-only`` skips the floor.

``--breakdown`` also times the phases of one preview inside a single process (the floor's imports,
the offline runner, the config models, the program, the report), to show where time above the
floor goes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.3
DIFF_TARGET = 2.5

# Runs the program once and prints, for every type it registered, the public path of the class that
# registered it: the class reached from its package (`pulumi_aws.lb.TargetGroup`), as a program
# writes it. Fails if a registered type has no class outside the project.
REGISTERED_CLASSES = """
import json, sys
import pulumi
classes = {}
init = pulumi.Resource.__init__
def recording(self, t, name, *args, **kwargs):
    classes.setdefault(t, type(self))
    init(self, t, name, *args, **kwargs)
pulumi.Resource.__init__ = recording
from offline.engine import run_stack
plan = run_stack(sys.argv[1])
paths = {}
for type_ in sorted({r.type for r in plan}):
    cls = classes[type_]
    if not cls.__module__.startswith("pulumi"):
        continue  # the program's own component resources
    package = cls.__module__.rsplit(".", 1)[0]
    if getattr(sys.modules[package], cls.__name__, None) is not cls:
        package = cls.__module__
    paths[type_] = f"{package}.{cls.__name__}"
missing = {r.type for r in plan if r.custom} - set(paths)
if missing:
    raise SystemExit(f"no provider class for {sorted(missing)}")
print(json.dumps(sorted(set(paths.values()))))
"""

# The floor: pulumi, then each class by attribute access from its top-level package. With `lean`
# first, it treats the garbage collector as the offline runner does (off, everything frozen before
# the interpreter's last collection), to show the runner's own cost on equal terms.
FLOOR = """
import gc, importlib, sys
lean = sys.argv[1] == "lean"
if lean:
    gc.disable()
import pulumi
for path in sys.argv[2:]:
    top, *attributes = path.split(".")
    target = importlib.import_module(top)
    for attribute in attributes:
        target = getattr(target, attribute)
if lean:
    gc.freeze()
"""

# Phases of one preview in one process.
BREAKDOWN = """
import gc, importlib, json, sys, time
gc.disable()  # as `python -m offline preview` runs
marks = [("start", time.perf_counter())]
import pulumi
for path in json.loads(sys.argv[2]):
    top, *attributes = path.split(".")
    target = importlib.import_module(top)
    for attribute in attributes:
        target = getattr(target, attribute)
marks.append(("import pulumi + the registered classes (the floor's work, GC off)", time.perf_counter()))
import config.stack
marks.append(("import config (pydantic models)", time.perf_counter()))
from offline.engine import run_stack
from offline.preview import format_plan
from offline.prerequisites import stack_prerequisites
import components.platform
marks.append(("import the offline runner and the components", time.perf_counter()))
plan = run_stack(sys.argv[1])
marks.append(("run the program under the mocks", time.perf_counter()))
stack_prerequisites(plan, sys.argv[1]), format_plan(plan)
marks.append(("format the prerequisites and the preview", time.perf_counter()))
print(json.dumps([(label, end - start) for (_, start), (label, end) in zip(marks, marks[1:])]))
"""


def python(*args: str, ok: tuple[int, ...] = (0,), env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter running ``args`` in the project; its stderr on failure."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False,
                            env={**os.environ, **(env or {})})
    if result.returncode not in ok:
        raise SystemExit(f"failed: python {' '.join(args[:3])} ...\n{result.stderr}")
    return result


def wall(*args: str, ok: tuple[int, ...] = (0,), env: dict[str, str] | None = None) -> float:
    """Wall time of one fresh interpreter running ``args``."""
    start = time.perf_counter()
    python(*args, ok=ok, env=env)
    return time.perf_counter() - start


def registered_classes(stack: str) -> list[str]:
    """The public paths of the provider classes the stack's program registers resources with."""
    return list(json.loads(python("-c", REGISTERED_CLASSES, stack).stdout))


def measure(stack: str, classes: list[str], runs: int) -> tuple[list[float], list[float], list[float]]:
    """Floor, lean floor and preview wall times, alternating, after one untimed warm-up of each."""
    floor_args = ("-c", FLOOR, "plain", *classes)
    lean_args = ("-c", FLOOR, "lean", *classes)
    preview_args = ("-m", "offline", "preview", "--stack", stack)
    wall(*floor_args), wall(*lean_args), wall(*preview_args)  # bytecode caches and the OS page cache
    floors, leans, previews = [], [], []
    for _ in range(runs):
        floors.append(wall(*floor_args))
        leans.append(wall(*lean_args))
        previews.append(wall(*preview_args))
    return floors, leans, previews


def measure_diff(stack: str, ref: str, runs: int) -> tuple[list[float], list[float], list[float]]:
    """One preview and `make diff` (every stack against ``ref``; exit 2 = changes, 3 = refused steps)
    cold (a temporary folder of its own each run, so no cached base render) and warm (one temporary
    folder, its cache filled by the untimed first run), alternating."""
    preview_args = ("-m", "offline", "preview", "--stack", stack)
    diff_args = ("-m", "offline", "diff", "--base", ref)
    with tempfile.TemporaryDirectory(prefix="diff-bench-") as folder:
        warm = {"TMPDIR": str(Path(folder) / "warm")}
        Path(warm["TMPDIR"]).mkdir()
        wall(*preview_args), wall(*diff_args, ok=(0, 2, 3), env=warm)
        previews, colds, warms = [], [], []
        for run in range(runs):
            cold = Path(folder) / f"cold-{run}"
            cold.mkdir()
            previews.append(wall(*preview_args))
            colds.append(wall(*diff_args, ok=(0, 2, 3), env={"TMPDIR": str(cold)}))
            warms.append(wall(*diff_args, ok=(0, 2, 3), env=warm))
    return previews, colds, warms


def diff_report(stack: str, ref: str, runs: int, load: tuple[float, float, float]) -> int:
    previews, colds, warms = measure_diff(stack, ref, runs)
    print(f"\nload average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load)}, "
          f"after {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores")
    print(f"preview (python -m offline preview --stack {stack}): min {min(previews):.2f} s, "
          f"median {statistics.median(previews):.2f} s over {runs} runs")
    for label, diffs in (("cold", colds), ("warm", warms)):
        ratio = min(diffs) / min(previews)
        print(f"diff, {label} (python -m offline diff --base {ref}): min {min(diffs):.2f} s, "
              f"median {statistics.median(diffs):.2f} s: {ratio:.2f}x one preview (minima; medians "
              f"{statistics.median(diffs) / statistics.median(previews):.2f}x) "
              f"(target: at most {DIFF_TARGET}x) -> {'ok' if ratio <= DIFF_TARGET else 'OVER'}")
    return 0


def breakdown(stack: str, classes: list[str]) -> list[tuple[str, float]]:
    phases = json.loads(python("-c", BREAKDOWN, stack, json.dumps(classes)).stdout)
    return [(str(label), float(seconds)) for label, seconds in phases]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="production",
                        help="stack to preview (default: production; all-options: every optional part on)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (at least 5; default 7)")
    parser.add_argument("--breakdown", action="store_true", help="also time the phases of one preview")
    parser.add_argument("--list", action="store_true", help="print the floor's classes")
    parser.add_argument("--diff-only", action="store_true", help="with --diff: time the diff only, not the floor")
    parser.add_argument("--diff", metavar="REF",
                        help=f"also time `make diff` against git REF (every stack) against one preview "
                             f"(target: at most {DIFF_TARGET}x)")
    args = parser.parse_args()
    runs = max(args.runs, 5)
    load = os.getloadavg()
    if args.diff and args.diff_only:
        return diff_report(args.stack, args.diff, runs, load)
    classes = registered_classes(args.stack)
    if args.list:
        print("\n".join(classes))
    floors, leans, previews = measure(args.stack, classes, runs)
    ratio = min(previews) / min(floors)
    print(f"load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load)}, "
          f"after {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores")
    print(f"floor   (python -c: import pulumi + the {len(classes)} classes the stack registers): "
          f"min {min(floors):.2f} s, median {statistics.median(floors):.2f} s over {runs} runs")
    print(f"preview (python -m offline preview --stack {args.stack}): "
          f"min {min(previews):.2f} s, median {statistics.median(previews):.2f} s over {runs} runs")
    medians = statistics.median(previews) / statistics.median(floors)
    print(f"ratio   {ratio:.2f}x the floor (minima; medians {medians:.2f}x)"
          f" (target: at most {TARGET}x) -> {'ok' if ratio <= TARGET else 'OVER'}")
    print(f"lean floor (the same with the collector treated as the runner treats it): min {min(leans):.2f} s, "
          f"median {statistics.median(leans):.2f} s; preview {min(previews) / min(leans):.2f}x it (minima; "
          f"medians {statistics.median(previews) / statistics.median(leans):.2f}x)")
    if args.diff:
        diff_report(args.stack, args.diff, runs, os.getloadavg())
    if args.breakdown:
        print("\none preview, phase by phase (one process):")
        for label, seconds in breakdown(args.stack, classes):
            print(f"  {seconds:6.2f} s  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
