"""Bedrock foundation models and inference profiles: the router's IAM, an optional guardrail stack."""

from collections.abc import Mapping
from typing import Any

from lambdas.shared import registry as contract
from sources.base import ArnParts, InvokeGrantee, ModelSource
from sources.bedrock.config import BedrockModel

# Where each inference-profile geography routes requests. `profile_regions` in config overrides it,
# since the list differs by model and grows over time.
PROFILE_GEOGRAPHIES = {
    "us": ["us-east-1", "us-east-2", "us-west-2"],
    "us-gov": ["us-gov-east-1", "us-gov-west-1"],
    "eu": ["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"],
    "apac": ["ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2"],
    "jp": ["ap-northeast-1", "ap-northeast-3"],
    "au": ["ap-southeast-2", "ap-southeast-4"],
    "ca": ["ca-central-1", "ca-west-1"],
}


def profile_geography(model_id: str) -> str | None:
    """The geography prefix of an inference-profile id (``us.anthropic...`` → ``us``), else None."""
    prefix = model_id.split(".", 1)[0]
    return prefix if prefix in PROFILE_GEOGRAPHIES or prefix == "global" else None


def bedrock_invoke_resources(model, parts: ArnParts) -> list[str]:
    """Exactly the ARNs Converse needs: the foundation model, or the profile plus its routed models."""
    partition, region = parts.partition, parts.region
    geography = profile_geography(model.model_id)
    if geography is None:
        return [f"arn:{partition}:bedrock:{region}::foundation-model/{model.model_id}"]
    base_model = model.model_id.split(".", 1)[1]
    profile = f"arn:{partition}:bedrock:{region}:{parts.account}:inference-profile/{model.model_id}"
    if geography == "global" and not model.profile_regions:
        # Global profiles route to any commercial region; AWS documents the region-less model ARN for them.
        return [profile, f"arn:{partition}:bedrock:::foundation-model/{base_model}"]
    regions = model.profile_regions or PROFILE_GEOGRAPHIES[geography]
    return [profile, *(f"arn:{partition}:bedrock:{r}::foundation-model/{base_model}" for r in regions)]


def guardrail_arn(model, parts: ArnParts, created: Mapping[str, str], label: str) -> str | None:
    """The ARN ApplyGuardrail needs: the created guardrail's, or the configured existing one's."""
    settings = model.guardrail
    if settings is None:
        return None
    if settings.creates_guardrail:
        return created.get(label)
    if settings.id.startswith("arn:"):
        return settings.id
    return f"arn:{parts.partition}:bedrock:{parts.region}:{parts.account}:guardrail/{settings.id}"


class BedrockSource(ModelSource):
    name = "bedrock"
    config_model = BedrockModel
    description = "guardrail for {model.model_id}"

    def creates_guardrail(self, model) -> bool:
        """Only a guardrail created from config is a resource; everything else is IAM on the router."""
        return bool(model.guardrail and model.guardrail.creates_guardrail)

    def stack_class(self, model) -> type | None:
        if not self.creates_guardrail(model):
            return None  # no guardrail to create: the router's IAM and route are all it needs
        return super().stack_class(model)

    def stack_arguments(self, model, resources) -> dict:
        return {"create_guardrail": not resources.emulated}

    def created_guardrail(self, stack) -> tuple[dict[str, str], str] | None:
        if stack is None or stack.guardrail is None:
            return None  # no stack, or the emulated variant, which creates none
        return stack.guardrail, stack.guardrail_arn

    def registry_entry(
        self, environment: str, label: str, model, *, guardrail_created: bool
    ) -> dict[str, Any]:
        settings = model.guardrail
        guardrail = None
        if guardrail_created:
            guardrail = contract.CREATED_GUARDRAIL
        elif settings and not settings.creates_guardrail:
            guardrail = {"identifier": settings.id, "version": settings.version or "DRAFT"}
        return contract.bedrock_entry(
            model_id=model.model_id,
            inference=model.inference.model_dump(),
            limits=model.limits.model_dump(),
            guardrail=guardrail,
        )

    def grant_invoke(self, grantee: InvokeGrantee, environment: str, label: str, model) -> None:
        for arn in bedrock_invoke_resources(model, grantee.parts):
            grantee.allow(("bedrock:InvokeModel",), arn)
        arn = guardrail_arn(model, grantee.parts, grantee.created_guardrails, label)
        if arn:
            grantee.allow(("bedrock:ApplyGuardrail",), arn)

    def dashboard_graphs(self, environment: str, label: str, model) -> list:
        from stacks.constructs import model_monitoring

        return model_monitoring.bedrock_graphs(model.model_id)

    def alarm_metrics(self, environment: str, label: str, model) -> dict:
        from stacks.constructs import model_monitoring

        return model_monitoring.bedrock_alarm_metrics(model.model_id)


SOURCE = BedrockSource()
