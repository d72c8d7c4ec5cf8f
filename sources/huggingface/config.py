"""The config entry of a Hugging Face hub model (`source: huggingface`)."""

from typing import Literal

from pydantic import Field, model_validator

from stacks.config.base import MediaType, StrictModel, invalid
from stacks.config.hosting import Hosting, ServerlessHosting, VpcSettings, is_gpu_instance

HF_TASKS = Literal[
    "text-classification",
    "token-classification",
    "question-answering",
    "summarization",
    "translation",
    "text-generation",
    "text2text-generation",
    "fill-mask",
    "feature-extraction",
    "sentence-similarity",
    "zero-shot-classification",
    "image-classification",
    "automatic-speech-recognition",
]
# What the HF inference toolkit decodes for each kind of task; JSON for every other task.
TASK_CONTENT_TYPES = {
    "image-classification": ["image/jpeg", "image/png", "application/x-image"],
    "automatic-speech-recognition": ["audio/wav", "audio/x-wav", "audio/flac", "audio/mpeg", "audio/ogg"],
}


class HuggingFaceModel(StrictModel):
    """A Hugging Face hub model on a SageMaker endpoint (HF inference DLC, or TGI for LLMs)."""

    source: Literal["huggingface"]
    model_id: str = Field(pattern=r"^[\w.-]+(/[\w.-]+)?$", description="Hub id, e.g. org/name.")
    task: HF_TASKS
    revision: str | None = Field(default=None, description="Hub revision. Default: the hub's main.")
    token_secret: str | None = Field(
        default=None, description="Secrets Manager secret name or ARN holding HF_TOKEN. Default none."
    )
    container: Literal["inference", "tgi"] | None = Field(
        default=None, description="Default: tgi for text-generation, inference otherwise."
    )
    transformers_version: str | None = Field(default=None, description="Default: newest the SDK knows.")
    pytorch_version: str | None = Field(default=None, description="Default: paired with transformers.")
    tgi_version: str | None = Field(default=None, description="Default: newest the SDK knows.")
    environment: dict[str, str] = Field(default_factory=dict, description="Extra container variables.")
    hosting: Hosting = Field(default_factory=ServerlessHosting, description="Default serverless.")
    vpc: VpcSettings | None = None
    network_isolation: bool = Field(default=False, description="Hub models download at start: off.")
    content_types: list[MediaType] | None = Field(
        default=None,
        min_length=1,
        description="Request media types the route accepts. Default: images or audio for those tasks, "
        "application/json otherwise.",
    )

    @property
    def resolved_content_types(self) -> list[str]:
        return self.content_types or TASK_CONTENT_TYPES.get(self.task, ["application/json"])

    @property
    def resolved_container(self) -> str:
        return self.container or ("tgi" if self.task == "text-generation" else "inference")

    @model_validator(mode="after")
    def _combinations(self) -> "HuggingFaceModel":
        hosting = self.hosting
        if self.resolved_container == "tgi":
            if hosting.type == "serverless":
                raise invalid(
                    "hosting.type",
                    "serverless cannot run the tgi container (TGI needs a GPU): "
                    "use hosting.type realtime or async with an ml.g*/ml.p* instance_type",
                )
            if not is_gpu_instance(hosting.instance_type):
                raise invalid(
                    "hosting.instance_type",
                    f"{hosting.instance_type!r} has no GPU: the tgi "
                    "container needs an ml.g* or ml.p* instance type, e.g. ml.g5.xlarge",
                )
        if self.network_isolation:
            raise invalid(
                "network_isolation",
                "hub models download from the Hugging Face hub when the "
                "container starts, so the endpoint needs network access: set it to false",
            )
        if "HF_TOKEN" in self.environment:
            raise invalid(
                "environment.HF_TOKEN",
                "never put a token in the config: name a Secrets Manager secret in token_secret instead",
            )
        return self
