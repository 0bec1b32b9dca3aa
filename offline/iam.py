"""The IAM actions the deploy role needs, per AWS resource type the program registers, with the
terraform-provider-aws file each was read from (pulumi-aws bridges that provider: each resource's
create, read, update and delete are its functions there).

Each :class:`Calls` names the provider file and the functions whose API calls it lists; an action
an operation reaches only through a helper (a waiter, a clean-up) names that helper. The two the
first version of this table missed, both on delete and both found by reading the provider:

- `aws_security_group`: `resourceSecurityGroupDelete` first calls `deleteLingeringENIs`, which
  lists the network interfaces that use the group (`ec2:DescribeNetworkInterfaces`); without it a
  replacement or a delete of the group fails on an access error.
- `aws_lb`: `resourceLoadBalancerDelete` waits for the load balancer's network interfaces to detach
  (`waitForALBNetworkInterfacesToDetach`, `waitForNLBNetworkInterfacesToDetach`:
  `ec2:DescribeNetworkInterfaces`); without it the wait fails (logged) and the security group's
  delete that follows meets `DependencyViolation` until its timeout.

Besides the resources: `make kubeconfig` runs `aws eks update-kubeconfig`, which calls
`DescribeCluster` (aws/aws-cli `awscli/customizations/eks/update_kubeconfig.py`), and the role must
be able to write the stack's objects in the cluster: an EKS access entry (see :data:`EKS_ACCESS`).
"""

from __future__ import annotations

from dataclasses import dataclass

TFAWS = "hashicorp/terraform-provider-aws"


@dataclass(frozen=True)
class Calls:
    """The IAM actions of one resource type, and where in the provider they were read."""

    actions: tuple[str, ...]
    path: str  # in TFAWS
    functions: str
    commit: str = ""  # the commit read, where it was pinned


ELB_TAGS = ("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags", "elasticloadbalancing:DescribeTags")
EC2_TAGS = ("ec2:CreateTags", "ec2:DeleteTags")
CRUD = "resource*Create, Read, Update, Delete"

