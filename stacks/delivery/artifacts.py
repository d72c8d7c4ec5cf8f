"""The pipeline's artifact bucket, encrypted with a rotated KMS key the target accounts' roles may use."""

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.constructs.secure_bucket import SecureBucket, lifecycle_rules
from stacks.nag import acknowledge

# Artifacts of an execution are read within it; older versions are kept a while for investigations.
NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7


class ArtifactStore(Construct):
    """A KMS key (rotated) and mlkit's SecureBucket (versioned, TLS-only, private, access-logged, tidied).

    CodePipeline would create a similar bucket itself with ``cross_account_keys``, but without access
    logs or lifecycle rules; given this one, CDK Pipelines adds the same cross-account grants to its key
    and bucket policies, so each environment's deploy roles can read the artifacts they deploy.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="mlkit delivery: encrypts the pipeline's artifacts, read by each environment's roles",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logs can only be delivered to a bucket with S3-managed keys.
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            lifecycle_rules=lifecycle_rules(
                noncurrent_version_days=NONCURRENT_VERSION_DAYS, abort_multipart_days=ABORT_MULTIPART_DAYS
            ),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.log_bucket, "S1", "This is the access-log bucket itself; logging it into itself would loop."
        )
        self.bucket = SecureBucket(
            self,
            "Bucket",
            encryption_key=self.key,
            log_bucket=self.log_bucket,
            noncurrent_version_days=NONCURRENT_VERSION_DAYS,
            abort_multipart_days=ABORT_MULTIPART_DAYS,
        ).bucket
