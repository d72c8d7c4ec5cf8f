"""A SageMaker execution role that grows one named grant at a time (no AmazonSageMakerFullAccess)."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.images import repository_arn
from stacks.nag import acknowledge, acknowledge_wildcard


class ExecutionRole(Construct):
    """The role a SageMaker model (or job) runs as. Each ``allow_*`` names the resource it opens."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"), description=description
        )
        self._policy = iam.Policy(self, "Policy", roles=[self.role])

    def _add(self, actions: list[str], resources: list[str], **conditions) -> None:
        self._policy.add_statements(iam.PolicyStatement(actions=actions, resources=resources, **conditions))

    def allow_image_pull(self, image_uri: str) -> None:
        """Pull from that image's ECR repository only (plus the token call, which has no resource)."""
        self._add(
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            [repository_arn(image_uri, cdk.Aws.PARTITION)],
        )
        self._add(["ecr:GetAuthorizationToken"], ["*"])
        acknowledge(
            self._policy,
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permission; pulls are scoped to one repository.",
        )

    def allow_logs(self, log_group_name: str) -> None:
        """Write to its own log group only."""
        stack = cdk.Stack.of(self)
        arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{log_group_name}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self._add(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], [arn])
        acknowledge_wildcard(
            self._policy,
            arn,
            "SageMaker names log streams per instance at run time; "
            "the grant is scoped to this model's own log group.",
        )

    def allow_secret_read(self, secret_arn: str) -> None:
        """Read one secret (its ARN, with the random suffix Secrets Manager appends when named)."""
        self._add(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], [secret_arn])
        if secret_arn.endswith("-??????"):
            acknowledge_wildcard(
                self._policy,
                secret_arn,
                "A secret named in config is matched with Secrets "
                "Manager's 6-character suffix: this one secret only.",
            )

    def allow_key_use(self, key: kms.IKey) -> None:
        """Encrypt and decrypt with the data key (artifacts, async results, encrypted topics)."""
        self._add(["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"], [key.key_arn])

    def allow_prefixes(self, bucket: s3.IBucket, *, read: list[str] = (), write: list[str] = ()) -> None:
        """Objects under the given prefixes of ``bucket`` only."""
        for actions, prefixes in ((["s3:GetObject"], read), (["s3:PutObject"], write)):
            for prefix in prefixes:
                arn = bucket.arn_for_objects(f"{prefix}*")
                self._add(actions, [arn])
                acknowledge_wildcard(
                    self._policy,
                    arn,
                    f"Objects are named at run time; the grant is "
                    f"limited to this model's own prefix {prefix}.",
                )

    @property
    def policy(self) -> iam.Policy:
        return self._policy
