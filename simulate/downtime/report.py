"""What the docs show of the model: a drain table per kind of pod (each instant at the low and the high
end of every delay) and a timeline picture of one scenario (pods, endpoints, targets, sockets).

Both come from runs of the model on a stack (``python -m tooling docs`` writes them into
docs/traffic.md); matplotlib is imported inside :func:`plot` with the Agg backend, and the PNG
carries no version or time, so the same run gives the same bytes.
``python -m tooling docs`` draws :func:`plot` for a node drain on the production stack.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from config.delays import DELAYS

from ..pods import NEVER, Pod
from .model import Corner, Sim, Target
from .properties import receiving, socket_closes
from .scenarios import SCENARIOS, new_sim
from .search import discover
from .topology import Topology


def run_at(topology: Topology, scenario: str, end: str) -> Sim:
    """``scenario`` with every delay it reads at its ``end`` ("low" or "high")."""
    names = discover(topology, SCENARIOS[scenario], "")
    return new_sim(topology, SCENARIOS[scenario], Corner({n: getattr(DELAYS[n], end) for n in names}))


def closed_shares(sim: Sim) -> dict[str, float]:
    """The share of the sockets open at t = 0 that each closer ends early: "app" (with a close frame,
    between SIGTERM and SIGKILL), "load balancer" (at the end of a target's drain), "other" (what
    websocket-budget refuses: a reload, a proxy's own timeout, a SIGKILL)."""
    closes, total = socket_closes(sim)
    shares = {"app": 0.0, "load balancer": 0.0, "other": 0.0}
    for close in closes:
        who = "app" if close.cause.startswith("closed by the app") else (
            "load balancer" if close.cause.startswith("closed by the load balancer") else "other")
        shares[who] += close.share / total if total else 0.0
    return shares


def _seconds(low: float, high: float) -> str:
    def number(value: float) -> str:
        return f"{value:.1f}".rstrip("0").rstrip(".")

    return number(low) if abs(high - low) < 0.05 else f"{number(low)}–{number(high)}"


def _moments(sim: Sim, pod: Pod) -> list[tuple[str, float]]:
    """What happens to ``pod`` from its deletion on, in the run's words, with its instant."""
    found = [(e.what, e.t) for e in sim.events if e.objects == (pod.name,) and e.t >= pod.deleted]
    proxies = [p for p in sim.proxies.values() if p.pod.deleted == NEVER]
    if pod.name in sim.proxies:
        proxy = sim.proxies[pod.name]
        backend = sim.backends[proxy.fleet.backend or ""]
        _, accepted = receiving(sim, proxy)
        found.append(("last new request taken", accepted))
        exits = backend.exit(sim, proxy, accepted)
        found.append(("process exits (its connections closed by the load balancer)", exits))
    elif proxies:
        dropped = max(sim.view(p, pod)[1] for p in proxies)
        found.append(("every proxy replica has dropped it from its upstreams", dropped))
        closes = [c.t for c in socket_closes(sim)[0] if c.app == pod.name]
        if closes:
            found.append(("its WebSockets closed by the app, with a close frame", min(closes)))
    return found


def drain_table(low: Sim, high: Sim, pod: str) -> str:
    """A Markdown table of one deleted pod's drain: each moment at the low and high end of the delays."""
    by_name = {p.name: p for pods in low.pods.values() for p in pods}
    high_pods = {p.name: p for pods in high.pods.values() for p in pods}
    early, late = _moments(low, by_name[pod]), dict(_moments(high, high_pods[pod]))
    rows = ["| t (s) | What happens |", "|---|---|"]
    for what, t in sorted(early, key=lambda m: (m[1], late.get(m[0], m[1]))):
        rows.append(f"| {_seconds(t, late.get(what, t))} | {what} |")
    return "\n".join(rows) + "\n"


# --- The picture ------------------------------------------------------------------------------------


COLOURS = {
    "starting": "#c9c9c9",
    "serving": "#4c9f70",
    "preStop / serving, told to stop": "#e3b23c",
    "stopping (after SIGTERM, or nginx quit)": "#d1603d",
    "initial": "#c9c9c9",
    "healthy": "#4c9f70",
    "draining": "#e3b23c",
    "unhealthy": "#a23b72",
}


def _pod_bars(sim: Sim, pod: Pod, horizon: float) -> list[tuple[float, float, str]]:
    proxy = sim.proxies.get(pod.name)
    ready = sim.containers_ready.get(pod.name, pod.ready)
    stop_serving, ends_at = pod.sigterm, pod.sigkill  # an app pod: SIGTERM, then at most its grace period
    if proxy is not None and math.isfinite(pod.deleted):
        backend = sim.backends[proxy.fleet.backend or ""]
        _, accepted = receiving(sim, proxy)
        ends_at = backend.exit(sim, proxy, accepted)
        stop_serving = min(proxy.quit, ends_at)
    ends = [
        (max(0.0, pod.created), min(ready, pod.deleted), "starting"),
        (max(0.0, ready), pod.deleted, "serving"),
        (pod.deleted, stop_serving, "preStop / serving, told to stop"),
        (stop_serving, ends_at, "stopping (after SIGTERM, or nginx quit)"),
    ]
    return [(a, min(b, horizon), kind) for a, b, kind in ends if a < min(b, horizon)]


def _target_bars(target: Target, horizon: float) -> list[tuple[float, float, str]]:
    ends = [
        (target.registered, target.healthy, "initial"),
        (target.healthy, min(target.deregistered, target.unhealthy), "healthy"),
        (target.unhealthy, target.deregistered, "unhealthy"),
        (target.deregistered, target.drain_end, "draining"),
    ]
    return [(max(0.0, a), min(b, horizon), k) for a, b, k in ends if max(0.0, a) < min(b, horizon)]


def plot(sim: Sim, path: Path, title: str = "", horizon: float = 130.0) -> None:
    """Pods, ready endpoints, targets and open sockets of one run on one time axis, as a PNG."""
    from matplotlib import pyplot

    figure = timeline_figure(sim, title, horizon)
    # No "Software" entry (it names the matplotlib version): the same run gives the same bytes.
    figure.savefig(path, format="png", metadata={"Software": None})
    pyplot.close(figure)


def timeline_figure(sim: Sim, title: str = "", horizon: float = 130.0) -> Any:
    """The picture's figure: four panels on one time axis, from 0 to ``horizon`` seconds."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.patches import Patch

    pods = [p for pods in sim.pods.values() for p in pods]
    targets = list(sim.targets.values())
    figure, (top, middle, bottom, sockets) = pyplot.subplots(
        4, 1, sharex=True, figsize=(11, 11), gridspec_kw={"height_ratios": [len(pods), 2.2, max(1, len(targets)), 2]}
    )
    for row, pod in enumerate(reversed(pods)):
        for start, end, kind in _pod_bars(sim, pod, horizon):
            top.broken_barh([(start, end - start)], (row - 0.4, 0.8), color=COLOURS[kind])
    top.set_yticks(range(len(pods)), [p.name for p in reversed(pods)], fontsize=8)
    top.set_title("pods")
    top.legend(handles=[Patch(color=COLOURS[k], label=k) for k in list(COLOURS)[:4]], fontsize=7, loc="upper right")

    k = sim.delay("k8s.endpoints")
    times = sorted({0.0, horizon, *(t + k for p in pods for t in (p.ready, p.deleted) if 0 <= t + k <= horizon)})
    for offset, fleet in enumerate(sim.fleets()):
        counts = []
        for t in times:
            counts.append(sum(1 for p in sim.pods[fleet.name] if sim.endpoint_ready(p, t + 1e-9)) + 0.06 * offset)
        middle.step(times, counts, where="post", label=fleet.name)
    middle.set_yticks(range(0, max(f.replicas for f in sim.fleets()) + 2))
    middle.set_title("ready endpoints (each fleet's line a little above the last, where they meet)")
    middle.legend(fontsize=7, loc="lower right")

    for row, target in enumerate(reversed(targets)):
        for start, end, kind in _target_bars(target, horizon):
            bottom.broken_barh([(start, end - start)], (row - 0.4, 0.8), color=COLOURS[kind])
    bottom.set_yticks(range(len(targets)), [f"{t.pod} ({t.backend})" for t in reversed(targets)], fontsize=8)
    bottom.set_title("load balancer targets")
    bottom.legend(handles=[Patch(color=COLOURS[k], label=k) for k in list(COLOURS)[4:]], fontsize=7,
                  loc="upper right")

    closes, total = socket_closes(sim)
    instants = sorted({0.0, horizon, *(c.t for c in closes if c.t <= horizon)})
    share = [100 * (1 - sum(c.share for c in closes if c.t <= t) / total) if total else 100.0 for t in instants]
    sockets.step(instants, share, where="post", color="#2f5d8a")
    sockets.set_ylim(0, 105)
    sockets.set_ylabel("% open")
    sockets.set_title("WebSockets open at t = 0 and still open (%): the closed ones reconnect elsewhere")
    sockets.set_xlabel("seconds")
    sockets.set_xlim(0, horizon)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
