"""The offline runner's helpers where a mutation sample found them unpinned: the diff report of two
stacks as one whole document, the preview's one-line summaries on defaulted fields, and `charts
template` running Helm (a stand-in for it: the real one downloads the charts), and where `diff`
without `--base` starts in a git repository."""

from __future__ import annotations

import copy
import dataclasses
import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import charts
from offline.changes import compare, diff_snapshots
from offline.engine import Plan, Registration, Secret
from offline.gitref import GitError, default_base
from offline.preview import SUMMARIES, _alarm, _tree, format_plan
from offline.replacement import Refusal
from offline.report import ABOUT, markdown
from tests.conftest import registration
from tests.gitrepo import git
from tests.test_diff_report import CONFIG_MAP, snap


def test_a_report_of_two_stacks_is_the_table_then_each_stacks_section_in_turn() -> None:
    changed = diff_snapshots("staging", snap({"data": {"v": "a"}}), snap({"data": {"v": "b"}}))
    same = diff_snapshots("production", snap({"data": {}}), snap({"data": {}}))
    assert markdown("t", [changed, same]) == "\n".join([
        "<!-- spywatcher:offline-plan-diff -->",
        "### Offline plan diff",
        "",
        "<code>t</code>",
        "",
        "| Stack | Status | Create | Update | Replace | Delete | Unchanged | Refused |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        "| <code>staging</code> | changes | 0 | 1 | 0 | 0 | 0 | 0 |",
        "| <code>production</code> | no changes | 0 | 0 | 0 | 0 | 1 | 0 |",
        "",
        "<details><summary><code>staging</code>: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged"
        "</summary>",
        "",
        "```diff",
        f"~ {CONFIG_MAP}",
        '~     data.v: "a" → "b"',
        "```",
        "",
        "</details>",
        "",
        "<details><summary><code>production</code>: no changes (1 resources)</summary>",
        "",
        "```text",
        "No changes.",
        "```",
        "",
        "</details>",
        "",
        f"<sub>{ABOUT}</sub>",
        "",
    ])


def test_a_service_without_a_type_is_summarised_as_the_api_servers_default() -> None:
    service = {"spec": {"ports": [{"port": 80, "targetPort": "http"}]}}
    assert SUMMARIES["Service"](service) == "ClusterIP ports=80->http"


def test_an_alarm_operator_without_a_symbol_is_shown_by_its_name() -> None:
    alarm = {"name": "x", "metricName": "CPU", "statistic": "Average", "period": 60, "threshold": 1,
             "comparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold", "datapointsToAlarm": 1,
             "evaluationPeriods": 2, "treatMissingData": "breaching"}
    assert _alarm(alarm) == (
        "x: Average(CPU) LessThanLowerOrGreaterThanUpperThreshold 1 in 1 of 2 x 60s missing=breaching")
    assert _alarm({**alarm, "comparisonOperator": "LessThanThreshold"}) == (
        "x: Average(CPU) < 1 in 1 of 2 x 60s missing=breaching")


def _release(render: Path, stack: str, name: str) -> None:
    file = render / stack / "helm" / name / f"{name}.yaml"
    file.parent.mkdir(parents=True)
    file.write_text(yaml.safe_dump({"name": name, "chart": name, "version": "1.0.0", "namespace": name,
                                    "repositoryOpts": {"repo": f"https://example.com/{name}"},
                                    "values": {"replicas": 2}}))


