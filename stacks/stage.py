"""MlKitStage: every stack of one environment, for a workstation, a pipeline stage or another account."""

import aws_cdk as cdk
from constructs import Construct

from sources import source_of
from sources.base import StageResources
from stacks import names
from stacks.api_stack import ApiStack
from stacks.config import MlKitConfig
from stacks.constructs.data_capture import CaptureTable
from stacks.constructs.log_encryption import EncryptedLogGroups
from stacks.constructs.model_alarms import ModelAlarms
from stacks.constructs.smoke_test_role import SmokeTestRole
from stacks.data_stack import DataStack
from stacks.dataset_stack import DatasetStack
from stacks.deploy_access import deployed_models
from stacks.deploy_stack import DeployStack
from stacks.operations_parts import OperationsPart, operations_parts
from stacks.operations_stack import ENVIRONMENT_TAG, OperationsStack
from stacks.registry import registry_document
from stacks.router_access import (
    LONGEST,
    ArnParts,
    longest_created_guardrail_arns,
    pack_policies,
    router_grants,
)


class MlKitStage(cdk.Stage):
    """All stacks of one environment, named ``mlkit-<env>-<part>`` and tagged from the config.

    ``emulated`` (default False) builds the variant that deploys into the local AWS emulator:
    no bootstrap-version rule (moto cannot update stacks that carry it), no custom resources
    that need a Lambda runtime, and the emulator's account whatever the config's ``account``.
    ``smoke_test_caller`` (default None: no such role) is the ARN of a delivery pipeline's smoke-test
    role in another account, which may then assume ``mlkit-<env>-smoke-test`` to call ``GET /models``.
    Exposes ``operations_stacks`` (the operations parts, stacks/operations_parts.py) and ``operations``
    (part 1).
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

        self.operations_stacks = self._operations_stacks(stack_settings)
        self.operations = self.operations_stacks[0]

        self.dataset_stacks = self._dataset_stacks(stack_settings)
        self.deployer = self._deploy_stack(stack_settings)
        self.model_stacks = self._model_stacks(emulated, stack_settings)
        self.api = self._api_stack(stack_settings)
        if smoke_test_caller:  # a delivery pipeline's stage: its smoke test may call GET /models
            api, caller = self.api.api, smoke_test_caller
            SmokeTestRole(self.api, "SmokeTest", environment_name=environment, api=api, caller=caller)

        # moto's CloudFormation cannot create a tagged KMS key, so the emulated variant leaves keys untagged.
        untagged = ["AWS::KMS::Key"] if emulated else []
        for key, value in {**config.tags, "project": names.PROJECT, ENVIRONMENT_TAG: environment}.items():
            cdk.Tags.of(self).add(key, value, exclude_resource_types=untagged)
        cdk.Aspects.of(self).add(
            EncryptedLogGroups(key_arn=self.data.key.key_arn, retention_days=config.logs.retention_days)
        )

    def _dataset_stacks(self, stack_settings: dict) -> dict[str, DatasetStack]:
        """One dataset stack per dataset: its job runs once per upload, whatever the models sharing it."""
        environment = self.config.environment
        return {
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
                settings=self.config.dataset_setting(dataset),
                **stack_settings,
            )
            for dataset, definition in self.config.datasets.items()
        }

    def _operations_stacks(self, stack_settings: dict) -> list[OperationsStack]:
        """The operations parts, each deployed after the one before: alarms move only into a later part."""
        config, environment = self.config, self.config.environment
        stacks: list[OperationsStack] = []
        for part in config_operations_parts(config):
            first = part.number == 1
            held = [f"dashboard page {part.number}"] if part.page and not first else []
            held += [f"alarms of {len(part.alarms)} models without a stack"] if part.alarms else []
            what = "dashboard, failure notifications, budget" if first else " and ".join(held)
            stack = OperationsStack(
                self,
                "Operations" if first else f"Operations{part.number}",
                stack_name=names.operations_part_stack_name(environment, part.number),
                description=f"mlkit {environment}: {what}",
                config=config,
                topic=self.data.alerts_topic,
                part=part,
                **stack_settings,
            )
            if stacks:
                stack.add_stack_dependency(
                    stacks[-1], reason="stackless models' alarms move only into a later part"
                )
            stacks.append(stack)
        return stacks

    def _deploy_stack(self, stack_settings: dict) -> DeployStack | None:
        """The one deploy Lambda of the environment's pipelines, or None when no model has one."""
        models, environment = deployed_models(self.config), self.config.environment
        if not models:
            return None
        return DeployStack(
            self,
            "Deploy",
            stack_name=names.deploy_stack_name(environment),
            description=f"mlkit {environment}: the deploy Lambda of every pipeline model",
            environment_name=environment,
            models=models,
            key=self.data.key,
            **stack_settings,
        )

    def _model_stacks(self, emulated: bool, stack_settings: dict) -> dict[str, cdk.Stack]:
        """One stack per model, named ``mlkit-<env>-<model>``, from its source; some need none."""
        resources = StageResources(
            environment=self.config.environment,
            data=self.data,
            datasets=self.dataset_stacks,
            emulated=emulated,
            stack_settings=stack_settings,
            deployer=self.deployer,
        )
        stacks, captures = {}, self.config.captures
        alarms_part = {label: part for part in self.operations_stacks for label in part.part.alarms}
        for label, model in self.config.models.items():
            source = source_of(model)
            stack = source.build_stack(self, label, model, resources)
            if stack is not None:
                stacks[label] = stack
            if label in captures:
                CaptureTable(
                    stack,
                    "CaptureTable",
                    model_label=label,
                    bucket_name=self.data.bucket_names["artifacts"],
                    database_name=self.data.database_name,
                )
            # In the model's stack; a model without one (a plain Bedrock model) in its operations part.
            ModelAlarms(
                stack or alarms_part[label],
                f"Alarms-{label}",
                alarm_prefix=names.endpoint_name(self.config.environment, label),
                label=label,
                metrics=source.alarm_metrics(self.config.environment, label, model),
                thresholds=self.config.alerts.thresholds,
                topic=self.data.alerts_topic,
            )
        return stacks

    def _api_stack(self, stack_settings: dict) -> ApiStack:
        """The invoke API over every model: its registry file, guardrail ids and grants."""
        config = self.config
        created = {
            label: guardrail
            for label, stack in self.model_stacks.items()
            if (guardrail := source_of(config.models[label]).created_guardrail(stack))
        }
        artifacts = self.data.bucket_names["artifacts"]
        # The partition follows from the region at synth ("aws" for us-east-1); the account may stay a token.
        parts = ArnParts(
            self.data.partition, self.data.account, config.region, artifacts, self.data.key.key_arn
        )
        rows = router_grants(config, parts, {label: arn for label, (_, arn) in created.items()})
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
            guardrails={label: guardrail for label, (guardrail, _) in created.items()},
            invoke_policies=pack_policies(rows, sizes),
            artifacts_bucket_name=artifacts,
            content_types=[t for m in config.models.values() for t in source_of(m).content_types(m)],
            **stack_settings,
        )


def config_operations_parts(config: MlKitConfig) -> list[OperationsPart]:
    """The operations parts of ``config``: its models' pages, and the alarms of those without a stack."""
    stackless = [
        label for label, model in config.models.items() if source_of(model).stack_class(model) is None
    ]
    return operations_parts(list(config.models), stackless)
