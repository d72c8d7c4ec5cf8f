"""Checks through boto3 that each deployed resource exists in the emulator with its key settings.

moto's CloudFormation applies only part of a bucket's properties; what it drops is reported as
"not emulated" (the template tests assert those), never as passed.
"""

import json

from mlkit.report import NotEmulated, StepFailed
from stacks import names

NOT_APPLIED_BY_MOTO = (
    "moto's CloudFormation drops bucket versioning, public access block, lifecycle, access logging and "
    "EventBridge notifications, and skips AWS::Glue::Database: tests/stacks/test_data_stack.py asserts "
    "them in the template"
)


def stack_outputs(cloudformation, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    status = stack["StackStatus"]
    if not status.endswith("_COMPLETE") or "ROLLBACK" in status:
        raise StepFailed(f"{stack_name} is {status}: {stack.get('StackStatusReason', '')}")
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def resource_count(cloudformation, stack_name: str) -> int:
    return len(cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"])


def check_bucket(s3, name: str, *, key_arn: str | None, environment: str) -> None:
    """The bucket exists, encrypts with the data key (or S3-managed keys for logs), and is tagged."""
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    default = rule["ApplyServerSideEncryptionByDefault"]
    if key_arn and (default["SSEAlgorithm"], default.get("KMSMasterKeyID")) != ("aws:kms", key_arn):
        raise StepFailed(f"bucket {name} does not encrypt with the data key: {default}")
    if not key_arn and default["SSEAlgorithm"] != "AES256":
        raise StepFailed(f"log bucket {name} encrypts with {default['SSEAlgorithm']}, expected AES256")
    tags = {tag["Key"]: tag["Value"] for tag in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    if (tags.get("project"), tags.get("environment")) != (names.PROJECT, environment):
        raise StepFailed(f"bucket {name} lacks the project/environment tags: {tags}")
    check_tls_only(s3, name)


def check_tls_only(s3, name: str) -> None:
    """The bucket's policy (applied by mlkit/emulator_server.py) denies every request without TLS."""
    statements = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]
    tls_only = {"Bool": {"aws:SecureTransport": "false"}}
    if not any(s["Effect"] == "Deny" and s.get("Condition") == tls_only for s in statements):
        raise StepFailed(f"bucket {name}'s policy does not deny requests without TLS: {statements}")


def check_data_stack(clients, stack_name: str, environment: str) -> str:
    """Buckets and key exist with the settings the emulator applies; returns what was checked."""
    outputs = stack_outputs(clients("cloudformation"), stack_name)
    s3, kms = clients("s3"), clients("kms")
    key_arn = outputs["DataKeyArn"]
    for name in ("RawBucketName", "CuratedBucketName", "ArtifactsBucketName"):
        check_bucket(s3, outputs[name], key_arn=key_arn, environment=environment)
    check_bucket(s3, outputs["LogBucketName"], key_arn=None, environment=environment)
    key_id = key_arn.rsplit("/", 1)[1]
    if not kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]:
        raise StepFailed(f"KMS key {key_id} does not rotate")
    aliases = {alias["AliasName"]: alias.get("TargetKeyId") for alias in kms.list_aliases()["Aliases"]}
    alias = names.data_key_alias(environment)
    if aliases.get(alias) != key_id:
        raise StepFailed(f"{alias} does not point at the data key")
    return "4 buckets encrypted (3 with the data key), tagged and TLS-only by policy; key rotates; alias set"


def not_emulated_data_parts() -> NotEmulated:
    return NotEmulated(NOT_APPLIED_BY_MOTO)