def test_template_runs_helm_per_release_writes_its_objects_and_reports_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    render, out = tmp_path / "render", tmp_path / "objects"
    for name in ("a", "b"):
        _release(render, "production", name)
    ran: list[list[str]] = []

    def helm(argv: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        ran.append(argv)
        if argv[2] == "a":
            return subprocess.CompletedProcess(argv, 1, "", "chart a not found\n")
        return subprocess.CompletedProcess(argv, 0, "kind: ConfigMap\n", "")

    monkeypatch.setattr(charts.subprocess, "run", helm)
    stdout, stderr = io.StringIO(), io.StringIO()
    assert charts.template(render, out, False, stdout, stderr) == 1
    assert [argv[:4] for argv in ran] == [["helm", "template", "a", "a"], ["helm", "template", "b", "b"]]
    assert stderr.getvalue() == "production/a/a: helm template failed: chart a not found\n"
    assert not (out / "production" / "a" / "a.yaml").exists()
    assert (out / "production" / "b" / "b.yaml").read_text() == "kind: ConfigMap\n"
    assert stdout.getvalue() == ""


# --- offline/gitref.py: where a diff without --base starts --------------------------------------------


def _commit(repo: Path, message: str) -> str:
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_the_default_base_is_where_the_branch_left_origin_main_else_main_else_head(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "topic")
    with pytest.raises(GitError) as error:
        default_base(repo)  # no commit at all
    assert str(error.value) == f"none of origin/main, main, HEAD is a commit in {repo}"
    start = _commit(repo, "start")
    assert default_base(repo) == ("HEAD", "HEAD")  # neither origin/main nor main
    git(repo, "branch", "main")
    _commit(repo, "on topic")
    git(repo, "checkout", "-q", "main")
    _commit(repo, "main moved on")  # newer than the branch: never shown undone
    git(repo, "checkout", "-q", "topic")
    assert default_base(repo) == (start, "merge base of HEAD and main")
    git(repo, "checkout", "-q", "--orphan", "unrelated")
    unrelated = _commit(repo, "no history in common with main")
    assert default_base(repo) == ("main", "main")
    git(repo, "update-ref", "refs/remotes/origin/main", unrelated)
    assert default_base(repo) == (unrelated, "merge base of HEAD and origin/main")


def _stack_repo(repo: Path, renderer: bool) -> str:
    """A repository whose one commit has stack `s` and, with ``renderer``, the offline renderer's path."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "Pulumi.s.yaml").write_text("config: {}\n")
    if renderer:
        (repo / "offline").mkdir()
        (repo / "offline" / "render.py").write_text("")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "stack s")
    return git(repo, "rev-parse", "HEAD")


def test_a_base_without_a_trusted_cache_renders_and_names_a_missing_renderer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No cache to trust (another user's folder): nothing counts as cached; a commit without the
    renderer gives each of its stacks the reason, and starts no render."""
    from offline import gitref

    monkeypatch.setattr(gitref, "cache_root", lambda: None)
    commit = _stack_repo(tmp_path / "repo", renderer=False)
    with gitref.RefRenderer("main", repo=tmp_path / "repo") as base:
        assert (base.stacks, base.cached, base.has_renderer) == (["s"], [], False)
        assert base.result() == {"s": f"main ({commit[:7]}) has no offline renderer (offline/render.py): nothing "
                                       "to compare with"}


def test_a_cached_base_render_is_read_from_the_cache_without_rendering(tmp_path: Path) -> None:
    """Every stack in the cache: no render starts, and each side is read from there (here a folder
    that is no render, said so)."""
    from offline import gitref
    from offline.snapshot import SUMMARY

    commit = _stack_repo(tmp_path / "repo", renderer=True)
    cache = tmp_path / "cache"
    folder = cache / f"{commit}-{gitref.environment_key()}" / "s"
    folder.mkdir(parents=True)
    (folder / SUMMARY).write_text("not a summary")
    with gitref.RefRenderer("main", repo=tmp_path / "repo", cache=cache) as base:
        assert (base.cached, base._process) == (["s"], None)
        [side] = base.result().values()
        assert isinstance(side, str)
        assert side.startswith(f"main ({commit[:7]}) rendered a folder this diff cannot read: ")


# --- offline/apiserver.py: what the API server stores, whole -------------------------------------------

META = {"uid": "00000000-0000-0000-0000-000000000000", "resourceVersion": "1", "generation": 1,
        "creationTimestamp": "2026-01-01T00:00:00Z"}
POD_DEFAULTS = {"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
                "terminationGracePeriodSeconds": 30, "securityContext": {}, "serviceAccountName": "default"}
CONTAINER_DEFAULTS = {"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


def _pod_spec() -> dict[str, Any]:
    return {"containers": [
        {"name": "app", "image": "app:1.2.3", "ports": [{"containerPort": 3001}],
         "readinessProbe": {"httpGet": {"path": "/ready", "port": 3001}, "periodSeconds": 5}},
        {"name": "sidecar", "image": "sidecar:latest", "livenessProbe": {"exec": {"command": ["true"]}},
         "startupProbe": {"exec": {"command": ["true"]}, "failureThreshold": 30}},
    ]}


def _defaulted_pod_spec() -> dict[str, Any]:
    return {
        **POD_DEFAULTS,
        "containers": [
            {"name": "app", "image": "app:1.2.3", "ports": [{"containerPort": 3001, "protocol": "TCP"}],
             "readinessProbe": {**PROBE_DEFAULTS, "httpGet": {"path": "/ready", "port": 3001}, "periodSeconds": 5},
             **CONTAINER_DEFAULTS, "imagePullPolicy": "IfNotPresent"},
            {"name": "sidecar", "image": "sidecar:latest",
             "livenessProbe": {**PROBE_DEFAULTS, "exec": {"command": ["true"]}},
             "startupProbe": {**PROBE_DEFAULTS, "exec": {"command": ["true"]}, "failureThreshold": 30},
             **CONTAINER_DEFAULTS, "imagePullPolicy": "Always"},
        ],
    }


def test_a_deployment_is_stored_with_the_api_servers_defaults_scaled_by_its_hpa() -> None:
    from offline.apiserver import live

    deployment: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
                                  "metadata": {"name": "web", "namespace": "app"},
                                  "spec": {"selector": {"matchLabels": {"app": "web"}},
                                           "template": {"spec": _pod_spec()}}}
    hpa = {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "app"},
           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 3}}
    other = {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "elsewhere"},
             "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 9}}
    assert live(deployment, [other, hpa]) == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "app", **META},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "replicas": 3,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {"spec": _defaulted_pod_spec()},
        },
        "status": {"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
                   "observedGeneration": 1},
    }
    unscaled = live({**deployment, "spec": {**deployment["spec"], "strategy": {"type": "Recreate"}}})
    assert (unscaled["spec"]["replicas"], unscaled["spec"]["strategy"], unscaled["status"]["replicas"]) == (
        1, {"type": "Recreate"}, 1)


