"""Every log group of an environment encrypted with its key and kept for the configured retention."""

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import IConstruct


def allow_log_encryption(key: kms.Key) -> None:
    """Let CloudWatch Logs use ``key`` for this account's log groups in the key's region, and no others."""
    stack = cdk.Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchLogsOfThisAccount",
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )


@jsii.implements(cdk.IAspect)
class EncryptedLogGroups:
    """An aspect: each ``AWS::Logs::LogGroup`` below it gets ``key_arn`` and ``retention_days``.

    One place for the environment's policy, so a log group a new construct declares (or CDK declares
    for one) cannot be left unencrypted or kept forever. The key's policy must allow CloudWatch Logs:
    ``allow_log_encryption``.
    """

    def __init__(self, *, key_arn: str, retention_days: int) -> None:
        self.key_arn = key_arn
        self.retention_days = retention_days

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, logs.CfnLogGroup):
            node.kms_key_id = self.key_arn
            node.retention_in_days = self.retention_days
