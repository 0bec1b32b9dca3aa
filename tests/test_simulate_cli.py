"""`python -m offline simulate`: files in, timeline and summary out; bad input is one line and exit 2."""

from __future__ import annotations

import argparse
import copy
import csv
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.__main__ import main as offline_main
from simulate.cli import main
from simulate.stack import load_workload

HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "app"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
        "minReplicas": 2,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
            },
            {
                "type": "Pods",
                "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "100"}},
            },
        ],
        "behavior": {
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "selectPolicy": "Max",
                "policies": [
                    {"type": "Percent", "value": 100, "periodSeconds": 30},
                    {"type": "Pods", "value": 2, "periodSeconds": 30},
                ],
            }
        },
    },
}


def simulate_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    hpa = tmp_path / "hpa.yaml"
    hpa.write_text(yaml.safe_dump(HPA))
    trace = tmp_path / "trace.csv"
    # 40 pods' worth of CPU (500m each at 50 % of 1000m) from t=0; rps stays at 100 per 2 pods.
    trace.write_text("time_s,cpu,rps\n0,20000,200\n60,20000,200\n")
    return {"hpa": hpa, "trace": trace, "out": tmp_path / "timeline.csv"}


def test_files_in_timeline_out(files: dict[str, Path]) -> None:
    code, out, err = simulate_cli(
        "--hpa",
        str(files["hpa"]),
        "--trace",
        str(files["trace"]),
        "--requests",
        "cpu=1000m",
        "--pod-startup",
        "0",
        "--ideal-metrics",
        "--duration",
        "90",
        "--out",
        str(files["out"]),
    )
    assert (code, err) == (0, "")
    rows = read_rows(files["out"])
    assert list(rows[0]) == [
        "time_s",
        "replicas",
        "ready_replicas",
        "desired_replicas",
        "cpu_utilization_pct",
        "rps_per_pod",
    ]
    assert [r["time_s"] for r in rows] == ["0", "15", "30", "45", "60", "75", "90"]
    assert [r["replicas"] for r in rows] == ["4", "4", "8", "8", "10", "10", "10"]
    assert [r["ready_replicas"] for r in rows] == ["2", "4", "4", "8", "8", "10", "10"]
    assert rows[0]["cpu_utilization_pct"] == "1000" and rows[0]["desired_replicas"] == "40"
    assert [r["rps_per_pod"] for r in rows[:2]] == ["100", "50"]
    assert "peak replicas:       10" in out
    assert "  at 0 s: capacity never caught up" in out
    assert f"timeline: {files['out']}" in out


def test_the_timeline_writes_times_to_three_decimals_without_trailing_zeros_or_point(files: dict[str, Path]) -> None:
    # Syncs every 7.5001 s: 15.0002 s is "15" at three decimals, never "15." or "15.000".
    code, _, err = simulate_cli("--hpa", str(files["hpa"]), "--trace", str(files["trace"]), "--requests", "cpu=1000m",
                                "--ideal-metrics", "--sync-period", "7.5001", "--duration", "30",
                                "--out", str(files["out"]))
    assert (code, err) == (0, "")
    assert [r["time_s"] for r in read_rows(files["out"])] == ["0", "7.5", "15", "22.5"]


def test_stack_workload_and_scenario_need_no_files(tmp_path: Path) -> None:
    out_csv = tmp_path / "spike.csv"
    args = ["--stack", "production", "--workload", "backend", "--scenario", "spike", "--ideal-metrics"]
    code, out, err = simulate_cli(*args, "--out", str(out_csv))
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        "production/backend against scenario spike: 241 syncs every 15 s, replicas 2..10, pod startup 15 s",
        "metrics: ideal (exact totals at each sync)",
    ]
    rows = read_rows(out_csv)
    assert list(rows[0])[4:] == ["cpu_utilization_pct", "memory_utilization_pct"]
    replicas = {int(r["time_s"]): int(r["replicas"]) for r in rows}
    # The guide's scale-up from the spike at 300 s: 4, then 8 at 330 s, then 10 (max) at 360 s.
    assert [replicas[t] for t in (285, 300, 330, 360)] == [2, 4, 8, 10]
    # Scale-down: 5 min after the drop at 1500 s, one pod a minute (Min of 50 % and 1 pod).
    assert [replicas[t] for t in (1770, 1785, 1845, 2205)] == [10, 9, 8, 2]
    assert "  at 300 s: caught up in 75 s (policy limit)" in out


