"""The GitHub Actions workflows: actionlint (with shellcheck) finds nothing, and they do what
docs/reviewing-changes.md says: the offline diff on pull requests without cloud credentials, real
previews only where configured, staging on push, production by hand behind an environment."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.stackfile import stack_names
from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
# `uses: owner/repo@<commit> # v1.2.3`: a commit pin with the version it is.
SHA_PIN = re.compile(r"uses: ([\w.-]+/[\w./-]+)@[0-9a-f]{40} # (v\d+)(?:\.\d+)*$", re.MULTILINE)


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    """actionlint with the pinned shellcheck (both from requirements-dev.txt), pyflakes off."""
    tools = [BIN / "actionlint", BIN / "shellcheck"]
    missing = [str(t) for t in tools if not t.is_file()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: `make test` installs requirements-dev.txt")
    command = [str(tools[0]), "-no-color", "-shellcheck", str(tools[1]), "-pyflakes=", *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return dict(document)


def step(job: dict[str, Any], uses: str) -> dict[str, Any]:
    found = [s for s in job["steps"] if str(s.get("uses", "")).startswith(uses)]
    assert len(found) == 1, f"expected one step using {uses}, found {len(found)}"
    return dict(found[0])


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in job["steps"])


def test_actionlint_finds_nothing() -> None:
    assert [w.name for w in WORKFLOWS] == ["deploy.yml", "pull-request.yml"]
    result = actionlint(*WORKFLOWS)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_checks_the_inputs_of_commit_pinned_actions_too(tmp_path: Path) -> None:
    """actionlint knows an action's inputs by version tag only: lint a copy pinned by tag as well."""
    copies = {}
    for path in WORKFLOWS:
        text, pins = SHA_PIN.subn(lambda m: f"uses: {m[1]}@{m[2]}", path.read_text())
        assert pins > 0, f"{path.name}: no action pinned by commit"
        copies[path.name] = tmp_path / path.name
        copies[path.name].write_text(text)
    result = actionlint(*copies.values())
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    misspelt = copies["pull-request.yml"]
    misspelt.write_text(misspelt.read_text().replace("fetch-depth:", "fetch-dept:"))
    assert 'input "fetch-dept" is not defined in action "actions/checkout@v5"' in actionlint(misspelt).stdout


def test_actionlint_reports_what_is_wrong(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n"
                      "    steps:\n      - run: echo $UNQUOTED\n")
    result = actionlint(broken)
    assert result.returncode == 1
    assert 'needs job "nope" which does not exist' in result.stdout
    assert "SC2086" in result.stdout, "shellcheck must check the run scripts"


# `uses: owner/repo[/path]@<40 hex> # v1.2.3`, the whole line: a full commit, and the exact version it is.
FULL_PIN = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+")


def unpinned(text: str) -> list[str]:
    """Every `uses:` of a workflow that is not pinned by full commit with its version in a comment.
    A tag or branch can be moved to other code; a commit cannot. Local actions (`./…`) are the
    repository's own code."""
    found = []
    for line in text.splitlines():
        match = re.match(r"\s*(?:-\s+)?uses:\s*(.*)$", line)
        if match and not match[1].startswith("./") and not FULL_PIN.fullmatch(match[1].strip()):
            found.append(match[1].strip())
    return found


def test_every_action_is_pinned_by_full_commit_with_its_version() -> None:
    uses = 0
    for path in WORKFLOWS:
        text = path.read_text()
        uses += len(re.findall(r"uses:", text))
        assert unpinned(text) == [], f"{path.name}: not pinned by commit"
    assert uses >= 10
    # The check catches what it is for: tags, branches, short SHAs and a missing version comment.
    sample = "\n".join(
        [
            "      - uses: pulumi/actions@v6",
            "      - uses: actions/checkout@main",
            "        uses: actions/checkout@08c6903",
            "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8",
            "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0",
            "      - uses: ./.github/actions/local",
        ]
    )
    assert unpinned(sample) == [
        "pulumi/actions@v6",
        "actions/checkout@main",
        "actions/checkout@08c6903",
        "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8",
    ]


def secret_references(job: dict[str, Any]) -> list[str]:
    """Where a job reads `secrets.*`: `env` (the job's) or the `uses` of the step."""
    where = ["env"] if "secrets." in yaml.safe_dump(job.get("env") or {}) else []
    where += [str(s.get("uses", s.get("name"))) for s in job["steps"] if "secrets." in yaml.safe_dump(s)]
    return where


def test_secrets_reach_only_the_steps_that_run_pulumi() -> None:
    for name in ("pull-request.yml", "deploy.yml"):
        for job_name, job in workflow(name)["jobs"].items():
            for where in secret_references(job):
                assert where.startswith("pulumi/actions@"), f"{name} {job_name}: secrets in {where}"


