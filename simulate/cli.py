"""`python -m offline simulate`: replay the HPA controller against a load trace.

Exit codes: 0 simulated, 2 bad input (a one-line ``error:`` on stderr).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, NoReturn, TextIO

import yaml

from .hpa import SimulationError, parse_hpa
from .metrics import bind_gauges, parse_requests
from .pipeline import Pipeline
from .pods import Startup
from .scenarios import SCENARIOS, scenario_trace
from .simulator import Timeline, simulate
from .stack import Workload, load_workload
from .summary import summarize
from .trace import read_trace_csv

DEFAULT_POD_STARTUP_S = 30
# name: (default, default with --ideal-metrics or None when the flag is refused there)
DEFAULTS: dict[str, tuple[float, float | None]] = {
    "metric_resolution": (15.0, None),
    "scrape_offset": (-1.0, None),
    "kubelet_housekeeping": (10.0, None),
    "cpu_initialization_period": (300.0, None),
    "initial_readiness_delay": (30.0, None),
    "startup_usage": (0.0, None),
    "imbalance": (0.0, None),
    "scheduling_delay": (2.0, 0.0),
    "image_pull": (3.0, 0.0),
    "node_provisioning": (90.0, 90.0),
}

EPILOG = f"""\
trace CSV: a time_s column and one column per metric of the HPA holding the total demand across
all pods: cpu in millicores, memory in MiB, a Pods metric by its name (e.g. total requests/s).

