"""moto's server for `make local`, with two gaps of its CloudFormation closed.

- moto checks endpoint configs against a fixed list of instance types from about 2020 (no ml.g5,
  ml.m6i, ml.c7i, ...), so a valid config naming one fails `cdk deploy` in the emulator. Emulated
  endpoints run nothing, so any well-formed ml.* type is accepted.
- moto's CloudFormation drops a function's Layers, and a Ref to a layer version gives no ARN, so a
  deployed router has no layers. Both are kept, so what the router's Lambda is given can be read back.

Usage: python -m mlkit.emulator_server [moto_server's arguments]
"""

import re
import sys

from moto.awslambda import models as awslambda
from moto.sagemaker import models as sagemaker
from moto.sagemaker.exceptions import ValidationError
from moto.server import main

# stacks/config/hosting.py's pattern (not imported: stacks.config loads the CDK into the server).
INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")
MOTO_CREATE_FUNCTION = awslambda.LambdaFunction.__dict__["create_from_cloudformation_json"].__func__


def validate_instance_type(self, instance_type: str) -> None:
    if not INSTANCE_TYPE.fullmatch(instance_type or ""):
        raise ValidationError(
            message=f"Value '{instance_type}' at 'instanceType' is not an ml.* instance type"
        )


def create_function_with_layers(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    function = MOTO_CREATE_FUNCTION(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    )
    layers = cloudformation_json["Properties"].get("Layers")
    if layers:
        function.layers = function._get_layers_data(layers)
    return function


def layer_version_arn(self) -> str:
    return self.arn


# (class, attribute, replacement): what `patch_moto` sets, and tests set one by one.
PATCHES = (
    (sagemaker.FakeEndpointConfig, "validate_instance_type", validate_instance_type),
    (awslambda.LambdaFunction, "create_from_cloudformation_json", classmethod(create_function_with_layers)),
    (awslambda.LayerVersion, "physical_resource_id", property(layer_version_arn)),
)


def patch_moto() -> None:
    for owner, attribute, replacement in PATCHES:
        setattr(owner, attribute, replacement)


if __name__ == "__main__":
    patch_moto()
    sys.exit(main())
