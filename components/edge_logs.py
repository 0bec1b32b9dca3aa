"""The edge's logs: ALB access logs to an S3 bucket of the stack's own, and the web ACL's logs to a
CloudWatch Logs group whose name starts with `aws-waf-logs-` (WAF delivers only there), with the
`authorization` and `cookie` headers redacted. Pure builders; the LoadBalancer component registers
them (the bucket and its policy before the load balancer: ELB checks it may write when access logs
are turned on)."""

from __future__ import annotations

import json
from typing import Any

# Request headers whose values never reach the WAF logs (credentials and sessions).
REDACTED_HEADERS = ("authorization", "cookie")


def access_log_prefix(label: str) -> str:
    return f"{label}-alb"


def build_bucket_args(label: str, tags: dict[str, str]) -> dict[str, Any]:
    """No `bucket` name: Pulumi auto-names it (names are global). New buckets encrypt every object
    with SSE-S3 and disable ACLs (bucket owner enforced) by default, the only setup ALB log delivery
    accepts; `force_destroy` stays off, so a `pulumi destroy` never deletes logs silently."""
    return {"force_destroy": False, "tags": {**tags, "Name": f"{label}-alb-logs"}}


def build_public_access_block_args() -> dict[str, Any]:
    return {
        "block_public_acls": True,
        "block_public_policy": True,
        "ignore_public_acls": True,
        "restrict_public_buckets": True,
    }


def build_lifecycle_args(retention_days: int) -> dict[str, Any]:
    return {
        "rules": [{
            "id": "expire-access-logs",
            "status": "Enabled",
            "filter": {},
            "expiration": {"days": retention_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
        }]
    }


def bucket_policy(bucket_arn: str, elb_account_arn: str, account: str, label: str) -> str:
    """Elastic Load Balancing (the region's ELB account, as `aws.elb.getServiceAccount` names it) may
    write objects under the stack's prefix for this account only; nothing reaches the bucket over
    plain HTTP."""
    prefix = access_log_prefix(label)
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ElbWritesAccessLogs",
                "Effect": "Allow",
                "Principal": {"AWS": elb_account_arn},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{prefix}/AWSLogs/{account}/*",
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }, sort_keys=True)


def build_waf_log_group_args(label: str, retention_days: int, tags: dict[str, str]) -> dict[str, Any]:
    """WAF logs to CloudWatch Logs only into a group named `aws-waf-logs-…`."""
    return {"name": f"aws-waf-logs-{label}", "retention_in_days": retention_days, "tags": tags}


def build_waf_logging_args() -> dict[str, Any]:
    """`resource_arn` and `log_destination_configs` are filled in by the component."""
    return {"redacted_fields": [{"single_header": {"name": name}} for name in REDACTED_HEADERS]}
