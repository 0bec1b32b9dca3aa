"""checkov (offline, pinned) over every rendered Kubernetes object of both stacks: no failed check
apart from the explicit skip list in `checkov-skips.yaml`, where each entry says why."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import Plan
from tests.conftest import ROOT

SKIPS = yaml.safe_load((ROOT / "checkov-skips.yaml").read_text())
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-scan" / "bin" / "checkov"))


def write_objects(plans: dict[str, Plan], folder: Path) -> int:
    count = 0
    for stack, plan in plans.items():
        for obj in plan.k8s_objects():
            meta = obj["metadata"]
            name = f"{stack}--{obj['kind']}--{meta.get('namespace', '_')}--{meta['name']}.yaml"
            (folder / name).write_text(yaml.safe_dump(obj, sort_keys=True))
            count += 1
    return count


def run_checkov(folder: Path) -> dict[str, Any]:
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is not installed at {CHECKOV}: `make test` installs it into .venv-scan")
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(folder), "--framework", "kubernetes", "--skip-download", "--quiet",
         "--compact", "--output", "json"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def _kind_name(resource: str) -> str:
    kind, _, rest = resource.partition(".")
    return f"{kind}/{rest.rsplit('.', 1)[-1]}"


def skip_for(check_id: str, resource: str) -> dict[str, Any] | None:
    for entry in SKIPS:
        if entry["id"] == check_id and ("only" not in entry or any(
                fnmatch.fnmatchcase(_kind_name(resource), pattern) for pattern in entry["only"])):
            return entry
    return None


def test_skip_list_entries_explain_themselves() -> None:
    for entry in SKIPS:
        assert set(entry) <= {"id", "name", "reason", "only"}, entry
        assert entry["id"].startswith("CKV_K8S_") and len(entry["reason"]) > 40, entry


# A privileged, root, host-network pod scanned with the stacks (one checkov run is ~8 s): it must
# be reported, and not excused by the skip list, or the scan proves nothing.
SELF_TEST = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "checkov-self-test", "namespace": "self-test"},
    "spec": {"hostNetwork": True, "containers": [{
        "name": "bad", "image": "busybox:1.36", "securityContext": {"privileged": True, "runAsUser": 0},
    }]},
}


def _is_self_test(failure: dict[str, Any]) -> bool:
    return str(failure["resource"]).startswith("Pod.self-test.")


@pytest.fixture(scope="module")
def report(plans: dict[str, Plan], fixture_plans: dict[str, Plan],
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("checkov")
    # The stacks and the test stacks: Argo Rollouts (its controller's Role, Rollout and Services), and
    # every optional part on (both data planes, the canary, schedules, recommendations).
    assert sorted(fixture_plans) == ["all-options", "rollouts"]
    assert write_objects({**plans, **fixture_plans}, folder) > 50
    (folder / "self-test.yaml").write_text(yaml.safe_dump(SELF_TEST))
    return run_checkov(folder)


def test_no_failed_check_outside_the_skip_list(report: dict[str, Any]) -> None:
    failed = [f for f in report["results"]["failed_checks"] if not _is_self_test(f)]
    unexplained = sorted({f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in failed
                          if skip_for(f["check_id"], f["resource"]) is None})
    assert unexplained == [], "\n".join(unexplained)
    assert report["summary"]["passed"] > 500, "checkov checked next to nothing"


def test_every_skip_is_still_needed(report: dict[str, Any]) -> None:
    used = {f["check_id"] for f in report["results"]["failed_checks"] if not _is_self_test(f)}
    stale = [entry["id"] for entry in SKIPS if entry["id"] not in used]
    assert stale == [], f"skip-list entries that no longer match a failure: {stale}"
    failing = {(f["check_id"], _kind_name(f["resource"])) for f in report["results"]["failed_checks"]
               if not _is_self_test(f)}
    unused = [f"{entry['id']} {pattern}" for entry in SKIPS for pattern in entry.get("only", [])
              if not any(check == entry["id"] and fnmatch.fnmatchcase(name, pattern) for check, name in failing)]
    assert unused == [], f"`only` patterns that no longer match a failure: {unused}"


def test_an_image_without_a_digest_outside_the_apps_own_fails() -> None:
    assert skip_for("CKV_K8S_43", "Deployment.spywatcher.spywatcher-backend") is not None
    assert skip_for("CKV_K8S_43", "Job.spywatcher.spywatcher-backend-migrate-231cc010aa") is not None
    assert skip_for("CKV_K8S_43", "CronJob.spywatcher.spywatcher-backend-off-peak") is None
    assert skip_for("CKV_K8S_43", "Deployment.ingress-nginx.some-sidecar") is None


def test_the_scan_can_fail(report: dict[str, Any]) -> None:
    failed = [f for f in report["results"]["failed_checks"] if _is_self_test(f)]
    unexplained = {f["check_id"] for f in failed if skip_for(f["check_id"], f["resource"]) is None}
    assert {"CKV_K8S_16", "CKV_K8S_19"} <= unexplained  # privileged; host network
