"""MlKitStage: every stack of one environment, for a workstation, a pipeline stage or another account."""

import aws_cdk as cdk
from constructs import Construct

from stacks.api_stack import ApiStack
from stacks.autopilot_stack import AutopilotModelStack
from stacks.bedrock_stack import BedrockAccess, BedrockModelStack, needs_stack
from stacks.config import MlKitConfig
from stacks.data_stack import DataStack
from stacks.dataset_stack import DatasetStack
from stacks.huggingface_stack import HuggingFaceModelStack
from stacks.registry import bedrock_entry, sagemaker_entry, sagemaker_grants
from stacks.training_stack import TrainingModelStack


class MlKitStage(cdk.Stage):
    """All stacks of one environment, named ``mlkit-<env>-<part>`` and tagged from the config.

    ``emulated`` (default False) builds the variant that deploys into the local AWS emulator:
    no bootstrap-version rule (moto cannot update stacks that carry it) and no custom resources
    that need a Lambda runtime.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: MlKitConfig,
        emulated: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        prefix = f"mlkit-{config.environment}"
        stack_settings = {
            "env": cdk.Environment(account=config.account or cdk.Aws.ACCOUNT_ID, region=config.region),
            "synthesizer": cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=not emulated),
        }
        if config.account is None:
            # Environment-agnostic account: the CLI's credentials decide where it deploys.
            stack_settings["env"] = cdk.Environment(region=config.region)

        self.data = DataStack(
            self,
            "Data",
            stack_name=f"{prefix}-data",
            description=f"mlkit {config.environment}: KMS key, data buckets, Glue database",
            config=config,
            auto_delete_objects=not emulated,
            invocation_logging=not emulated,
            **stack_settings,
        )

        # One dataset stack per dataset: its Glue job runs once per upload, whatever the models sharing it.
        self.dataset_stacks: dict[str, DatasetStack] = {}
        for model in config.models.values():
            if model.source in ("training", "autopilot") and model.dataset not in self.dataset_stacks:
                self.dataset_stacks[model.dataset] = DatasetStack(
                    self,
                    f"Dataset-{model.dataset}",
                    stack_name=f"{prefix}-dataset-{model.dataset}",
                    description=f"mlkit {config.environment}: Glue job of dataset {model.dataset}",
                    environment_name=config.environment,
                    dataset=model.dataset,
                    model=model,
                    key=self.data.key,
                    bucket_names=self.data.bucket_names,
                    database_name=self.data.database_name,
                    **stack_settings,
                )

        self.model_stacks: dict[str, cdk.Stack] = {}
        for label, model in config.models.items():
            stack_class, extra, what = self._model_stack_parts(model, emulated)
            if stack_class is None:
                continue  # a Bedrock model with no guardrail to create is IAM and a route only
            self.model_stacks[label] = stack_class(
                self,
                label,
                stack_name=f"{prefix}-{label}",
                description=f"mlkit {config.environment}: {what}, as {label}",
                environment_name=config.environment,
                model_label=label,
                model=model,
                key=self.data.key,
                **extra,
                **stack_settings,
            )

        self.api = self._api_stack(prefix, stack_settings)

        # moto's CloudFormation cannot create a tagged KMS key, so the emulated variant leaves keys untagged.
        untagged = ["AWS::KMS::Key"] if emulated else []
        for key, value in {**config.tags, "project": "mlkit", "environment": config.environment}.items():
            cdk.Tags.of(self).add(key, value, exclude_resource_types=untagged)

    def _model_stack_parts(self, model, emulated: bool) -> tuple[type | None, dict, str]:
        """The stack class of a model's source, its source-specific arguments, and what it holds."""
        if model.source == "huggingface":
            extra = {"artifacts_bucket_name": self.data.bucket_names["artifacts"]}
            return HuggingFaceModelStack, extra, f"Hugging Face model {model.model_id}"
        if model.source == "bedrock":
            if not needs_stack(model):
                return None, {}, ""
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

    def _api_stack(self, prefix: str, stack_settings: dict) -> ApiStack:
        """The invoke API over every model, its registry and grants taken from the model stacks."""
        registry, grants = {}, []
        artifacts = self.data.bucket_names["artifacts"]
        for label, model in self.config.models.items():
            stack = self.model_stacks.get(label)
            if model.source == "bedrock":
                stack = stack or BedrockAccess(self.data, model)
                registry[label] = bedrock_entry(model, stack.guardrail)
                grants.append((["bedrock:InvokeModel"], stack.invoke_resources))
                if stack.guardrail_arn:
                    grants.append((["bedrock:ApplyGuardrail"], [stack.guardrail_arn]))
                continue
            registry[label] = sagemaker_entry(self.config.environment, label, model, artifacts)
            grants += sagemaker_grants(self.config.environment, self.config.region, label, model, artifacts)
        return ApiStack(
            self,
            "Api",
            stack_name=f"{prefix}-api",
            description=f"mlkit {self.config.environment}: REST API and router Lambda for every model",
            environment_name=self.config.environment,
            settings=self.config.api,
            registry=registry,
            invoke_grants=grants,
            key=self.data.key,
            **stack_settings,
        )
