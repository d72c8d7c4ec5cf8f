"""One Hugging Face hub model on its own SageMaker endpoint (HF inference DLC, or TGI for LLMs)."""

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import names
from stacks.config import HuggingFaceModel
from stacks.config.hosting import ServerlessHosting
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.model_endpoint import ModelEndpoint
from stacks.nag import acknowledge
from stacks.sources.huggingface import HuggingFaceSource


def secret_reference(stack: cdk.Stack, token_secret: str) -> tuple[str, str]:
    """(ARN to grant, CloudFormation dynamic reference) for a secret given by name or ARN."""
    reference = f"{{{{resolve:secretsmanager:{token_secret}:SecretString}}}}"
    if token_secret.startswith("arn:"):
        return token_secret, reference
    arn = stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{token_secret}-??????",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
    return arn, reference


class HuggingFaceModelStack(cdk.Stack):
    """The model's endpoint ``mlkit-<env>-<name>``, its least-privilege role, alarms and scaling.

    Takes the data stack's ``key`` and ``artifacts_bucket_name`` as arguments.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        model_label: str,
        model: HuggingFaceModel,
        key: kms.IKey,
        artifacts_bucket_name: str,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        endpoint_name = names.endpoint_name(environment_name, model_label)
        artifacts_bucket = s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name)
        image = HuggingFaceSource().image_uri(model, self.region)
        role = ExecutionRole(
            self, "ExecutionRole", description=f"SageMaker runs {endpoint_name} as this role"
        )
        role.allow_image_pull(image)
        role.allow_logs(names.endpoint_log_group(endpoint_name))

        environment = self._environment(model)
        if model.token_secret:
            arn, reference = secret_reference(self, model.token_secret)
            role.allow_secret_read(arn)
            # CloudFormation resolves the reference at deploy: the template holds no token.
            environment["HF_TOKEN"] = reference

        self.endpoint = ModelEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            model_label=model_label,
            hosting=model.hosting,
            container={"Image": image, "Environment": environment},
            execution_role=role,
            key=key,
            artifacts_bucket=artifacts_bucket,
            vpc=model.vpc,
            network_isolation=model.network_isolation,
        )
        self._acknowledge(model)
        cdk.CfnOutput(self, "EndpointName", value=endpoint_name)

    @staticmethod
    def _environment(model: HuggingFaceModel) -> dict[str, str]:
        environment = {"HF_MODEL_ID": model.model_id}
        if model.revision:
            environment["HF_MODEL_REVISION" if model.resolved_container == "inference" else "REVISION"] = (
                model.revision
            )
        if model.resolved_container == "inference":
            environment["HF_TASK"] = model.task
        else:
            environment["SM_NUM_GPUS"] = "1"  # TGI shards across this many GPUs; override in environment
        return {**environment, **model.environment}

    def _acknowledge(self, model: HuggingFaceModel) -> None:
        model_resource = self.endpoint.node.find_child("Model")
        acknowledge(
            model_resource,
            "SM3",
            "Hub models download from the Hugging Face hub when the container "
            "starts, so network isolation would stop the endpoint from loading its model.",
        )
        if isinstance(model.hosting, ServerlessHosting):
            acknowledge(
                self.endpoint.node.find_child("Config"),
                "SM2",
                "SageMaker rejects KmsKeyId on serverless "
                "endpoint configs (no storage volume is attached); real-time and async use the data key.",
            )
