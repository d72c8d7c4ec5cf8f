"""A dataset prepared by SageMaker Processing: the Glue job's transform on the Spark processing image, or a
Data Wrangler flow on the Data Wrangler image followed by that same transform.

CDK has no Processing task, so each job is a ``CustomState`` on ``createProcessingJob.sync``. The transform
reads raw and writes curated straight from Spark on S3 (see jobs/processing/prepare_job.py for why); the
flow's output is a Processing output, one prefix per run under ``curated/<dataset>/data-wrangler/``, which
the transform then curates into the layout every model reads. The code ships as a ``.py`` script and a zip
of the ``jobs`` package for ``--py-files``: Processing inputs are downloaded, never unpacked.
"""

import hashlib
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from jobs.processing.prepare_job import RAW_PATH_VARIABLE
from stacks import names
from stacks.code_archives import reproducible_zip
from stacks.config.datasets import DatasetSettings
from stacks.config.flow_file import FlowSource, output_name
from stacks.constructs.execution_role import ExecutionRole, sagemaker_key_grants
from stacks.constructs.pipeline import sync_job_grants, unique_name
from stacks.images import processing_uri
from stacks.nag import acknowledge_wildcard

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "jobs" / "processing" / "prepare_job.py"
PACKAGE_FILES = (
    "jobs/__init__.py",
    "jobs/glue/__init__.py",
    "jobs/glue/glue_job.py",
    "jobs/glue/transform.py",
    "jobs/processing/__init__.py",
    "jobs/processing/prepare_job.py",
)
PROCESSING = "/opt/ml/processing"
CODE_DIRECTORY = f"{PROCESSING}/input/code"
PY_FILES_DIRECTORY = f"{PROCESSING}/input/py-files"
FLOW_DIRECTORY = f"{PROCESSING}/flow"  # where the Data Wrangler container looks for the flow
FLOW_OUTPUT_DIRECTORY = f"{PROCESSING}/output"
# State names: tests and the local run read the requests from the template by them.
PROCESSING_STATE = "Run Processing job"
NAME_RUN_STATE = "Name Data Wrangler run"
FLOW_STATE = "Run Data Wrangler flow"
CURATE_STATE = "Curate flow output"
RESULT_PATH = "$.processing"
# Processing job names: at most 63 characters, letters, digits and hyphens; unique_name adds 13.
JOB_NAME_LIMIT = 63 - 13
# Not part of the transform's job: the catalog table is the Glue path's.
GLUE_ONLY_ARGUMENTS = ("--database", "--table")


def prepare_code_archive() -> Path:
    """The ``jobs`` package's transform code as a zip for ``--py-files``, byte-for-byte reproducible."""
    files = [(name, (ROOT / name).read_bytes()) for name in PACKAGE_FILES]
    return reproducible_zip(files, folder="prepare-code", file_name="jobs.zip")


def processing_job_prefix(environment: str, dataset: str) -> str:
    """``mlkit-<env>-prepare-<dataset>-<hash>``: the hash keeps one dataset's IAM scope from covering
    another's jobs (``churn`` vs ``churn-2``) and stands in for what a long name loses."""
    digest = hashlib.sha256(dataset.encode()).hexdigest()[:6]
    base = names.glue_job_name(environment, "")
    readable = dataset.replace("_", "-")[: JOB_NAME_LIMIT - len(base) - len(digest) - 1].strip("-")
    return f"{base}{readable}-{digest}"


def flatten(arguments: dict[str, str]) -> list[str]:
    return [item for name, value in arguments.items() for item in (name, value)]


def s3_input(name: str, uri: str, local_path: str) -> dict:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


