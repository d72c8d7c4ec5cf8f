"""MlKitStage: every stack of one environment, for a workstation, a pipeline stage or another account."""

import aws_cdk as cdk
from constructs import Construct

from stacks.config import MlKitConfig
from stacks.data_stack import DataStack
from stacks.huggingface_stack import HuggingFaceModelStack


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
            **stack_settings,
        )

        self.model_stacks: dict[str, cdk.Stack] = {}
        for label, model in config.models.items():
            if model.source == "huggingface":
                self.model_stacks[label] = HuggingFaceModelStack(
                    self,
                    label,
                    stack_name=f"{prefix}-{label}",
                    description=f"mlkit {config.environment}: Hugging Face model {model.model_id} as {label}",
                    environment_name=config.environment,
                    model_label=label,
                    model=model,
                    key=self.data.key,
                    artifacts_bucket_name=self.data.bucket_names["artifacts"],
                    **stack_settings,
                )

        # moto's CloudFormation cannot create a tagged KMS key, so the emulated variant leaves keys untagged.
        untagged = ["AWS::KMS::Key"] if emulated else []
        for key, value in {**config.tags, "project": "mlkit", "environment": config.environment}.items():
            cdk.Tags.of(self).add(key, value, exclude_resource_types=untagged)