def test_verb_is_routed_and_help_lists_the_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert offline_main(["simulate", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "--scenario NAME       a built-in trace: spike, ramp, daily, flash" in help_text
    assert "readiness initialDelaySeconds" in help_text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--hpa", "{missing}", "--scenario", "spike"],
            "error: cannot read HPA file {missing}: No such file or directory",
        ),
        (["--hpa", "{hpa}", "--trace", "{bad_column}", "--requests", "cpu=1"], "has no rps column"),
        (
            ["--hpa", "{hpa}", "--trace", "{bad_value}", "--requests", "cpu=1"],
            "line 3, column cpu: 'lots' is not a number",
        ),
        (
            ["--hpa", "{hpa}", "--trace", "{trace}", "--requests", "cpu=half"],
            "cpu request must be a Kubernetes quantity such as 1000 or 500m, not 'half'",
        ),
        (["--hpa", "{hpa}", "--trace", "{trace}"], "the HPA targets cpu utilization but no cpu request was given"),
        (["--hpa", "{hpa}", "--scenario", "tsunami"], "argument --scenario: invalid choice: 'tsunami'"),
        (
            ["--hpa", "{hpa}", "--stack", "production", "--workload", "backend", "--scenario", "spike"],
            "give either --hpa",
        ),
        (
            ["--hpa", "{hpa}", "--trace", "{trace}", "--scenario", "spike"],
            "give either --trace FILE or --scenario NAME",
        ),
        (["--hpa", "{hpa}", "--scenario", "spike", "--pod-startup", "-5"], "'-5' must be 0 or more"),
        (
            ["--stack", "production", "--workload", "worker", "--scenario", "spike"],
            "stack production has no workload 'worker' with an HPA (workloads: backend, frontend)",
        ),
        (["--stack", "qa", "--workload", "backend", "--scenario", "spike"], "no stack file Pulumi.qa.yaml"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    files: dict[str, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "bad_column.csv").write_text("time_s,cpu\n0,100\n")
    (tmp_path / "bad_value.csv").write_text("time_s,cpu,rps\n0,100,1\n15,lots,1\n")
    paths = {"hpa": files["hpa"], "trace": files["trace"], "missing": tmp_path / "nope.yaml"}
    paths |= {"bad_column": tmp_path / "bad_column.csv", "bad_value": tmp_path / "bad_value.csv"}
    code, out, err = simulate_cli(*(a.format(**paths) for a in args))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message.format(**paths) in err


def test_plot_writes_a_png(files: dict[str, Path], tmp_path: Path) -> None:
    plot = tmp_path / "plot.png"
    code, out, err = simulate_cli(
        "--hpa", str(files["hpa"]), "--trace", str(files["trace"]), "--requests", "cpu=1", "--plot", str(plot)
    )
    assert (code, err) == (0, "")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.stat().st_size > 10_000
    assert f"plot: {plot}" in out


def test_pipeline_flags_change_the_run_and_the_report() -> None:
    # Defaults: the production backend's spike takes 105 s to capacity, most of it in the guide's
    # scale-up policy (see tests/test_simulate_pipeline.py for the arithmetic).
    code, out, err = simulate_cli("--stack", "production", "--workload", "backend", "--scenario", "spike")
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        "production/backend against scenario spike: 241 syncs every 15 s, replicas 2..10, "
        "pod startup 20 s (scheduling 2 + image pull 3 + probes 15)",
        "metrics: metrics-server every 15 s, kubelet every 10 s, cpu initialization 300 s, "
        "initial readiness delay 30 s",
    ]
    assert (
        "time to capacity:    rise at 300 s caught up in 105 s (dominant: policy limit; metrics delay 15 s, "
        "policy limit 60 s, pod startup 20 s, sync 10 s)"
    ) in out
    # No room for more pods on the nodes and 90 s per node: every new pod waits for a node.
    code, out, err = simulate_cli(
        "--stack", "production", "--workload", "backend", "--scenario", "spike", "--spare-pods", "0"
    )
    assert (code, err) == (0, "")
    assert "room for 0 more pods, then 90 s per new node" in out.splitlines()[0]
    assert "caught up in 195 s (dominant: node provisioning;" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ideal-metrics", "--metric-resolution", "30"], "--metric-resolution has no effect with --ideal-metrics"),
        (["--node-provisioning", "60"], "--node-provisioning needs --spare-pods N"),
        (["--metric-resolution", "5"], "--metric-resolution must be at least 10 seconds, not 5"),
        (["--startup-usage", "lots"], "argument --startup-usage: 'lots' is not a number"),
        (["--scrape-offset", "20"], "--scrape-offset must be at least 0 and below --metric-resolution (15)"),
        (["--imbalance", "1.5"], "--imbalance must be at least 0 and below 1, not 1.5"),
        (["--spare-pods", "-1"], "argument --spare-pods: '-1' must be a whole number from 0 to 100,000"),
        (["--image-pull", "soon"], "argument --image-pull: 'soon' is not a number of seconds"),
    ],
)
def test_bad_pipeline_flags_are_one_line(files: dict[str, Path], args: list[str], message: str) -> None:
    source = ["--hpa", str(files["hpa"]), "--trace", str(files["trace"]), "--requests", "cpu=1"]
    code, out, err = simulate_cli(*source, *args)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err


