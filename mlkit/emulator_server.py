"""moto's server for `make local`, with six of its gaps closed.

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
- moto's CloudFormation skips AWS::S3::BucketPolicy, so IAM's decisions (mlkit/access) could not
  consult a bucket's policy; it is applied. moto's own reading of a bucket policy takes every Deny's
  condition as met (a TLS-only deny refuses every request), so moto's check is left to mlkit/access,
  which evaluates the conditions.

Usage: python -m mlkit.emulator_server [moto_server's arguments]
"""

import base64
import json
import re
import sys

from moto.awslambda import models as awslambda
from moto.cloudformation import parsing as cloudformation
from moto.core.common_models import CloudFormationModel
from moto.iam.access_control import PermissionResult
from moto.logs import models as logs
from moto.s3 import models as s3
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


class BucketPolicy(CloudFormationModel):
    """AWS::S3::BucketPolicy: the bucket's policy, put through moto's S3 backend."""

    # moto files every model under its module's package, which `python -m` names __main__.
    __module__ = "mlkit.emulator_server"

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    @property
    def physical_resource_id(self) -> str:
        return self.bucket

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        backend = s3.s3_backends[account_id][s3.get_partition(region_name)]
        backend.put_bucket_policy(properties["Bucket"], json.dumps(properties["PolicyDocument"]).encode())
        return cls(properties["Bucket"])

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = s3.s3_backends[account_id][s3.get_partition(region_name)]
        backend.delete_bucket_policy(cloudformation_json["Properties"]["Bucket"])

    def is_created(self) -> bool:
        return True


def bucket_policy_left_to_mlkit(self, action: str, resource: str):
    return PermissionResult.NEUTRAL


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
    (s3.FakeBucket, "get_permission", bucket_policy_left_to_mlkit),
)


def patch_moto() -> None:
    for owner, attribute, replacement in PATCHES:
        setattr(owner, attribute, replacement)
    # moto lists its CloudFormation models once; BucketPolicy (defined above) joins them.
    cloudformation.get_model_list.cache_clear()
    cloudformation.get_model_map.cache_clear()
    cloudformation.get_name_type_map.cache_clear()


if __name__ == "__main__":
    share_loader()  # moto makes a botocore session per error it answers
    patch_moto()
    sys.exit(main())
