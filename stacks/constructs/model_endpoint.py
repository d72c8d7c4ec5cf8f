"""A SageMaker endpoint managed by CloudFormation: model, endpoint config, endpoint, alarms, scaling."""

from typing import Any

from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config.hosting import AsyncHosting, RealtimeHosting, VpcSettings
from stacks.constructs import endpoint_scaling
from stacks.constructs.data_capture import capture_for
from stacks.constructs.endpoint_alarms import RollbackAlarms
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.hosting_settings import (
    async_inference_config,
    deployment_config,
    production_variant,
    uses_kms_storage,
)
from stacks.nag import acknowledge
from stacks.names import async_prefixes


class AsyncResults(Construct):
    """Where an async endpoint's requests and answers live, the encrypted topics it notifies, and the
    grants that let ``execution_role`` read those inputs, write those answers and publish to the topics.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_label: str,
        key: kms.IKey,
        bucket: s3.IBucket,
        execution_role: ExecutionRole,
    ):
        super().__init__(scope, construct_id)
        prefixes = async_prefixes(model_label)  # the router writes inputs under the same prefix
        self.input_prefix, self.output_prefix = prefixes["input"], prefixes["output"]
        self.failure_prefix = prefixes["failure"]
        self.bucket = bucket
        self.success_topic = sns.Topic(self, "Success", master_key=key, enforce_ssl=True)
        self.error_topic = sns.Topic(self, "Errors", master_key=key, enforce_ssl=True)
        execution_role.allow_prefixes(
            bucket, read=[self.input_prefix], write=[self.output_prefix, self.failure_prefix]
        )
        execution_role.allow_key_use(key)  # inputs, answers and topics all use the data key
        execution_role.allow_publish([self.success_topic, self.error_topic])

    @classmethod
    def for_hosting(cls, scope: Construct, hosting, **props) -> "AsyncResults | None":
        """``AsyncResults`` (id "AsyncResults") for async hosting; None for any other."""
        return cls(scope, "AsyncResults", **props) if isinstance(hosting, AsyncHosting) else None

    def location(self, prefix: str) -> str:
        return self.bucket.s3_url_for_object(prefix)


class ModelEndpoint(Construct):
    """One endpoint with a stable name, hosted as its config says, updated blue/green with rollback.

    ``container`` is a SageMaker ContainerDefinition (Image, Environment, optional ModelDataUrl or
    ModelDataSource).
    ``vpc`` (default none) places the containers in those subnets; ``network_isolation``
    (default False) cuts them off the network where the container allows it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        model_label: str,
        hosting,
        container: dict[str, Any],
        execution_role: ExecutionRole,
        key: kms.IKey,
        artifacts_bucket: s3.IBucket,
        vpc: VpcSettings | None = None,
        network_isolation: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.endpoint_name = endpoint_name
        self.hosting = hosting
        model = self._model(container, execution_role, vpc, network_isolation)
        self.async_results = AsyncResults.for_hosting(
            self,
            hosting,
            model_label=model_label,
            key=key,
            bucket=artifacts_bucket,
            execution_role=execution_role,
        )
        config = self._config(model, model_label, key, artifacts_bucket, execution_role)
        self.alarms = RollbackAlarms(
            self,
            "RollbackAlarms",
            endpoint_name=endpoint_name,
            latency_ms=hosting.updates.rollback_latency_ms,
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=config.attr_endpoint_config_name,
        )
        self.endpoint.add_property_override(
            "DeploymentConfig", deployment_config(hosting, self.alarms.alarm_names)
        )
        self.endpoint.node.add_dependency(self.alarms)
        self._scaling()

    def _model(
        self, container: dict[str, Any], execution_role: ExecutionRole, vpc, network_isolation: bool
    ) -> sagemaker.CfnModel:
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=execution_role.role.role_arn,
            enable_network_isolation=network_isolation or None,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=container["Image"],
                environment=container.get("Environment"),
                model_data_url=container.get("ModelDataUrl"),
            ),
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                subnets=vpc.subnet_ids, security_group_ids=vpc.security_group_ids
            )
            if vpc
            else None,
        )
        if "ModelDataSource" in container:  # uncompressed or EULA-gated model data (JumpStart)
            model.add_property_override("PrimaryContainer.ModelDataSource", container["ModelDataSource"])
        # SageMaker checks the image pull with the role when the model is created.
        model.node.add_dependency(execution_role.policy)
        if not vpc:
            acknowledge(
                model,
                "SM1",
                "No vpc in this model's config: SageMaker's managed network is the "
                "default; set models.<name>.vpc to place the containers in your subnets.",
            )
        return model

    def _config(
        self,
        model: sagemaker.CfnModel,
        model_label: str,
        key: kms.IKey,
        artifacts_bucket: s3.IBucket,
        execution_role: ExecutionRole,
    ) -> sagemaker.CfnEndpointConfig:
        hosting = self.hosting
        config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[],
            kms_key_id=key.key_arn if uses_kms_storage(hosting) else None,
        )
        config.add_property_override(
            "ProductionVariants", [production_variant(hosting, model.attr_model_name)]
        )
        capture = capture_for(
            hosting, model_label=model_label, bucket=artifacts_bucket, key=key, execution_role=execution_role
        )
        if capture:
            config.add_property_override("DataCaptureConfig", capture)
        if self.async_results:
            results = self.async_results
            config.add_property_override(
                "AsyncInferenceConfig",
                async_inference_config(
                    hosting,
                    output_path=results.location(results.output_prefix),
                    failure_path=results.location(results.failure_prefix),
                    kms_key_arn=key.key_arn,
                    success_topic_arn=results.success_topic.topic_arn,
                    error_topic_arn=results.error_topic.topic_arn,
                ),
            )
        return config

    def _scaling(self) -> None:
        if isinstance(self.hosting, RealtimeHosting) and self.hosting.autoscaling:
            target = endpoint_scaling.scale_realtime(self, self.endpoint_name, self.hosting.autoscaling)
        elif isinstance(self.hosting, AsyncHosting):
            target = endpoint_scaling.scale_async(self, self.endpoint_name, self.hosting)
        else:
            return
        target.node.add_dependency(self.endpoint)  # the variant must exist before it is registered
