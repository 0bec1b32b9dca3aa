"""The deploy role's IAM actions, entry by entry (offline/iam.py).

Each resource type's actions are stated here independently of the table, as read from its
terraform-provider-aws file (create, read, update, delete and the helpers they call): dropping one
from the table, or listing one twice, fails a test, and so does the checklist `make prerequisites`
prints losing or repeating one.
"""

from __future__ import annotations

import pytest

from offline.engine import Plan
from offline.iam import AWS_ACTIONS, CALLS, DEPLOY_ACTIONS
from offline.prerequisites import prerequisites

ELB_TAGS = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags", "elasticloadbalancing:DescribeTags"]
EC2_TAGS = ["ec2:CreateTags", "ec2:DeleteTags"]

EXPECTED: dict[str, list[str]] = {
    # internal/service/elbv2/load_balancer.go; delete waits for the ENIs to detach.
    "aws:lb/loadBalancer:LoadBalancer": [
        "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
        "elasticloadbalancing:DeleteLoadBalancer", "ec2:DescribeNetworkInterfaces", *ELB_TAGS,
    ],
    "aws:lb/targetGroup:TargetGroup": [
        "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup", *ELB_TAGS,
    ],
    "aws:lb/listener:Listener": [
        "elasticloadbalancing:CreateListener", "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:DeleteListener", *ELB_TAGS,
    ],
    "aws:lb/listenerRule:ListenerRule": [
        "elasticloadbalancing:CreateRule", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:DeleteRule", *ELB_TAGS,
    ],
    "aws:lb/listenerCertificate:ListenerCertificate": [
        "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:DescribeListenerCertificates",
        "elasticloadbalancing:RemoveListenerCertificates",
    ],
    # internal/service/ec2/vpc_security_group.go; delete first removes lingering ENIs.
    "aws:ec2/securityGroup:SecurityGroup": [
        "ec2:CreateSecurityGroup", "ec2:DescribeSecurityGroups", "ec2:DeleteSecurityGroup",
        "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:DescribeNetworkInterfaces",
        *EC2_TAGS,
    ],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": [
        "ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules", "ec2:ModifySecurityGroupRules",
        "ec2:RevokeSecurityGroupIngress", *EC2_TAGS,
    ],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": [
        "ec2:AuthorizeSecurityGroupEgress", "ec2:DescribeSecurityGroupRules", "ec2:ModifySecurityGroupRules",
        "ec2:RevokeSecurityGroupEgress", *EC2_TAGS,
    ],
    "aws:route53/record:Record": [
        "route53:ChangeResourceRecordSets", "route53:GetChange", "route53:ListResourceRecordSets",
        "route53:GetHostedZone",
    ],
    "aws:wafv2/webAcl:WebAcl": [
        "wafv2:CreateWebACL", "wafv2:GetWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL",
        "wafv2:ListTagsForResource", "wafv2:TagResource", "wafv2:UntagResource",
    ],
    "aws:wafv2/webAclAssociation:WebAclAssociation": [
        "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "wafv2:GetWebACLForResource",
        "elasticloadbalancing:SetWebACL",
    ],
    "aws:cloudwatch/dashboard:Dashboard": [
        "cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards",
    ],
    "aws:cloudwatch/metricAlarm:MetricAlarm": [
        "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms",
        "cloudwatch:ListTagsForResource", "cloudwatch:TagResource", "cloudwatch:UntagResource",
    ],
    "aws:sns/topic:Topic": [
        "sns:CreateTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:DeleteTopic",
        "sns:ListTagsForResource", "sns:TagResource", "sns:UntagResource",
    ],
    "aws:sns/topicPolicy:TopicPolicy": ["sns:GetTopicAttributes", "sns:SetTopicAttributes"],
    # The edge logs' bucket: create, tag, delete, and the read's Get call per sub-resource it reports.
    "aws:s3/bucket:Bucket": [
        "s3:CreateBucket", "s3:ListBucket", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketLogging",
        "s3:GetBucketObjectLockConfiguration", "s3:GetBucketPolicy", "s3:GetBucketRequestPayment",
        "s3:GetBucketTagging", "s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:GetAccelerateConfiguration",
        "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration",
        "s3:PutBucketTagging", "s3:DeleteBucket",
    ],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": [
        "s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock", "s3:DeleteBucketPublicAccessBlock",
    ],
    # PutBucketLifecycleConfiguration and DeleteBucketLifecycle are both s3:PutLifecycleConfiguration.
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": [
        "s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration",
    ],
    "aws:s3/bucketPolicy:BucketPolicy": ["s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"],
    # internal/service/logs/group.go: create, retention put/delete, describe, delete, and its tags.
    "aws:cloudwatch/logGroup:LogGroup": [
        "logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
        "logs:DeleteLogGroup", "logs:ListTagsForResource", "logs:TagResource", "logs:UntagResource",
    ],
    # WAF sets up the delivery to CloudWatch Logs with the caller's rights.
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": [
        "wafv2:PutLoggingConfiguration", "wafv2:GetLoggingConfiguration", "wafv2:DeleteLoggingConfiguration",
        "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
    ],
    "aws:kms/key:Key": [
        "kms:CreateKey", "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus",
        "kms:EnableKeyRotation", "kms:UpdateKeyDescription", "kms:ListResourceTags", "kms:TagResource",
        "kms:UntagResource", "kms:ScheduleKeyDeletion",
    ],
}
# The provider file each type's actions were read from (under internal/service/).
FILES = {
    "aws:lb/loadBalancer:LoadBalancer": "elbv2/load_balancer.go",
    "aws:lb/targetGroup:TargetGroup": "elbv2/target_group.go",
    "aws:lb/listener:Listener": "elbv2/listener.go",
    "aws:lb/listenerRule:ListenerRule": "elbv2/listener_rule.go",
    "aws:lb/listenerCertificate:ListenerCertificate": "elbv2/listener_certificate.go",
    "aws:ec2/securityGroup:SecurityGroup": "ec2/vpc_security_group.go",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ec2/vpc_security_group_ingress_rule.go",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "ec2/vpc_security_group_egress_rule.go",
    "aws:route53/record:Record": "route53/record.go",
    "aws:wafv2/webAcl:WebAcl": "wafv2/web_acl.go",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "wafv2/web_acl_association.go",
    "aws:cloudwatch/dashboard:Dashboard": "cloudwatch/dashboard.go",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "cloudwatch/metric_alarm.go",
    "aws:sns/topic:Topic": "sns/topic.go",
    "aws:sns/topicPolicy:TopicPolicy": "sns/topic_policy.go",
    "aws:s3/bucket:Bucket": "s3/bucket.go",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "s3/bucket_public_access_block.go",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "s3/bucket_lifecycle_configuration.go",
    "aws:s3/bucketPolicy:BucketPolicy": "s3/bucket_policy.go",
    "aws:cloudwatch/logGroup:LogGroup": "logs/group.go",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "wafv2/web_acl_logging_configuration.go",
    "aws:kms/key:Key": "kms/key.go",
}