def test_pull_requests_get_the_offline_diff_without_cloud_credentials() -> None:
    flow = workflow("pull-request.yml")
    assert "pull_request" in flow["on"] and flow["permissions"] == {"contents": "read"}
    test = flow["jobs"]["test"]
    assert step(test, "actions/setup-python")["with"]["python-version"] == "3.11" and ".ci/run" in runs(test)
    job = flow["jobs"]["offline-plan"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert step(job, "actions/checkout")["with"]["fetch-depth"] == 0
    assert "secrets." not in yaml.safe_dump(job) and "id-token" not in job["permissions"]
    diff = next(s for s in job["steps"] if s.get("id") == "diff")
    for part in ("-m offline diff --base HEAD^1", "--format markdown", '--summary "$GITHUB_STEP_SUMMARY"',
                 'echo "status=$status" >> "$GITHUB_OUTPUT"'):
        assert part in diff["run"], part
    comment = step(job, "actions/github-script")
    assert comment["continue-on-error"] is True
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    script = comment["with"]["script"]
    assert 'body.split("\\n", 1)[0]' in script and "updateComment" in script and "createComment" in script
    failing = job["steps"][-1]  # an error (1) or a step pulumi up refuses (3) fails the job; changes (2) do not
    assert failing["if"] == "steps.diff.outputs.status == '1' || steps.diff.outputs.status == '3'"
    assert failing["env"] == {"STATUS": "${{ steps.diff.outputs.status }}"} and "exit 1" in failing["run"]
    assert 'if [ "$STATUS" = 3 ]; then' in failing["run"]


def test_real_previews_run_with_a_preview_role_and_never_for_forks() -> None:
    job = workflow("pull-request.yml")["jobs"]["pulumi-preview"]
    assert job["if"] == (
        "vars.AWS_PREVIEW_ROLE_ARN != '' && github.event.pull_request.head.repo.full_name == github.repository"
    )
    # No environment: the OIDC subject is `repo:<owner>/<repo>:pull_request`, which only the preview
    # role trusts; an `environment:` here would hand branch code that environment's subject.
    assert "environment" not in job
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert sorted(job["strategy"]["matrix"]["stack"]) == stack_names()
    pulumi = step(job, "pulumi/actions@")
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["comment-on-pr"] is True
    assert "matrix.stack" in pulumi["with"]["stack-name"]
    # A read-only Pulumi token and no passphrase: the stacks' secrets are decrypted with AWS KMS
    # through the preview role (test_stack_secrets_are_encrypted_with_kms_not_a_passphrase).
    assert pulumi["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_PREVIEW_ACCESS_TOKEN }}"}
    aws = step(job, "aws-actions/configure-aws-credentials")["with"]
    assert aws["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}" and not any("key" in k for k in aws)
    assert "make kubeconfig" in runs(job)


def test_staging_deploys_on_push_and_production_by_hand_after_approval() -> None:
    flow = workflow("deploy.yml")
    assert flow["on"]["push"] == {"branches": ["main"]} and "workflow_dispatch" in flow["on"]
    jobs = flow["jobs"]
    roles = set()
    for stack in ("staging", "production"):
        job = jobs[stack]
        assert job["needs"] == "test" and job["environment"] == stack
        assert job["concurrency"] == {"group": f"pulumi-up-{stack}", "cancel-in-progress": False}
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        pulumi = step(job, "pulumi/actions@")
        assert pulumi["with"]["command"] == "up" and f"'{stack}'" in pulumi["with"]["stack-name"]
        assert pulumi["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
        # One role per environment, each trusting only its `environment:<stack>` subject.
        role = f"AWS_{stack.upper()}_ROLE_ARN"
        assert step(job, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"] == f"${{{{ vars.{role} }}}}"
        roles.add(role)
        # Deploys run only from main, whatever the event: a dispatch from a branch is skipped.
        condition = " ".join(job["if"].split())
        assert condition.startswith("github.ref == 'refs/heads/main' && "), condition
        # The role is an environment variable: the job's first step, not its `if:`, checks it.
        first = job["steps"][0]
        assert first["env"] == {"ROLE": f"${{{{ vars.{role} }}}}"}
        assert f'echo "::error title=No deploy role::set the variable {role} of the {stack} environment' in first["run"]
        assert first["run"].rstrip().endswith("exit 1\nfi")
    assert len(roles) == 2
    assert "github.event_name == 'push'" in jobs["staging"]["if"]
    assert "github.event_name == 'workflow_dispatch' && inputs.stack == 'production'" in " ".join(
        jobs["production"]["if"].split()
    )
    assert "push" not in jobs["production"]["if"]


# GitHub's contexts reference (github/docs content/actions/reference/workflows-and-actions/contexts.md,
# "Context availability"): a job's `if:` sees github, needs, vars and inputs, and its `vars` holds
# the repository's and organisation's variables only: "Configuration variables at the environment
# level are automatically available after their environment is declared by the runner", which is
# after the job's `if:` has been evaluated. A job-level `if:` on an environment variable is always
# false (the job is skipped, green).
JOB_IF_CONTEXTS = {"github", "needs", "vars", "inputs"}


def documented_variables() -> dict[str, str]:
    """docs/security.md's settings table: variable -> its kind ("repository variable", …)."""
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    found = {}
    for names, kind in re.findall(r"^\| ((?:`\w+`(?:, )?)+) \| ([^|]+) \|", text, re.MULTILINE):
        for name in re.findall(r"`(\w+)`", names):
            found[name] = kind.strip()
    return found


def job_if_problems(flow: dict[str, Any], variables: dict[str, str]) -> list[str]:
    """Job-level `if:`s that read a context GitHub does not give them, or an environment's variable."""
    problems = []
    for name, job in flow["jobs"].items():
        condition = re.sub(r"'[^']*'", "''", str(job.get("if", "")))  # string literals say nothing
        for context in sorted(set(re.findall(r"(?<![\w.])([a-z_]+)\.[A-Za-z_]", condition)) - JOB_IF_CONTEXTS):
            problems.append(f"{name}: `{context}` is not available in a job's if")
        for variable in re.findall(r"\bvars\.(\w+)", condition):
            if variables.get(variable) != "repository variable":
                problems.append(f"{name}: vars.{variable} is {variables.get(variable, 'undocumented')}, not a "
                                "repository variable: a job's if cannot see it")
    return problems


def test_no_job_if_reads_what_github_has_not_bound_yet() -> None:
    variables = documented_variables()
    assert variables["AWS_PREVIEW_ROLE_ARN"] == "repository variable"
    assert variables["AWS_STAGING_ROLE_ARN"].startswith("variables (of the `staging` and `production` environments)")
    for path in WORKFLOWS:
        assert job_if_problems(workflow(path.name), variables) == [], path.name
    # The check catches the gate every deploy job once had, and a context a job's if never sees.
    broken = {"jobs": {"staging": {"if": "vars.AWS_STAGING_ROLE_ARN != '' && github.ref == 'refs/heads/main'"},
                       "x": {"if": "env.FOO == '1' && steps.a.outputs.b"}}}
    assert sorted(job_if_problems(broken, variables)) == [
        "staging: vars.AWS_STAGING_ROLE_ARN is variables (of the `staging` and `production` environments), not a "
        "repository variable: a job's if cannot see it",
        "x: `env` is not available in a job's if",
        "x: `steps` is not available in a job's if",
    ]


def test_no_workflow_uses_the_shared_role_variable() -> None:
    for path in WORKFLOWS:
        assert "vars.AWS_ROLE_ARN" not in path.read_text(), path.name


def test_ci_runs_the_tests_with_promtool_installed() -> None:
    """Both workflows test through .ci/run, which installs promtool when it is missing and sets
    CI=true, so the promtool tests fail instead of skipping."""
    for name in ("pull-request.yml", "deploy.yml"):
        assert ".ci/run" in runs(workflow(name)["jobs"]["test"]), name
    script = (ROOT / ".ci" / "run").read_text()
    assert "command -v promtool" in script and "apt-get install" in script and " prometheus" in script
    assert "export CI=true" in script and script.rstrip().endswith("make test")


def test_every_real_preview_and_deploy_runs_the_policy_pack() -> None:
    """The pack is only worth what runs it: each pulumi/actions step passes it to the CLI."""
    found = 0
    for name in ("pull-request.yml", "deploy.yml"):
        for job in workflow(name)["jobs"].values():
            for s in job.get("steps", []):
                if str(s.get("uses", "")).startswith("pulumi/actions@"):
                    found += 1
                    assert s["with"]["policyPacks"] == "policy", (name, s["with"]["command"])
    assert found == 3  # the previews (one matrix job) and the two deploys
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()


def all_steps() -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, job_name, dict(s)) for name in ("pull-request.yml", "deploy.yml")
            for job_name, job in workflow(name)["jobs"].items() for s in job.get("steps", [])]


def test_no_checkout_leaves_its_token_behind() -> None:
    """actions/checkout writes the job's GITHUB_TOKEN into .git/config unless told not to; every
    later step (make, pip, the program) could read it (zizmor's `artipacked`)."""
    checkouts = [(name, job, s) for name, job, s in all_steps()
                 if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert len(checkouts) == 7
    for name, job, s in checkouts:
        assert s["with"]["persist-credentials"] is False, (name, job)


def test_the_pulumi_cli_is_the_version_of_the_sdk() -> None:
    """Unset, pulumi/actions installs the newest 3.x CLI on every run; the CLI is pinned to the
    SDK's release in requirements.txt."""
    sdk = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert sdk is not None
    versions = {(name, job): s["with"]["pulumi-version"] for name, job, s in all_steps()
                if str(s.get("uses", "")).startswith("pulumi/actions@")}
    assert versions == {("pull-request.yml", "pulumi-preview"): sdk[1], ("deploy.yml", "staging"): sdk[1],
                        ("deploy.yml", "production"): sdk[1]}


def test_stack_secrets_are_encrypted_with_kms_not_a_passphrase() -> None:
    """Each stack's secrets provider is its own AWS KMS key (decrypt granted by the key policy to the
    roles that preview or deploy it), so no workflow holds a passphrase a branch could print."""
    for stack in stack_names():
        document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
        region = document["config"]["spywatcher:cluster"]["region"]
        assert document["secretsprovider"] == f"awskms://alias/spywatcher-{stack}?region={region}", stack
    for path in WORKFLOWS:
        assert "PASSPHRASE" not in path.read_text(), path.name
