"""One Hugging Face hub model on its own SageMaker endpoint (HF inference DLC, or TGI for LLMs)."""

from sources.huggingface import SOURCE
from sources.huggingface.config import HuggingFaceModel
from stacks.config.hosting import ServerlessHosting
from stacks.model_stack import ModelStack
from stacks.nag import acknowledge


class HuggingFaceModelStack(ModelStack):
    """The model's endpoint ``mlkit-<env>-<name>``, its least-privilege role, alarms and scaling.

    Takes ModelStack's props and the data stack's ``artifacts_bucket_name``.
    """

    def __init__(self, scope, construct_id: str, *, artifacts_bucket_name: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        model = self.model
        image = SOURCE.image_uri(model, self.region)
        role = self.hosting_role(image)
        environment = self._environment(model)
        if model.token_secret:
            arn, reference = self.secret_reference(model.token_secret)
            role.allow_secret_read(arn)
            # CloudFormation resolves the reference at deploy: the template holds no token.
            environment["HF_TOKEN"] = reference
        self.add_endpoint(
            container={"Image": image, "Environment": environment},
            role=role,
            artifacts_bucket_name=artifacts_bucket_name,
        )
        self._acknowledge(model)

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


STACK = HuggingFaceModelStack