def test_help_documents_every_pipeline_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert offline_main(["simulate", "--help"]) == 0
    help_text = capsys.readouterr().out
    for flag in (
        "--metric-resolution SECONDS",
        "--scrape-offset SECONDS",
        "--kubelet-housekeeping SECONDS",
        "--cpu-initialization-period SECONDS",
        "--initial-readiness-delay SECONDS",
        "--startup-usage PERCENT",
        "--imbalance FRACTION",
        "--ideal-metrics",
        "--scheduling-delay SECONDS",
        "--image-pull SECONDS",
        "--spare-pods N",
        "--node-provisioning SECONDS",
    ):
        assert flag in help_text, flag


@pytest.mark.parametrize(
    ("policies", "report"),
    [
        # Kubernetes' default scale-up: 2 -> max(2 + 4, 4) = 6 at 315 s, 10 at 330 s; Ready at 350 s.
        (
            [{"type": "Percent", "value": 100, "periodSeconds": 15}, {"type": "Pods", "value": 4, "periodSeconds": 15}],
            "caught up in 60 s (dominant: pod startup; metrics delay 15 s, policy limit 15 s, pod startup 20 s, "
            "sync 10 s)",
        ),
        # 8 pods per 15 s: 2 -> 10 at 315 s, Ready at 335 s, counted at 345 s.
        (
            [{"type": "Percent", "value": 100, "periodSeconds": 15}, {"type": "Pods", "value": 8, "periodSeconds": 15}],
            "caught up in 45 s (dominant: pod startup; metrics delay 15 s, pod startup 20 s, sync 10 s)",
        ),
    ],
)
def test_what_makes_the_guides_60_seconds_hold(tmp_path: Path, policies: list[Any], report: str) -> None:
    """docs/simulator.md: production's backend reaches capacity 60 s after the spike with 15 s policies."""
    workload = load_workload("production", "backend")
    hpa = copy.deepcopy(workload.hpa)
    hpa["spec"]["behavior"]["scaleUp"]["policies"] = policies
    path = tmp_path / "hpa.yaml"
    path.write_text(yaml.safe_dump(hpa))
    requests = ",".join(f"{k}={v}" for k, v in workload.requests.items())
    args = ["--hpa", str(path), "--requests", requests, "--scenario", "spike", "--pod-startup", "15"]
    code, out, err = simulate_cli(*args)
    assert (code, err) == (0, "")
    assert f"time to capacity:    rise at 300 s {report}" in out


