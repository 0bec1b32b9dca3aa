"""metrics-server's fresh-container rule at its bounds (kubernetes-sigs/metrics-server pkg/storage/pod.go:
a container first seen at least ``freshContainerMinMetricsResolution`` (10 s) and less than one resolution
after its start gets its start time as a previous point with a zero counter)."""

from __future__ import annotations

import math

from simulate.controller import MetricSample
from simulate.pipeline import Pipeline
from simulate.pods import Pod
from simulate.trace import Trace
from tests.test_simulate_pipeline import one_pod_server


def _first_sample(resolution: float, scrape_at: float) -> MetricSample | None:
    """The CPU sample of a pod Running (and Ready) at 100 after one scrape at ``scrape_at`` (kubelet points
    every 10 s from 110)."""
    pipeline = Pipeline(resolution_s=resolution, scrape_offset_s=0.0)
    trace = Trace.from_points([0], {"cpu": [700], "memory": [100]})
    old = Pod(0, -math.inf, -math.inf, -math.inf, -math.inf)
    new = Pod(1, 95, 97, 100, 100)
    server, usage = one_pod_server(pipeline, trace, [old])
    usage.add(new)
    usage.advance(scrape_at)
    server.scrape(scrape_at, [old, new], usage)
    return server.samples()[0].get(1)


def test_a_container_seen_exactly_10_s_after_its_start_is_fresh() -> None:
    # the point at 110 is 10 s after the start: half of 700m over the 10 s since the start
    assert _first_sample(30, 110) == MetricSample(350, 110, 10)


def test_a_container_seen_a_whole_resolution_after_its_start_is_not_fresh() -> None:
    # the point at 120 is 20 s after the start: a fresh container for a 30 s resolution, not for 20 s
    assert _first_sample(30, 120) == MetricSample(350, 120, 20)
    assert _first_sample(20, 120) is None


def test_the_pipelines_defaults_are_the_upstream_flags_defaults() -> None:
    """metrics-server --metric-resolution 15s; cAdvisor's housekeeping 10 s; kube-controller-manager
    --horizontal-pod-autoscaler-cpu-initialization-period 5m0s and --horizontal-pod-autoscaler-initial-readiness-delay
    30s (kubernetes pkg/controller/podautoscaler/config/v1alpha1/defaults.go)."""
    assert Pipeline() == Pipeline(
        resolution_s=15.0, scrape_offset_s=None, housekeeping_s=10.0, cpu_initialization_period_s=300.0,
        initial_readiness_delay_s=30.0, startup_usage=0.0, imbalance=0.0,
    )


def test_a_pod_runs_from_its_running_instant_and_serves_until_its_deletion_instant() -> None:
    pod = Pod(0, created=0.0, started=5.0, running=10.0, ready=20.0, deleted=50.0)
    assert [pod.phase(t) for t in (9.9, 10.0)] == ["Pending", "Running"]
    assert [pod.is_serving(t) for t in (19.9, 20.0, 49.9, 50.0)] == [False, True, True, False]


def test_the_kubelet_has_no_point_for_a_container_before_its_first_housekeeping() -> None:
    pipeline = Pipeline(scrape_offset_s=0.0)
    trace = Trace.from_points([0], {"cpu": [700], "memory": [100]})
    new = Pod(1, 95, 97, 100, 100)
    server, usage = one_pod_server(pipeline, trace, [Pod(0, -math.inf, -math.inf, -math.inf, -math.inf)])
    usage.add(new)
    usage.advance(115)
    assert server.kubelet_point(new, 109.9, usage) is None
    assert server.kubelet_point(new, 115, usage) is not None
    assert server.kubelet_point(new, 115, usage).timestamp == 110  # type: ignore[union-attr]


def test_a_pending_pod_uses_nothing_and_a_running_one_its_startup_usage_until_ready() -> None:
    # startup usage 50 % of one pod's share at the target: 175m of CPU (70 % of 500m), 204.8 MiB of memory
    # (80 % of 512Mi)
    pipeline = Pipeline(scrape_offset_s=0.0, startup_usage=0.5)
    trace = Trace.from_points([0], {"cpu": [700], "memory": [100]})
    new = Pod(1, 95, 97, 100, 120)
    _, usage = one_pod_server(pipeline, trace, [Pod(0, -math.inf, -math.inf, -math.inf, -math.inf)])
    usage.add(new)
    usage.advance(110)
    assert usage.instant(new, 99.0) == (0.0, 0.0)
    assert usage.instant(new, 100.0) == (175.0, 204.8)


def test_a_cpu_sample_rounds_up_to_the_next_millicore() -> None:
    """metrics-server serves nanocores; the controller reads Quantity.MilliValue(), which rounds up."""
    from simulate.hpa import parse_hpa
    from simulate.metrics import bind_gauges
    from simulate.pipeline import milli_converter
    from tests.test_simulate_pipeline import CPU70, REQUESTS, make_hpa

    cpu = milli_converter(bind_gauges(parse_hpa(make_hpa(1, 5, metrics=[CPU70])), REQUESTS)[0])
    assert [cpu(v) for v in (350.0, 350.0004, 350.000001, 0.0)] == [350, 351, 351, 0]


def test_a_starting_pod_uses_its_startup_share_of_a_resource_but_serves_no_requests_yet() -> None:
    """Startup usage is CPU and memory spent before the pod is Ready; a Pods metric such as requests per
    second counts only what it serves, so a Running, not yet Ready pod reports 0 of it."""
    from simulate.hpa import parse_hpa
    from simulate.metrics import bind_gauges
    from simulate.pipeline import Usage
    from tests.test_simulate_pipeline import CPU70, REQUESTS, RPS, make_hpa

    pipeline = Pipeline(scrape_offset_s=0.0, startup_usage=0.5)
    gauges = bind_gauges(parse_hpa(make_hpa(1, 5, metrics=[CPU70, RPS])), REQUESTS)
    trace = Trace.from_points([0], {"cpu": [700], "rps": [80]})
    new = Pod(1, 95, 97, 100, 120)
    usage = Usage(trace, gauges, pipeline, [Pod(0, -math.inf, -math.inf, -math.inf, -math.inf)])
    usage.add(new)
    usage.advance(110)
    assert usage.instant(new, 100.0) == (175.0, 0.0)
