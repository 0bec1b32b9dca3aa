"""checkov (offline, pinned) over every rendered Kubernetes object of every shipped stack, the test
stacks (all-options, rollouts) and production with Envoy Gateway alone and with the canary chosen by
header: no failed check apart from the explicit skip list in `checkov-skips.yaml`, where each entry
says why."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import DELETE, Plan, run_stack
from tests.conftest import ROOT

SKIPS = yaml.safe_load((ROOT / "checkov-skips.yaml").read_text())
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-scan" / "bin" / "checkov"))


def write_objects(plans: dict[str, Plan], folder: Path) -> int:
    """Each distinct object once (a fifth of them are the same in two renders: checkov would report
    the same findings for both, under the same kind, namespace and name); how many were written."""
    written: set[str] = set()
    for stack, plan in plans.items():
        for obj in plan.k8s_objects():
            text = yaml.safe_dump(obj, sort_keys=True)
            if text in written:
                continue
            written.add(text)
            meta = obj["metadata"]
            name = f"{stack}--{obj['kind']}--{meta.get('namespace', '_')}--{meta['name']}.yaml"
            (folder / name).write_text(text)
    return len(written)


def run_checkov(folder: Path) -> dict[str, Any]:
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is not installed at {CHECKOV}: `make test` installs it into .venv-scan")
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(folder), "--framework", "kubernetes", "--skip-download",
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


# Renders no stack file ships, scanned with the stacks: production on Envoy Gateway alone (its proxy
# namespace, policies and rate limit) and production with the canary, chosen by header from one range.
GATEWAY_ENABLED = {
    "gateway": {"enabled": True, "rateLimit": {
        "redisUrl": "spywatcher-rl.abc123.cache.amazonaws.com:6379", "redisCidrs": ["10.0.96.0/24"],
        "auth": {"name": "ratelimit-redis-auth", "key": "auth-token"}}},
    "ingressController": {"enabled": False}, "loadBalancer": {"weights": DELETE},
}
CANARY_ENABLED = {"canary": {
    "enabled": True, "header": "X-Spywatcher-Canary", "headerSourceCidrs": ["203.0.113.0/24"],
    "image": f"ghcr.io/subculture-collective/spywatcher-backend:v2.1.0-rc.1@sha256:{'3' * 64}",  # a test digest
}}


@pytest.fixture(scope="module")
def report(plans: dict[str, Plan], fixture_plans: dict[str, Plan],
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("checkov")
    # The stacks; the test stacks: Argo Rollouts (its controller's Role, Rollout and Services), and
    # every optional part on (both data planes, the canary, schedules, recommendations); production on
    # Envoy Gateway alone and with the canary chosen by header.
    assert sorted(fixture_plans) == ["all-options", "rollouts"]
    scanned = {**plans, **fixture_plans, "production-gateway-enabled": run_stack("production", GATEWAY_ENABLED),
               "production-canary-enabled": run_stack("production", CANARY_ENABLED)}
    assert write_objects(scanned, folder) > 300
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


def _results(report: dict[str, Any], outcome: str, check_id: str, resource: str) -> list[dict[str, Any]]:
    return [r for r in report["results"][f"{outcome}_checks"]
            if r["check_id"] == check_id and _kind_name(r["resource"]) == resource]


def test_the_canary_runs_a_digest_and_the_gateway_render_is_scanned(report: dict[str, Any]) -> None:
    """The canary Deployment passes CKV_K8S_43 (its image by digest, no skip); the Service of Envoy
    Gateway's proxies is among the objects checked."""
    assert _results(report, "passed", "CKV_K8S_43", "Deployment/spywatcher-backend-canary")
    assert not _results(report, "failed", "CKV_K8S_43", "Deployment/spywatcher-backend-canary")
    resources = {str(r["resource"]) for outcome in ("passed", "failed")
                 for r in report["results"][f"{outcome}_checks"]}
    assert "Service.spywatcher-gateway.spywatcher-gateway-targets" in resources


def test_every_schedule_cronjob_is_the_only_pod_with_a_token(report: dict[str, Any]) -> None:
    """CKV_K8S_38 fails exactly on the schedule CronJobs (the backend's and the frontend's), each
    explained by name in the skip list; no other pod mounts a token."""
    failing = {_kind_name(f["resource"]) for f in report["results"]["failed_checks"]
               if f["check_id"] == "CKV_K8S_38" and not _is_self_test(f)}
    assert failing == {"CronJob/spywatcher-backend-weekday-peak", "CronJob/spywatcher-backend-off-peak",
                       "CronJob/spywatcher-frontend-night"}
