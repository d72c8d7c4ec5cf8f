"""Bedrock model invocation logging to a prefix of the log bucket.

Bedrock keeps one logging configuration per account and region, not per model, so mlkit sets it once per
environment (``bedrock.invocation_logging`` in config), through CloudFormation's AwsCustomResource:
CloudFormation has no resource for it.
"""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as custom
from constructs import Construct

from stacks.nag import acknowledge

PREFIX = "bedrock-invocations/"
PROVIDER_ID = "AWS679f53fac002430cb0da5b7982bd2287"
BASIC_EXECUTION = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


class BedrockInvocationLogging(Construct):
    """Every Bedrock call's prompt and answer in this account and region, under ``PREFIX`` of ``bucket``."""

    def __init__(self, scope: Construct, construct_id: str, *, bucket: s3.Bucket) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        # Bedrock writes as its service principal, only for this account's calls.
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[
                    bucket.arn_for_objects(f"{PREFIX}AWSLogs/{stack.account}/BedrockModelInvocationLogs/*")
                ],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:*"
                    },
                },
            )
        )
        configure = custom.AwsSdkCall(
            service="Bedrock",
            action="putModelInvocationLoggingConfiguration",
            parameters={
                "loggingConfig": {
                    "s3Config": {"bucketName": bucket.bucket_name, "keyPrefix": PREFIX.rstrip("/")},
                    "textDataDeliveryEnabled": True,
                    "imageDataDeliveryEnabled": False,
                    "embeddingDataDeliveryEnabled": False,
                }
            },
            physical_resource_id=custom.PhysicalResourceId.of(
                f"{stack.stack_name}-bedrock-invocation-logging"
            ),
        )
        self.resource = custom.AwsCustomResource(
            self,
            "Configuration",
            on_create=configure,
            on_update=configure,
            on_delete=custom.AwsSdkCall(
                service="Bedrock", action="deleteModelInvocationLoggingConfiguration"
            ),
            policy=custom.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=[
                            "bedrock:PutModelInvocationLoggingConfiguration",
                            "bedrock:DeleteModelInvocationLoggingConfiguration",
                        ],
                        resources=["*"],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
        )
        self._acknowledge(stack)

    def _acknowledge(self, stack: cdk.Stack) -> None:
        acknowledge(
            self.resource,
            "IAM5[Resource::*]",
            "Bedrock's invocation-logging configuration is one per account and region: no ARN to scope to.",
        )
        # CDK's singleton provider Lambda for AwsCustomResource, a stack-level child named by CDK.
        provider = stack.node.try_find_child(PROVIDER_ID)
        if provider is not None:
            acknowledge(
                provider,
                f"IAM4[Policy::{BASIC_EXECUTION}]",
                "CDK's AwsCustomResource provider: CDK picks its logging policy; it runs only at deploy.",
            )
            acknowledge(provider, "L1", "CDK's AwsCustomResource provider pins its own Node.js runtime.")
