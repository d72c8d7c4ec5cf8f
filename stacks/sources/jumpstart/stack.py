"""One JumpStart model on its own SageMaker endpoint, from its committed spec (no download at synth)."""

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import names
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.model_endpoint import ModelEndpoint
from stacks.nag import acknowledge, acknowledge_wildcard
from stacks.sources.jumpstart import specs
from stacks.sources.jumpstart.config import JumpStartModel


class JumpStartModelStack(cdk.Stack):
    """The endpoint ``mlkit-<env>-<name>`` on the spec's image and artifact, with a least-privilege role.

    The role reads the model's own objects in AWS's JumpStart bucket of the region and nothing else.
    The config refuses serverless hosting for JumpStart models (stacks/sources/jumpstart/config.py).
    Takes the data stack's ``key`` and ``artifacts_bucket_name`` (async results). Exposes ``endpoint``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        model_label: str,
        model: JumpStartModel,
        key: kms.IKey,
        artifacts_bucket_name: str,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        endpoint_name = names.endpoint_name(environment_name, model_label)
        spec, region = model.spec, self.region
        instance_type = model.hosting.instance_type
        image = specs.image_uri(spec, region, instance_type)
        role = ExecutionRole(
            self, "ExecutionRole", description=f"SageMaker runs {endpoint_name} as this role"
        )
        role.allow_image_pull(image)
        role.allow_logs(names.endpoint_log_group(endpoint_name))
        self._allow_model_data(role, spec)
        container = {
            "Image": image,
            "Environment": {**specs.environment(spec, region, instance_type), **model.environment},
            **specs.model_data(spec, region, accept_eula=model.accept_eula),
        }
        self.endpoint = ModelEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            model_label=model_label,
            hosting=model.hosting,
            container=container,
            execution_role=role,
            key=key,
            artifacts_bucket=s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name),
            vpc=model.vpc,
            network_isolation=model.network_isolation,
        )
        self._acknowledge(model)
        cdk.CfnOutput(self, "EndpointName", value=endpoint_name)

    def _allow_model_data(self, role: ExecutionRole, spec) -> None:
        access = specs.s3_read_resources(spec, self.region)
        for arn in access.object_arns:
            role.allow_object_read(arn)
            if arn.endswith("*"):
                acknowledge_wildcard(
                    role.policy,
                    arn,
                    "An uncompressed JumpStart model is a prefix of files: this model's only.",
                )
        for index, (bucket_arn, prefix) in enumerate(
            zip(access.list_bucket_arns, access.list_prefixes, strict=True)
        ):
            bucket = s3.Bucket.from_bucket_arn(self, f"JumpStartBucket{index}", bucket_arn)
            role.allow_listing(bucket, prefix)

    def _acknowledge(self, model: JumpStartModel) -> None:
        model_resource = self.endpoint.node.find_child("Model")
        if not model.network_isolation:
            acknowledge(
                model_resource,
                "SM3",
                "This JumpStart model runs in script mode: its container downloads its inference script "
                "from JumpStart's bucket at start, so network isolation would stop it loading.",
            )
