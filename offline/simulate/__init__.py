"""Scaling simulator: what the HPA controller would do with the HPAs this program renders.

    from offline.simulate import Trace, simulate, summarize

    trace = Trace.from_points([0, 300, 1500], {"cpu": [350, 3300, 350], "memory": [300, 300, 300]})
    timeline = simulate(hpa, {"cpu": "500m", "memory": "512Mi"}, trace, pod_startup_s=15)
    print(summarize(timeline).lines())

See :mod:`offline.simulate.simulator` for what a sync does and :mod:`offline.simulate.controller`
for each rule and the controller function it mirrors.
"""

from .hpa import HpaSpec, SimulationError, parse_hpa
from .scenarios import SCENARIOS, scenario_trace
from .simulator import SyncRecord, Timeline, simulate
from .summary import Rise, Summary, summarize
from .trace import Trace, read_trace_csv

__all__ = [
    "SCENARIOS",
    "HpaSpec",
    "Rise",
    "SimulationError",
    "Summary",
    "SyncRecord",
    "Timeline",
    "Trace",
    "parse_hpa",
    "read_trace_csv",
    "scenario_trace",
    "simulate",
    "summarize",
]
