"""Hardening of the app's own surfaces, on what the program registers: the backend cannot reach a
ClusterIP through its internet rule, the canary is chosen by header only from configured addresses
and runs a digest, and no credential sits in plain `env`."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Plan, run_stack
from tests.conftest import config_error, problem_for
from tests.netpol import Peer, allowed
from tests.test_security import app_pod

# --- 5. The Service CIDR is cut out of the backend's internet egress ---------------------------


def test_the_backend_reaches_no_cluster_ip_on_443(plan: Plan) -> None:
    backend = app_pod(plan, "backend")
    assert allowed(plan, backend, Peer(None, ip="162.159.135.232"), 443), "the Discord API"
    for ip in ("172.20.0.1", "172.20.0.10", "172.20.255.254"):  # the API's ClusterIP, DNS, any Service
        assert not allowed(plan, backend, Peer(None, ip=ip), 443), ip
    assert allowed(plan, backend, Peer(None, ip="172.21.0.1"), 443), "only the Service CIDR is cut"


def test_without_a_service_cidr_both_eks_default_blocks_are_cut() -> None:
    plan = run_stack("staging", {"cluster": {"serviceCidr": None}})
    backend = app_pod(plan, "backend")
    for ip in ("172.20.0.1", "10.100.0.1", "10.100.255.1"):
        assert not allowed(plan, backend, Peer(None, ip=ip), 443), ip
    assert allowed(plan, backend, Peer(None, ip="10.101.0.1"), 443)
    custom = run_stack("staging", {"cluster": {"serviceCidr": "192.168.64.0/20"}})
    assert not allowed(custom, app_pod(custom, "backend"), Peer(None, ip="192.168.64.1"), 443)
    assert allowed(custom, app_pod(custom, "backend"), Peer(None, ip="172.20.0.1"), 443)


@pytest.mark.parametrize(("cidr", "rule"), [
    ("100.64.0.0/16", "must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (EKS allows no other)"),
    ("172.20.0.0/25", "must be between /12 and /24 (EKS allows no other)"),
    ("10.1.0.0/16", "must not overlap cluster.vpcCidr (10.1.0.0/16); EKS refuses it"),
])
def test_a_service_cidr_eks_would_refuse_is_refused(cidr: str, rule: str) -> None:
    error = config_error("staging", {"cluster": {"serviceCidr": cidr}})
    assert problem_for(error, "cluster.serviceCidr") == f'cluster.serviceCidr: "{cidr}" — {rule}'




# --- 6. The canary: off by header by default, from configured addresses only, by digest --------

CANARY_IMAGE = f"ghcr.io/subculture-collective/spywatcher-backend:v2.1.0@sha256:{'3' * 64}"  # a test digest
CANARY = {"enabled": True, "image": CANARY_IMAGE}
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"


def test_the_canary_is_not_chosen_by_header_unless_configured() -> None:
    plan = run_stack("production", {"canary": CANARY})
    annotations = plan.k8s("Ingress", "spywatcher-api-canary", "spywatcher")["metadata"]["annotations"]
    assert annotations == {"nginx.ingress.kubernetes.io/canary": "true",
                           "nginx.ingress.kubernetes.io/canary-weight": "10"}
    assert plan.of_type(LISTENER_RULE) == []


def test_the_canary_header_is_refused_outside_its_addresses() -> None:
    plan = run_stack("production", {"canary": {**CANARY, "header": "X-Spywatcher-Canary",
                                                "headerSourceCidrs": ["203.0.113.0/24", "198.51.100.7/32"]}})
    annotations = plan.k8s("Ingress", "spywatcher-api-canary", "spywatcher")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/canary-by-header"] == "X-Spywatcher-Canary"
    listener = plan.get("aws:lb/listener:Listener", "edge-https").inputs
    rules = {r.name: r.inputs for r in plan.of_type(LISTENER_RULE)}
    header = {"httpHeader": {"httpHeaderName": "X-Spywatcher-Canary", "values": ["*"]}}
    assert rules == {
        "edge-canary-allowed": {
            "listenerArn": listener_arn(plan), "priority": 1,
            "conditions": [header, {"sourceIp": {"values": ["203.0.113.0/24", "198.51.100.7/32"]}}],
            "actions": listener["defaultActions"],
        },
        "edge-canary-refused": {
            "listenerArn": listener_arn(plan), "priority": 2, "conditions": [header],
            "actions": [{"type": "fixed-response", "fixedResponse": {
                "contentType": "text/plain", "statusCode": "403",
                "messageBody": "X-Spywatcher-Canary is not accepted from this address\n"}}],
        },
    }


def listener_arn(plan: Plan) -> str:
    from offline.mock_outputs import computed_outputs

    listener = plan.get("aws:lb/listener:Listener", "edge-https")
    return str(computed_outputs(listener.type, listener.name, listener.inputs)["arn"])


@pytest.mark.parametrize(("canary", "overrides", "path", "message"), [
    ({"header": "X-Canary"}, {}, "canary.headerSourceCidrs",
     "canary.headerSourceCidrs: [] — is required with header (X-Canary): the addresses that may choose the canary; "
     "from the whole internet, anyone could send requests to an unreleased build holding the production Secret"),
    ({"header": "X-Canary", "headerSourceCidrs": ["0.0.0.0/0"]}, {}, "canary.headerSourceCidrs[0]",
     'canary.headerSourceCidrs[0]: "0.0.0.0/0" — must not be every address'),
    ({"header": "X-Canary", "headerSourceCidrs": ["203.0.113.0/24"]}, {"loadBalancer": {"type": "network"}},
     "canary.header",
     'canary.header: "X-Canary" — needs an application load balancer (loadBalancer.type is network): only its '
     "listener rules can refuse the header from addresses outside canary.headerSourceCidrs"),
    ({"image": "ghcr.io/x/backend:v2.1.0"}, {}, "canary.image",
     'canary.image: "ghcr.io/x/backend:v2.1.0" — must be pinned by digest (`repo:tag@sha256:<64 hex digits>`): a '
     "tag can be re-pushed"),
])
def test_canary_rules_refuse_with_the_key(canary: dict[str, Any], overrides: dict[str, Any], path: str,
                                          message: str) -> None:
    error = config_error("production", {"canary": {**CANARY, **canary}, **overrides})
    assert problem_for(error, path) == message


# --- 17. No credential in plain `env` -------------------------------------------------------------

ADVICE = ("a plain `env` value lands in a ConfigMap, the state, previews and the pull request's plan diff. Put it in "
          "the Secret instead ({w}.existingSecret, or `pulumi config set --secret --path "
          "'spywatcher:secrets.{w}.{k}' ...`) and remove it from {w}.env")


@pytest.mark.parametrize(("workload", "key", "value", "reason"), [
    ("backend", "DATABASE_URL", "postgres://app:hunter2@db.internal:5432/spywatcher",
     "the value is a URL with a user and password in it (`scheme://user:password@…`)"),
    ("backend", "REDIS_URL", "rediss://:s3cr3t-token@cache.internal:6379",
     "the value is a URL with a user and password in it (`scheme://user:password@…`)"),
    ("backend", "DB_PASSWORD", "hunter2", "the name DB_PASSWORD says it holds a credential (PASSWORD)"),
    ("backend", "DISCORD_BOT_TOKEN", "MTAx.hunter2", "the name DISCORD_BOT_TOKEN says it holds a credential (TOKEN)"),
    ("frontend", "session_secret", "hunter2", "the name session_secret says it holds a credential (SECRET)"),
])
def test_a_credential_in_plain_env_is_refused_without_printing_it(workload: str, key: str, value: str,
                                                                  reason: str) -> None:
    error = config_error("staging", {workload: {"env": {key: value, "LOG_LEVEL": "info"}}})
    assert [p.path for p in error.problems] == [f"{workload}.env.{key}"]
    assert problem_for(error, f"{workload}.env.{key}") == (
        f"{workload}.env.{key}: {reason}: {ADVICE.format(w=workload, k=key)}")
    secret_part = value.split("@")[0].split(":")[-1] if "@" in value else value
    assert secret_part not in str(error) and secret_part not in repr(error.problems)


def test_ordinary_urls_and_settings_stay_plain() -> None:
    plan = run_stack("staging", {"backend": {"env": {
        "API_BASE_URL": "https://discord.com/api/v10", "DATABASE_HOST": "db.internal", "PORT": "3001",
        "MAILTO": "mailto:ops@example.com"}}})
    data = plan.k8s("ConfigMap", "spywatcher-backend-config", "spywatcher-staging")["data"]
    assert data["API_BASE_URL"] == "https://discord.com/api/v10" and data["MAILTO"] == "mailto:ops@example.com"


# --- 7. The migration's own credential, and no package fetched at migration time ---------------


def test_the_migration_reads_its_own_secret_not_the_backends(plan: Plan) -> None:
    [job] = [o for o in plan.k8s_objects() if o["kind"] == "Job"]
    [container] = job["spec"]["template"]["spec"]["containers"]
    refs = [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
    assert refs == ["spywatcher-migration-secrets"]
    assert container["command"] == ["npx", "--no-install", "prisma", "migrate", "deploy"]


@pytest.mark.parametrize(("migration", "path", "message"), [
    ({"existingSecret": None}, "migration.existingSecret",
     "migration.existingSecret: is required when the migration is enabled: a Secret with the migration's own "
     "database credential (a user with schema rights); the backend's Secret is not given to the Job"),
    ({"command": ["npx", "prisma", "migrate", "deploy"]}, "migration.command",
     'migration.command: ["npx", "prisma", "migrate", "deploy"] — must pass `--no-install` to npx: without it npx '
     "downloads a missing package from the registry and runs it with the migration's database credential"),
])
def test_migration_rules_refuse_with_the_key(migration: dict[str, Any], path: str, message: str) -> None:
    assert problem_for(config_error("staging", {"migration": migration}), path) == message


# --- 14. No internet-facing ALB without a web ACL or an allow-list -----------------------------


def test_an_alb_open_to_everyone_needs_its_web_acl(plans: dict[str, Plan]) -> None:
    for plan in plans.values():  # both shipped stacks: a web ACL each
        assert len(plan.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")) == 1, plan.stack
    error = config_error("staging", {"loadBalancer": {"waf": {"enabled": False}}})
    assert problem_for(error, "loadBalancer.allowedCidrs") == (
        'loadBalancer.allowedCidrs: ["0.0.0.0/0"] — an internet-facing ALB without a web ACL (waf.enabled: false) '
        "must not admit every address: enable the WAF, or list only the addresses that may connect (an office, a "
        "VPN, a partner)")
    listed = run_stack("staging", {"loadBalancer": {"waf": {"enabled": False}, "allowedCidrs": ["203.0.113.0/24"]}})
    assert listed.of_type("aws:wafv2/webAcl:WebAcl") == []
    rules = [r.inputs for r in listed.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    assert {r["cidrIpv4"] for r in rules} == {"203.0.113.0/24"}
