"""Scaling simulator: what the HPA controller would do with the HPAs this program renders.

    from simulate import Trace, simulate, summarize

    trace = Trace.from_points([0, 300, 1500], {"cpu": [350, 3300, 350], "memory": [300, 300, 300]})
    startup = Startup(probes_s=15, scheduling_s=2, image_pull_s=3)
    timeline = simulate(hpa, {"cpu": "500m", "memory": "512Mi"}, trace, startup=startup, pipeline=Pipeline())
    print(summarize(timeline).lines())

See :mod:`simulate.simulator` for what a sync does, :mod:`simulate.controller`
for each rule and the controller function it mirrors, :mod:`simulate.pipeline` for the
kubelet and metrics-server, :mod:`simulate.pods` for a pod's start. Without ``pipeline``
the controller reads exact totals (the CLI's ``--ideal-metrics``).
"""

from .hpa import HpaSpec, SimulationError, parse_hpa
from .pipeline import Pipeline
from .pods import Startup
from .scenarios import SCENARIOS, scenario_trace
from .simulator import SyncRecord, Timeline, simulate
from .summary import Rise, Summary, summarize
from .trace import Trace, read_trace_csv

__all__ = [
    "SCENARIOS",
    "HpaSpec",
    "Pipeline",
    "Rise",
    "SimulationError",
    "Startup",
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
