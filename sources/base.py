"""The interface every model source implements, and what the Stage hands it.

A source (Hugging Face, Bedrock, a training pipeline, ...) is one package, ``sources/<name>/``:
``__init__.py`` its ModelSource subclass (``SOURCE``: its config model, its router registry entry,
invoke grant, dashboard and alarm metrics), ``config.py`` its config model, ``stack.py`` its stack
(``STACK``) and ``local.py`` its rows of `make local` (``run_locally``). The Stage, the registry, the
router's grants and `make local` iterate over the registered sources (sources/__init__.py) without
knowing any of them.

``stack.py`` is imported when a stack is built: loading a config imports only config models.
``local.py`` is imported by the local run alone (mlkit/local_run.py's ``model_rows``): nothing the
stacks import does, so the CDK side never loads the command-line tools.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from lambdas.shared import registry as contract
from stacks import names

if TYPE_CHECKING:
    import aws_cdk as cdk

    from stacks.data_stack import DataStack
    from stacks.dataset_stack import DatasetStack
    from stacks.deploy_stack import DeployStack


class Grant(NamedTuple):
    """One permission of the router: these actions on this resource."""

    actions: tuple[str, ...]
    resource: str


class ArnParts(NamedTuple):
    """The values ARNs are built from: CDK tokens in a stack, the longest possible ones in estimates."""

    partition: str
    account: str
    region: str
    artifacts_bucket: str
    data_key_arn: str


@dataclass
class InvokeGrantee:
    """The router, as the sources grant it: ``allow`` collects rows that become managed policies.

    The same calls run with CDK tokens in the API stack and with the longest values those tokens can
    take in config validation (stacks/router_access.py), so both see exactly the same rows.
    ``created_guardrails`` maps model names to the ARNs of the guardrails their stacks create.
    """

    parts: ArnParts
    created_guardrails: Mapping[str, str] = field(default_factory=dict)
    _rows: list[Grant] = field(default_factory=list)
    _async_inputs: bool = False

    def allow(self, actions: tuple[str, ...], resource: str) -> None:
        self._rows.append(Grant(tuple(actions), resource))

    def allow_async_inputs(self) -> None:
        """Async inputs land in the SSE-KMS artifacts bucket: one key grant, however many models."""
        self._async_inputs = True

    @property
    def rows(self) -> list[Grant]:
        if self._async_inputs:
            return [*self._rows, Grant(("kms:Encrypt", "kms:GenerateDataKey"), self.parts.data_key_arn)]
        return list(self._rows)


@dataclass(frozen=True)
class StageResources:
    """What a model stack may take from its Stage: the shared stacks and the stack settings.

    ``deployer`` is the environment's deploy stack, which every pipeline deploys its endpoint through
    (None when no source has a pipeline)."""

    environment: str
    data: DataStack
    datasets: Mapping[str, DatasetStack]
    emulated: bool
    stack_settings: Mapping[str, Any]
    deployer: DeployStack | None = None


class ModelSource:
    """One kind of model. Subclasses set ``name``, ``config_model`` and ``description`` and override what
    differs."""

    name: ClassVar[str]
    config_model: ClassVar[type]
    # What the model's stack holds, for its CloudFormation description: formatted with ``model``.
    description: ClassVar[str]
    # Whether the model is trained from one of the config's datasets (its dataset stack is built).
    trains_on_dataset: ClassVar[bool] = False
    # Whether the model has a state machine mlkit-<env>-<label> (training, Autopilot, hub packaging).
    has_pipeline: ClassVar[bool] = False

    @property
    def package(self) -> str:
        """The package holding the source's ``stack`` and ``local`` modules: the one defining its class."""
        return type(self).__module__

    def stack_class(self, model) -> type | None:
        """The model's stack class (``<package>.stack``'s ``STACK``), or None when it needs no stack."""
        return importlib.import_module(f"{self.package}.stack").STACK

    def stack_arguments(self, model, resources: StageResources) -> dict[str, Any]:
        """Source-specific keyword arguments of the stack, beside the ones every model stack takes."""
        return {}

    def build_stack(self, scope, label: str, model, resources: StageResources) -> cdk.Stack | None:
        """``mlkit-<env>-<label>``, or None when the source needs no stack for this model."""
        stack_class = self.stack_class(model)
        if stack_class is None:
            return None
        environment = resources.environment
        return stack_class(
            scope,
            label,
            stack_name=names.model_stack_name(environment, label),
            description=f"mlkit {environment}: {self.description.format(model=model)}, as {label}",
            environment_name=environment,
            model_label=label,
            model=model,
            key=resources.data.key,
            **self.stack_arguments(model, resources),
            **resources.stack_settings,
        )

    def image_uri(self, model, region: str) -> str | None:
        """The image the model runs on (validated at config load), or None when a pipeline picks it."""
        return None

    def creates_guardrail(self, model) -> bool:
        """Whether the model's stack creates a Bedrock guardrail (its id reaches the router at deploy)."""
        return False

    def created_guardrail(self, stack) -> tuple[dict[str, str], str] | None:
        """The guardrail the model's stack created, as (``{"identifier", "version"}``, ARN), or None."""
        return None

    def registry_entry(
        self, environment: str, label: str, model, *, guardrail_created: bool
    ) -> dict[str, Any]:
        """The model's router registry entry; ``guardrail_created``: its stack made a guardrail."""
        raise NotImplementedError

    def grant_invoke(self, grantee: InvokeGrantee, environment: str, label: str, model) -> None:
        """Give the router exactly what invoking this model needs."""
        raise NotImplementedError

    def content_types(self, model) -> list[str]:
        """Request media types the model's route accepts."""
        return []

    def dashboard_graphs(self, environment: str, label: str, model) -> list:
        """The model's row on the dashboard: Graphs of its service's own metrics (model_monitoring.py)."""
        return []

    def alarm_metrics(self, environment: str, label: str, model) -> dict:
        """{alarm kind: metric} of the kinds in stacks/constructs/model_alarms.py its service publishes."""
        return {}


