"""The data stack: the key, the buckets and the catalog every model source builds on."""

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import names
from stacks.config import MlKitConfig
from stacks.constructs.alerts_topic import AlertsTopic
from stacks.constructs.bedrock_logging import BedrockInvocationLogging
from stacks.constructs.log_encryption import allow_log_encryption
from stacks.constructs.secure_bucket import SecureBucket, lifecycle_rules
from stacks.nag import accept_checkov, acknowledge


class DataStack(cdk.Stack):
    """KMS key (rotated), raw / curated / artifacts buckets, their access-log bucket, a Glue database,
    and the alerts topic (``alerts_topic``, encrypted with the key) every alarm and failure notifies.

    Later stacks take ``key``, the buckets or their ``bucket_names``, and ``database_name`` as
    constructor arguments. Bucket names are fixed (``mlkit-<env>-<kind>-<account>-<region>``) so
    that other stacks can scope IAM grants to literal ARNs without cross-stack exports.
    ``auto_delete_objects`` (default True) empties buckets on destroy when the config says
    ``removal: destroy``; the emulator variant turns it off (no Lambda runtime there), and
    ``invocation_logging`` (default True: as the config says) likewise.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: MlKitConfig,
        auto_delete_objects: bool = True,
        invocation_logging: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        destroy = config.removal == "destroy"
        removal = cdk.RemovalPolicy.DESTROY if destroy else cdk.RemovalPolicy.RETAIN

        self.key = kms.Key(
            self,
            "DataKey",
            alias=names.data_key_alias(config.environment),
            description=f"mlkit {config.environment}: data, artifacts, logs and endpoints",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        allow_log_encryption(self.key)
        self.alerts_topic = AlertsTopic(
            self, "Alerts", environment_name=config.environment, settings=config.alerts, key=self.key
        ).topic
        self.bucket_names = {
            kind: names.bucket_name(config.environment, kind, self.account, self.region)
            for kind in ("raw", "curated", "artifacts", "logs")
        }
        self.log_bucket = self._log_bucket(config, destroy, auto_delete_objects)
        buckets = self._data_buckets(config, destroy, auto_delete_objects)
        self.raw_bucket = buckets["Raw"]
        self.curated_bucket = buckets["Curated"]
        self.artifacts_bucket = buckets["Artifacts"]

        self.database_name = names.curated_database_name(config.environment)
        database = glue.CfnDatabase(
            self,
            "CuratedDatabase",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name,
                description=f"mlkit {config.environment}: curated datasets",
                location_uri=self.curated_bucket.s3_url_for_object(),
            ),
        )
        database.apply_removal_policy(removal)
        if config.bedrock.invocation_logging and invocation_logging:
            BedrockInvocationLogging(self, "BedrockInvocationLogging", bucket=self.log_bucket)
        self._accept_cdk_provider_findings()
        self._outputs()

    def _data_buckets(self, config: MlKitConfig, destroy: bool, auto_delete_objects: bool) -> dict:
        """The raw, curated and artifacts buckets, by construct id."""
        return {
            name: SecureBucket(
                self,
                name,
                encryption_key=self.key,
                log_bucket=self.log_bucket,
                noncurrent_version_days=config.data.noncurrent_version_days,
                abort_multipart_days=config.data.abort_multipart_days,
                destroy=destroy,
                auto_delete_objects=auto_delete_objects,
                event_bridge=name == "Raw",  # uploads start the training pipelines
                bucket_name=self.bucket_names[name.lower()],
            ).bucket
            for name in ("Raw", "Curated", "Artifacts")
        }

    def _accept_cdk_provider_findings(self) -> None:
        # CDK's singleton Lambda that empties the buckets on destroy (removal: destroy).
        provider = self.node.try_find_child("Custom::S3AutoDeleteObjectsCustomResourceProvider")
        if provider is not None:
            accept_checkov(
                provider.node.find_child("Handler"),
                "CKV_AWS_115",
                "CDK's auto-delete-objects provider runs only when the stack is deleted.",
            )

    def _log_bucket(self, config: MlKitConfig, destroy: bool, auto_delete_objects: bool) -> s3.Bucket:
        # S3 server access logs can only be delivered to a bucket with S3-managed keys.
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=self.bucket_names["logs"],
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=self._log_bucket_ownership(),
            enforce_ssl=True,
            lifecycle_rules=lifecycle_rules(
                noncurrent_version_days=config.data.noncurrent_version_days,
                abort_multipart_days=config.data.abort_multipart_days,
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY if destroy else cdk.RemovalPolicy.RETAIN,
            auto_delete_objects=destroy and auto_delete_objects,
        )
        acknowledge(bucket, "S1", "This is the access-log bucket itself; logging it into itself would loop.")
        return bucket

    def _log_bucket_ownership(self) -> s3.ObjectOwnership:
        # Log delivery by bucket policy (mlkit's cdk.json) allows ACLs off; an app without that flag
        # gets CDK's ACL-based delivery, which needs ObjectWriter, rather than a synth error.
        by_policy = cdk.FeatureFlags.of(self).is_enabled("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy")
        return s3.ObjectOwnership.BUCKET_OWNER_ENFORCED if by_policy else s3.ObjectOwnership.OBJECT_WRITER

    def _outputs(self) -> None:
        values = {
            "DataKeyArn": self.key.key_arn,
            "RawBucketName": self.raw_bucket.bucket_name,
            "CuratedBucketName": self.curated_bucket.bucket_name,
            "ArtifactsBucketName": self.artifacts_bucket.bucket_name,
            "LogBucketName": self.log_bucket.bucket_name,
            "CuratedDatabaseName": self.database_name,
            "AlertsTopicArn": self.alerts_topic.topic_arn,
        }
        for name, value in values.items():
            cdk.CfnOutput(self, name, value=value)