CALLS: dict[str, Calls] = {
    "aws:lb/loadBalancer:LoadBalancer": Calls(
        (
            "elasticloadbalancing:CreateLoadBalancer",
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:SetSecurityGroups",
            "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:DeleteLoadBalancer",
            "ec2:DescribeNetworkInterfaces",
            *ELB_TAGS,
        ),
        "internal/service/elbv2/load_balancer.go",
        "resourceLoadBalancer*; delete: waitForALBNetworkInterfacesToDetach, waitForNLBNetworkInterfacesToDetach",
        "00edc94be7a89c4c485415cdec27094875f61bfc",
    ),
    "aws:lb/targetGroup:TargetGroup": Calls(
        (
            "elasticloadbalancing:CreateTargetGroup",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes",
            "elasticloadbalancing:DeleteTargetGroup",
            *ELB_TAGS,
        ),
        "internal/service/elbv2/target_group.go",
        CRUD,
    ),
    "aws:lb/listener:Listener": Calls(
        (
            "elasticloadbalancing:CreateListener",
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeListenerAttributes",
            "elasticloadbalancing:ModifyListener",
            "elasticloadbalancing:ModifyListenerAttributes",
            "elasticloadbalancing:DeleteListener",
            *ELB_TAGS,
        ),
        "internal/service/elbv2/listener.go",
        CRUD,
    ),
    "aws:lb/listenerRule:ListenerRule": Calls(
        (
            "elasticloadbalancing:CreateRule",
            "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:ModifyRule",
            "elasticloadbalancing:DeleteRule",
            *ELB_TAGS,
        ),
        "internal/service/elbv2/listener_rule.go",
        CRUD,
    ),
    "aws:lb/listenerCertificate:ListenerCertificate": Calls(
        (
            "elasticloadbalancing:AddListenerCertificates",
            "elasticloadbalancing:DescribeListenerCertificates",
            "elasticloadbalancing:RemoveListenerCertificates",
        ),
        "internal/service/elbv2/listener_certificate.go",
        CRUD,
    ),
    "aws:ec2/securityGroup:SecurityGroup": Calls(
        (
            "ec2:CreateSecurityGroup",
            "ec2:DescribeSecurityGroups",
            "ec2:DeleteSecurityGroup",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:DescribeNetworkInterfaces",
            *EC2_TAGS,
        ),
        "internal/service/ec2/vpc_security_group.go",
        "resourceSecurityGroup*; delete: deleteLingeringENIs (internal/service/ec2/vpc_network_interface.go)",
        "01606926a0c0ab9174aec440f976a48b0baee722",
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": Calls(
        (
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:DescribeSecurityGroupRules",
            "ec2:ModifySecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress",
            *EC2_TAGS,
        ),
        "internal/service/ec2/vpc_security_group_ingress_rule.go",
        CRUD,
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": Calls(
        (
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:DescribeSecurityGroupRules",
            "ec2:ModifySecurityGroupRules",
            "ec2:RevokeSecurityGroupEgress",
            *EC2_TAGS,
        ),
        "internal/service/ec2/vpc_security_group_egress_rule.go",
        CRUD,
    ),
    "aws:route53/record:Record": Calls(
        (
            "route53:ChangeResourceRecordSets",
            "route53:GetChange",
            "route53:ListResourceRecordSets",
            "route53:GetHostedZone",
        ),
        "internal/service/route53/record.go",
        CRUD,
    ),
    "aws:wafv2/webAcl:WebAcl": Calls(
        (
            "wafv2:CreateWebACL",
            "wafv2:GetWebACL",
            "wafv2:UpdateWebACL",
            "wafv2:DeleteWebACL",
            "wafv2:ListTagsForResource",
            "wafv2:TagResource",
            "wafv2:UntagResource",
        ),
        "internal/service/wafv2/web_acl.go",
        CRUD,
    ),
    "aws:wafv2/webAclAssociation:WebAclAssociation": Calls(
        (
            "wafv2:AssociateWebACL",
            "wafv2:DisassociateWebACL",
            "wafv2:GetWebACLForResource",
            "elasticloadbalancing:SetWebACL",
        ),
        "internal/service/wafv2/web_acl_association.go",
        CRUD,
    ),
    "aws:cloudwatch/dashboard:Dashboard": Calls(
        ("cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"),
        "internal/service/cloudwatch/dashboard.go",
        CRUD,
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Calls(
        (
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:ListTagsForResource",
            "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
        ),
        "internal/service/cloudwatch/metric_alarm.go",
        CRUD,
    ),
    "aws:sns/topic:Topic": Calls(
        (
            "sns:CreateTopic",
            "sns:GetTopicAttributes",
            "sns:SetTopicAttributes",
            "sns:DeleteTopic",
            "sns:ListTagsForResource",
            "sns:TagResource",
            "sns:UntagResource",
        ),
        "internal/service/sns/topic.go",
        CRUD,
    ),
    "aws:s3/bucket:Bucket": Calls(
        (
            "s3:CreateBucket",
            "s3:ListBucket",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketLogging",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketPolicy",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketTagging",
            "s3:GetBucketVersioning",
            "s3:GetBucketWebsite",
            "s3:GetAccelerateConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
            "s3:PutBucketTagging",
            "s3:DeleteBucket",
        ),
        "internal/service/s3/bucket.go",
        "resourceBucket*; read: one Get call per bucket sub-resource the resource reports",
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": Calls(
        ("s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock", "s3:DeleteBucketPublicAccessBlock"),
        "internal/service/s3/bucket_public_access_block.go",
        CRUD,
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": Calls(
        # PutBucketLifecycleConfiguration and DeleteBucketLifecycle are both s3:PutLifecycleConfiguration.
        ("s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"),
        "internal/service/s3/bucket_lifecycle_configuration.go",
        CRUD,
    ),
    "aws:s3/bucketPolicy:BucketPolicy": Calls(
        ("s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"),
        "internal/service/s3/bucket_policy.go",
        CRUD,
    ),
    "aws:cloudwatch/logGroup:LogGroup": Calls(
        (
            "logs:CreateLogGroup",
            "logs:DescribeLogGroups",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:DeleteLogGroup",
            "logs:ListTagsForResource",
            "logs:TagResource",
            "logs:UntagResource",
        ),
        "internal/service/logs/group.go",
        CRUD,
    ),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": Calls(
        (
            "wafv2:PutLoggingConfiguration",
            "wafv2:GetLoggingConfiguration",
            "wafv2:DeleteLoggingConfiguration",
            # WAF sets up the delivery to CloudWatch Logs with the caller's rights (AWS WAF developer
            # guide, "Sending web ACL traffic logs to an Amazon CloudWatch Logs log group").
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
        ),
        "internal/service/wafv2/web_acl_logging_configuration.go",
        CRUD,
    ),
    "aws:kms/key:Key": Calls(
        (
            "kms:CreateKey",
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:PutKeyPolicy",
            "kms:GetKeyRotationStatus",
            "kms:EnableKeyRotation",
            "kms:UpdateKeyDescription",
            "kms:ListResourceTags",
            "kms:TagResource",
            "kms:UntagResource",
            "kms:ScheduleKeyDeletion",
        ),
        "internal/service/kms/key.go",
        CRUD,
    ),
    "aws:sns/topicPolicy:TopicPolicy": Calls(
        ("sns:GetTopicAttributes", "sns:SetTopicAttributes"), "internal/service/sns/topic_policy.go", CRUD
    ),
}
# AWS resource type -> the IAM actions its create, read, update and delete call.
AWS_ACTIONS: dict[str, tuple[str, ...]] = {type_: calls.actions for type_, calls in CALLS.items()}

