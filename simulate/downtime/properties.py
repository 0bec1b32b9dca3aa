"""The properties every scenario must hold, each read off one run's timeline. A property returns the
violations it finds, each with the instant and the objects involved; none means it holds.

Requests are not simulated one by one: a request can arrive at any instant a proxy takes new
requests and routes to a pod, so each property compares the windows the model computes (a proxy's
view of a pod, the load balancer's traffic to a proxy, a pod's signals) at their edges. A request
lasts at most its route's timeout (the read timeout nginx waits for the app; Envoy's request
timeout). WebSockets are cohorts: on each (proxy, app pod) pair sockets open at a steady rate while
the pair carries traffic, and each socket is owed its route's budget (the WebSocket route's timeout,
which the model also takes as the longest a client keeps one socket).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from config.delays import RECONNECT_WINDOW_SECONDS

from ..pods import LONG_AGO, NEVER, Pod
from .model import Proxy, Sim, at
from .topology import Route


@dataclass(frozen=True)
class Violation:
    t: float
    text: str


def _s(value: float) -> str:
    """An instant in a sentence: ``12.3 s``, or ``never``."""
    return at(value).removeprefix("t=") if math.isfinite(value) else "never"


def _routes_to(sim: Sim, fleet: str) -> list[Route]:
    return [r for r in sim.topology.routes if fleet in r.fleets]


def _timeout(sim: Sim, fleet: str, backend: str) -> tuple[float, str]:
    """The longest request the backend lets run to this app fleet, and the route that allows it."""
    key = ("timeout", fleet, backend)
    if key not in sim.memo:
        sim.memo[key] = _longest(sim, fleet, backend)
    return sim.memo[key]


def _longest(sim: Sim, fleet: str, backend: str) -> tuple[float, str]:
    routes = _routes_to(sim, fleet)
    found = [(r.timeout_s[backend], r.name) for r in routes if not r.websocket and backend in r.timeout_s]
    return max(found) if found else (0.0, "")


def _positive_weight(sim: Sim, backend: str, start: float, end: float) -> tuple[float, float]:
    """The part of [start, end) during which the listener sends the backend any traffic."""
    spans, current, since = [], 0, LONG_AGO
    for t, weights in [*sim.weights, (NEVER, {})]:
        if current > 0:
            spans.append((since, t))
        current, since = weights.get(backend, 0), t
    inside = [(max(a, start), min(b, end)) for a, b in spans if max(a, start) < min(b, end)]
    if not inside:
        return NEVER, NEVER
    return inside[0][0], inside[-1][1]


def receiving(sim: Sim, proxy: Proxy) -> tuple[float, float]:
    """When the proxy takes new requests, and its backend gets any traffic."""
    key = ("receiving", proxy.pod.name)
    if key not in sim.memo:
        start, end = sim.receives(proxy)
        sim.memo[key] = _positive_weight(sim, proxy.fleet.backend or "", start, end)
    return sim.memo[key]


def _app_pods(sim: Sim) -> list[Pod]:
    return [p for f in sim.fleets("app") for p in sim.pods[f.name]]


def lb_sends_until(sim: Sim, proxy: Proxy) -> float:
    target = sim.targets[proxy.pod.name]
    return min(target.stop_new, target.unhealthy, sim.group_deleted.get(target.backend, NEVER))


# --- no-request-after-sigterm -------------------------------------------------------------------


def no_request_after_sigterm(sim: Sim) -> list[Violation]:
    found = []
    for proxy in sim.proxies.values():
        start, end = receiving(sim, proxy)
        for app in _app_pods(sim):
            if not math.isfinite(app.sigterm):
                continue
            added, removed = sim.view(proxy, app)
            first, last = max(start, added, app.sigterm), min(end, removed)
            if first < last:
                if removed == NEVER and math.isfinite(proxy.frozen):
                    why = f"its upstreams frozen since {_s(proxy.frozen)}, when it was told to stop"
                else:
                    why = f"it drops the pod at {_s(removed)}"
                found.append(Violation(first, (
                    f"{at(first)}: {proxy.pod.name} still sends new requests to {app.name}, which got SIGTERM at "
                    f"{_s(app.sigterm)} ({why}; the load balancer sends it new requests until {_s(end)})"
                )))
        stops = proxy.quit if proxy.fleet.backend == "nginx" else sim.backends["envoy"].exit(sim, proxy, NEVER)
        sends = lb_sends_until(sim, proxy)
        carried = _positive_weight(sim, proxy.fleet.backend or "", stops, sends)[0] < NEVER
        if math.isfinite(stops) and sends > stops and carried:
            what = "nginx quit" if proxy.fleet.backend == "nginx" else "Envoy exited"
            found.append(Violation(stops, (
                f"{at(stops)}: {what} on {proxy.pod.name}, but the load balancer sends it new "
                f"{'connections' if sim.topology.load_balancer == 'network' else 'requests'} until {_s(sends)}"
            )))
    return found


# --- requests-finish-before-sigkill -------------------------------------------------------------


def requests_finish_before_sigkill(sim: Sim) -> list[Violation]:
    found = []
    for app in _app_pods(sim):
        if not math.isfinite(app.sigkill):
            continue
        fleet = sim.fleet_of[app.name].name
        for proxy in sim.proxies.values():
            start, end = receiving(sim, proxy)
            added, removed = sim.view(proxy, app)
            last = min(end, removed, app.sigterm)
            if max(start, added) >= last:
                continue
            timeout, route = _timeout(sim, fleet, proxy.fleet.backend or "")
            if last + timeout > app.sigkill:
                found.append(Violation(app.sigkill, (
                    f"{at(app.sigkill)}: {app.name} is killed while a request it took at {_s(last)} through "
                    f"{proxy.pod.name} may run until {_s(last + timeout)} (route {route} allows {timeout:g} s)"
                )))
    for proxy in sim.proxies.values():
        backend = proxy.fleet.backend or ""
        timeout, route = max(
            [(_timeout(sim, f.name, backend)[0], _timeout(sim, f.name, backend)[1]) for f in sim.fleets("app")]
        )
        if math.isfinite(proxy.pod.deleted):
            start, end = receiving(sim, proxy)
            if start < end:
                target = sim.targets[proxy.pod.name]
                cut = min(sim.lb_cut(target), proxy.cut, proxy.pod.sigkill, sim.group_deleted.get(backend, NEVER))
                if end + timeout > cut:
                    found.append(Violation(cut, (
                        f"{at(cut)}: {proxy.pod.name}'s connections are cut while a request it took at {_s(end)} "
                        f"may run until {_s(end + timeout)} (route {route} allows {timeout:g} s)"
                    )))
        for reload in proxy.reloads:
            if timeout > proxy.fleet.drain_s:
                cut = reload + proxy.fleet.drain_s
                found.append(Violation(cut, (
                    f"{at(cut)}: the old nginx workers of {proxy.pod.name} (reloaded at {_s(reload)}) close their "
                    f"connections after worker-shutdown-timeout ({proxy.fleet.drain_s:g} s) while a request taken "
                    f"before the reload may run {timeout:g} s (route {route})"
                )))
    return found


# --- healthy-target-always ----------------------------------------------------------------------


def healthy_target_always(sim: Sim) -> list[Violation]:
    found = []
    for backend in sim.topology.target_groups:
        targets = [t for t in sim.targets.values() if t.backend == backend]
        deleted = sim.group_deleted.get(backend, NEVER)
        edges = sorted({0.0, *(
            e for t in targets for e in (t.healthy, t.deregistered, t.unhealthy, t.registered) if 0 <= e < deleted
        )})
        for instant in edges:
            if sim.weight(backend, instant) == 0 or instant >= sim.horizon:
                continue
            if any(t.is_healthy(instant) for t in targets):
                continue
            later = [e for e in edges if e > instant and any(t.is_healthy(e) for t in targets)]
            until = _s(later[0]) if later else "the end of the run"
            states = ", ".join(f"{t.pod}: {_state(t, instant)}" for t in targets if t.registered <= instant)
            # "If a target group contains only unhealthy registered targets, the load balancer routes
            # requests to all those targets" (awsdocs/elb-application-load-balancers-user-guide,
            # doc_source/target-group-health-checks.md @ a8afdcaf): draining and gone targets are not
            # registered any more; a target still in `initial` is, and is not unhealthy.
            registered = [_state(t, instant) for t in targets if t.registered <= instant < t.deregistered]
            open_fail = bool(registered) and all(state == "unhealthy" for state in registered)
            found.append(Violation(instant, (
                f"{at(instant)}: target group {backend} has no healthy target until {until} ({states or 'no targets'})"
                + ("; the ALB fails open to every target" if open_fail and sim.topology.load_balancer == "application"
                   and states else "")
            )))
            break
    return found


def _state(target: object, t: float) -> str:
    from .model import Target

    assert isinstance(target, Target)
    if t < target.registered:
        return "unused"
    if target.deregistered <= t:
        return "draining" if t < target.drain_end else "unused"
    if target.unhealthy <= t:
        return "unhealthy"
    return "healthy" if target.healthy <= t else "initial"


# --- ready-endpoints-within-budget --------------------------------------------------------------


def ready_endpoints_within_budget(sim: Sim, scale_down: bool = False) -> list[Violation]:
    found = [
        Violation(since, (
            f"{at(since)}: the PodDisruptionBudget of {sim.fleet_of[pod].name} never lets the drain evict {pod} "
            f"(minAvailable {sim.fleet_of[pod].min_available} of {sim.fleet_of[pod].replicas} pods): the node "
            "cannot be drained"
        ))
        for pod, since in sim.blocked
    ]
    k = sim.delay("k8s.endpoints")
    for fleet in sim.fleets():
        bound = fleet.replicas if scale_down else fleet.min_available
        if bound is None:
            continue
        pods = sim.pods[fleet.name]
        edges = sorted({0.0, *(e for p in pods for e in (p.ready + k, p.deleted + k) if 0 <= e < NEVER)})
        for instant in edges:
            if instant >= sim.retired.get(fleet.name, NEVER):
                break
            ready = [p.name for p in pods if sim.endpoint_ready(p, instant)]
            if len(ready) < bound:
                what = ("the HPA's target (the PodDisruptionBudget does not apply to a scale-down)"
                        if scale_down else "the PodDisruptionBudget's minAvailable")
                found.append(Violation(instant, (
                    f"{at(instant)}: {fleet.name} has {len(ready)} ready endpoints ({', '.join(ready) or 'none'}), "
                    f"below {what}, {bound}"
                )))
                break
    return found


# --- readiness-gate-on-every-target -------------------------------------------------------------


def readiness_gate_on_every_target(sim: Sim) -> list[Violation]:
    found = []
    for target in sim.targets.values():
        if target.gated or target.registered == NEVER:
            continue
        fleet = sim.fleet_of[target.pod]
        pod = next(p for p in sim.pods[fleet.name] if p.name == target.pod)
        if not fleet.gate_label:
            why = "its namespace lacks the elbv2.k8s.aws/pod-readiness-gate-inject label"
        elif pod.created == LONG_AGO:
            why = fleet.install_order
        else:
            why = "created while the readiness-gate webhook was down (its failurePolicy Ignore let the pod through)"
        instant = max(0.0, target.registered)
        found.append(Violation(instant, (
            f"{at(instant)}: {target.pod} is a target of {target.backend} without the target-health readiness "
            f"gate: {why}"
        )))
    return found


# --- websocket-budget ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Close:
    t: float
    share: float
    cause: str
    allowed: bool
    proxy: str
    app: str


def socket_closes(sim: Sim) -> tuple[list[Close], float]:
    """Every close of sockets still owed their budget, and the sockets' total (the share's base)."""
    closes: list[Close] = []
    total = 0.0
    for route in sim.topology.routes:
        budget = route.socket_budget_s
        if not route.websocket or budget <= 0:
            continue
        for proxy in sim.proxies.values():
            start, end = receiving(sim, proxy)
            target = sim.targets[proxy.pod.name]
            backend = proxy.fleet.backend or ""
            for app in [p for f in route.fleets for p in sim.pods[f]]:
                added, removed = sim.view(proxy, app)
                opened_from, opened_to = max(start, added, -budget), min(end, removed, app.sigterm)
                if opened_from >= opened_to:
                    continue
                if opened_from <= -budget + 1e-9:
                    total += 1.0
                # A reload hands the sockets open so far to the old workers, which cut them
                # worker-shutdown-timeout later; one after the last opened still cuts those.
                pieces, since, last_cut = [], opened_from, NEVER
                for reload in sorted(r for r in proxy.reloads if r > since):
                    if reload >= opened_to:
                        last_cut = reload + proxy.fleet.drain_s
                        break
                    pieces.append((since, reload, reload + proxy.fleet.drain_s))
                    since = reload
                pieces.append((since, opened_to, last_cut))
                graceful = app.sigterm + sim.delay("app.socket_close") if math.isfinite(app.sigterm) else NEVER
                for lo, hi, reload_cut in pieces:
                    causes = [
                        (graceful, "closed by the app (close frame)", True) if graceful < app.sigkill
                        else (app.sigkill, "killed with the app pod (SIGKILL, no close frame)", False),
                        (sim.lb_cut(target), "closed by the load balancer at the end of the target's drain", True),
                        (proxy.cut, f"cut by {proxy.pod.name}'s own drain timeout", False),
                        (proxy.pod.sigkill, f"killed with {proxy.pod.name} (SIGKILL)", False),
                        (reload_cut, f"cut by the old nginx workers {proxy.fleet.drain_s:g} s after a reload", False),
                        (sim.group_deleted.get(backend, NEVER), f"cut when target group {backend} is deleted", False),
                    ]
                    closed, cause, allowed = min(causes, key=lambda c: c[0])
                    if not math.isfinite(closed):
                        continue
                    owed_from, owed_to = max(lo, closed - budget), min(hi, closed)
                    if owed_to > owed_from + 1e-9:  # a socket owed no more than rounding has had its budget
                        share = (owed_to - owed_from) / budget
                        closes.append(Close(closed, share, cause, allowed, proxy.pod.name, app.name))
    return closes, total


def websocket_budget(sim: Sim) -> list[Violation]:
    closes, total = socket_closes(sim)
    found = []
    for close in sorted(closes, key=lambda c: c.t):
        if not close.allowed:
            found.append(Violation(close.t, (
                f"{at(close.t)}: sockets {close.proxy} → {close.app} {close.cause}, before their budget"
            )))
            break
    if total > 0:
        # The reconnect-storm bound: at most the share one replica holds (of the socket routes' app
        # fleet or of a proxy fleet, at its minimum) closed before their budget in any reconnect window.
        sockets = {f for r in sim.topology.routes if r.websocket for f in r.fleets}
        fleets = [f for f in sim.fleets() if f.name in sockets or f.kind != "app"]
        bound = max(1.0 / max(1, f.replicas) for f in fleets)
        for close in sorted(closes, key=lambda c: c.t):
            inside = [c for c in closes if close.t <= c.t < close.t + RECONNECT_WINDOW_SECONDS]
            share = sum(c.share for c in inside) / total
            if share > bound + 1e-9:
                pairs = sorted({f"{c.proxy} → {c.app}" for c in inside})
                found.append(Violation(close.t, (
                    f"{at(close.t)}: {share:.0%} of the sockets are closed before their budget within "
                    f"{RECONNECT_WINDOW_SECONDS} s (at most {bound:.0%}, one replica's share): {', '.join(pairs)}"
                )))
                break
    return found


# --- grace-covers-drain -------------------------------------------------------------------------


def grace_covers_drain(sim: Sim) -> list[Violation]:
    found = []
    for proxy in sim.proxies.values():
        pod = proxy.pod
        if not math.isfinite(pod.deleted):
            continue
        backend = sim.backends[proxy.fleet.backend or ""]
        target = sim.targets[pod.name]
        _, accepted = receiving(sim, proxy)
        timeout = max(_timeout(sim, f.name, backend.name)[0] for f in sim.fleets("app"))
        last_request = accepted + timeout if math.isfinite(accepted) else LONG_AGO
        stops = proxy.quit if backend.name == "nginx" else backend.exit(sim, proxy, last_request)
        # A target group deleted with its backend (the cutover) drains nothing past its deletion.
        drain_end = min(sim.released(target), sim.group_deleted.get(backend.name, NEVER))
        if math.isfinite(drain_end) and stops < drain_end:
            drains = "drains it" if sim.group(target.backend).closes_at_drain_end else "opens connections to it"
            found.append(Violation(stops, (
                f"{at(stops)}: {pod.name} stops serving ({'nginx quits' if backend.name == 'nginx' else 'Envoy exits'})"
                f" while the load balancer {drains} until {_s(drain_end)}"
            )))
        ends = backend.exit(sim, proxy, last_request)
        if ends > pod.sigkill:
            found.append(Violation(pod.sigkill, (
                f"{at(pod.sigkill)}: {pod.name} is killed (grace period {proxy.fleet.grace_s:g} s) before its drain "
                f"ends at {_s(ends)}"
            )))
    socket_fleets = {f for r in sim.topology.routes if r.websocket for f in r.fleets}
    for app in _app_pods(sim):
        if not math.isfinite(app.deleted):
            continue
        window = sim.delay("app.socket_close")
        fleet = sim.fleet_of[app.name]
        if fleet.pre_stop_s >= fleet.grace_s:
            # The kubelet abandons a hook still running when the grace period ends and sends SIGTERM,
            # SIGKILL 2 s later (killContainer, pkg/kubelet/kuberuntime/kuberuntime_container.go @ v1.34.0).
            found.append(Violation(app.sigterm, (
                f"{at(app.sigterm)}: {app.name}'s preStop is cut short by the end of its grace period "
                f"({fleet.grace_s:g} s); SIGKILL follows at {_s(app.sigkill)}"
            )))
        elif fleet.name in socket_fleets and app.sigterm + window >= app.sigkill:
            found.append(Violation(app.sigkill, (
                f"{at(app.sigkill)}: {app.name} is killed before it has closed its sockets "
                f"(SIGTERM at {_s(app.sigterm)})"
            )))
    return found


PROPERTIES: dict[str, Callable[[Sim], list[Violation]]] = {
    "no-request-after-sigterm": no_request_after_sigterm,
    "requests-finish-before-sigkill": requests_finish_before_sigkill,
    "healthy-target-always": healthy_target_always,
    "ready-endpoints-within-budget": ready_endpoints_within_budget,
    "readiness-gate-on-every-target": readiness_gate_on_every_target,
    "websocket-budget": websocket_budget,
    "grace-covers-drain": grace_covers_drain,
}
