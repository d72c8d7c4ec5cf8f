"""The root of one environment's config file."""

import difflib
import functools
import sys
from typing import Annotated, Literal, Union

from pydantic import Field, StringConstraints, field_validator, model_validator

from sources import config_models, source_of
from sources.autopilot.config import AutopilotModel
from sources.training.config import TrainingModel
from stacks.config.alerts import AlertSettings, BudgetSettings, LogSettings
from stacks.config.base import StrictModel, invalid
from stacks.config.datasets import DATASET, GLUE, DatasetDefinition, DatasetSettings, dataset_definitions
from stacks.names import DEPLOY_PART

# One entry per registered source (sources/), told apart by its `source` key.
ModelEntry = Annotated[Union[config_models()], Field(discriminator="source")]  # noqa: UP007
# Short enough that mlkit-<env>-<model>-<hash> fits SageMaker's 63-character names.
ModelName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,23}$")]
DatasetName = Annotated[str, StringConstraints(pattern=DATASET)]


@functools.cache
def known_regions() -> tuple[str, ...]:
    """Region names, so the list moves with the libraries: aws-cdk-lib's region facts when the CDK is
    loaded (a synth), else botocore's endpoint data, which `make cost` reads without starting jsii.
    tests/config/test_config.py keeps the two lists equal."""
    if "aws_cdk" in sys.modules:
        from aws_cdk import region_info

        return tuple(sorted(region_info.Fact.regions))
    return botocore_regions()


def botocore_regions() -> tuple[str, ...]:
    """The regions of botocore's endpoints.json, read as a file: importing botocore costs ~0.15 s."""
    import importlib.util
    import json
    from pathlib import Path

    (package,) = importlib.util.find_spec("botocore").submodule_search_locations
    partitions = json.loads((Path(package) / "data" / "endpoints.json").read_text())["partitions"]
    return tuple(sorted(region for partition in partitions for region in partition["regions"]))


def region_enum(schema: dict) -> None:
    # Only when a schema is written (make schema), not on every config load.
    schema["enum"] = list(known_regions())


def check_account(value: object) -> object:
    """An AWS account id as the config must write it: 12 digits, quoted (YAML would read a number)."""
    if value is not None and not (isinstance(value, str) and value.isdigit() and len(value) == 12):
        raise ValueError(f'{value!r} is not allowed: an account is 12 digits, quoted, e.g. "123456789012"')
    return value


