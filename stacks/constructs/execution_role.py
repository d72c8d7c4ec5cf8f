"""A SageMaker execution role that grows one named grant at a time (no AmazonSageMakerFullAccess).

Every grant a SageMaker model or job role gets is a method here, each with the cdk-nag
acknowledgement its wildcard needs, so a reviewer reads one file to know what such a role may do.
The two statements other principals need about SageMaker (passing a role to it, letting it create
grants on a key) are written here once too.
"""

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.images import repository_arn
from stacks.nag import acknowledge, acknowledge_wildcard

SAGEMAKER = "sagemaker.amazonaws.com"
# SageMaker's own metric namespaces (/aws/sagemaker/TrainingJobs, ...Endpoints, ...).
SAGEMAKER_METRIC_NAMESPACES = "/aws/sagemaker/*"
IMAGE_PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


def sagemaker_key_grants(key: kms.IKey) -> iam.PolicyStatement:
    """kms:CreateGrant on ``key``, for grants SageMaker creates for its own resources.

    SageMaker creates such a grant as the caller when it attaches an encrypted volume (a training
    job's, an endpoint's), so the caller needs this; the condition keeps it to AWS resources.
    No kms:DescribeKey: for a volume key SageMaker documents kms:CreateGrant alone (CreateTrainingJob,
    CreateProcessingJob, CreateHyperParameterTuningJob, CreateAutoMLJob, in
    https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html), and a DescribeKey request
    never carries kms:GrantIsForAWSResource, so under this condition it was never allowed anyway."""
    return iam.PolicyStatement(
        actions=["kms:CreateGrant"],
        resources=[key.key_arn],
        conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
    )


