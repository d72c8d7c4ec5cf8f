"""Config entries of the pre-trained sources: Hugging Face hub models and Bedrock foundation models."""

import re
from typing import Literal

from pydantic import Field, model_validator

from stacks.config.base import MediaType, StrictModel, invalid
from stacks.config.hosting import Hosting, ServerlessHosting, is_gpu_instance

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


class VpcSettings(StrictModel):
    """Subnets and security groups the endpoint's containers run in."""

    subnet_ids: list[str] = Field(min_length=1)
    security_group_ids: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_look_right(self) -> "VpcSettings":
        for key, prefix, values in (
            ("subnet_ids", "subnet-", self.subnet_ids),
            ("security_group_ids", "sg-", self.security_group_ids),
        ):
            for value in values:
                if not re.fullmatch(rf"{prefix}[0-9a-f]{{8,17}}", value):
                    raise invalid(key, f"{value!r} is not a {prefix}… id")
        return self


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


class InferenceDefaults(StrictModel):
    max_tokens: int = Field(default=512, ge=1, description="Default 512.")
    temperature: float = Field(default=0.5, ge=0, le=1, description="Default 0.5.")
    top_p: float = Field(default=0.9, ge=0, le=1, description="Default 0.9.")


class InferenceLimits(StrictModel):
    max_tokens: int = Field(default=4096, ge=1, description="Most tokens a caller may ask for. Default 4096.")


class ContentFilter(StrictModel):
    type: Literal["SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK"]
    input_strength: Literal["NONE", "LOW", "MEDIUM", "HIGH"] = "HIGH"
    output_strength: Literal["NONE", "LOW", "MEDIUM", "HIGH"] = "HIGH"


class DeniedTopic(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    definition: str = Field(min_length=1, max_length=200)
    examples: list[str] = Field(default_factory=list, max_length=5)


class PiiAction(StrictModel):
    type: str = Field(pattern=r"^[A-Z_]+$", description="e.g. EMAIL, PHONE, US_SOCIAL_SECURITY_NUMBER.")
    action: Literal["BLOCK", "ANONYMIZE"] = "ANONYMIZE"


class GuardrailSettings(StrictModel):
    """Either an existing guardrail (id and version) or filters to create one from."""

    id: str | None = None
    version: str | None = Field(default=None, description="With id. Default DRAFT.")
    content_filters: list[ContentFilter] = Field(default_factory=list)
    denied_topics: list[DeniedTopic] = Field(default_factory=list)
    pii: list[PiiAction] = Field(default_factory=list)
    blocked_input_message: str = "Sorry, this request is not allowed."
    blocked_output_message: str = "Sorry, the model's answer was blocked."

    @property
    def creates_guardrail(self) -> bool:
        return self.id is None

    @model_validator(mode="after")
    def _either_existing_or_new(self) -> "GuardrailSettings":
        policies = self.content_filters or self.denied_topics or self.pii
        if self.id and policies:
            raise invalid("id", "give either id (an existing guardrail) or policies to create one, not both")
        if not self.id and not policies:
            raise invalid(
                "content_filters",
                "a new guardrail needs at least one content filter, "
                "denied topic or pii action (or give the id of an existing one)",
            )
        return self


class BedrockModel(StrictModel):
    """A Bedrock foundation model or cross-region inference profile: access, safety and a route."""

    source: Literal["bedrock"]
    model_id: str = Field(pattern=r"^([a-z-]+\.)?[a-z0-9-]+\.[A-Za-z0-9.:-]+$")
    inference: InferenceDefaults = Field(default_factory=InferenceDefaults)
    limits: InferenceLimits = Field(default_factory=InferenceLimits)
    guardrail: GuardrailSettings | None = None
    profile_regions: list[str] | None = Field(
        default=None, description="Regions an inference profile routes to. Default: the profile's geography."
    )

    @model_validator(mode="after")
    def _defaults_within_limits(self) -> "BedrockModel":
        if self.inference.max_tokens > self.limits.max_tokens:
            raise invalid(
                "inference.max_tokens",
                f"{self.inference.max_tokens} is above limits.max_tokens ({self.limits.max_tokens})",
            )
        return self
