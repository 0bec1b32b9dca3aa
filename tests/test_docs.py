"""The docs: the generated parts match the code, every link resolves, the README stays a front door."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tooling import docs
from tooling.docs import (
    CLI_PAGE,
    CONFIG_PAGE,
    DOWNTIME_PAGE,
    PLOT,
    README,
    REVIEWING_PAGE,
    ROOT,
    SECURITY_PAGE,
    SIMULATION_END,
    SIMULATOR_PAGE,
    TIMELINE,
    TRAFFIC_PAGE,
    anchors,
    broken_links,
    checkov_skips,
    generated,
    reference,
    render_config_page,
    simulation,
    slug,
)


def test_config_reference_is_current() -> None:
    text = CONFIG_PAGE.read_text()
    assert render_config_page(text) == text, "docs/config.md config reference is stale: run `make docs`"


def test_reference_names_every_guide_number_with_its_words() -> None:
    text = reference()
    for row in (
        "| `backend.autoscaling.maxReplicas` | int | `10` |",
        "| `frontend.autoscaling.maxReplicas` | int | `5` |",
        "| `backend.autoscaling.cpuUtilization` | int | `70` |",
        "| `backend.autoscaling.behavior.scaleDown.stabilizationWindowSeconds` | int | `300` |",
        "| `backend.service.sessionAffinityTimeoutSeconds` | int | `10800` |",
        "| `backend.image` | str | **required** |",
    ):
        assert row in text, row
    assert "Guide: '50% decrease or 1 pod every 60 seconds'" in text


def test_committed_generated_docs_are_current() -> None:
    """docs/config.md, the simulator example and its plot, the drain tables and timeline, regenerated, match
    what is committed."""
    stale = [str(path.relative_to(ROOT)) for path, content in generated().items()
             if not path.exists() or path.read_bytes() != content]
    assert stale == [], "stale generated docs: run `make docs`"


def test_simulator_plot_is_a_deterministic_png_of_the_production_backend() -> None:
    printed, image = simulation()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Software" not in image and b"Matplotlib" not in image, "the PNG names the matplotlib version"
    # Same bytes as the committed image, made by another process (maybe on another machine).
    assert image == PLOT.read_bytes()
    assert printed.splitlines()[0] == (
        "production/backend against scenario spike: 241 syncs every 15 s, replicas 2..10, "
        "pod startup 20 s (scheduling 2 + image pull 3 + probes 15)"
    )
    page = SIMULATOR_PAGE.read_text()
    assert "![production/backend under the spike scenario" in page
    assert "](images/simulator-production-backend-spike.png)" in page


def test_security_page_lists_every_checkov_skip_with_its_reason() -> None:
    table = checkov_skips()
    skips = yaml.safe_load((ROOT / "checkov-skips.yaml").read_text())
    assert len(table.splitlines()) == 2 + len(skips)
    assert (
        "| `CKV_K8S_38` | Ensure that Service Account Tokens are only mounted where necessary | "
        "`CronJob/spywatcher-backend-weekday-peak`, `CronJob/spywatcher-backend-off-peak`, "
        "`CronJob/spywatcher-frontend-night` | The schedule CronJobs (the backend's and the frontend's, one per "
        "`schedules` entry) patch their workload's HPA through the API server, so they need a token;"
    ) in table
    assert "| `CKV_K8S_15` | Image Pull Policy should be Always | every object | Images are pinned" in table
    assert table in SECURITY_PAGE.read_text()


def _copy_docs(root: Path) -> None:
    for path in (CONFIG_PAGE, SIMULATOR_PAGE, SECURITY_PAGE, DOWNTIME_PAGE, TRAFFIC_PAGE, REVIEWING_PAGE, PLOT,
                 TIMELINE, CLI_PAGE, ROOT / "README.md"):
        target = root / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())


def test_check_reports_stale_docs_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _copy_docs(tmp_path)
    config, simulator, plot = (tmp_path / p.relative_to(ROOT) for p in (CONFIG_PAGE, SIMULATOR_PAGE, PLOT))
    config.write_text(config.read_text().replace("| `backend.autoscaling.maxReplicas` | int | `10` |",
                                                 "| `backend.autoscaling.maxReplicas` | int | `11` |"))
    simulator.write_text(simulator.read_text().replace("peak replicas:       10", "peak replicas:       9"))
    plot.write_bytes(plot.read_bytes()[:-1])
    security = tmp_path / SECURITY_PAGE.relative_to(ROOT)
    security.write_text(security.read_text().replace("| `CKV_K8S_15` |", "| `CKV_K8S_16` |"))
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("- [ ] metrics-server", "- [ ] metrics server"))
    downtime = tmp_path / DOWNTIME_PAGE.relative_to(ROOT)
    downtime.write_text(downtime.read_text().replace("| `nginx.sync` | 0–3.33 s |", "| `nginx.sync` | 0–3 s |"))
    traffic, timeline = (tmp_path / p.relative_to(ROOT) for p in (TRAFFIC_PAGE, TIMELINE))
    traffic.write_text(traffic.read_text().replace("| 75–76 | nginx -s quit", "| 75 | nginx -s quit"))
    timeline.write_bytes(timeline.read_bytes()[:-1])
    reviewing = tmp_path / REVIEWING_PAGE.relative_to(ROOT)
    reviewing.write_text(reviewing.read_text().replace(">> Deployment spywatcher/spywatcher-backend rolls out",
                                                       ">> Deployment spywatcher/spywatcher-backend rolled out"))
    cli = tmp_path / CLI_PAGE.relative_to(ROOT)
    cli.write_text(cli.read_text().replace("--all          render every", "--all          renders every"))
    before = {p: p.read_bytes() for p in (config, simulator, plot, security, readme, downtime, traffic, timeline,
                                          reviewing, cli)}
    monkeypatch.setattr(docs, "broken_links", lambda root: [])

    assert docs.main(["--check"], root=tmp_path) == 1
    err = capsys.readouterr().err
    for name in ("docs/config.md", "docs/simulator.md", "docs/security.md", "docs/downtime.md", "docs/traffic.md",
                 "docs/reviewing-changes.md", "docs/cli.md", "README.md",
                 "docs/images/simulator-production-backend-spike.png",
                 "docs/images/downtime-production-node-drain.png"):
        assert f"error: {name} is out of date: run `make docs`" in err
    assert {p: p.read_bytes() for p in before} == before

    assert docs.main([], root=tmp_path) == 0
    for path in (CONFIG_PAGE, SIMULATOR_PAGE, SECURITY_PAGE, DOWNTIME_PAGE, TRAFFIC_PAGE, REVIEWING_PAGE, PLOT,
                 TIMELINE, CLI_PAGE, ROOT / "README.md"):
        assert (tmp_path / path.relative_to(ROOT)).read_bytes() == path.read_bytes(), path.name
    assert docs.main(["--check"], root=tmp_path) == 0


def docs_main(argv: list[str], out: Any = None, err: Any = None) -> int:
    """`python -m tooling docs argv` in this process, its output in ``out`` and ``err``."""
    with contextlib.redirect_stdout(out or io.StringIO()), contextlib.redirect_stderr(err or io.StringIO()):
        return docs.main(argv)


# In this file, beside the tests that generate the docs, so the generation (cached per process) serves both.
def test_docs_refuses_a_typo_and_says_when_nothing_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[Path] = []
    monkeypatch.setattr(Path, "write_bytes", lambda self, data: written.append(self))
    err = io.StringIO()
    assert docs_main(["--chek"], err=err) == 2
    assert err.getvalue() == "error: unrecognized arguments: --chek (usage: python -m tooling docs [--check])\n"
    out = io.StringIO()
    assert docs_main([], out=out) == 0
    assert written == [] and out.getvalue().startswith("unchanged: ")


def test_a_page_without_its_markers_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _copy_docs(tmp_path)
    simulator = tmp_path / SIMULATOR_PAGE.relative_to(ROOT)
    simulator.write_text(simulator.read_text().replace(SIMULATION_END, ""))
    monkeypatch.setattr(docs, "broken_links", lambda root: [])
    assert docs.main(["--check"], root=tmp_path) == 1
    assert "simulator.md must hold the markers" in capsys.readouterr().err


def test_every_link_in_the_readme_and_docs_resolves() -> None:
    assert broken_links() == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Traffic path", "traffic-path"),
        ("Where each setting lives, and why", "where-each-setting-lives-and-why"),
        ("`make render` — the desired state as files", "make-render--the-desired-state-as-files"),
        ("Continuous integration (`.github/workflows/`)", "continuous-integration-githubworkflows"),
        ("Why `pulumi up` never fights the autoscaler", "why-pulumi-up-never-fights-the-autoscaler"),
        ("`spywatcher:load_balancer`", "spywatcherload_balancer"),
        ("Drain timeline: load balancer, controller, pods", "drain-timeline-load-balancer-controller-pods"),
        ("See [the guide](x.md) *now*", "see-the-guide-now"),
    ],
)
def test_anchors_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_link_check_finds_every_kind_of_broken_link(tmp_path: Path) -> None:
    (tmp_path / "docs" / "runbooks").mkdir(parents=True)
    (tmp_path / "docs" / "runbooks" / "HPAMaxedOut.md").write_text("# HPAMaxedOut\n\n[back](../ops.md#alerts)\n")
    (tmp_path / "plot.png").write_bytes(b"png")
    (tmp_path / "docs" / "ops.md").write_text(
        "# Operations\n\n## Alerts\n\n## Alerts\n\n<a id=\"custom\"></a>\n"
        "[dup](#alerts-1) [custom](#custom) [self](#nope) [img](../plot.png) [dir](runbooks/)\n"
        "```sh\n[in code](missing.md)\n```\n"
        "`[inline](missing.md)` [out](../../elsewhere.md) [web](https://example.com/x#y)\n"
    )
    (tmp_path / "README.md").write_text(
        "# Title\n\n[ops](docs/ops.md) [alerts](docs/ops.md#alerts) [gone](docs/gone.md)\n"
        "[bad anchor](docs/ops.md#alert) ![plot](plot.png#x)\n\n[ref]: docs/missing.md\n"
    )
    assert broken_links(tmp_path) == [
        "README.md:3: docs/gone.md — no such file",
        "README.md:4: docs/ops.md#alert — no heading or <a id> with anchor #alert in docs/ops.md",
        "README.md:4: plot.png#x — an anchor into a file that is not Markdown",
        "README.md:6: docs/missing.md — no such file",
        "docs/ops.md:8: #nope — no heading or <a id> with anchor #nope in docs/ops.md",
        "docs/ops.md:12: ../../elsewhere.md — points outside the repository",
    ]


def test_anchors_count_repeated_headings_and_skip_code() -> None:
    text = "# A\n## B\n```\n# Not a heading\n```\n## B\n## B\n"
    assert anchors(text) == {"a", "b", "b-1", "b-2"}


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(?P<body>.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README has no section '## {heading}'"
    return match["body"]


def test_readme_is_a_short_front_door() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 200, "README.md is over 200 lines: move the detail to a page under docs/"
    assert "make preview" in _section(text, "A fresh machine: two commands")
    assert "make test" in _section(text, "A fresh machine: two commands")
    for command in ("pulumi login", "pulumi stack select", "--secret", "pulumi preview", "pulumi up"):
        assert command in _section(text, "Running it for real"), command
    assert re.search(r"^- \[ \] ", _section(text, "Cluster prerequisites"), re.MULTILINE), "no checklist"


def test_readme_lists_every_docs_page() -> None:
    """The README's table of contents has a line for every page (and folder of pages) in docs/."""
    contents = _section(README.read_text(), "Documentation")
    listed = set(re.findall(r"\]\((docs/[^)#]*)", contents))
    docs_dir = README.parent / "docs"
    expected = {f"docs/{p.name}" for p in docs_dir.glob("*.md")}
    expected |= {f"docs/{d.name}/" for d in docs_dir.iterdir() if d.is_dir() and any(d.rglob("*.md"))}
    assert sorted(expected - listed) == [], "add a line for each to the README's Documentation table"
    for line in contents.splitlines():
        if line.startswith("| [docs/"):
            assert line.count("|") == 3 and len(line.split("|")[2].strip()) > 20, f"say when to read it: {line}"


def test_development_page_names_every_offline_module() -> None:
    """docs/development.md's table of the offline runner stays complete as modules are added."""
    page = (ROOT / "docs" / "development.md").read_text()
    modules = [p for p in sorted((ROOT / "offline").glob("*.py")) if p.stem not in ("__init__", "__main__")]
    modules += [p for p in sorted((ROOT / "offline").iterdir()) if (p / "__init__.py").exists()]
    missing = [f"offline/{p.name}" + ("/" if p.is_dir() else "") for p in modules
               if f"`offline/{p.name}" not in page]
    assert missing == [], "say in docs/development.md (How the offline runner works) what each is for"
