"""The edge's logs and the alarm topic, on what the program registers: ALB access logs into a
private, TLS-only, expiring bucket only Elastic Load Balancing writes; WAF logs to `aws-waf-logs-*`
with credentials and cookies redacted; the alarm topic encrypted with a key CloudWatch may use, and
publishable by this stack's alarms only."""

from __future__ import annotations

import json

import pytest

from offline.engine import Plan, run_stack
from offline.mock_outputs import computed_outputs
from tests.conftest import config_error, problem_for


def inputs(plan: Plan, type_: str, name: str) -> dict:
    return dict(plan.get(type_, name).inputs)


def arn(plan: Plan, type_: str, name: str) -> str:
    r = plan.get(type_, name)
    return str(computed_outputs(r.type, r.name, r.inputs)["arn"])


# --- 9. ALB access logs and WAF logs -------------------------------------------------------------


def test_alb_access_logs_go_to_a_private_expiring_bucket_only_elb_writes(plan: Plan) -> None:
    label = f"spywatcher-{plan.stack}"
    bucket = plan.get("aws:s3/bucket:Bucket", "edge-logs")
    # The stack tag comes from the provider's default tags.
    assert bucket.inputs == {"forceDestroy": False, "tags": {"Name": f"{label}-alb-logs"}}
    assert bucket.protect is (plan.stack == "production")
    name = computed_outputs(bucket.type, bucket.name, bucket.inputs)["bucket"]
    assert inputs(plan, "aws:lb/loadBalancer:LoadBalancer", "edge")["accessLogs"] == {
        "bucket": name, "enabled": True, "prefix": f"{label}-alb"}
    assert inputs(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "edge-logs") == {
        "bucket": name, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
        "restrictPublicBuckets": True}
    assert inputs(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "edge-logs") == {
        "bucket": name, "rules": [{"id": "expire-access-logs", "status": "Enabled", "filter": {},
                                   "expiration": {"days": 90},
                                   "abortIncompleteMultipartUpload": {"daysAfterInitiation": 1}}]}
    policy = inputs(plan, "aws:s3/bucketPolicy:BucketPolicy", "edge-logs")
    assert policy["bucket"] == name
    bucket_arn = f"arn:aws:s3:::{name}"
    assert json.loads(policy["policy"])["Statement"] == [
        {"Sid": "ElbWritesAccessLogs", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::127311923021:root"},
         "Action": "s3:PutObject", "Resource": f"{bucket_arn}/{label}-alb/AWSLogs/111122223333/*"},
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [bucket_arn, f"{bucket_arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]


def test_waf_logs_go_to_aws_waf_logs_with_credentials_redacted(plan: Plan) -> None:
    label = f"spywatcher-{plan.stack}"
    group = inputs(plan, "aws:cloudwatch/logGroup:LogGroup", "edge-waf-logs")
    assert group == {"name": f"aws-waf-logs-{label}", "retentionInDays": 90, "tags": {"Name": label}}
    logging = inputs(plan, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "edge-waf-logs")
    assert logging == {
        "resourceArn": arn(plan, "aws:wafv2/webAcl:WebAcl", "edge-waf"),
        "logDestinationConfigs": [arn(plan, "aws:cloudwatch/logGroup:LogGroup", "edge-waf-logs")],
        "redactedFields": [{"singleHeader": {"name": "authorization"}}, {"singleHeader": {"name": "cookie"}}],
    }


def test_logs_can_be_turned_off_and_keep_only_cloudwatch_periods() -> None:
    plan = run_stack("production", {"loadBalancer": {"accessLogs": {"enabled": False},
                                                     "waf": {"logging": {"enabled": False}}}})
    assert plan.of_type("aws:s3/bucket:Bucket") == [] and plan.of_type("aws:cloudwatch/logGroup:LogGroup") == []
    assert "accessLogs" not in inputs(plan, "aws:lb/loadBalancer:LoadBalancer", "edge")
    error = config_error("production", {"loadBalancer": {"accessLogs": {"retentionDays": 100}}})
    assert problem_for(error, "loadBalancer.accessLogs.retentionDays").startswith(
        "loadBalancer.accessLogs.retentionDays: 100 — must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, ")


# --- 13. The alarm topic: its own key, published to by this stack's alarms only ------------------


@pytest.fixture(scope="module")
def production() -> Plan:
    return run_stack("production")


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(production: Plan) -> None:
    key = inputs(production, "aws:kms/key:Key", "cloudwatch-alarms")
    assert (key["enableKeyRotation"], key["deletionWindowInDays"]) == (True, 30)
    statements = json.loads(key["policy"])["Statement"]
    assert statements == [
        {"Sid": "AccountAdministersTheKeyThroughIam", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"},
                       "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:111122223333:alarm:*"}}},
    ]
    topic = inputs(production, "aws:sns/topic:Topic", "cloudwatch-alarms")
    assert topic["kmsMasterKeyId"] == arn(production, "aws:kms/key:Key", "cloudwatch-alarms")


def test_only_this_stacks_alarms_may_publish(production: Plan) -> None:
    topic_arn = arn(production, "aws:sns/topic:Topic", "cloudwatch-alarms")
    policy = inputs(production, "aws:sns/topicPolicy:TopicPolicy", "cloudwatch-alarms")
    assert policy["arn"] == topic_arn
    assert json.loads(policy["policy"])["Statement"] == [{
        "Sid": "OnlyThisStacksAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic_arn,
        "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"},
                      "ArnLike": {"aws:SourceArn":
                                  "arn:aws:cloudwatch:us-east-1:111122223333:alarm:spywatcher-production-*"}},
    }]
    # Every alarm the topic serves matches that ARN pattern.
    for alarm in production.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm.inputs["name"].startswith("spywatcher-production-"), alarm.name
