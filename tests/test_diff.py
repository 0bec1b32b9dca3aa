"""`python -m offline diff`: semantic diffs of renders, their reports, and diffs against git refs."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.changes import MISSING, Change, StackDiff, compare, diff_snapshots, diff_values, exit_code
from offline.diff import main
from offline.engine import Plan
from offline.gitref import RefRenderer, cache_root, environment_key, same_program
from offline.render import kubernetes_version, render_plan
from offline.report import MARKER, markdown, text
from offline.snapshot import Resource, Snapshot, snapshot_from_files
from tests.conftest import ROOT
from tests.gitrepo import git

OPTIONS = {"parent": "stack", "provider": "", "protect": False, "dependsOn": [], "customTimeouts": {},
           "deleteBeforeReplace": False, "ignoreChanges": [], "retainOnDelete": False}


def resource(rid: str, inputs: Any, **options: Any) -> Resource:
    return Resource(rid, {**OPTIONS, **options}, inputs)


def snap(*resources: Resource, **settings: Any) -> Snapshot:
    return Snapshot("s", dict(settings), {r.id: r for r in resources})


def deployment(env: list[dict[str, str]], image: str = "app:1", ports: list[int] | None = None) -> dict[str, Any]:
    container = {"name": "app", "image": image, "env": env, "ports": [{"containerPort": p} for p in ports or [80]]}
    return {"kind": "Deployment", "metadata": {"name": "app", "labels": {"app.kubernetes.io/name": "app"}},
            "spec": {"template": {"spec": {"containers": [container, {"name": "sidecar", "image": "proxy:1"}]}}}}


DEPLOYMENT = "kubernetes:apps/v1:Deployment::app"
HPA_FILE = "horizontalpodautoscaler-spywatcher-backend-hpa.yaml"
ENV = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]


# --- Against a git ref -------------------------------------------------------------------------

# What the copy of the project leaves out: environments, caches, git and render output.
NOT_COPIED = shutil.ignore_patterns(".git", ".venv*", "build", "__pycache__", ".*_cache", ".hypothesis")


def edit_stack(repo: Path, stack: str, section: str, key_path: list[str], value: Any) -> None:
    path = repo / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    node = document["config"].setdefault(f"spywatcher:{section}", {})
    for key in key_path[:-1]:
        node = node.setdefault(key, {})
    node[key_path[-1]] = value
    path.write_text(yaml.safe_dump(document))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A repository with a copy of this project: commit `old` has no renderer and no production
    stack; commit `base` has staging's backend at 3 replicas at most (the working tree says 4) and a
    production stack file that fails validation; the work tree equals this checkout."""
    root = tmp_path_factory.mktemp("repo") / "project"
    shutil.copytree(ROOT, root, ignore=NOT_COPIED)
    git(root, "init", "-q")
    kept = tmp_path_factory.mktemp("kept")
    (root / "offline" / "render.py").rename(kept / "render.py")
    (root / "Pulumi.production.yaml").rename(kept / "Pulumi.production.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "old: no renderer yet")
    old = git(root, "rev-parse", "HEAD")
    (kept / "render.py").rename(root / "offline" / "render.py")
    (kept / "Pulumi.production.yaml").rename(root / "Pulumi.production.yaml")
    current = {name: (root / name).read_text() for name in ("Pulumi.staging.yaml", "Pulumi.production.yaml")}
    edit_stack(root, "staging", "backend", ["autoscaling", "maxReplicas"], 3)
    edit_stack(root, "production", "backend", ["autoscaling", "minReplicas"], 0)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    for name, content in current.items():
        (root / name).write_text(content)
    base = git(root, "rev-parse", "HEAD")
    return {"root": root, "old": old, "base": base, "status": git(root, "status", "--porcelain"),
            "cache": tmp_path_factory.mktemp("cache")}


@pytest.fixture(scope="module", autouse=True)
def base_render(repo: dict[str, Any]) -> Iterator[RefRenderer]:
    """The render of commit `base`, started before this module's first test so that it runs
    alongside them; the last test reads it."""
    with RefRenderer(repo["base"], None, repo["root"], cache=repo["cache"]) as renderer:
        yield renderer


# --- Field changes -----------------------------------------------------------------------------


def test_no_change_is_empty_and_true_is_not_1() -> None:
    assert diff_values(deployment(ENV), deployment(ENV)) == []
    assert diff_values({"a": 1}, {"a": True}) == [Change("a", 1, True)]
    assert diff_values({"a": "1"}, {"a": 1}) == [Change("a", "1", 1)]


def test_added_removed_and_changed_fields() -> None:
    changes = diff_values({"keep": 1, "gone": "x", "edit": {"deep": 1}}, {"keep": 1, "new": [1], "edit": {"deep": 2}})
    assert changes == [Change("edit.deep", 1, 2), Change("gone", "x", MISSING), Change("new", MISSING, [1])]
    assert [c.symbol for c in changes] == ["~", "-", "+"]


def test_list_items_with_a_name_are_addressed_by_it() -> None:
    new_env = [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]  # A removed, B changed, C added
    changes = diff_values(deployment(ENV), deployment(new_env, image="app:2"))
    base = "spec.template.spec.containers[name=app]"
    assert changes == [
        Change(f"{base}.env[name=B].value", "2", "20"),
        Change(f"{base}.env[name=C]", MISSING, {"name": "C", "value": "3"}),
        Change(f"{base}.env[name=A]", {"name": "A", "value": "1"}, MISSING),
        Change(f"{base}.image", "app:1", "app:2"),
    ]


def test_reordering_named_items_is_no_change() -> None:
    assert diff_values(deployment(ENV), deployment(list(reversed(ENV)))) == []


def test_lists_without_a_unique_key_go_by_index_and_plain_lists_whole() -> None:
    cpu, memory, gpu = ({"type": "Resource", "resource": {"name": n}} for n in ("cpu", "memory", "gpu"))
    old = {"metrics": [cpu, memory], "subnets": ["a", "b"]}
    new = {"metrics": [cpu, gpu, {"type": "Pods", "pods": {}}], "subnets": ["a", "c"]}
    assert diff_values(old, new) == [
        Change("metrics[1].resource.name", "memory", "gpu"),
        Change("metrics[2]", MISSING, {"type": "Pods", "pods": {}}),
        Change("subnets", ["a", "b"], ["a", "c"]),
    ]


def test_other_unique_keys_address_items_and_odd_keys_are_quoted() -> None:
    old = {"policies": [{"type": "Percent", "value": 100}, {"type": "Pods", "value": 4}],
           "metadata": {"annotations": {"nginx.ingress.kubernetes.io/affinity": "cookie"}}}
    new = {"policies": [{"type": "Percent", "value": 100}, {"type": "Pods", "value": 2}],
           "metadata": {"annotations": {"nginx.ingress.kubernetes.io/affinity": "none"}}}
    assert [c.path for c in diff_values(old, new)] == [
        'metadata.annotations["nginx.ingress.kubernetes.io/affinity"]',
        "policies[type=Pods].value",
    ]


# --- Resources and stacks ----------------------------------------------------------------------


def test_resources_created_deleted_updated_and_unchanged() -> None:
    service = resource("kubernetes:core/v1:Service::svc", {"spec": {"port": 80}})
    old = snap(resource(DEPLOYMENT, deployment(ENV)),
               resource("aws:lb/loadBalancer:LoadBalancer::edge", {"idle": 60}, protect=True), service)
    new = snap(resource(DEPLOYMENT, deployment(ENV, image="app:2")), service,
               resource("kubernetes:core/v1:ConfigMap::cfg", {"data": {"K": "v"}}, dependsOn=["x::y"]))
    result = diff_snapshots("s", old, new)
    ops = {(r.op, r.resource.id) for r in result.resources}
    assert ops == {("update", DEPLOYMENT), ("delete", "aws:lb/loadBalancer:LoadBalancer::edge"),
                   ("create", "kubernetes:core/v1:ConfigMap::cfg")}
    assert result.unchanged == 1 and result.has_changes
    created = next(r for r in result.resources if r.op == "create")
    assert [(c.path, c.new) for c in created.changes] == [
        ("(options).dependsOn", ["x::y"]), ("(options).parent", "stack"), ("data.K", "v")]
    deleted = next(r for r in result.resources if r.op == "delete")
    assert [r.reason for r in deleted.refusals] == ["it is protected (`protect`): `pulumi up` refuses to delete it"]


def test_option_changes_are_shown_and_no_change_is_no_change() -> None:
    balancer = "aws:lb/loadBalancer:LoadBalancer::edge"
    old = snap(resource(balancer, {"idle": 60}, protect=True))
    new = snap(resource(balancer, {"idle": 60}, protect=False, parent="other::p"))
    result = diff_snapshots("s", old, new)
    assert result.resources[0].changes == (Change("(options).parent", "stack", "other::p"),
                                           Change("(options).protect", True, False))
    assert "URN changes" in result.resources[0].notes[0]
    same = diff_snapshots("s", old, old)
    assert not same.has_changes and same.unchanged == 1 and exit_code([same]) == 0


def test_stack_settings_and_missing_stacks() -> None:
    changed = diff_snapshots("s", snap(kubernetesVersion="1.33"), snap(kubernetesVersion="1.34"))
    assert changed.settings == (Change("kubernetesVersion", "1.33", "1.34"),)
    new_stack = diff_snapshots("s", None, snap(resource(DEPLOYMENT, deployment(ENV))))
    assert [r.op for r in new_stack.resources] == ["create"]
    gone = diff_snapshots("s", snap(resource(DEPLOYMENT, deployment(ENV))), None)
    assert [r.op for r in gone.resources] == ["delete"]


def test_exit_codes_tell_no_change_changes_and_errors_apart() -> None:
    same = diff_snapshots("a", snap(), snap())
    changed = diff_snapshots("b", snap(), snap(resource(DEPLOYMENT, {})))
    unavailable = compare("c", "base has no renderer", snap())
    broken = compare("d", snap(), "invalid stack configuration")
    assert unavailable.status == "unavailable" and broken.status == "error"
    assert compare("e", "old side broken", snap(), old_is_base=False).status == "error"
    protected = resource("aws:lb/loadBalancer:LoadBalancer::edge", {"internal": False}, protect=True)
    refused = diff_snapshots("f", snap(protected), snap(resource(protected.id, {"internal": True}, protect=True)))
    assert [exit_code(d) for d in ([same], [same, changed], [same, unavailable], [changed, broken], [changed, refused],
                                   [refused, broken])] == [0, 2, 2, 1, 3, 1]


# --- Reports -----------------------------------------------------------------------------------


def many_changes(label: str, count: int) -> StackDiff:
    old = snap(*(resource(f"kubernetes:core/v1:ConfigMap::c{i}", {"data": {"v": "x" * 50}}) for i in range(count)))
    new = snap(*(resource(f"kubernetes:core/v1:ConfigMap::c{i}", {"data": {"v": "y" * 50}}) for i in range(count)))
    return diff_snapshots(label, old, new)


def test_text_report_lists_each_resource_and_field() -> None:
    old = snap(resource(DEPLOYMENT, deployment(ENV)))
    new = snap(resource(DEPLOYMENT, deployment(ENV, image="app:2")))
    report = text("base → head", [diff_snapshots("staging", old, new), diff_snapshots("production", old, old)])
    assert report.splitlines() == [
        "Offline plan diff: base → head",
        "",
        "stack staging: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 unchanged",
        "rollouts:",
        ">> Deployment /app rolls out: image of app 1 → 2",
        "changes:",
        f"~ {DEPLOYMENT}",
        '~     spec.template.spec.containers[name=app].image: "app:1" → "app:2"',
        "",
        "stack production: no changes (1 resources)",
    ]


def test_markdown_has_a_marker_a_table_and_one_details_per_stack() -> None:
    diffs = [many_changes("staging", 3), diff_snapshots("production", snap(), snap()),
             compare("qa", "origin/main (abc1234) has no offline renderer", snap())]
    report = markdown("origin/main (abc1234) → working tree", diffs)
    assert report.startswith(MARKER + "\n")
    assert "| <code>staging</code> | changes | 0 | 3 | 0 | 0 | 0 | 0 |" in report
    assert "| <code>production</code> | no changes | 0 | 0 | 0 | 0 |" in report
    assert "| <code>qa</code> | ⚠️ not compared |" in report
    assert report.count("<details>") == 3 and report.count("</details>") == 3
    assert "```diff\n~ kubernetes:core/v1:ConfigMap::c0\n" in report
    assert "has no offline renderer" in report and "not shown" not in report


def test_markdown_stays_within_the_comment_limit_and_says_what_it_cut() -> None:
    diffs = [many_changes("staging", 600), many_changes("production", 5), many_changes("qa", 900)]
    full = markdown("a → b", diffs, 10_000_000)
    assert len(full.encode()) > 65_536 and "not shown" not in full
    report = markdown("a → b", diffs)
    assert len(report.encode()) <= 65_536
    assert report.count("<details>") == 3 and report.count("```") == 6
    assert report.count("more lines not shown (size limit)") == 2  # the small stack is whole
    assert "~     data.v" in report.split("<code>production</code>: ")[1].split("</details>")[0]
    assert report.endswith("</sub>\n")


def test_the_cli_compares_two_render_folders(plans: dict[str, Plan], tmp_path: Path) -> None:
    for stack in ("staging", "production"):
        for side in ("old", "new"):
            folder = tmp_path / side / stack
            for relative, content in render_plan(plans[stack], kubernetes_version(stack)).files.items():
                (folder / relative).parent.mkdir(parents=True, exist_ok=True)
                (folder / relative).write_text(content)
    out, err = io.StringIO(), io.StringIO()
    assert main([str(tmp_path / "old"), str(tmp_path / "new")], out=out, err=err) == 0, err.getvalue()
    assert "stack production: no changes" in out.getvalue() and "stack staging: no changes" in out.getvalue()
    hpa = tmp_path / "new" / "staging" / "kubernetes" / "spywatcher-staging" / HPA_FILE
    hpa.write_text(hpa.read_text().replace("maxReplicas: 4", "maxReplicas: 7"))
    report = tmp_path / "diff.md"
    code = main([str(tmp_path / "old"), str(tmp_path / "new"), "--format", "markdown", "--out", str(report)],
                out=out, err=err)
    assert code == 2
    assert "~     spec.maxReplicas: 4 → 7" in report.read_text() and report.read_text().startswith(MARKER)


def test_usage_errors_exit_1() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--against-stack", "production"], out=out, err=err) == 1
    assert main(["--stack", "qa", "--against-stack", "production"], out=out, err=err) == 1
    assert main(["--max-chars", "10"], out=out, err=err) == 1
    assert main(["--base", "no-such-ref-anywhere"], out=out, err=err) == 1
    lines = err.getvalue().splitlines()
    assert lines[0] == "error: --against-stack compares with exactly one --stack"
    assert "no stack file for qa" in lines[1] and "at least 4096" in lines[2] and "no-such-ref-anywhere" in lines[3]


def test_the_cli_compares_two_stacks(plans: dict[str, Plan], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("offline.render.run_stack", lambda stack: plans[stack])
    out, err = io.StringIO(), io.StringIO()
    assert main(["--stack", "production", "--against-stack", "staging"], out=out, err=err) == 2
    report = out.getvalue()
    assert "stack staging → production:" in report
    assert "~     (options).protect: false → true" in report.split("LoadBalancer::edge\n")[1]
    assert '~     spec.maxReplicas: 4 → 10' in report.split("HorizontalPodAutoscaler::backend-hpa\n")[1]


# --- Against a git ref -------------------------------------------------------------------------


def test_a_base_without_a_renderer_is_reported_not_a_crash(repo: dict[str, Any], plans: dict[str, Plan],
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("offline.render.run_stack", lambda stack: plans[stack])  # the working tree's plans
    monkeypatch.setattr("offline.diff.ROOT", repo["root"])  # the repository the ref is read from
    report, summary = tmp_path / "diff.md", tmp_path / "summary.md"
    out, err = io.StringIO(), io.StringIO()
    code = main(["--base", repo["old"], "--format", "markdown", "--out", str(report), "--summary", str(summary)],
                out=out, err=err)
    assert code == 2, out.getvalue() + err.getvalue()
    lines = out.getvalue().splitlines()  # the text report goes to stdout
    assert lines[0].startswith(f"Offline plan diff: {repo['old']} ({repo['old'][:7]}) → working tree (HEAD ")
    created = len(plans["production"].resources)
    assert (f"stack production: {created} to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged, "
            "stack settings changed" in lines)
    staging = lines.index("stack staging: not compared: the base could not be rendered")
    assert lines[staging + 1] == (f"{repo['old']} ({repo['old'][:7]}) has no offline renderer (offline/render.py): "
                                  "nothing to compare with")
    comment = report.read_text()
    assert comment.startswith(MARKER) and comment.count("<details>") == 2
    assert f"| <code>production</code> | changes | {created} | 0 | 0 | 0 | 0 | 0 |" in comment
    assert "| <code>staging</code> | ⚠️ not compared |" in comment
    # A whole new stack is more than a comment holds: the comment is cut, the job summary is not.
    full = summary.read_text()
    assert len(comment.encode()) <= 65_536 < len(full.encode())
    assert "more lines not shown" in comment and "not shown" not in full and full.startswith(MARKER)


def test_the_base_is_rendered_by_its_own_renderer(repo: dict[str, Any], base_render: RefRenderer,
                                                  plans: dict[str, Plan]) -> None:
    sides = base_render.result()
    assert git(repo["root"], "status", "--porcelain") == repo["status"], "the repository must be left as it was"
    assert not (repo["root"] / "build").exists(), "the base must be rendered outside the repository"
    assert sorted(sides) == ["production", "staging"]
    production = sides["production"]
    assert isinstance(production, str) and production.splitlines()[:2] == [
        f"{repo['base']} ({repo['base'][:7]}) could not be rendered:",
        "error: stack production: invalid stack configuration (1 problem; keys are under `spywatcher:`):",
    ]
    assert "  - backend.autoscaling.minReplicas: 0 — must be at least 1" in production
    assert compare("production", production, None).status == "unavailable"
    head = snapshot_from_files(render_plan(plans["staging"], kubernetes_version("staging")).files)
    staging = compare("staging", sides["staging"], head)
    assert [(r.op, r.resource.id) for r in staging.resources] == [
        ("update", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler::backend-hpa")]
    assert staging.resources[0].changes == (Change("spec.maxReplicas", 3, 4),)
    assert not staging.settings and staging.unchanged == len(plans["staging"].resources) - 1


def test_a_base_rendered_once_is_read_from_the_cache_next_time(repo: dict[str, Any], plans: dict[str, Plan]) -> None:
    """After the test above read the base's render: staging (rendered) is cached under the commit and
    this interpreter, production (refused by its config) is not, so only production renders again."""
    entry = repo["cache"] / f"{repo['base']}-{environment_key()}"
    assert sorted(p.name for p in entry.iterdir()) == ["staging"]
    with RefRenderer(repo["base"], None, repo["root"], cache=repo["cache"]) as again:
        assert again.cached == ["staging"]
        sides = again.result()
    head = snapshot_from_files(render_plan(plans["staging"], kubernetes_version("staging")).files)
    staging = compare("staging", sides["staging"], head)
    assert [(r.op, r.resource.id, r.changes) for r in staging.resources] == [
        ("update", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler::backend-hpa",
         (Change("spec.maxReplicas", 3, 4),))]
    assert isinstance(sides["production"], str) and "must be at least 1" in sides["production"]
    assert git(repo["root"], "status", "--porcelain") == repo["status"]


def test_a_cache_folder_others_could_write_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    assert cache_root() == tmp_path / f"spywatcher-offline-diff-{os.getuid()}"
    assert (cache_root() or tmp_path).stat().st_mode & 0o777 == 0o700
    (tmp_path / f"spywatcher-offline-diff-{os.getuid()}").chmod(0o777)
    assert cache_root() is None


def test_the_cache_key_follows_the_installed_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pulumi-3.272.0.dist-info").mkdir()
    monkeypatch.setattr("sysconfig.get_paths", lambda: {"purelib": str(tmp_path), "platlib": str(tmp_path)})
    before = environment_key()
    (tmp_path / "pulumi-3.272.0.dist-info").rename(tmp_path / "pulumi-3.273.0.dist-info")
    assert environment_key() != before


def test_the_same_program_is_told_apart_from_another(repo: dict[str, Any]) -> None:
    """`base` differs from the work tree in its stack files only; `old` lacks the renderer."""
    assert same_program(repo["base"], repo["root"]) is True
    assert same_program(repo["old"], repo["root"]) is False
    (repo["root"] / "docs" / "note.md").write_text("a note\n")
    assert same_program(repo["base"], repo["root"]) is True
    (repo["root"] / "docs" / "note.md").unlink()
    (repo["root"] / "extra.py").write_text("")
    try:
        assert same_program(repo["base"], repo["root"]) is False  # an untracked module could be imported
    finally:
        (repo["root"] / "extra.py").unlink()


def test_a_base_with_this_program_rendered_here_equals_its_own_renderers(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """This checkout against its own HEAD (its stack file edited in the working tree or not): the
    in-process render of HEAD's production stack is the one `python -m offline render` writes."""
    if not same_program("HEAD", ROOT):
        pytest.skip("this checkout's working tree runs another program than HEAD's")
    with RefRenderer("HEAD", ["production"], ROOT, cache=tmp_path / "a") as here:
        assert here.here
        mine = here.result()["production"]
    monkeypatch.setattr("offline.gitref.same_program", lambda commit, repo: False)
    with RefRenderer("HEAD", ["production"], ROOT, cache=tmp_path / "b") as apart:
        assert not apart.here
        theirs = apart.result()["production"]
    assert isinstance(mine, Snapshot) and isinstance(theirs, Snapshot)
    assert (mine.settings, mine.resources) == (theirs.settings, theirs.resources)
