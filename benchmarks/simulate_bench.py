"""How long the scaling simulator takes for a day: `python benchmarks/simulate_bench.py`.

One workload (production's backend HPA, requests and probes, rendered by the offline runner; not
timed), a 24-hour trace with a row every 15 s (a daily cycle with deterministic noise), synced
every 15 s: 5761 syncs. Prints the best and the median of a few runs of simulate + summarize, for
the per-pod model with the default metrics pipeline and pod startup (the CLI's defaults: 5761
metrics-server scrapes, a kubelet point per pod per scrape) and for ``--ideal-metrics``.
Target: under one second for the per-pod model. On a shared machine the wall time depends on the
load; the CPU time (``time.process_time``) is the work itself.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from simulate import Trace, simulate, summarize  # noqa: E402
from simulate.pipeline import Pipeline  # noqa: E402
from simulate.pods import Startup  # noqa: E402
from simulate.stack import load_workload  # noqa: E402

DAY_S = 86_400
STEP_S = 15
RUNS = 7


def daily_trace(seed: int = 6) -> Trace:
    """CPU between 1 and 9 pods' worth of 350 millicores, memory flatter, both with 10 % noise."""
    rng = random.Random(seed)
    times = range(0, DAY_S + 1, STEP_S)
    load = [5 - 4 * math.cos(2 * math.pi * t / DAY_S) for t in times]
    cpu = [350 * x * rng.uniform(0.9, 1.1) for x in load]
    memory = [410 * (2 + x / 2) * rng.uniform(0.9, 1.1) for x in load]
    return Trace.from_points(times, {"cpu": cpu, "memory": memory})


def main() -> int:
    workload = load_workload("production", "backend")
    trace = daily_trace()
    modes: dict[str, dict[str, Any]] = {
        "per-pod model": {
            "startup": Startup(probes_s=workload.pod_startup_s, scheduling_s=2, image_pull_s=3),
            "pipeline": Pipeline(),
        },
        "--ideal-metrics": {"pod_startup_s": workload.pod_startup_s},
    }
    for mode, options in modes.items():
        seconds, cpu = [], []
        for _ in range(RUNS):
            start, start_cpu = time.perf_counter(), time.process_time()
            timeline = simulate(workload.hpa, workload.requests, trace, **options)
            summary = summarize(timeline)
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(
            f"{mode}: simulate + summarize, 24 h at {STEP_S} s syncs ({len(timeline.rows)} syncs, one workload): "
            f"wall best {min(seconds) * 1000:.1f} ms, median {statistics.median(seconds) * 1000:.1f} ms; "
            f"CPU median {statistics.median(cpu) * 1000:.1f} ms over {RUNS} runs"
        )
        print(f"  peak replicas {summary.peak_replicas}, pod-hours {summary.pod_hours:.1f}, {len(summary.rises)} rises")
    return 0


if __name__ == "__main__":
    sys.exit(main())
