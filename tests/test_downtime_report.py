"""What the docs show of the zero-downtime model (simulate/downtime/report.py): the drain tables, each
instant at the low and the high end of the delays, and the timeline picture of one run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulate.downtime.model import Sim
from simulate.downtime.report import drain_table, plot, run_at, timeline_figure
from tests.test_downtime import topology


@pytest.fixture(scope="module")
def scale_down() -> tuple[Sim, Sim]:
    """The hand-made topology's scale-down at the low and at the high end of every delay."""
    return run_at(topology(), "hpa-scale-down", "low"), run_at(topology(), "hpa-scale-down", "high")


def test_a_controller_pods_drain_table_gives_each_moment_at_both_ends(scale_down: tuple[Sim, Sim]) -> None:
    """The load balancer stops sending within 13 s (EndpointSlice 1 + reconcile 2 + the ALB's 10), its
    drain ends 60 s after that, nginx quits at the shutdown grace period (75 s) after SIGTERM, the
    process 10 s later, as nothing is left to drain."""
    assert drain_table(*scale_down, "ingress-nginx-controller-2") == (
        "| t (s) | What happens |\n"
        "|---|---|\n"
        "| 0 | deleted (HPA scale-down) |\n"
        "| 0–1 | SIGTERM |\n"
        "| 0–1 | controller told to stop: upstreams frozen, nginx still serving |\n"
        "| 0–3 | DeregisterTargets: draining |\n"
        "| 0–13 | load balancer sends no new requests |\n"
        "| 0–13 | last new request taken |\n"
        "| 60–73 | deregistration delay over: unused |\n"
        "| 75–76 | nginx -s quit: listeners closed |\n"
        "| 85–86 | process exits (its connections closed by the load balancer) |\n"
        "| 3700–3701 | SIGKILL (grace period over) |\n"
    )


def test_an_app_pods_drain_table_ends_with_its_sockets_closed_before_sigkill(scale_down: tuple[Sim, Sim]) -> None:
    """Every proxy drops the pod within 5.3 s (EndpointSlice 1 + sync 3.33 + workers 1), long before
    the preStop (15 s) ends; the app closes its sockets within 1 s of SIGTERM."""
    assert drain_table(*scale_down, "spywatcher-backend-2") == (
        "| t (s) | What happens |\n"
        "|---|---|\n"
        "| 0 | deleted (HPA scale-down) |\n"
        "| 0–5.3 | every proxy replica has dropped it from its upstreams |\n"
        "| 15–16 | SIGTERM |\n"
        "| 15–17 | its WebSockets closed by the app, with a close frame |\n"
        "| 30–31 | SIGKILL (grace period over) |\n"
    )


@pytest.fixture(scope="module")
def figure(scale_down: tuple[Sim, Sim]) -> Iterator[Any]:
    from matplotlib import pyplot

    figure = timeline_figure(scale_down[1], "hand-made: hpa-scale-down")
    yield figure
    pyplot.close(figure)


def _bars(axis: Any) -> dict[str, list[tuple[float, float, str]]]:
    """Each row's bars (start, end, colour) by the row's label."""
    from matplotlib.colors import to_hex

    labels = [t.get_text() for t in axis.get_yticklabels()]
    rows: dict[str, list[tuple[float, float, str]]] = {label: [] for label in labels}
    for collection in axis.collections:
        colour = to_hex(collection.get_facecolor()[0])
        for path in collection.get_paths():
            xs, ys = path.vertices[:, 0], path.vertices[:, 1]
            row = round(float(ys.min()) + 0.4)
            rows[labels[row]].append((round(float(xs.min()), 2), round(float(xs.max()), 2), colour))
    return {label: sorted(bars) for label, bars in rows.items()}


def test_the_picture_puts_pods_endpoints_targets_and_sockets_on_one_axis(figure: Any) -> None:
    pods, endpoints, targets, sockets = figure.axes
    assert [a.get_title() for a in figure.axes] == [
        "pods",
        "ready endpoints (each fleet's line a little above the last, where they meet)",
        "load balancer targets",
        "WebSockets open at t = 0 and still open (%): the closed ones reconnect elsewhere",
    ]
    assert figure.get_suptitle() == "hand-made: hpa-scale-down"
    assert {a.get_xlim() for a in figure.axes} == {(0.0, 130.0)}
    bars = _bars(pods)
    # The deleted backend pod: preStop until its SIGTERM (16 s), stopping until its SIGKILL (31 s).
    assert bars["spywatcher-backend-2"] == [(0.0, 16.0, "#e3b23c"), (16.0, 31.0, "#d1603d")]
    # The deleted controller pod: serving, told to stop, until nginx quits (76 s), then until it exits (86 s).
    assert bars["ingress-nginx-controller-2"] == [(0.0, 76.0, "#e3b23c"), (76.0, 86.0, "#d1603d")]
    assert bars["spywatcher-backend-0"] == [(0.0, 130.0, "#4c9f70")]
    assert _bars(targets)["ingress-nginx-controller-2 (nginx)"] == [(0.0, 3.0, "#4c9f70"), (3.0, 73.0, "#e3b23c")]
    assert [line.get_label() for line in endpoints.get_lines()] == ["spywatcher-backend", "ingress-nginx-controller"]
    [line] = sockets.get_lines()
    assert line.get_ydata()[0] == 100.0 and min(line.get_ydata()) < 100.0


def test_the_png_is_the_same_bytes_on_every_run(scale_down: tuple[Sim, Sim], tmp_path: Path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    plot(scale_down[1], first, "hand-made")
    plot(scale_down[1], second, "hand-made")
    image = first.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and image == second.read_bytes()
    assert b"Matplotlib" not in image, "the PNG names the matplotlib version"


def test_the_caption_counts_who_closed_the_sockets() -> None:
    """A scale-down: the deleted backend pod closes its third of the sockets with a close frame; the load
    balancer ends the deleted controller's share of the others at the end of its drain. A reload with a
    30 s worker-shutdown-timeout cuts nearly every socket (those opened since the reload stay)."""
    from dataclasses import replace

    from simulate.downtime.report import closed_shares
    from tests.test_downtime import CONTROLLER

    shares = closed_shares(run_at(topology(), "hpa-scale-down", "high"))
    assert {who: round(share, 3) for who, share in shares.items()} == {"app": 0.332, "load balancer": 0.219,
                                                                        "other": 0.0}
    reload = run_at(topology(controller=replace(CONTROLLER, drain_s=30.0, grace_s=130.0)), "controller-reload", "high")
    assert {who: round(share, 3) for who, share in closed_shares(reload).items()} == {
        "app": 0.0, "load balancer": 0.0, "other": 0.992}


@pytest.mark.parametrize(("end", "containers_ready"), [("low", 10.0), ("high", 25.0)])
def test_a_new_gated_pod_serves_from_its_containers_ready_not_from_its_readiness_gate(
        end: str, containers_ready: float) -> None:
    """The new controller pod of a rollout: its containers are ready after the pod's start (0 s, or 5 s at
    the high end) and its readiness probe (10 s, plus one 10 s period at the high end); the pod turns
    Ready only later, when the load balancer's health checks pass its readiness gate."""
    from simulate.downtime.report import _pod_bars

    sim = run_at(topology(), "controller-rollout", end)
    [pod] = [p for p in sim.pods["ingress-nginx-controller"] if p.name == "ingress-nginx-controller-2"]
    assert pod.created == 0.0 and pod.ready > containers_ready + 10
    assert _pod_bars(sim, pod, 130.0) == [(0.0, containers_ready, "starting"), (containers_ready, 130.0, "serving")]
