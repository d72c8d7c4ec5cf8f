"""moto's server for `make local`, with five of its gaps closed.

- moto checks endpoint configs against a fixed list of instance types from about 2020 (no ml.g5,
  ml.m6i, ml.c7i, ...), so a valid config naming one fails `cdk deploy` in the emulator. Emulated
  endpoints run nothing, so any well-formed ml.* type is accepted.
- moto's CloudFormation drops a function's Layers, and a Ref to a layer version gives no ARN, so a
  deployed router has no layers. Both are kept, so what the router's Lambda is given can be read back.
- moto's CreateModel drops EnableNetworkIsolation (DescribeModel always says false); it is kept, so
  an isolated hub model's setting can be read back.
- moto's InvokeEndpoint puts the request body into a JSON key, which fails (500) for a binary body
  such as an image; a binary body is base64-encoded there first. The recorder keeps the raw bytes.
- moto's CloudFormation drops a log group's KmsKeyId (its model reads the API's ``kmsKeyId``); it is
  kept, so the log groups' encryption can be read back.

Usage: python -m mlkit.emulator_server [moto_server's arguments]
"""

import base64
import re
import sys

from moto.awslambda import models as awslambda
from moto.logs import models as logs
from moto.sagemaker import models as sagemaker
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse
from moto.server import main

from mlkit.botocore_loader import share_loader

# stacks/config/hosting.py's pattern (not imported: stacks.config loads the CDK into the server).
INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")
MOTO_CREATE_LOG_GROUP = logs.LogGroup.__dict__["create_from_cloudformation_json"].__func__
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


MOTO_CREATE_MODEL = SageMakerResponse.create_model
MOTO_INVOKE_ENDPOINT = SageMakerRuntimeResponse.invoke_endpoint


def create_model_keeping_isolation(self):
    result = MOTO_CREATE_MODEL(self)
    model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
    model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
    return result


def create_log_group_keeping_key(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.get("Properties", {})
    if "KmsKeyId" in properties:
        properties = {**properties, "kmsKeyId": properties["KmsKeyId"]}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
    return MOTO_CREATE_LOG_GROUP(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def invoke_endpoint_with_binary_body(self):
    if isinstance(self.body, bytes):
        self.body = base64.b64encode(self.body).decode("ascii")
    return MOTO_INVOKE_ENDPOINT(self)


# (class, attribute, replacement): what `patch_moto` sets, and tests set one by one.
PATCHES = (
    (sagemaker.FakeEndpointConfig, "validate_instance_type", validate_instance_type),
    (awslambda.LambdaFunction, "create_from_cloudformation_json", classmethod(create_function_with_layers)),
    (awslambda.LayerVersion, "physical_resource_id", property(layer_version_arn)),
    (SageMakerResponse, "create_model", create_model_keeping_isolation),
    (logs.LogGroup, "create_from_cloudformation_json", classmethod(create_log_group_keeping_key)),
    (SageMakerRuntimeResponse, "use_raw_body", True),  # else moto decodes every body as UTF-8
    (SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint_with_binary_body),
)


def patch_moto() -> None:
    for owner, attribute, replacement in PATCHES:
        setattr(owner, attribute, replacement)


if __name__ == "__main__":
    share_loader()  # moto makes a botocore session per error it answers
    patch_moto()
    sys.exit(main())