class SageMakerSource(ModelSource):
    """A model served from its own SageMaker endpoint ``mlkit-<env>-<label>``."""

    def stack_arguments(self, model, resources: StageResources) -> dict:
        # Async answers (and a pipeline's artifacts) live in the data stack's artifacts bucket.
        return {"artifacts_bucket_name": resources.data.bucket_names["artifacts"]}

    def registry_entry(
        self, environment: str, label: str, model, *, guardrail_created: bool
    ) -> dict[str, Any]:
        is_async = model.hosting.type == "async"
        return contract.sagemaker_entry(
            source=self.name,
            endpoint_name=names.endpoint_name(environment, label),
            hosting=model.hosting.type,
            content_types=self.content_types(model),
            async_prefixes=names.async_prefixes(label) if is_async else None,
        )

    def content_types(self, model) -> list[str]:
        return model.resolved_content_types

    def dashboard_graphs(self, environment: str, label: str, model) -> list:
        from stacks.constructs import model_monitoring

        endpoint = names.endpoint_name(environment, label)
        return model_monitoring.sagemaker_graphs(endpoint, model.hosting.type)

    def alarm_metrics(self, environment: str, label: str, model) -> dict:
        from stacks.constructs import model_monitoring

        endpoint = names.endpoint_name(environment, label)
        return model_monitoring.sagemaker_alarm_metrics(endpoint, model.hosting.type)

    def grant_invoke(self, grantee: InvokeGrantee, environment: str, label: str, model) -> None:
        parts = grantee.parts
        endpoint = names.endpoint_name(environment, label)
        endpoint_arn = f"arn:{parts.partition}:sagemaker:{parts.region}:{parts.account}:endpoint/{endpoint}"
        if model.hosting.type != "async":
            grantee.allow(("sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"), endpoint_arn)
            return
        inputs = names.async_prefixes(label)["input"]
        grantee.allow(("sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpointAsync"), endpoint_arn)
        grantee.allow(("s3:PutObject",), f"arn:{parts.partition}:s3:::{parts.artifacts_bucket}/{inputs}*")
        grantee.allow_async_inputs()


class DatasetPipelineSource(SageMakerSource):
    """A model whose pipeline starts from one of the config's datasets (its dataset stack)."""

    has_pipeline = True
    trains_on_dataset = True

    def stack_arguments(self, model, resources: StageResources) -> dict:
        from stacks.constructs.model_pipeline import DatasetStart

        dataset = resources.datasets[model.dataset]
        start = DatasetStart(
            dataset=model.dataset,
            curated_bucket_name=resources.data.bucket_names["curated"],
            curated_prefixes=dataset.curated_prefixes,
            # Only a Glue dataset can be prepared inside a model's pipeline ({"prepare": true}).
            glue_job_name=dataset.glue_job_name if dataset.prepare == "glue" else None,
            trigger=model.trigger,
        )
        return {
            **super().stack_arguments(model, resources),
            "dataset": start,
            "deployer": resources.deployer,
        }