def check_region(value: str) -> str:
    """A region aws-cdk-lib knows, with the closest names when it is not one."""
    regions = known_regions()
    if value not in regions:
        close = difflib.get_close_matches(value, regions, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; known regions: {', '.join(regions)}"
        raise ValueError(f"{value!r} is not an AWS region{hint}")
    return value


class DataSettings(StrictModel):
    noncurrent_version_days: int = Field(
        default=90, ge=1, le=3650, description="Days before old object versions expire. Default 90."
    )
    abort_multipart_days: int = Field(
        default=7, ge=1, le=365, description="Days before unfinished uploads are removed. Default 7."
    )


class ApiKeySettings(StrictModel):
    rate: float = Field(default=10, gt=0, description="Requests per second. Default 10.")
    burst: int = Field(default=20, ge=1, description="Default 20.")
    quota_per_day: int | None = Field(default=None, ge=1, description="Default: no quota.")


class ApiSettings(StrictModel):
    throttle_rate: float = Field(default=50, gt=0, description="Stage requests per second. Default 50.")
    throttle_burst: int = Field(default=100, ge=1, description="Default 100.")
    api_keys: ApiKeySettings | None = Field(default=None, description="Default: IAM auth only, no keys.")
    max_body_kb: int = Field(default=1024, ge=1, le=6144, description="Largest request body. Default 1024.")
    reserved_concurrency: int | None = Field(
        default=100,
        ge=1,
        le=3000,
        description="Router Lambda instances reserved and at most running, so one runaway client cannot "
        "starve the account's other functions. null: unreserved (accounts whose Lambda quota is under "
        "200 cannot reserve 100). Default 100.",
    )


# Stacks `cdk deploy` runs at once (`make deploy`, the GitHub workflow, `make local`; the CLI still deploys
# a stack only after those it depends on). The limit is CloudFormation's read API, shared by the account:
# the CLI polls DescribeStackEvents every 2 s and DescribeStacks every 5 s per stack in flight (its
# StackActivityMonitor and stabilizeStack), 0.7 requests/s a stack. aws-cdk-cli#1709 saw sustained
# throttling at ~8-10 such requests/s; aws-sam-cli#2671 reports DescribeStacks capped at 5/s. 8 stacks:
# 4 DescribeStackEvents/s and 1.6 DescribeStacks/s, each under 5/s, 5.6/s in all; 10 reaches 7/s, so
# higher is refused. SageMaker publishes no control-plane rates: its per-stack calls (CreateModel,
# CreateEndpointConfig, CreateEndpoint, then the handler's DescribeEndpoint polls) grow with the same 8.
DEFAULT_DEPLOY_CONCURRENCY = 8
MAX_DEPLOY_CONCURRENCY = 10


class DeploySettings(StrictModel):
    concurrency: int = Field(
        default=DEFAULT_DEPLOY_CONCURRENCY,
        strict=True,
        json_schema_extra={"minimum": 1, "maximum": MAX_DEPLOY_CONCURRENCY},
        description=f"Stacks `cdk deploy` deploys at once, dependencies permitting (1 to "
        f"{MAX_DEPLOY_CONCURRENCY}). Default {DEFAULT_DEPLOY_CONCURRENCY}.",
    )

    @field_validator("concurrency")
    @classmethod
    def _within_cloudformation_rates(cls, value: int) -> int:
        if not 1 <= value <= MAX_DEPLOY_CONCURRENCY:
            raise ValueError(
                f"{value} is not allowed: from 1 to {MAX_DEPLOY_CONCURRENCY} stacks at once (above "
                f"{MAX_DEPLOY_CONCURRENCY}, the CDK CLI's own polls, 0.7 CloudFormation requests/s a stack, "
                "reach the ~8/s at which CloudFormation throttles an account)"
            )
        return value


class BedrockSettings(StrictModel):
    invocation_logging: bool = Field(
        default=False,
        description="Log every Bedrock prompt and answer of this account and region to the log bucket. "
        "Bedrock keeps one such setting per account and region. Default off.",
    )


class MlKitConfig(StrictModel):
    """One environment: where it deploys, how data is kept, and the models it serves."""

    # A dump reads back as a config: `datasets:`, not the field's name (kept free for the property).

    environment: str = Field(pattern=r"^[a-z][a-z0-9]{0,11}$", description="e.g. dev, prod.")
    account: str | None = Field(
        default=None,
        json_schema_extra={"pattern": r"^\d{12}$"},
        description="12 digits, quoted. Default: the CLI's account.",
    )
    region: str = Field(description="An AWS region name, e.g. us-east-1.", json_schema_extra=region_enum)
    removal: Literal["retain", "destroy"] = Field(
        default="retain", description="destroy lets `cdk destroy` delete data. Default retain."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Added to every resource.")
    data: DataSettings = Field(default_factory=DataSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    bedrock: BedrockSettings = Field(default_factory=BedrockSettings)
    deploy: DeploySettings = Field(default_factory=DeploySettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings, description="Default: a topic, no emails.")
    logs: LogSettings = Field(default_factory=LogSettings)
    budget: BudgetSettings | None = Field(default=None, description="Default: no budget.")
    models: dict[ModelName, ModelEntry] = Field(default_factory=dict)
    # Read as `datasets:`; the `datasets` property keeps meaning each dataset's definition.
    dataset_settings: dict[DatasetName, DatasetSettings] = Field(
        default_factory=dict,
        alias="datasets",
        description="How each dataset (named by its models) is prepared. Default: prepare: glue.",
    )

    _account_as_text = field_validator("account", mode="before")(check_account)
    _real_region = field_validator("region")(check_region)

    @model_validator(mode="after")
    def _names_free(self) -> "MlKitConfig":
        # Model stacks are named mlkit-<env>-<model>, beside mlkit-<env>-data, -api, -oidc, -deploy,
        # -dataset-<name>.
        for name in self.models:
            if name in {"data", "api", "oidc", "operations", DEPLOY_PART} or name.startswith("dataset-"):
                raise invalid(
                    f"models.{name}", f"{name!r} is taken by mlkit's own stacks: pick another model name"
                )
        return self

    @property
    def datasets(self) -> dict[str, DatasetDefinition]:
        """Each dataset the custom-trained models use, and what it is."""
        return dataset_definitions(self.custom_models)

    @property
    def captures(self) -> dict:
        """Each model whose hosting captures data, and its ``capture`` settings."""
        return {
            label: model.hosting.capture
            for label, model in self.models.items()
            if getattr(getattr(model, "hosting", None), "capture", None) is not None
        }

    @property
    def custom_models(self) -> dict[str, TrainingModel | AutopilotModel]:
        return {label: m for label, m in self.models.items() if source_of(m).trains_on_dataset}

    @model_validator(mode="after")
    def _datasets_agree(self) -> "MlKitConfig":
        dataset_definitions(self.custom_models)
        return self

    def dataset_setting(self, dataset: str) -> DatasetSettings:
        """How ``dataset`` is prepared: its ``datasets:`` entry, or Glue."""
        return self.dataset_settings.get(dataset, GLUE)

    @model_validator(mode="after")
    def _dataset_settings_apply(self) -> "MlKitConfig":
        from stacks.config.flow_file import FlowError, check_flow, raw_bucket_pattern

        used = self.datasets
        buckets = raw_bucket_pattern(environment=self.environment, account=self.account, region=self.region)
        for name, settings in self.dataset_settings.items():
            if name not in used:
                raise invalid(
                    f"datasets.{name}",
                    f"no model uses dataset {name!r}; datasets of the models: {', '.join(used) or 'none'}",
                )
            if settings.prepare == "data_wrangler":
                try:
                    check_flow(
                        settings.flow_path,
                        output_node=settings.output_node,
                        dataset=name,
                        raw_buckets=buckets,
                    )
                except FlowError as error:
                    raise invalid(f"datasets.{name}.{error.key}", str(error)) from None
        return self

    @model_validator(mode="after")
    def _within_aws_limits(self) -> "MlKitConfig":
        from stacks.deploy_access import limit_problems as deploy_limit_problems
        from stacks.router_access import limit_problems

        for key, message in [*limit_problems(self), *deploy_limit_problems(self)][:1]:
            raise invalid(key, message)
        return self

    @model_validator(mode="after")
    def _images_exist(self) -> "MlKitConfig":
        from stacks.images import ImageNotFound

        for name, model in self.models.items():
            try:
                source_of(model).image_uri(model, self.region)
            except ImageNotFound as error:
                key = "region" if error.key == "region" else f"models.{name}.{error.key}"
                raise invalid(key, str(error)) from None
        return self
