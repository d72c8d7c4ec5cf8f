"""A data bucket with mlkit's defaults: KMS, versioned, private, TLS-only, logged, tidy."""

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


def lifecycle_rules(*, noncurrent_version_days: int, abort_multipart_days: int) -> list[s3.LifecycleRule]:
    """Expire old versions and abandoned uploads, so versioning does not grow cost forever."""
    return [
        s3.LifecycleRule(
            id="tidy",
            abort_incomplete_multipart_upload_after=cdk.Duration.days(abort_multipart_days),
            noncurrent_version_expiration=cdk.Duration.days(noncurrent_version_days),
        )
    ]


class SecureBucket(Construct):
    """One data bucket: SSE-KMS with a bucket key, versioning, public access blocked, SSL enforced,
    server access logs to ``log_bucket``, lifecycle tidy-up.

    ``destroy`` deletes the bucket and its objects with the stack; by default both are retained.
    ``auto_delete_objects`` (default: same as ``destroy``) can be switched off where the custom
    resource that empties the bucket cannot run (the local emulator has no Lambda runtime).
    ``event_bridge`` (default False) sends object events to EventBridge.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        log_bucket: s3.IBucket,
        noncurrent_version_days: int,
        abort_multipart_days: int,
        destroy: bool = False,
        auto_delete_objects: bool | None = None,
        event_bridge: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix=f"{construct_id.lower()}/",
            lifecycle_rules=lifecycle_rules(
                noncurrent_version_days=noncurrent_version_days, abort_multipart_days=abort_multipart_days
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY if destroy else cdk.RemovalPolicy.RETAIN,
            auto_delete_objects=destroy if auto_delete_objects is None else auto_delete_objects and destroy,
        )
        if event_bridge:
            # Set natively on the bucket rather than by CDK's notifications custom resource:
            # no Lambda to run, audit or acknowledge.
            cfn_bucket: s3.CfnBucket = self.bucket.node.default_child
            cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
            )
