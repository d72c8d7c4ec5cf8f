"""What every model's stack takes from its source (sources/base.py's ``build_stack``), and what every
pipeline source's stack shares."""

from typing import ClassVar

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import names
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.model_endpoint import ModelEndpoint
from stacks.constructs.model_pipeline import PIPELINE_ID, DatasetStart, ModelPipeline


class ModelStack(cdk.Stack):
    """``mlkit-<env>-<label>``: one model's stack, as its source builds it.

    Props (keyword-only, all required): ``environment_name`` and ``model_label`` (they name the stack's
    resources), ``model`` (the config entry) and ``key`` (the data stack's key); the other keyword
    arguments go to cdk.Stack. Exposes them, and ``endpoint_name``: ``mlkit-<env>-<label>``, the name of
    the model's endpoint (and of its pipeline's state machine and package group).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        model_label: str,
        model,
        key: kms.IKey,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.environment_name = environment_name
        self.model_label = model_label
        self.model = model
        self.key = key
        self.endpoint_name = names.endpoint_name(environment_name, model_label)

    def hosting_role(self, image: str) -> ExecutionRole:
        """The role SageMaker hosts the endpoint as: it pulls ``image`` and writes the endpoint's logs."""
        role = ExecutionRole(
            self, "ExecutionRole", description=f"SageMaker runs {self.endpoint_name} as this role"
        )
        role.allow_image_pull(image)
        role.allow_logs(names.endpoint_log_group(self.endpoint_name))
        return role

    def add_endpoint(
        self, *, container: dict, role: ExecutionRole, artifacts_bucket_name: str
    ) -> ModelEndpoint:
        """The model's endpoint, which CloudFormation creates, hosted as its config says (``vpc`` and
        ``network_isolation`` too), with the output EndpointName; exposed as ``endpoint``."""
        self.endpoint = ModelEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            model_label=self.model_label,
            hosting=self.model.hosting,
            container=container,
            execution_role=role,
            key=self.key,
            artifacts_bucket=s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name),
            vpc=self.model.vpc,
            network_isolation=self.model.network_isolation,
        )
        cdk.CfnOutput(self, "EndpointName", value=self.endpoint_name)
        return self.endpoint

    def secret_reference(self, token_secret: str) -> tuple[str, str]:
        """(ARN to grant, CloudFormation dynamic reference) for a secret given by name or ARN."""
        reference = f"{{{{resolve:secretsmanager:{token_secret}:SecretString}}}}"
        if token_secret.startswith("arn:"):
            return token_secret, reference
        arn = self.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{token_secret}-??????",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        return arn, reference


class PipelineStack(ModelStack):
    """A model stack whose endpoint a pipeline deploys: it builds its ``pipeline`` (ModelPipeline) at once.

    Takes ModelStack's props, the data stack's ``artifacts_bucket_name``, the environment's ``deployer``
    (DeployStack, whose one Lambda deploys every pipeline's endpoint) and ``dataset`` (a DatasetStart;
    default None: the pipeline starts whenever CloudFormation deploys the stack). Subclasses set
    ``holds``: what the model package group holds, formatted with ``label``. Exposes ``pipeline``,
    ``prefix`` (the endpoint, group and state machine name), ``artifacts``, ``deployer``; and after
    ``add_deploy_steps``, ``deploy``.
    """

    holds: ClassVar[str]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifacts_bucket_name: str,
        deployer,
        dataset: DatasetStart | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.deployer = deployer
        holds = self.holds.format(label=self.model_label)
        self.pipeline = ModelPipeline(
            self,
            PIPELINE_ID,
            environment_name=self.environment_name,
            model_label=self.model_label,
            key=self.key,
            artifacts_bucket_name=artifacts_bucket_name,
            package_group_description=f"mlkit {self.environment_name}: {holds}",
            dataset=dataset,
        )
        self.prefix, self.artifacts = self.pipeline.prefix, self.pipeline.artifacts

    def add_deploy_steps(
        self, *, execution_role: ExecutionRole, containers_path: str, network_isolation: bool = False
    ):
        """The steps that deploy the endpoint through the deploy stack, hosted as the config says;
        exposed as ``deploy`` (DeploySteps)."""
        self.deploy = self.pipeline.add_deploy_steps(
            hosting=self.model.hosting,
            deployer=self.deployer,
            execution_role=execution_role,
            containers_path=containers_path,
            network_isolation=network_isolation,
        )
        return self.deploy