timeline CSV (--out): one row per sync: time_s, replicas (set by the sync), ready_replicas (seen by
it), desired_replicas (the metrics' proposal before stabilization and policies), then per metric
<name>_utilization_pct or <name>_per_pod.

pod startup: a new pod is bound and started --scheduling-delay after the sync that creates it (after
a new node with --spare-pods), its containers run --image-pull later, and it is Ready --pod-startup
after that. --pod-startup with --stack: from the probes: readiness initialDelaySeconds, or the
startup probe's second check (initialDelaySeconds + periodSeconds) if later, plus one readiness
period. With --hpa: {DEFAULT_POD_STARTUP_S} s.

metrics pipeline: the kubelet refreshes each pod's CPU counter and memory every
--kubelet-housekeeping seconds; metrics-server scrapes them every --metric-resolution seconds and
serves CPU as the rate between its last two points; a new pod has no sample until then. The
controller ignores the CPU sample of a pod within --cpu-initialization-period of its start that is
not Ready or whose sample began before it turned Ready, and of a pod never Ready since
--initial-readiness-delay. --ideal-metrics turns all of this off: exact totals at each sync over
the Ready pods, scheduling and image pull 0 unless given (the simulator before the per-pod model).

report: "time to capacity" is the slowest rise over capacity, split into metrics, policy limit,
node provisioning, pod startup and sync, with the dominant step named.

scenarios (load in pods' worth at the HPA's targets; base = minReplicas/2, peak = maxReplicas - 0.5):
""" + "\n".join(f"  {name:<7} {s.description}" for name, s in SCENARIOS.items())


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        from offline.cli import with_stack_hint

        raise SimulationError(with_stack_hint(self, message))


MAX_SYNCS = 200_000
"""Most controller syncs one run may take (about 34 days at 15 s): longer runs are refused before
anything is simulated."""
MAX_COUNT = 100_000


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _whole(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number from 0 to {MAX_COUNT:,}")
    return int(text)


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number from 1 to {MAX_COUNT:,}")
    return int(text)


def _check_bounds(args: argparse.Namespace, trace_end_s: float) -> None:
    """Refuse a run longer than :data:`MAX_SYNCS` before it allocates anything."""
    if args.sync_period <= 0:
        raise SimulationError("--sync-period must be more than 0 seconds")
    end = trace_end_s if args.duration is None else args.duration
    syncs = math.floor(end / args.sync_period) + 1
    if syncs > MAX_SYNCS:
        raise SimulationError(
            f"{end:g} s at one sync every {args.sync_period:g} s is {syncs:,} syncs, more than the bound of "
            f"{MAX_SYNCS:,}: shorten --duration or lengthen --sync-period"
        )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        allow_abbrev=False,  # a typo such as --dur is an error, never a prefix of another option
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
        "--pod-startup",
        type=_seconds,
        metavar="SECONDS",
        help="seconds from a pod's containers running until it is Ready (default: from the stack's probes)",
    )
    pods = parser.add_argument_group("pod startup and nodes")
    pods.add_argument(
        "--scheduling-delay",
        type=_seconds,
        metavar="SECONDS",
        help="creation until bound and started by the kubelet (default: 2; 0 with --ideal-metrics)",
    )
    pods.add_argument(
        "--image-pull",
        type=_seconds,
        metavar="SECONDS",
        help="started until the containers run: image pull and container start (default: 3; 0 with --ideal-metrics)",
    )
    pods.add_argument(
        "--spare-pods",
        type=_whole,
        metavar="N",
        help="pods the existing nodes fit beyond the initial ones; more wait for a new node (default: no limit)",
    )
    pods.add_argument(
        "--node-provisioning",
        type=_seconds,
        metavar="SECONDS",
        help="with --spare-pods: how long a pod waits for a new node (default: 90)",
    )
    metrics = parser.add_argument_group("metrics pipeline")
    metrics.add_argument(
        "--metric-resolution",
        type=_seconds,
        metavar="SECONDS",
        help="metrics-server's scrape interval, at least 10 as metrics-server requires (default: 15)",
    )
    metrics.add_argument(
        "--scrape-offset",
        type=_seconds,
        metavar="SECONDS",
        help="when in each resolution period metrics-server scrapes (default: half-way); syncs are at multiples of "
        "--sync-period",
    )
    metrics.add_argument(
        "--kubelet-housekeeping",
        type=_seconds,
        metavar="SECONDS",
        help="how often the kubelet refreshes a pod's CPU and memory (default: 10)",
    )
    metrics.add_argument(
        "--cpu-initialization-period",
        type=_seconds,
        metavar="SECONDS",
        help="the controller's --horizontal-pod-autoscaler-cpu-initialization-period (default: 300)",
    )
    metrics.add_argument(
        "--initial-readiness-delay",
        type=_seconds,
        metavar="SECONDS",
        help="the controller's --horizontal-pod-autoscaler-initial-readiness-delay (default: 30)",
    )
    metrics.add_argument(
        "--startup-usage",
        type=_number,
        metavar="PERCENT",
        help="usage of a Running pod before it is Ready, in %% of one pod's share at the target (default: 0)",
    )
    metrics.add_argument(
        "--imbalance",
        type=_number,
        metavar="FRACTION",
        help="Ready pods alternately carry 1 + F and 1 - F shares of the demand (default: 0)",
    )
    metrics.add_argument(
        "--ideal-metrics",
        action="store_true",
        help="exact, instantaneous totals at each sync: no metrics pipeline (the simulator before the per-pod model)",
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


def _setting(args: argparse.Namespace, name: str) -> float:
    """A pipeline or startup flag's value, its default, or an error if it means nothing here."""
    value = getattr(args, name)
    default, ideal_default = DEFAULTS[name]
    if args.ideal_metrics:
        if ideal_default is None and value is not None:
            flag = "--" + name.replace("_", "-")
            raise SimulationError(f"{flag} has no effect with --ideal-metrics (there is no metrics pipeline)")
        default = ideal_default if ideal_default is not None else default
    return default if value is None else float(value)


def startup_and_pipeline(args: argparse.Namespace, probes_s: float) -> tuple[Startup, Pipeline | None]:
    """The pod startup and the metrics pipeline the flags ask for (no pipeline with --ideal-metrics)."""
    if args.node_provisioning is not None and args.spare_pods is None:
        raise SimulationError("--node-provisioning needs --spare-pods N (the room on the existing nodes)")
    startup = Startup(
        probes_s=probes_s,
        scheduling_s=_setting(args, "scheduling_delay"),
        image_pull_s=_setting(args, "image_pull"),
        node_provisioning_s=_setting(args, "node_provisioning"),
        spare_pods=args.spare_pods,
    )
    values = {name: _setting(args, name) for name in DEFAULTS}
    if args.ideal_metrics:
        return startup, None
    if values["kubelet_housekeeping"] <= 0:
        raise SimulationError("--kubelet-housekeeping must be more than 0 seconds")
    pipeline = Pipeline(
        resolution_s=values["metric_resolution"],
        scrape_offset_s=None if args.scrape_offset is None else values["scrape_offset"],
        housekeeping_s=values["kubelet_housekeeping"],
        cpu_initialization_period_s=values["cpu_initialization_period"],
        initial_readiness_delay_s=values["initial_readiness_delay"],
        startup_usage=values["startup_usage"] / 100,
        imbalance=values["imbalance"],
    )
    return startup, pipeline


def _workload(args: argparse.Namespace) -> tuple[str, Workload]:
    if args.stack is not None:
        return f"{args.stack}/{args.workload}", load_workload(args.stack, args.workload)
    return str(args.hpa), Workload(hpa=read_hpa_file(args.hpa), requests={}, pod_startup_s=DEFAULT_POD_STARTUP_S)


def _write(action: str, path: Path, write: Any) -> None:
    try:
        write(path)
    except OSError as exc:
        raise SimulationError(f"cannot write {action} {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace, out: TextIO, err: TextIO = sys.stderr) -> Timeline:
    """Simulate as the parsed arguments say, print the summary to ``out`` and write the files asked for."""
    _check_sources(args)
    label, workload = _workload(args)
    requests = {**workload.requests, **parse_requests(args.requests or "")}
    spec = parse_hpa(workload.hpa)
    warnings: list[str] = []  # printed after a successful run, so that an error stays one line
    if args.scenario is not None:
        trace = scenario_trace(args.scenario, bind_gauges(spec, requests), spec.min_replicas, spec.max_replicas)
    else:
        trace = read_trace_csv(args.trace, [m.name for m in spec.metrics], warn=warnings.append)
    _check_bounds(args, trace.end_s)
    probes = workload.pod_startup_s if args.pod_startup is None else args.pod_startup
    startup, pipeline = startup_and_pipeline(args, probes)
    timeline = simulate(
        workload.hpa,
        requests,
        trace,
        startup=startup,
        pipeline=pipeline,
        initial_replicas=args.initial_replicas,
        sync_period_s=args.sync_period,
        duration_s=args.duration,
    )
    source = f"scenario {args.scenario}" if args.scenario else f"trace {args.trace}"
    print(
        f"{label} against {source}: {len(timeline.rows)} syncs every {args.sync_period:g} s, "
        f"replicas {spec.min_replicas}..{spec.max_replicas}, pod startup {_startup_text(startup)}",
        file=out,
    )
    print(f"metrics: {_pipeline_text(pipeline)}", file=out)
    print("\n".join(summarize(timeline).lines()), file=out)
    if args.out is not None:
        _write("timeline", args.out, timeline.write_csv)
        print(f"timeline: {args.out}", file=out)
    if args.plot is not None:
        from .plot import plot_timeline

        _write("plot", args.plot, lambda path: plot_timeline(timeline, path, f"{label}: {source}"))
        print(f"plot: {args.plot}", file=out)
    for warning in warnings:
        print(f"warning: {warning}", file=err)
    return timeline


def _startup_text(startup: Startup) -> str:
    if startup.scheduling_s == startup.image_pull_s == 0 and startup.spare_pods is None:
        return f"{startup.probes_s:g} s"
    text = (
        f"{startup.total_s:g} s (scheduling {startup.scheduling_s:g} + image pull {startup.image_pull_s:g} "
        f"+ probes {startup.probes_s:g})"
    )
    if startup.spare_pods is not None:
        text += f", room for {startup.spare_pods} more pods, then {startup.node_provisioning_s:g} s per new node"
    return text


def _pipeline_text(pipeline: Pipeline | None) -> str:
    if pipeline is None:
        return "ideal (exact totals at each sync)"
    text = (
        f"metrics-server every {pipeline.resolution_s:g} s, kubelet every {pipeline.housekeeping_s:g} s, "
        f"cpu initialization {pipeline.cpu_initialization_period_s:g} s, "
        f"initial readiness delay {pipeline.initial_readiness_delay_s:g} s"
    )
    if pipeline.startup_usage:
        text += f", startup usage {pipeline.startup_usage * 100:g} %"
    if pipeline.imbalance:
        text += f", imbalance {pipeline.imbalance:g}"
    return text


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        run(_parser().parse_args(argv), out, err)
    except SimulationError as exc:
        print(f"error: {exc}", file=err)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    return 0
