"""The config entry of a Bedrock foundation model or inference profile (`source: bedrock`)."""

from typing import Literal

from pydantic import Field, model_validator

from stacks.config.base import StrictModel, invalid


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