def test_jobs_cronjobs_services_hpas_and_budgets_are_stored_with_their_defaults() -> None:
    from offline.apiserver import live

    job = live({"kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": _pod_spec()}}})
    assert job == {"kind": "Job", "metadata": {"name": "j", **META}, "spec": {
        "template": {"spec": _defaulted_pod_spec()}, "backoffLimit": 6, "completions": 1, "parallelism": 1}}
    cron = live({"kind": "CronJob", "metadata": {"name": "c"},
                 "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": _pod_spec()}}}}})
    assert cron == {"kind": "CronJob", "metadata": {"name": "c", **META}, "spec": {
        "schedule": "0 * * * *", "concurrencyPolicy": "Allow", "suspend": False, "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1, "jobTemplate": {"spec": {"template": {"spec": _defaulted_pod_spec()}}}}}
    service = live({"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    assert service == {"kind": "Service", "metadata": {"name": "s", **META}, "spec": {
        "ports": [{"port": 80}], "type": "ClusterIP", "sessionAffinity": "None", "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"], "internalTrafficPolicy": "Cluster", "clusterIP": "172.20.0.10",
        "clusterIPs": ["172.20.0.10"]}}
    hpa = live({"kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}, "spec": {"maxReplicas": 5}})
    assert hpa == {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", **META},
                   "spec": {"maxReplicas": 5, "minReplicas": 1},
                   "status": {"currentReplicas": 1, "desiredReplicas": 1}}
    budget = live({"kind": "PodDisruptionBudget", "metadata": {"name": "b"}, "spec": {"minAvailable": 1}})
    assert budget["status"] == {"currentHealthy": 2, "desiredHealthy": 1, "disruptionsAllowed": 1, "expectedPods": 2}


def test_the_preview_shows_the_controller_release_and_hides_a_secret_output(plans: dict[str, Plan]) -> None:
    """Every retry setting on the controller's line (tries and their time bound), and an output the
    program made secret shown as `[secret]`, never its value."""
    plan = copy.copy(plans["production"])
    plan.outputs = {**plan.outputs, "token": Secret("s3cr3t")}
    text = format_plan(plan)
    [line] = [line for line in text.splitlines() if "chart=ingress-nginx" in line]
    assert line.split("  ")[-1].strip() == (
        "chart=ingress-nginx@4.15.1 service=ClusterIP replicas=2..6 load-balance=ewma keepalive=100/60s/100 "
        "retries=3x/10s grace=3700s")
    assert "    token: [secret]" in text.splitlines() and "s3cr3t" not in text


@pytest.mark.parametrize("new", [[], ["staging", "production"]])
def test_against_stack_compares_with_exactly_one_stack(new: list[str]) -> None:
    from offline.cli import UsageError
    from offline.diff import against_stack

    with pytest.raises(UsageError) as caught:
        against_stack("production", new)
    assert str(caught.value) == "--against-stack compares with exactly one --stack"


def test_the_reports_table_names_each_stacks_status() -> None:
    changed = diff_snapshots("changed", snap({"data": {"v": "a"}}), snap({"data": {"v": "b"}}))
    refused_change = dataclasses.replace(changed.resources[0],
                                         refusals=(Refusal("protected", "unprotect it first"),))
    diffs = [
        compare("unrendered-base", "the base failed", snap({})),
        compare("unrendered-head", snap({}), "the head failed"),
        dataclasses.replace(changed, label="refused", resources=(refused_change,)),
        changed,
        diff_snapshots("same", snap({"data": {}}), snap({"data": {}})),
    ]
    rows = [line for line in markdown("t", diffs).splitlines() if line.startswith("| <code>")]
    assert rows == [
        "| <code>unrendered-base</code> | ⚠️ not compared | – | – | – | – | – | – |",
        "| <code>unrendered-head</code> | ❌ error | – | – | – | – | – | – |",
        "| <code>refused</code> | ⛔ refused steps | 0 | 1 | 0 | 0 | 0 | 1 |",
        "| <code>changed</code> | changes | 0 | 1 | 0 | 0 | 0 | 0 |",
        "| <code>same</code> | no changes | 0 | 0 | 0 | 0 | 1 | 0 |",
    ]


def _registration(name: str, parent: str = "", custom: bool = False) -> Registration:
    return registration("t:m:T" if not custom else "t:m:C", name, {}, parent=parent, custom=custom)


def test_the_preview_tree_draws_a_line_down_past_each_child_that_is_not_the_last() -> None:
    plan = Plan("s", [_registration("a"), _registration("a1", "urn:a"), _registration("a2", "urn:a"),
                      _registration("a1x", "urn:a1", custom=True), _registration("b"),
                      _registration("b1", "urn:b", custom=True)], {}, [])
    assert [(prefix, r.name) for prefix, r in _tree(plan)] == [
        ("├─ ", "a"),
        ("│  ├─ ", "a1"),
        ("│  │  └─ ", "a1x"),
        ("│  └─ ", "a2"),
        ("└─ ", "b"),
        ("   └─ ", "b1"),
    ]


def test_a_render_shows_every_option_under_its_pulumi_name() -> None:
    from offline.render import options_of

    ids = {"urn:parent": "p", "urn:provider": "k", "urn:a": "a", "urn:b": "b"}
    resource = dataclasses.replace(
        _registration("r", "urn:parent", custom=True), provider="urn:provider", protect=True,
        depends_on=("urn:b", "urn:a"), custom_timeouts={"create": "10m"}, delete_before_replace=True,
        ignore_changes=("spec.z", "spec.a"), retain_on_delete=True, replace_on_changes=("spec.y", "spec.b"))
    assert options_of(resource, ids) == {
        "parent": "p", "provider": "k", "protect": True, "dependsOn": ["a", "b"], "customTimeouts": {"create": "10m"},
        "deleteBeforeReplace": True, "ignoreChanges": ["spec.a", "spec.z"], "retainOnDelete": True,
        "replaceOnChanges": ["spec.b", "spec.y"],
    }
    assert "replaceOnChanges" not in options_of(dataclasses.replace(resource, replace_on_changes=()), ids)


def test_a_lookup_of_a_missing_object_names_the_ones_there_are(plans: dict[str, Plan]) -> None:
    plan = plans["staging"]
    with pytest.raises(KeyError) as missing:
        plan.k8s("HorizontalPodAutoscaler", "spywatcher-hpa")
    assert missing.value.args[0] == ("0 HorizontalPodAutoscaler objects named 'spywatcher-hpa' (known: "
                                     "['spywatcher-backend-hpa', 'spywatcher-frontend-hpa'])")
    with pytest.raises(KeyError) as elsewhere:
        plan.k8s("HorizontalPodAutoscaler", "spywatcher-backend-hpa", namespace="default")
    assert elsewhere.value.args[0].startswith("0 HorizontalPodAutoscaler objects named 'spywatcher-backend-hpa'")
    assert plan.k8s("HorizontalPodAutoscaler", "spywatcher-backend-hpa", namespace="spywatcher-staging")["kind"] == (
        "HorizontalPodAutoscaler")
    with pytest.raises(KeyError) as no_resource:
        plan.get("aws:lb/loadBalancer:LoadBalancer", "api")
    assert no_resource.value.args[0] == (
        "0 resources of type aws:lb/loadBalancer:LoadBalancer named 'api' (known: ['edge'])")
