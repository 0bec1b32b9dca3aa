"""`python -m offline simulate`: replay the HPA controller against a load trace.

Exit codes: 0 simulated, 2 bad input (a one-line ``error:`` on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn, TextIO

import yaml

from .hpa import SimulationError, parse_hpa
from .metrics import bind_gauges, parse_requests
from .scenarios import SCENARIOS, scenario_trace
from .simulator import Timeline, simulate
from .stack import Workload, load_workload
from .summary import summarize
from .trace import read_trace_csv

DEFAULT_POD_STARTUP_S = 30

EPILOG = f"""\
trace CSV: a time_s column and one column per metric of the HPA holding the total demand across
all pods: cpu in millicores, memory in MiB, a Pods metric by its name (e.g. total requests/s).

timeline CSV (--out): one row per sync: time_s, replicas (set by the sync), ready_replicas (seen by
it), desired_replicas (the metrics' proposal before stabilization and policies), then per metric
<name>_utilization_pct or <name>_per_pod.

pod startup: with --stack, estimated from the probes: readiness initialDelaySeconds, or the startup
probe's second check (initialDelaySeconds + periodSeconds) if later, plus one readiness period
(image pulls and scheduling not included). With --hpa: {DEFAULT_POD_STARTUP_S} s. 0: ready at the next sync.

scenarios (load in pods' worth at the HPA's targets; base = minReplicas/2, peak = maxReplicas - 0.5):
""" + "\n".join(f"  {name:<7} {s.description}" for name, s in SCENARIOS.items())


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise SimulationError(message)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of at least 1")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m offline simulate",
        description="Replay the Kubernetes HPA controller on an HPA against a load trace.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--hpa", type=Path, metavar="HPA.yaml", help="an autoscaling/v2 HorizontalPodAutoscaler (YAML or JSON)"
    )
    parser.add_argument("--stack", help="take the HPA and requests from this stack's rendered objects")
    parser.add_argument("--workload", metavar="NAME", help="with --stack: backend or frontend")
    parser.add_argument("--trace", type=Path, metavar="TRACE.csv", help="load trace CSV")
    parser.add_argument(
        "--scenario", choices=sorted(SCENARIOS), metavar="NAME", help=f"a built-in trace: {', '.join(SCENARIOS)}"
    )
    parser.add_argument(
        "--requests", metavar="cpu=500m,memory=512Mi", help="one pod's requests (overrides the stack's)"
    )
    parser.add_argument(
        "--initial-replicas", type=_count, metavar="N", help="pods at t = 0, all ready (default: minReplicas)"
    )
    parser.add_argument(
        "--pod-startup", type=_seconds, metavar="SECONDS", help="seconds from creation until a pod is ready"
    )
    parser.add_argument(
        "--sync-period", type=_seconds, default=15.0, metavar="SECONDS", help="controller sync period (default: 15)"
    )
    parser.add_argument(
        "--duration", type=_seconds, metavar="SECONDS", help="seconds to simulate (default: the trace's last time)"
    )
    parser.add_argument("--out", type=Path, metavar="TIMELINE.csv", help="write the timeline CSV here")
    parser.add_argument(
        "--plot", type=Path, metavar="PLOT.png", help="write a PNG of demand, capacity and replicas here"
    )
    return parser


def _check_sources(args: argparse.Namespace) -> None:
    if (args.hpa is None) == (args.stack is None):
        raise SimulationError("give either --hpa FILE or --stack STACK --workload NAME")
    if (args.stack is None) != (args.workload is None):
        raise SimulationError("--stack and --workload go together")
    if (args.trace is None) == (args.scenario is None):
        raise SimulationError("give either --trace FILE or --scenario NAME")


def read_hpa_file(path: Path) -> dict[str, Any]:
    """The one HorizontalPodAutoscaler in a YAML (or JSON) file."""
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except OSError as exc:
        raise SimulationError(f"cannot read HPA file {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0]
        raise SimulationError(f"HPA file {path} is not valid YAML: {reason}") from None
    hpas = [d for d in documents if isinstance(d, dict) and d.get("kind") == "HorizontalPodAutoscaler"]
    if len(hpas) != 1:
        raise SimulationError(f"HPA file {path} must hold one HorizontalPodAutoscaler, found {len(hpas)}")
    return hpas[0]


def _workload(args: argparse.Namespace) -> tuple[str, Workload]:
    if args.stack is not None:
        return f"{args.stack}/{args.workload}", load_workload(args.stack, args.workload)
    return str(args.hpa), Workload(hpa=read_hpa_file(args.hpa), requests={}, pod_startup_s=DEFAULT_POD_STARTUP_S)


def _write(action: str, path: Path, write: Any) -> None:
    try:
        write(path)
    except OSError as exc:
        raise SimulationError(f"cannot write {action} {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace, out: TextIO) -> Timeline:
    """Simulate as the parsed arguments say, print the summary to ``out`` and write the files asked for."""
    _check_sources(args)
    label, workload = _workload(args)
    requests = {**workload.requests, **parse_requests(args.requests or "")}
    spec = parse_hpa(workload.hpa)
    if args.scenario is not None:
        trace = scenario_trace(args.scenario, bind_gauges(spec, requests), spec.min_replicas, spec.max_replicas)
    else:
        trace = read_trace_csv(args.trace, [m.name for m in spec.metrics])
    startup = workload.pod_startup_s if args.pod_startup is None else args.pod_startup
    timeline = simulate(
        workload.hpa,
        requests,
        trace,
        pod_startup_s=startup,
        initial_replicas=args.initial_replicas,
        sync_period_s=args.sync_period,
        duration_s=args.duration,
    )
    source = f"scenario {args.scenario}" if args.scenario else f"trace {args.trace}"
    print(
        f"{label} against {source}: {len(timeline.rows)} syncs every {args.sync_period:g} s, "
        f"replicas {spec.min_replicas}..{spec.max_replicas}, pod startup {startup:g} s",
        file=out,
    )
    print("\n".join(summarize(timeline).lines()), file=out)
    if args.out is not None:
        _write("timeline", args.out, timeline.write_csv)
        print(f"timeline: {args.out}", file=out)
    if args.plot is not None:
        from .plot import plot_timeline

        _write("plot", args.plot, lambda path: plot_timeline(timeline, path, f"{label}: {source}"))
        print(f"plot: {args.plot}", file=out)
    return timeline


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        run(_parser().parse_args(argv), out)
    except SimulationError as exc:
        print(f"error: {exc}", file=err)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    return 0
