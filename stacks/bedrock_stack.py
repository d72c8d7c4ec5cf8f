"""One Bedrock foundation model (or cross-region inference profile): its guardrail and its IAM scope."""

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.config import BedrockModel
from stacks.config.pretrained import GuardrailSettings

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


def invoke_resources(stack: cdk.Stack, model: BedrockModel) -> list[str]:
    """Exactly the ARNs Converse needs: the foundation model, or the profile plus its routed models."""
    partition, region = stack.partition, stack.region
    geography = profile_geography(model.model_id)
    if geography is None:
        return [f"arn:{partition}:bedrock:{region}::foundation-model/{model.model_id}"]
    base_model = model.model_id.split(".", 1)[1]
    profile = f"arn:{partition}:bedrock:{region}:{stack.account}:inference-profile/{model.model_id}"
    if geography == "global" and not model.profile_regions:
        # Global profiles route to any commercial region; AWS documents the region-less model ARN for them.
        return [profile, f"arn:{partition}:bedrock:::foundation-model/{base_model}"]
    regions = model.profile_regions or PROFILE_GEOGRAPHIES[geography]
    return [profile, *(f"arn:{partition}:bedrock:{r}::foundation-model/{base_model}" for r in regions)]


def _guardrail_properties(settings: GuardrailSettings) -> dict:
    properties = {}
    if settings.content_filters:
        properties["content_policy_config"] = bedrock.CfnGuardrail.ContentPolicyConfigProperty(
            filters_config=[
                bedrock.CfnGuardrail.ContentFilterConfigProperty(
                    type=f.type,
                    input_strength=f.input_strength,
                    # Bedrock allows no output filtering of prompt attacks.
                    output_strength="NONE" if f.type == "PROMPT_ATTACK" else f.output_strength,
                )
                for f in settings.content_filters
            ]
        )
    if settings.denied_topics:
        properties["topic_policy_config"] = bedrock.CfnGuardrail.TopicPolicyConfigProperty(
            topics_config=[
                bedrock.CfnGuardrail.TopicConfigProperty(
                    name=t.name, definition=t.definition, examples=t.examples or None, type="DENY"
                )
                for t in settings.denied_topics
            ]
        )
    if settings.pii:
        properties["sensitive_information_policy_config"] = (
            bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
                pii_entities_config=[
                    bedrock.CfnGuardrail.PiiEntityConfigProperty(type=p.type, action=p.action)
                    for p in settings.pii
                ]
            )
        )
    return properties


class BedrockAccess:
    """What the router needs for a Bedrock model with no guardrail to create: ARNs, guardrail reference."""

    def __init__(self, stack: cdk.Stack, model: BedrockModel) -> None:
        self.invoke_resources = invoke_resources(stack, model)
        self.guardrail, self.guardrail_arn = None, None
        settings = model.guardrail
        if settings and not settings.creates_guardrail:
            self.guardrail = {"identifier": settings.id, "version": settings.version or "DRAFT"}
            self.guardrail_arn = (
                settings.id
                if settings.id.startswith("arn:")
                else stack.format_arn(service="bedrock", resource="guardrail", resource_name=settings.id)
            )


def needs_stack(model: BedrockModel) -> bool:
    """Only a guardrail created from config is a resource; everything else is IAM on the router."""
    return bool(model.guardrail and model.guardrail.creates_guardrail)


class BedrockModelStack(cdk.Stack):
    """The guardrail, created from config, that a Bedrock model's requests and answers go through.

    ``guardrail`` is ``{"identifier", "version"}`` for the router's registry and
    ``invoke_resources`` the ARNs the router may invoke for this model.
    ``create_guardrail`` (default True) is turned off by the emulator variant: moto has no Bedrock.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        model_label: str,
        model: BedrockModel,
        key: kms.IKey,
        create_guardrail: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.model = model
        self.invoke_resources = invoke_resources(self, model)
        self.guardrail: dict[str, str] | None = None
        self.guardrail_arn: str | None = None
        settings = model.guardrail
        if create_guardrail:
            guardrail = bedrock.CfnGuardrail(
                self,
                "Guardrail",
                name=f"mlkit-{environment_name}-{model_label}",
                description=f"mlkit {environment_name}: screens requests to and answers of {model.model_id}",
                blocked_input_messaging=settings.blocked_input_message,
                blocked_outputs_messaging=settings.blocked_output_message,
                kms_key_arn=key.key_arn,
                **_guardrail_properties(settings),
            )
            # A numbered version: the router pins it, so editing the draft never changes production.
            version = bedrock.CfnGuardrailVersion(
                self, "GuardrailVersion", guardrail_identifier=guardrail.attr_guardrail_id
            )
            self.guardrail = {"identifier": guardrail.attr_guardrail_id, "version": version.attr_version}
            self.guardrail_arn = guardrail.attr_guardrail_arn
            cdk.CfnOutput(self, "GuardrailId", value=guardrail.attr_guardrail_id)
        else:
            # The emulator variant: keep the stack (so the deploy shape is the same) with its output only.
            cdk.CfnOutput(self, "GuardrailId", value="not-emulated")
        cdk.CfnOutput(self, "ModelId", value=model.model_id)
