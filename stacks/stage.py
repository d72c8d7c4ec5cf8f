"""MlKitStage: every stack of one environment, for a workstation, a pipeline stage or another account."""

import aws_cdk as cdk
from constructs import Construct

from stacks import names
from stacks.api_stack import ApiStack
from stacks.autopilot_stack import AutopilotModelStack
from stacks.bedrock_stack import BedrockModelStack, needs_stack
from stacks.config import MlKitConfig
from stacks.constructs.smoke_test_role import SmokeTestRole
from stacks.data_stack import DataStack
from stacks.dataset_stack import DatasetStack
from stacks.huggingface_stack import HuggingFaceModelStack
from stacks.registry import registry_document
from stacks.router_access import (
    LONGEST,
    ArnParts,
    longest_created_guardrail_arns,
    pack_policies,
    router_grants,
)
from stacks.training_stack import TrainingModelStack


class MlKitStage(cdk.Stage):
    """All stacks of one environment, named ``mlkit-<env>-<part>`` and tagged from the config.

    ``emulated`` (default False) builds the variant that deploys into the local AWS emulator:
    no bootstrap-version rule (moto cannot update stacks that carry it), no custom resources
    that need a Lambda runtime, and the emulator's account whatever the config's ``account``.
    ``smoke_test_caller`` (default None: no such role) is the ARN of a delivery pipeline's smoke-test
    role in another account, which may then assume ``mlkit-<env>-smoke-test`` to call ``GET /models``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: MlKitConfig,
        emulated: bool = False,
        smoke_test_caller: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        environment = config.environment
        stack_settings = {
            # No account (none configured, or the emulator's): the CLI's credentials decide where it deploys.
            "env": cdk.Environment(account=None if emulated else config.account, region=config.region),
            "synthesizer": cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=not emulated),
        }

        self.data = DataStack(
            self,
            "Data",
            stack_name=names.data_stack_name(environment),
            description=f"mlkit {config.environment}: KMS key, data buckets, Glue database",
            config=config,
            auto_delete_objects=not emulated,
            invocation_logging=not emulated,
            **stack_settings,
        )

        # One dataset stack per dataset: its Glue job runs once per upload, whatever the models sharing it.
        self.dataset_stacks = {
            dataset: DatasetStack(
                self,
                f"Dataset-{dataset}",
                stack_name=names.dataset_stack_name(environment, dataset),
                description=f"mlkit {environment}: Glue job of dataset {dataset}",
                environment_name=environment,
                dataset=dataset,
                definition=definition,
                key=self.data.key,
                bucket_names=self.data.bucket_names,
                database_name=self.data.database_name,
                **stack_settings,
            )
            for dataset, definition in config.datasets.items()
        }

        self.model_stacks = self._model_stacks(emulated, stack_settings)
        self.api = self._api_stack(stack_settings)
        if smoke_test_caller:  # a delivery pipeline's stage: its smoke test may call GET /models
            api, caller = self.api.api, smoke_test_caller
            SmokeTestRole(self.api, "SmokeTest", environment_name=environment, api=api, caller=caller)

        # moto's CloudFormation cannot create a tagged KMS key, so the emulated variant leaves keys untagged.
        untagged = ["AWS::KMS::Key"] if emulated else []
        for key, value in {**config.tags, "project": names.PROJECT, "environment": environment}.items():
            cdk.Tags.of(self).add(key, value, exclude_resource_types=untagged)

    def _model_stacks(self, emulated: bool, stack_settings: dict) -> dict[str, cdk.Stack]:
        """One stack per model, named ``mlkit-<env>-<model>``; plain Bedrock models need none."""
        environment, stacks = self.config.environment, {}
        for label, model in self.config.models.items():
            stack_class, extra, what = self._model_stack_parts(model, emulated)
            if stack_class is None:
                continue  # a Bedrock model with no guardrail to create is IAM and a route only
            stacks[label] = stack_class(
                self,
                label,
                stack_name=names.model_stack_name(environment, label),
                description=f"mlkit {environment}: {what}, as {label}",
                environment_name=environment,
                model_label=label,
                model=model,
                key=self.data.key,
                **extra,
                **stack_settings,
            )
        return stacks

    def _model_stack_parts(self, model, emulated: bool) -> tuple[type | None, dict, str]:
        """The stack class of a model's source, its source-specific arguments, and what it holds."""
        if model.source == "huggingface":
            extra = {"artifacts_bucket_name": self.data.bucket_names["artifacts"]}
            return HuggingFaceModelStack, extra, f"Hugging Face model {model.model_id}"
        if model.source == "bedrock":
            if not needs_stack(model):
                return None, {}, ""  # no guardrail to create: the router's IAM and route are all it needs
            return BedrockModelStack, {"create_guardrail": not emulated}, f"guardrail for {model.model_id}"
        dataset = self.dataset_stacks[model.dataset]
        extra = {
            "bucket_names": self.data.bucket_names,
            "glue_job_name": dataset.glue_job_name,
            "curated_prefixes": dataset.curated_prefixes,
        }
        if model.source == "training":
            return TrainingModelStack, extra, f"model trained on dataset {model.dataset}"
        return AutopilotModelStack, extra, f"Autopilot model on dataset {model.dataset}"

    def _api_stack(self, stack_settings: dict) -> ApiStack:
        """The invoke API over every model: its registry file, guardrail ids and grants."""
        config = self.config
        created = {
            label: stack
            for label, stack in self.model_stacks.items()
            if isinstance(stack, BedrockModelStack) and stack.guardrail
        }
        artifacts = self.data.bucket_names["artifacts"]
        # The partition follows from the region at synth ("aws" for us-east-1); the account may stay a token.
        parts = ArnParts(
            self.data.partition, self.data.account, config.region, artifacts, self.data.key.key_arn
        )
        rows = router_grants(config, parts, {label: stack.guardrail_arn for label, stack in created.items()})
        # The same grants with the longest values the tokens can take decide where the policies split.
        longest = {
            label: arn for label, arn in longest_created_guardrail_arns(config).items() if label in created
        }
        sizes = router_grants(config, LONGEST, longest)
        return ApiStack(
            self,
            "Api",
            stack_name=names.api_stack_name(config.environment),
            description=f"mlkit {config.environment}: REST API and router Lambda for every model",
            environment_name=config.environment,
            settings=config.api,
            registry=registry_document(config.environment, config.models, set(created)),
            guardrails={label: stack.guardrail for label, stack in created.items()},
            invoke_policies=pack_policies(rows, sizes),
            artifacts_bucket_name=artifacts,
            content_types=[
                t for m in config.models.values() for t in getattr(m, "resolved_content_types", [])
            ],
            **stack_settings,
        )
