"""docs/security.md's threat model: a row for each surface with the control that holds it, and every
test file a row names exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT

PAGE = ROOT / "docs" / "security.md"

# Boundary (the row's first cell) -> a control its "Controls here" cell must name.
ROWS = {
    "Envoy Gateway controller → Kubernetes API": "`watch: {type: Namespaces}`",
    "ingress-nginx itself (the default path)": "CVE-2026-3288",
    "rate-limit service → Redis": "`failClosed`",
    "client → Envoy → backend headers": "`headers.earlyRequestHeaders.remove`",
    "backend → ClusterIPs": "`cluster.serviceCidr`",
    "internet client → the canary": "`canary.headerSourceCidrs`",
    "migration Job → the database": "`migration.existingSecret`",
    "pull-request branch code → the stacks' secrets": "`secretsprovider: awskms://…`",
    "the edge → what happened there": "`aws-waf-logs-<stack>`",
    "the cluster's CNI → every NetworkPolicy here": "`eks:DescribeAddon`",
    "workflow steps → the job's `GITHUB_TOKEN`": "`persist-credentials: false`",
    "the Pulumi CLI release → the jobs that hold deploy credentials": "`pulumi-version`",
    "CloudWatch alarms → the alarm topic → on-call": "`aws:SourceArn`",
    "internet → staging": "staging has its own web ACL",
    "load balancer → client": "`add-headers`",
    "image registry → Envoy Gateway pods": "by digest only",
    "stack file → ConfigMap, state, plan diff": "URL userinfo",
    "preview role → AWS": "`s3:GetObject`/`s3:ListBucket`",
}


def threat_model() -> dict[str, list[str]]:
    section = PAGE.read_text(encoding="utf-8").split("## Threat model", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]  # after the header and rule
    cells = [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    assert all(len(row) == 5 for row in cells), [row[0] for row in cells if len(row) != 5]
    return {row[0]: row[1:] for row in cells}


def test_every_surface_has_its_row_and_control() -> None:
    table = threat_model()
    missing = sorted(set(ROWS) - set(table))
    assert missing == []
    for boundary, control in ROWS.items():
        assert control in table[boundary][1], boundary


def test_every_test_a_row_names_exists() -> None:
    named = {name for _, controls, tested, _ in threat_model().values()
             for name in re.findall(r"`(test_[a-z_]+\.py)`", tested)}
    assert named and sorted(n for n in named if not (ROOT / "tests" / n).is_file()) == []