def test_the_table_has_the_types_stated_here() -> None:
    assert sorted(CALLS) == sorted(EXPECTED)
    assert {type_: calls.actions for type_, calls in CALLS.items()} == AWS_ACTIONS


@pytest.mark.parametrize("type_", sorted(EXPECTED))
def test_each_type_needs_exactly_the_actions_its_provider_file_calls(type_: str) -> None:
    calls = CALLS[type_]
    assert sorted(calls.actions) == sorted(EXPECTED[type_])
    assert len(calls.actions) == len(set(calls.actions)), f"an action listed twice: {calls.actions}"
    assert calls.path == f"internal/service/{FILES[type_]}"


def test_the_deploy_actions_besides_the_resources() -> None:
    assert DEPLOY_ACTIONS == (
        ("eks:DescribeCluster", "make kubeconfig (`aws eks update-kubeconfig` reads the cluster's endpoint and CA)"),
    )


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_checklist_lists_each_action_once_with_every_type_that_needs_it(
    plans: dict[str, Plan], stack: str
) -> None:
    plan = plans[stack]
    registered = {r.type for r in plan.resources if r.custom and r.type.startswith("aws:")}
    wanted: dict[str, set[str]] = {}
    for type_ in registered:
        for action in EXPECTED[type_]:
            wanted.setdefault(action, set()).add(type_.rsplit(":", 1)[-1])
    wanted["eks:DescribeCluster"] = {DEPLOY_ACTIONS[0][1]}
    # The invoke of the NetworkPolicy enforcement check (offline/iam.py INVOKE_CALLS).
    wanted["eks:DescribeAddon"] = {"the NetworkPolicy enforcement check reads the `vpc-cni` add-on (components/cni.py)"}
    listed = [p for p in prerequisites(plan) if p.section == "AWS"]
    assert [p.name for p in listed] == sorted(wanted)  # sorted, each once
    assert {p.name: set(p.needed_by) for p in listed} == wanted