class ProcessingPrepareJob(Construct):
    """The Processing jobs that prepare ``dataset`` and their role; ``chain`` runs them in order.

    ``arguments`` are the Glue job's (glue_prepare_job.job_arguments): the transform takes the same.
    ``settings`` is the dataset's config entry (prepare: processing or data_wrangler); for a flow,
    ``flow_sources`` are its checked S3 sources. After ``chain``, ``$.processing.ProcessingJobName`` names
    the job that wrote the curated layout. Exposes ``role``, ``job_prefix`` and ``runtime_seconds``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        dataset: str,
        key: kms.IKey,
        raw_bucket: s3.IBucket,
        curated_bucket: s3.IBucket,
        arguments: dict[str, str],
        settings: DatasetSettings,
        flow_sources: list[FlowSource] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.dataset, self.key, self.settings = dataset, key, settings
        self.raw, self.curated = raw_bucket, curated_bucket
        self.job_prefix = processing_job_prefix(environment_name, dataset)
        region = cdk.Stack.of(self).region
        self.spark_image = processing_uri("spark", region)
        self.arguments = {k: v for k, v in arguments.items() if k not in GLUE_ONLY_ARGUMENTS}
        self.script = s3_assets.Asset(self, "Script", path=str(SCRIPT))
        self.package = s3_assets.Asset(self, "Package", path=str(prepare_code_archive()))
        self.role = ExecutionRole(
            self, "Role", description=f"Processing jobs {self.job_prefix}-* run as this role"
        )
        self._grant_role()
        if settings.prepare == "data_wrangler":
            self.flow = s3_assets.Asset(self, "Flow", path=str(settings.flow_path))
            self.wrangler_image = processing_uri("data-wrangler", region)
            self._grant_flow_role()
            self.chain = self._flow_chain(flow_sources)
            self.runtime_seconds = 2 * settings.resolved_max_runtime
        else:
            transform = self._spark_state(PROCESSING_STATE, settings.resolved_instance_type, self.arguments)
            self.chain = sfn.Chain.start(transform)
            self.runtime_seconds = settings.resolved_max_runtime

    # ---- the requests ------------------------------------------------------------------------

    def _resources(self, instance_type: str) -> dict:
        return {
            "RoleArn": self.role.role.role_arn,
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": instance_type,
                    "VolumeSizeInGB": self.settings.resolved_volume_gb,
                    "VolumeKmsKeyId": self.key.key_arn,
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": self.settings.resolved_max_runtime},
            "Tags": [{"Key": "project", "Value": names.PROJECT}, {"Key": "dataset", "Value": self.dataset}],
        }

    def _state(self, name: str, parameters: dict) -> sfn.CustomState:
        """CreateProcessingJob (.sync) as raw ASL; a full account's quota is retried, not a failure."""
        return sfn.CustomState(
            self,
            name,
            state_json={
                "Type": "Task",
                "Resource": f"arn:{cdk.Aws.PARTITION}:states:::sagemaker:createProcessingJob.sync",
                "Parameters": parameters,
                "ResultPath": RESULT_PATH,
                "ResultSelector": {"ProcessingJobName.$": "$.ProcessingJobName"},
                "Retry": [
                    {
                        "ErrorEquals": ["SageMaker.ResourceLimitExceededException"],
                        "IntervalSeconds": 60,
                        "BackoffRate": 2,
                        "MaxAttempts": 5,
                    }
                ],
            },
        )

    def _spark_state(
        self, name: str, instance_type: str, arguments: dict[str, str], environment: dict | None = None
    ) -> sfn.CustomState:
        """The transform on the Spark processing image (smspark-submit runs the script on Spark)."""
        script = f"{CODE_DIRECTORY}/{self.script.s3_object_key}"
        parameters = {
            "ProcessingJobName.$": unique_name(self.job_prefix),
            "AppSpecification": {
                "ImageUri": self.spark_image,
                "ContainerEntrypoint": ["smspark-submit", "--py-files", PY_FILES_DIRECTORY, script],
                "ContainerArguments": flatten(arguments),
            },
            "ProcessingInputs": [
                s3_input("code", self.script.s3_object_url, CODE_DIRECTORY),
                s3_input("py-files", self.package.s3_object_url, PY_FILES_DIRECTORY),
            ],
            **self._resources(instance_type),
        }
        if environment:
            parameters["Environment"] = environment
        return self._state(name, parameters)

    def _flow_output_uri(self) -> str:
        """An intrinsic: this run's prefix for the flow's output (one per run: no stale files)."""
        base = self.curated.s3_url_for_object(f"{self.dataset}/data-wrangler/")
        return f"States.Format('{base}{{}}/', $.flow_run.name)"

    def _flow_chain(self, sources: list[FlowSource]) -> sfn.Chain:
        """Name the run, run the flow into its own prefix, then curate that output with the transform."""
        name_run = sfn.Pass(
            self,
            NAME_RUN_STATE,
            parameters={"name.$": unique_name(self.job_prefix)},
            result_path="$.flow_run",
        )
        node_output = output_name(self.settings.output_node)
        inputs = [
            s3_input(source.name, self.raw.s3_url_for_object(source.key), f"{PROCESSING}/{source.name}")
            for source in sources
        ]
        flow = self._state(
            FLOW_STATE,
            {
                "ProcessingJobName.$": "$.flow_run.name",
                "AppSpecification": {
                    "ImageUri": self.wrangler_image,
                    "ContainerArguments": [
                        "--output-config",
                        f'{{"{node_output}": {{"content_type": "CSV"}}}}',
                    ],
                },
                "ProcessingInputs": [s3_input("flow", self.flow.s3_object_url, FLOW_DIRECTORY), *inputs],
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {
                            "OutputName": node_output,
                            "S3Output": {
                                "S3Uri.$": self._flow_output_uri(),
                                "LocalPath": FLOW_OUTPUT_DIRECTORY,
                                "S3UploadMode": "EndOfJob",
                            },
                        }
                    ],
                    "KmsKeyId": self.key.key_arn,
                },
                **self._resources(self.settings.resolved_instance_type),
            },
        )
        arguments = {k: v for k, v in self.arguments.items() if k != "--raw_path"}
        curate = self._spark_state(
            CURATE_STATE,
            self.settings.resolved_transform_instance_type,
            {**arguments, "--recursive": "true"},
            environment={f"{RAW_PATH_VARIABLE}.$": self._flow_output_uri()},
        )
        return sfn.Chain.start(name_run).next(flow).next(curate)

    # ---- IAM ---------------------------------------------------------------------------------

    def _grant_role(self) -> None:
        """What the transform needs: its image and code, the raw prefix, the curated prefix, the key."""
        role, prefix = self.role, f"{self.dataset}/"
        role.allow_image_pull(self.spark_image)
        role.allow_key_use(self.key)
        role.allow_job_volume_key_grants(self.key)
        role.allow_job_log_streams(names.PROCESSING_LOG_GROUP, job_prefix=self.job_prefix)
        for asset in (self.script, self.package):
            role.allow_object_read(asset.bucket.arn_for_objects(asset.s3_object_key))
        role.allow_prefixes(self.raw, read=[prefix])
        role.allow_prefixes(self.curated, read=[prefix], write=[prefix])
        role.allow_listing(self.raw, prefix)
        role.allow_listing(self.curated, prefix)
        # Spark's overwrite deletes the previous run's files: a grant ExecutionRole has no method for.
        overwrite = iam.Policy(self, "Overwrite", roles=[role.role])
        objects = self.curated.arn_for_objects(f"{prefix}*")
        overwrite.add_statements(
            iam.PolicyStatement(actions=["s3:DeleteObject", "s3:AbortMultipartUpload"], resources=[objects])
        )
        acknowledge_wildcard(
            overwrite,
            objects,
            f"Spark names its files at run time; the grant is limited to the prefix {prefix}.",
        )

    def _grant_flow_role(self) -> None:
        self.role.allow_image_pull(self.wrangler_image)
        self.role.allow_object_read(self.flow.bucket.arn_for_objects(self.flow.s3_object_key))

    def grant_start(self, role: iam.IRole) -> None:
        """Let a state machine's ``role`` run these jobs (.sync) as this construct's role."""
        stack = cdk.Stack.of(self)
        jobs = stack.format_arn(
            service="sagemaker", resource="processing-job", resource_name=f"{self.job_prefix}-*"
        )
        for statement in (
            *sync_job_grants(self, job_kind="ProcessingJob", jobs_arn=jobs),
            self.role.pass_to_sagemaker(),
            sagemaker_key_grants(self.key),
        ):
            role.add_to_principal_policy(statement)
        acknowledge_wildcard(
            role.node.find_child("DefaultPolicy"),
            jobs,
            f"Each run names its processing jobs {self.job_prefix}-<random>; "
            "the grant covers this dataset's jobs only.",
        )
