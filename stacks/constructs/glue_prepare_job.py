"""The Glue 5.0 job that cleans one dataset: jobs/glue/ as assets, encrypted, least privilege."""

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.nag import acknowledge_wildcard

GLUE_CODE = Path(__file__).resolve().parents[2] / "jobs" / "glue"
# Where Glue writes a job's logs: with a security configuration it derives the group names from
# the configuration and role names (…/output, …/error, and the continuous-logging groups).
GLUE_LOG_GROUPS = "/aws-glue/jobs/*"
CATALOG_ACTIONS = [
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetTables",
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:GetPartitions",
    "glue:GetUserDefinedFunctions",
]


def default_arguments(library: s3_assets.Asset, arguments: dict[str, str]) -> dict[str, str]:
    """The job's arguments: Glue's settings, the transform library, then the dataset's own."""
    return {
        "--extra-py-files": library.s3_object_url,
        "--enable-continuous-cloudwatch-log": "true",
        "--enable-glue-datacatalog": "true",
        "--job-bookmark-option": "job-bookmark-disable",  # every run rebuilds from all raw data
        "--job-language": "python",
        **arguments,
    }


class GluePrepareJob(Construct):
    """``jobs/glue/glue_job.py`` as a Glue 5.0 job (G.1X, Flex) named ``job_name``.

    Reads ``raw_bucket`` under ``<dataset>/``, writes ``curated_bucket`` under ``<dataset>/`` and
    the catalog table ``table`` in ``database``. ``arguments`` are the job's default arguments
    (target, column types, ...); ``workers`` (default 2, at most 10) bounds the fleet;
    ``timeout_minutes`` defaults to 60. A security configuration encrypts S3 output, logs and
    bookmarks with ``key``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_name: str,
        dataset: str,
        key: kms.IKey,
        raw_bucket: s3.IBucket,
        curated_bucket: s3.IBucket,
        database: str,
        table: str,
        arguments: dict[str, str],
        workers: int = 2,
        timeout_minutes: int = 60,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 2 <= workers <= 10:
            raise ValueError(f"workers: {workers} is outside 2..10 (G.1X needs 2; more is rarely worth it)")
        self.job_name = job_name
        script = s3_assets.Asset(self, "Script", path=str(GLUE_CODE / "glue_job.py"))
        # A zip with transform.py at its root: Glue puts it on the path so `import transform` works.
        library = s3_assets.Asset(self, "Transform", path=str(GLUE_CODE), exclude=["*", "!transform.py"])
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"Glue job {job_name}",
        )
        self.policy = iam.Policy(self, "Policy", roles=[self.role])
        self._allow_code(script, library)
        self._allow_data(dataset, key, raw_bucket, curated_bucket)
        self._allow_catalog(database, table)
        self._allow_logs()
        security = self._security_configuration(key)
        self.job = glue.CfnJob(
            self,
            "Job",
            name=job_name,
            description=f"mlkit: cleans raw/{dataset}/ into curated/{dataset}/ (jobs/glue)",
            role=self.role.role_arn,
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script.s3_object_url
            ),
            glue_version="5.0",
            worker_type="G.1X",
            number_of_workers=workers,
            execution_class="FLEX",  # spare capacity: cheaper, and a data-prep job can wait
            timeout=timeout_minutes,
            max_retries=0,
            job_run_queuing_enabled=True,  # uploads in a burst queue their runs instead of failing
            security_configuration=security.ref,
            default_arguments=default_arguments(library, arguments),
        )
        self.job.node.add_dependency(self.policy)

    def _add(self, actions: list[str], resources: list[str], reason: str | None = None) -> None:
        self.policy.add_statements(iam.PolicyStatement(actions=actions, resources=resources))
        for resource in resources:
            if reason and "*" in resource:
                acknowledge_wildcard(self.policy, resource, reason)

    def _allow_code(self, *assets: s3_assets.Asset) -> None:
        self._add(["s3:GetObject"], [asset.bucket.arn_for_objects(asset.s3_object_key) for asset in assets])

    def _allow_data(self, dataset: str, key: kms.IKey, raw: s3.IBucket, curated: s3.IBucket) -> None:
        prefix = f"{dataset}/"
        reason = f"Spark names its files at run time; the grant is limited to the dataset's prefix {prefix}."
        self._add(["s3:GetObject"], [raw.arn_for_objects(f"{prefix}*")], reason)
        self._add(
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            [curated.arn_for_objects(f"{prefix}*")],
            reason,
        )
        self.policy.add_statements(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[raw.bucket_arn, curated.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
            )
        )
        self._add(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [key.key_arn])

    def _allow_catalog(self, database: str, table: str) -> None:
        stack = cdk.Stack.of(self)

        def arn(resource: str, name: str | None = None) -> str:
            return stack.format_arn(service="glue", resource=resource, resource_name=name)

        self._add(
            CATALOG_ACTIONS,
            [
                arn("catalog"),
                arn("database", database),
                arn("database", "default"),  # Spark's metastore client looks up `default` on start
                arn("table", f"{database}/{table}"),
                arn("userDefinedFunction", f"{database}/*"),
            ],
            "Spark's metastore client lists the database's user-defined functions, which have no fixed "
            "names; every other catalog grant names the database or the dataset's one table.",
        )

    def _allow_logs(self) -> None:
        stack = cdk.Stack.of(self)
        groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{GLUE_LOG_GROUPS}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self._add(
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
            [groups],
            "Glue derives its log group names from the security configuration and role names at run "
            "time (/aws-glue/jobs/<config>-role/<role>/output and the continuous-logging groups); "
            "the grant stays under Glue's job log prefix.",
        )

    def _security_configuration(self, key: kms.IKey) -> glue.CfnSecurityConfiguration:
        return glue.CfnSecurityConfiguration(
            self,
            "Security",
            name=f"{self.job_name}-encrypted",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(
                        s3_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn
                    )
                ],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=key.key_arn
                ),
            ),
        )


def job_arguments(
    *, dataset: str, raw_bucket: str, curated_bucket: str, database: str, table: str, definition
) -> dict:
    """The job's default arguments from the dataset's definition (a run may override them)."""
    arguments = {
        "--raw_path": f"s3://{raw_bucket}/{dataset}/",
        "--curated_path": f"s3://{curated_bucket}/{dataset}/",
        "--target": definition.target,
        "--database": database,
        "--table": table,
    }
    if definition.column_types:
        arguments["--column_types"] = json.dumps(definition.column_types, sort_keys=True)
    if definition.features:
        arguments["--features"] = json.dumps(definition.features)
    if definition.validation_fraction is not None:
        arguments["--validation_fraction"] = str(definition.validation_fraction)
    return arguments
