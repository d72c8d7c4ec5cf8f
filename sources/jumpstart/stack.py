"""One JumpStart model on its own SageMaker endpoint, from its committed spec (no download at synth)."""

from aws_cdk import aws_s3 as s3
from constructs import Construct

from sources.jumpstart import specs
from sources.jumpstart.config import JumpStartModel
from stacks.constructs.execution_role import ExecutionRole
from stacks.model_stack import ModelStack
from stacks.nag import acknowledge, acknowledge_wildcard


class JumpStartModelStack(ModelStack):
    """The endpoint ``mlkit-<env>-<name>`` on the spec's image and artifact, with a least-privilege role.

    The role reads the model's own objects in AWS's JumpStart bucket of the region and nothing else.
    The config refuses serverless hosting for JumpStart models (sources/jumpstart/config.py).
    Takes ModelStack's props and the data stack's ``artifacts_bucket_name`` (async results).
    Exposes ``endpoint``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifacts_bucket_name: str,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        model, region = self.model, self.region
        spec, instance_type = model.spec, model.hosting.instance_type
        image = specs.image_uri(spec, region, instance_type)
        role = self.hosting_role(image)
        self._allow_model_data(role, spec)
        container = {
            "Image": image,
            "Environment": {**specs.environment(spec, region, instance_type), **model.environment},
            **specs.model_data(spec, region, accept_eula=model.accept_eula),
        }
        self.add_endpoint(container=container, role=role, artifacts_bucket_name=artifacts_bucket_name)
        self._acknowledge(model)

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


STACK = JumpStartModelStack