# The AWS invokes (data sources) the program calls, at every preview and update alike: the preview
# role needs their actions as much as the deploy roles do. `sts:GetCallerIdentity` is no action to
# grant: AWS answers it for every principal ("No permissions are required to perform this
# operation", AWS STS API reference, GetCallerIdentity).
INVOKE_CALLS: dict[str, Calls] = {
    "aws:eks/getAddon:getAddon": Calls(
        ("eks:DescribeAddon",),
        "internal/service/eks/addon_data_source.go",
        "dataSourceAddonRead (FindAddonByClusterNameAndAddonName: DescribeAddon)",
        "f11a05e2f58419e950619cbdbe8b3d7ed457118f",
    ),
    "aws:index/getCallerIdentity:getCallerIdentity": Calls(
        (), "internal/service/sts/caller_identity_data_source.go", "Read (FindCallerIdentity: GetCallerIdentity)",
        "b8a258ef16300c792e393843eb7712b55bc26ab1",
    ),
    "aws:elb/getServiceAccount:getServiceAccount": Calls(
        (), "internal/service/elb/service_account_data_source.go",
        "dataSourceServiceAccountRead (a table of the regions' ELB accounts: no API call)",
        "9bc2d930b78cab7f71fadb89e9092d2f52149f94",
    ),
}
INVOKE_PURPOSE = {
    "aws:eks/getAddon:getAddon": "the NetworkPolicy enforcement check reads the `vpc-cni` add-on (components/cni.py)",
}

# Everything `pulumi preview` needs from AWS: (action, resource, why). The AWS provider's own
# configuration calls `sts:GetCallerIdentity` (no permission needed). A preview changes nothing:
# the Kubernetes provider falls back to a client-side diff where the cluster forbids its server-side
# dry run (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go: Create and Update on
# `IsForbidden` while previewing), a Helm release is rendered without the cluster
# (provider/pkg/provider/helm_release.go: Create and Update install only when not previewing), and
# a self-managed backend's preview takes no lock and writes no history (pulumi/pulumi
# pkg/backend/diy/backend.go: `Preview` calls `apply` with `DryRun`, unlike `Update`).
PREVIEW_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("eks:DescribeCluster", "arn:aws:eks:<region>:<account>:cluster/<cluster>",
     "make kubeconfig (`aws eks update-kubeconfig` reads the cluster's endpoint and CA)"),
    ("eks:DescribeAddon", "arn:aws:eks:<region>:<account>:addon/<cluster>/vpc-cni/*",
     INVOKE_PURPOSE["aws:eks/getAddon:getAddon"]),
    ("s3:GetObject", "arn:aws:s3:::<state bucket>/*", "a self-managed S3 backend: read the stack's state"),
    ("s3:ListBucket", "arn:aws:s3:::<state bucket>", "a self-managed S3 backend: find the stack's state"),
)

# What every deploy needs besides the resources' own calls: (action, what calls it).
DEPLOY_ACTIONS: tuple[tuple[str, str], ...] = (
    ("eks:DescribeCluster", "make kubeconfig (`aws eks update-kubeconfig` reads the cluster's endpoint and CA)"),
)
# The role's access to the cluster's API: EKS maps an IAM principal to Kubernetes permissions only
# through an access entry (or the deprecated aws-auth ConfigMap). The stack writes cluster-scoped
# objects (Namespaces; the ingress controller's ClusterRole and ClusterRoleBinding), so the entry
# needs the cluster-wide admin policy.
EKS_ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


EKS_ACCESS = (
    "on the stack's cluster (`cluster.name`), with `AmazonEKSClusterAdminPolicy` at cluster scope (the stack "
    "writes cluster-scoped objects: Namespaces, ClusterRoles); `make prerequisites` prints the commands"
)


def eks_access(cluster: str, region: str) -> str:
    """The access entry the deploy role needs on ``cluster``, as the commands that create it."""
    return (
        f"`aws eks create-access-entry --cluster-name {cluster} --region {region} --principal-arn <deploy role ARN>`, "
        f"then `aws eks associate-access-policy --cluster-name {cluster} --region {region} "
        f"--principal-arn <deploy role ARN> --policy-arn {EKS_ACCESS_POLICY} --access-scope type=cluster`"
    )
