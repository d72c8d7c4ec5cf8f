"""A hub model (PyTorch Hub, TensorFlow Hub), packaged once in the account and served isolated."""

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from jobs.packaging.spec import spec_hash
from sources.hub.packaging_job import packaging_code_archive, processing_job_state
from sources.training.stack import CONTAINERS_STATE
from stacks import names
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.pipeline import sync_job_grants
from stacks.images import framework_inference_uri
from stacks.model_stack import PipelineStack
from stacks.nag import acknowledge_wildcard

# Packaging takes max_runtime; a blue/green deployment and endpoint creation take a few hours at most.
DEPLOY_SECONDS = 4 * 3600


class HubModelStack(PipelineStack):
    """``mlkit-<env>-<model>``: the packaging pipeline of one hub model and its endpoint.

    States: Already packaged? (the config hash's model.tar.gz exists) → Package model (a Processing
    job on the framework's inference DLC) → Register model package → Model containers → DeploySteps
    (the deploy Lambda, blue/green, network isolation on) → Deployed. Its ``pipeline`` (ModelPipeline,
    no dataset) starts it whenever CloudFormation finishes creating or updating this stack, so
    `cdk deploy` alone ends with the endpoint on its way; an unchanged config skips the packaging.

    Takes PipelineStack's props (no dataset), the ``framework`` of its inference DLC ("pytorch",
    "tensorflow"), the packaging ``spec`` (jobs/packaging/spec.py) and the serving container's
    ``serving_environment``. The deploy stack exists before this stack, whose deploy starts the pipeline.
    Exposes ``state_machine``, ``deploy``, ``model_data_url``.
    """

    holds = "packagings of {label}"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        framework: str,
        spec: dict,
        serving_environment: dict[str, str],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        model, model_label = self.model, self.model_label
        version = model.framework_version
        self.image = framework_inference_uri(framework, self.region, version=version, gpu=model.gpu)
        # Packaged on the serving image itself: the weights are written by the framework that loads them.
        packaging_image = framework_inference_uri(framework, self.region, version=version, gpu=False)
        self.model_key = names.packaged_model_key(model_label, spec_hash(spec))
        self.package_folder = self.model_key.rsplit("/", 1)[0] + "/"
        self.model_data_url = self.artifacts.s3_url_for_object(self.model_key)
        code = s3_assets.Asset(self, "PackagingCode", path=str(packaging_code_archive()))
        self._roles(packaging_image, code)
        self.add_deploy_steps(
            execution_role=self.model_role, containers_path="$.model.containers", network_isolation=True
        )
        container = {
            "Image": self.image,
            "ModelDataUrl": self.model_data_url,
            "Environment": serving_environment,
        }
        package = self._package_state(packaging_image, code, spec)
        self.state_machine = self.pipeline.add_state_machine(
            steps=self._definition(package, container, model),
            timeout=cdk.Duration.seconds(model.packaging.max_runtime + DEPLOY_SECONDS),
            job_role=self.packaging_role,
            job_volume_key=self.key,  # a VolumeKmsKeyId: SageMaker creates grants as the caller
            grants=self._processing_grants(),
        )
        acknowledge_wildcard(
            self.state_machine.role.node.find_child("DefaultPolicy"),
            self._processing_jobs(),
            "Each run names its processing job <prefix>-<random>; the grant covers this model's jobs only.",
        )
        cdk.CfnOutput(self, "ModelDataUrl", value=self.model_data_url)

    def _package_state(self, packaging_image: str, code: s3_assets.Asset, spec: dict) -> sfn.IChainable:
        """ "Package model": the Processing job that writes the config hash's model.tar.gz."""
        return processing_job_state(
            self,
            job_prefix=self.prefix,
            model_label=self.model_label,
            image=packaging_image,
            role_arn=self.packaging_role.role.role_arn,
            key_arn=self.key.key_arn,
            code=code,
            spec=json.dumps(spec, sort_keys=True, separators=(",", ":")),
            output_url=self.artifacts.s3_url_for_object(self.package_folder),
            settings=self.model.packaging,
        )

    def _roles(self, packaging_image: str, code: s3_assets.Asset) -> None:
        """The packaging job's role (writes its config hash's folder); the model's (reads the artifact)."""
        self.packaging_role = ExecutionRole(
            self, "PackagingRole", description=f"The packaging job of {self.prefix} runs as this role"
        )
        self._grant_packaging_role(packaging_image, code)
        self.model_role = ExecutionRole(self, "ModelRole", description=f"SageMaker hosts {self.prefix}")
        self.model_role.allow_image_pull(self.image)
        self.model_role.allow_key_use(self.key)
        self.model_role.allow_prefixes(self.artifacts, read=[self.model_key])

    def _definition(self, package: sfn.IChainable, container: dict, model) -> sfn.IChainable:
        check = tasks.CallAwsService(
            self,
            "Already packaged?",
            service="s3",
            action="listObjectsV2",
            parameters={"Bucket": self.artifacts.bucket_name, "Prefix": self.model_key, "MaxKeys": 1},
            iam_action="s3:ListBucket",
            iam_resources=[self.artifacts.bucket_arn],
            result_selector={"KeyCount.$": "$.KeyCount"},
            result_path="$.packaged",
        )
        register = self._register(container, model)
        containers = sfn.Pass(
            self, CONTAINERS_STATE, parameters={"containers": [container]}, result_path="$.model"
        )
        containers.next(self.deploy.chain).next(sfn.Succeed(self, "Deployed"))
        package.next(register).next(containers)
        exists = sfn.Condition.number_greater_than("$.packaged.KeyCount", 0)
        return check.next(sfn.Choice(self, "Package exists?").when(exists, containers).otherwise(package))

    def _register(self, container: dict, model) -> tasks.CallAwsService:
        """CreateModelPackage, approved: a hub model has no gate, its hub reference is its lineage."""
        return self.pipeline.register_state(
            description="States.Format('Packaged by {}', $.packaging.ProcessingJobName)",
            specification={
                "Containers": [container],
                "SupportedContentTypes": model.resolved_content_types,
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )

    def _sagemaker_arn(self, kind: str, name: str) -> str:
        return self.format_arn(service="sagemaker", resource=kind, resource_name=name)

    def _grant_packaging_role(self, image: str, code: s3_assets.Asset) -> None:
        role = self.packaging_role
        role.allow_image_pull(image)
        role.allow_key_use(self.key)
        role.allow_job_log_streams(names.PROCESSING_LOG_GROUP, job_prefix=self.prefix)
        role.allow_prefixes(self.artifacts, write=[self.package_folder])
        role.allow_object_read(code.bucket.arn_for_objects(code.s3_object_key))
        role.allow_job_volume_key_grants(self.key)

    def _processing_jobs(self) -> str:
        return self._sagemaker_arn("processing-job", f"{self.prefix.lower()}-*")

    def _processing_grants(self) -> list[iam.PolicyStatement]:
        """What "Package model" needs beyond its task's grants: the job's calls and .sync's rule."""
        return sync_job_grants(self, job_kind="ProcessingJob", jobs_arn=self._processing_jobs())


STACK = HubModelStack