def _kebab_case(name: str) -> str:
    """``HyperParameterTuningJob`` -> ``hyper-parameter-tuning-job``, as SageMaker's ARNs name kinds."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class ExecutionRole(Construct):
    """The role a SageMaker model (or job) runs as. Each ``allow_*`` names the resource it opens.

    Props: ``description`` (IAM's description of the role). Exposes ``role`` and ``policy`` (the
    inline policy every grant lands in; depend on it, never add to it from outside).
    """

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal(SAGEMAKER), description=description
        )
        self._policy = iam.Policy(self, "Policy", roles=[self.role])

    @property
    def policy(self) -> iam.Policy:
        return self._policy

    def _add(self, actions: list[str], resources: list[str], **conditions) -> None:
        self._policy.add_statements(iam.PolicyStatement(actions=actions, resources=resources, **conditions))

    def _sagemaker_arn(self, kind: str, name: str) -> str:
        return cdk.Stack.of(self).format_arn(service="sagemaker", resource=kind, resource_name=name)

    def _log_group_arn(self, log_group_name: str, suffix: str) -> str:
        return cdk.Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{log_group_name}:{suffix}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def pass_to_sagemaker(self) -> iam.PolicyStatement:
        """The statement another principal needs to hand this role to SageMaker (and to no one else)."""
        return iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
        )

    def allow_image_pull(self, image_uri: str) -> None:
        """Pull from that image's ECR repository only (plus the token call, which has no resource)."""
        self.allow_repository_pull(repository_arn(image_uri, cdk.Aws.PARTITION))

    def allow_repository_pull(self, repository: str) -> None:
        """Pull from one ECR repository, given by ARN (e.g. a Docker image asset's, known at deploy)."""
        self._add(IMAGE_PULL_ACTIONS, [repository])
        self._add(["ecr:GetAuthorizationToken"], ["*"])
        acknowledge(
            self._policy,
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permission; pulls are scoped to one repository.",
        )

    def allow_registry_pulls(self, image_uris: list[str]) -> None:
        """Pull any image of the AWS registries (accounts) that serve ``image_uris`` in this region.

        For containers chosen at run time (Autopilot's candidates): the repository is not known, the
        registry is."""
        stack = cdk.Stack.of(self)
        accounts = sorted({uri.split(".")[0] for uri in image_uris})
        repositories = [
            f"arn:{stack.partition}:ecr:{stack.region}:{account}:repository/*" for account in accounts
        ]
        self._add(IMAGE_PULL_ACTIONS, repositories)
        self._add(["ecr:GetAuthorizationToken"], ["*"])
        for arn in repositories:
            acknowledge_wildcard(
                self._policy,
                arn,
                "Containers are chosen at run time (Autopilot's candidates); pulls are limited to AWS's "
                "SageMaker image registries of this region.",
            )
        acknowledge(
            self._policy, "IAM5[Resource::*]", "ecr:GetAuthorizationToken has no resource-level permission."
        )

    def allow_logs(self, log_group_name: str) -> None:
        """Create and write the streams of one log group (an endpoint's own, or a SageMaker job group)."""
        arn = self._log_group_arn(log_group_name, "*")
        self._add(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], [arn])
        acknowledge_wildcard(
            self._policy,
            arn,
            "SageMaker names log streams per instance at run time; "
            "the grant is scoped to this one log group.",
        )

    def allow_job_log_streams(self, log_group_name: str, *, job_prefix: str) -> None:
        """Write only the streams of jobs named ``<job_prefix>-…`` in a log group SageMaker shares
        between all jobs of a kind (e.g. /aws/sagemaker/TrainingJobs); create and describe the group."""
        streams = self._log_group_arn(log_group_name, f"log-stream:{job_prefix}-*")
        group = self._log_group_arn(log_group_name, "*")
        self._add(["logs:CreateLogStream", "logs:PutLogEvents"], [streams])
        self._add(["logs:CreateLogGroup", "logs:DescribeLogStreams"], [group])
        acknowledge_wildcard(
            self._policy,
            streams,
            "SageMaker names job log streams <job name>/algo-N-<time>: this model's jobs only.",
        )
        acknowledge_wildcard(
            self._policy,
            group,
            "Create and describe the shared job log group; no writes to other jobs' streams.",
        )

    def allow_sagemaker_metrics(self) -> None:
        """Put CloudWatch metrics in SageMaker's namespaces only (a job's metric definitions)."""
        self._add(
            ["cloudwatch:PutMetricData"],
            ["*"],
            conditions={"StringLike": {"cloudwatch:namespace": SAGEMAKER_METRIC_NAMESPACES}},
        )
        acknowledge(
            self._policy,
            "IAM5[Resource::*]",
            "cloudwatch:PutMetricData has no resource-level permission (nor has ecr:GetAuthorizationToken); "
            "metrics are held to SageMaker's namespaces by condition.",
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

    def allow_job_volume_key_grants(self, key: kms.IKey) -> None:
        """Let SageMaker create grants on ``key`` as this role, for the encrypted volumes of the jobs
        the role starts (Autopilot's) or runs on (training)."""
        self._policy.add_statements(sagemaker_key_grants(key))

    def allow_passing_itself(self) -> None:
        """Pass this role on to SageMaker: Autopilot starts its processing and training jobs as it."""
        self._policy.add_statements(self.pass_to_sagemaker())

    def allow_sagemaker_jobs(self, job_types: list[str], *, name_prefix: str) -> None:
        """Create, describe, stop and tag SageMaker jobs of ``job_types`` (``TrainingJob``, ...) whose
        names start with ``name_prefix``."""
        jobs = [self._sagemaker_arn(_kebab_case(job_type), f"{name_prefix}*") for job_type in job_types]
        actions = [
            f"sagemaker:{verb}{job_type}" for job_type in job_types for verb in ("Create", "Describe", "Stop")
        ]
        self._add([*actions, "sagemaker:AddTags"], jobs)
        for arn in jobs:
            acknowledge_wildcard(
                self._policy,
                arn,
                f"Jobs are named at run time (Autopilot names them after its AutoML job, whose name "
                f"starts with this model's own prefix); the grant covers jobs named {name_prefix}* only.",
            )

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

    def allow_listing(self, bucket: s3.IBucket, prefix: str) -> None:
        """List ``prefix`` of ``bucket``: SageMaker's S3Prefix data sources list before they download."""
        self._add(
            ["s3:ListBucket"],
            [bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
        )

    def allow_object_read(self, object_arn: str) -> None:
        """Read one object (e.g. a training script's source asset)."""
        self._add(["s3:GetObject"], [object_arn])

    def allow_publish(self, topics: list[sns.ITopic]) -> None:
        """Publish to these topics (an async endpoint's success and error notifications)."""
        self._add(["sns:Publish"], [topic.topic_arn for topic in topics])