def test_every_option_says_exactly_what_it_takes_and_does() -> None:
    """The help of each option, whole (its metavar and words), and the groups they are shown in."""
    from simulate import cli

    parser = cli._parser()
    assert {a.option_strings[-1]: (a.metavar, a.help) for a in parser._actions} == {
        '--help': (None,
            'show this help message and exit'),
        '--hpa': ('HPA.yaml',
            'an autoscaling/v2 HorizontalPodAutoscaler (YAML or JSON)'),
        '--stack': (None,
            "take the HPA and requests from this stack's rendered objects"),
        '--workload': ('NAME',
            'with --stack: backend or frontend'),
        '--trace': ('TRACE.csv',
            'load trace CSV'),
        '--scenario': ('NAME',
            'a built-in trace: spike, ramp, daily, flash'),
        '--requests': ('cpu=500m,memory=512Mi',
            "one pod's requests (overrides the stack's)"),
        '--initial-replicas': ('N',
            'pods at t = 0, all ready (default: minReplicas)'),
        '--pod-startup': ('SECONDS',
            "seconds from a pod's containers running until it is Ready (default: from the stack's probes)"),
        '--scheduling-delay': ('SECONDS',
            'creation until bound and started by the kubelet (default: 2; 0 with --ideal-metrics)'),
        '--image-pull': ('SECONDS',
            'started until the containers run: image pull and container start (default: 3; 0 with --ideal-metrics)'),
        '--spare-pods': ('N',
            'pods the existing nodes fit beyond the initial ones; more wait for a new node (default: no limit)'),
        '--node-provisioning': ('SECONDS',
            'with --spare-pods: how long a pod waits for a new node (default: 90)'),
        '--metric-resolution': ('SECONDS',
            "metrics-server's scrape interval, at least 10 as metrics-server requires (default: 15)"),
        '--scrape-offset': ('SECONDS',
            'when in each resolution period metrics-server scrapes (default: half-way); syncs are at multiples of '
            '--sync-period'),
        '--kubelet-housekeeping': ('SECONDS',
            "how often the kubelet refreshes a pod's CPU and memory (default: 10)"),
        '--cpu-initialization-period': ('SECONDS',
            "the controller's --horizontal-pod-autoscaler-cpu-initialization-period (default: 300)"),
        '--initial-readiness-delay': ('SECONDS',
            "the controller's --horizontal-pod-autoscaler-initial-readiness-delay (default: 30)"),
        '--startup-usage': ('PERCENT',
            "usage of a Running pod before it is Ready, in %% of one pod's share at the target (default: 0)"),
        '--imbalance': ('FRACTION',
            'Ready pods alternately carry 1 + F and 1 - F shares of the demand (default: 0)'),
        '--ideal-metrics': (None,
            'exact, instantaneous totals at each sync: no metrics pipeline (the simulator before the per-pod model)'),
        '--sync-period': ('SECONDS',
            'controller sync period (default: 15)'),
        '--duration': ('SECONDS',
            "seconds to simulate (default: the trace's last time)"),
        '--out': ('TIMELINE.csv',
            'write the timeline CSV here'),
        '--plot': ('PLOT.png',
            'write a PNG of demand, capacity and replicas here'),
    }
    assert [g.title for g in parser._action_groups] == [
        'positional arguments', 'options', 'pod startup and nodes', 'metrics pipeline']
    assert parser.description == 'Replay the Kubernetes HPA controller on an HPA against a load trace.'


def test_initial_replicas_take_1_to_100000_both_ends_checked() -> None:
    from simulate import cli

    assert (cli._count("1"), cli._count("100000")) == (1, 100_000)
    for text in ("0", "100001", "-1", "1.0", "١"):
        with pytest.raises(argparse.ArgumentTypeError) as caught:
            cli._count(text)
        assert str(caught.value) == f"{text!r} must be a whole number from 1 to 100,000"
