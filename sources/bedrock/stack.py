"""A Bedrock model's guardrail, created from config (the router's IAM for it: stacks/router_access.py)."""

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock

from sources.bedrock.config import GuardrailSettings
from stacks import names
from stacks.model_stack import ModelStack


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


class BedrockModelStack(ModelStack):
    """The guardrail, created from config, that a Bedrock model's requests and answers go through.

    Takes ModelStack's props and ``create_guardrail`` (default True), which the emulator variant turns
    off: moto has no Bedrock. ``guardrail`` is ``{"identifier", "version"}`` and ``guardrail_arn`` its
    ARN, for the router (both None in the emulator variant).
    """

    def __init__(self, scope, construct_id: str, *, create_guardrail: bool = True, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        model, environment_name = self.model, self.environment_name
        self.guardrail: dict[str, str] | None = None
        self.guardrail_arn: str | None = None
        settings = model.guardrail
        if create_guardrail:
            guardrail = bedrock.CfnGuardrail(
                self,
                "Guardrail",
                name=names.guardrail_name(environment_name, self.model_label),
                description=f"mlkit {environment_name}: screens requests to and answers of {model.model_id}",
                blocked_input_messaging=settings.blocked_input_message,
                blocked_outputs_messaging=settings.blocked_output_message,
                kms_key_arn=self.key.key_arn,
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


STACK = BedrockModelStack
