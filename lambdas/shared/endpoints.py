"""Create or update one SageMaker endpoint from a trained artifact, idempotently.

The deploy Lambda (deploy.py) parses its event into a DeployRequest and calls deploy().
Model and endpoint-config names are the endpoint name plus a hash of their content, so
the same artifact always maps to the same names: a rerun finds everything in place and
changes nothing, and a new artifact gets a new model and config that the endpoint is
switched to (the old ones stay, for rollback and lineage).

Errors are named for Step Functions, whose Retry/Catch match the class name:
- InvalidDeployRequest: the event is wrong; retrying cannot help.
- EndpointBusy: the endpoint is mid-operation (or a Failed one is being deleted); retry later.
- SageMakerUnavailable: throttling or a server error outlasted botocore's retries; retry later.
- SageMakerError: SageMaker refused the request; the message carries its error code and text.

A Failed endpoint is deleted, not updated: SageMaker documents DeleteEndpoint as the only
operation allowed on it, and it serves no traffic. The deletion raises EndpointBusy, and
the state machine's retry then recreates the endpoint on the new config.
"""

import hashlib
import json
import re
from typing import Any

from aws_lambda_powertools import Logger
from botocore.validate import ParamValidator

from shared import scaling
from shared.aws import client
from shared.deploy_calls import call
from shared.deploy_request import (  # noqa: F401  (deploy.py and the tests use them from here)
    DeployError,
    DeployRequest,
    EndpointBusy,
    InvalidDeployRequest,
    SageMakerError,
    SageMakerUnavailable,
    parse_action,
    parse_deploy_request,
    parse_endpoint_name,
    parse_scale_request,
)
from shared.scaling_requests import VARIANT_NAME

logger = Logger(child=True)

NAME_MAX_LENGTH = 63  # SageMaker's limit for endpoint, config and model names
HASH_LENGTH = 10  # 40 bits: collisions between versions of one endpoint are negligible
# SageMaker refuses changes while these last; the state machine retries later.
BUSY_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
# SageMaker's answers when another deployment is working on the same endpoint.
BUSY_MESSAGE = re.compile(r"in-progress|already existing endpoint", re.IGNORECASE)

# Resource kind → (describe operation, create operation, name parameter).
RESOURCE_CALLS = {
    "model": ("describe_model", "create_model", "ModelName"),
    "endpoint config": ("describe_endpoint_config", "create_endpoint_config", "EndpointConfigName"),
}
# botocore reports SageMaker parameter paths; name the event field they came from instead.
EVENT_FIELD_OF_PARAMETER = (
    ("ProductionVariants[0]", "variant"),
    ("AsyncInferenceConfig", "async_config"),
    ("DataCaptureConfig", "data_capture_config"),
    ("DeploymentConfig", "deployment_config"),
    ("VpcConfig", "vpc_config"),
    ("PrimaryContainer", "containers[0]"),
    ("Containers", "containers"),
)


# ---- the SageMaker requests ----------------------------------------------------------


def versioned_name(endpoint_name: str, definition: dict[str, Any]) -> str:
    """endpoint_name-<hash of definition>, cut to SageMaker's 63 characters."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]
    prefix = endpoint_name[: NAME_MAX_LENGTH - HASH_LENGTH - 1].rstrip("-")
    return f"{prefix}-{digest}"


def model_request(request: DeployRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ExecutionRoleArn": request.execution_role_arn,
        "EnableNetworkIsolation": request.enable_network_isolation,
    }
    if len(request.containers) == 1:
        params["PrimaryContainer"] = request.containers[0]
    else:  # an inference pipeline: SageMaker calls the containers in this order
        params["Containers"] = list(request.containers)
    if request.vpc_config:
        params["VpcConfig"] = request.vpc_config
    return {"ModelName": versioned_name(request.endpoint_name, params), **params, **_tags(request)}


def endpoint_config_request(request: DeployRequest, model_name: str) -> dict[str, Any]:
    variant = {"VariantName": VARIANT_NAME, "ModelName": model_name, **request.variant}
    params: dict[str, Any] = {"ProductionVariants": [variant]}
    if request.async_config:
        params["AsyncInferenceConfig"] = request.async_config
    if request.data_capture_config:
        params["DataCaptureConfig"] = request.data_capture_config
    # KmsKeyId encrypts instance storage; SageMaker rejects it for serverless variants.
    if request.kms_key_arn and not request.serverless:
        params["KmsKeyId"] = request.kms_key_arn
    name = versioned_name(request.endpoint_name, params)
    return {"EndpointConfigName": name, **params, **_tags(request)}


def update_request(request: DeployRequest, config_name: str) -> dict[str, Any]:
    params: dict[str, Any] = {"EndpointName": request.endpoint_name, "EndpointConfigName": config_name}
    if request.deployment_config:
        params["DeploymentConfig"] = request.deployment_config
    return params


def _tags(request: DeployRequest) -> dict[str, Any]:
    """Tags label resources without versioning them: they stay out of the name hash."""
    if not request.tags:
        return {}
    return {"Tags": [{"Key": key, "Value": value} for key, value in sorted(request.tags.items())]}


def _validate_requests(requests: dict[str, dict[str, Any]]) -> None:
    """Check every request against SageMaker's API model before creating anything."""
    service = client("sagemaker").meta.service_model
    for operation, params in requests.items():
        report = ParamValidator().validate(params, service.operation_model(operation).input_shape)
        if report.has_errors():
            text = report.generate_report()
            for parameter, field in EVENT_FIELD_OF_PARAMETER:
                text = text.replace(parameter, field)
            raise InvalidDeployRequest(text)


# ---- calling SageMaker ---------------------------------------------------------------


def deploy(request: DeployRequest) -> dict[str, Any]:
    """Make the endpoint serve the request's model; create only what is missing."""
    model = model_request(request)
    config = endpoint_config_request(request, model["ModelName"])
    update = update_request(request, config["EndpointConfigName"])
    _validate_requests({"CreateModel": model, "CreateEndpointConfig": config, "UpdateEndpoint": update})

    endpoint = _describe("describe_endpoint", EndpointName=request.endpoint_name)
    _check_endpoint_can_change(request.endpoint_name, endpoint)
    _create_once("model", model)
    _create_once("endpoint config", config)
    if endpoint is not None and endpoint["EndpointConfigName"] != config["EndpointConfigName"]:
        _release_scaling_if_resized(endpoint, request)
    action = _point_endpoint_at(endpoint, update, _tags(request))

    status = endpoint["EndpointStatus"] if action == "unchanged" else _current_status(request.endpoint_name)
    logger.info(f"endpoint {action}", endpoint_config_name=config["EndpointConfigName"], status=status)
    return {
        "endpoint_name": request.endpoint_name,
        "endpoint_status": status,
        "model_name": model["ModelName"],
        "endpoint_config_name": config["EndpointConfigName"],
        "changed": action != "unchanged",
        "action": action,
    }


def endpoint_status(endpoint_name: str) -> dict[str, Any]:
    """The endpoint's status for a wait loop; 'NotFound' when it does not exist."""
    endpoint = _describe("describe_endpoint", EndpointName=endpoint_name) or {}
    return {
        "endpoint_name": endpoint_name,
        "endpoint_status": endpoint.get("EndpointStatus", "NotFound"),
        "endpoint_config_name": endpoint.get("EndpointConfigName"),
        "failure_reason": endpoint.get("FailureReason"),
        "action": "status",
    }


def _check_endpoint_can_change(endpoint_name: str, endpoint: dict[str, Any] | None) -> None:
    status = (endpoint or {}).get("EndpointStatus")
    if status in BUSY_STATUSES:
        raise EndpointBusy(f"{endpoint_name} is {status}; retry once it settles")
    if status == "Failed":
        # DeleteEndpoint is the only operation SageMaker allows on a Failed endpoint.
        logger.warning("deleting failed endpoint", failure_reason=endpoint.get("FailureReason"))
        _call("delete_endpoint", EndpointName=endpoint_name)
        raise EndpointBusy(f"{endpoint_name} was Failed and is being deleted; a retry recreates it")


def _release_scaling_if_resized(endpoint: dict[str, Any], request: DeployRequest) -> None:
    """SageMaker refuses to change the instance type of a variant registered for autoscaling (a new
    model alone is allowed): deregister it first; the scale action registers it again (shared/scaling.py)."""
    current = _call("describe_endpoint_config", EndpointConfigName=endpoint["EndpointConfigName"])
    variant = next((v for v in current["ProductionVariants"] if v["VariantName"] == VARIANT_NAME), {})
    if variant.get("InstanceType") != request.variant.get("InstanceType"):
        scaling.release(request.endpoint_name)


def _create_once(kind: str, params: dict[str, Any]) -> None:
    """Create the resource unless one with this (content-derived) name exists."""
    describe, create, name_key = RESOURCE_CALLS[kind]
    name = params[name_key]
    exists = _describe(describe, **{name_key: name}) is not None
    if not exists:
        try:
            _call(create, **params)
        except SageMakerError as err:
            # A concurrent deployment created it first: same name, so the same content.
            if "already existing" not in err.aws_message:
                raise
            exists = True
    logger.info(f"{kind} {'exists' if exists else 'created'}", resource_name=name)


def _point_endpoint_at(endpoint: dict[str, Any] | None, update: dict[str, Any], tags: dict) -> str:
    """Create the endpoint or switch it to the new config; answers the action taken."""
    name, config_name = update["EndpointName"], update["EndpointConfigName"]
    if endpoint is not None and endpoint["EndpointConfigName"] == config_name:
        return "unchanged"
    try:
        if endpoint is None:
            _call("create_endpoint", EndpointName=name, EndpointConfigName=config_name, **tags)
            return "created"
        _call("update_endpoint", **update)
        return "updated"
    except SageMakerError as err:
        if err.code == "ValidationException" and BUSY_MESSAGE.search(err.aws_message):
            raise EndpointBusy(f"{name}: {err.aws_message}") from err
        raise


def _current_status(endpoint_name: str) -> str:
    return _call("describe_endpoint", EndpointName=endpoint_name)["EndpointStatus"]


def _describe(operation: str, **params: Any) -> dict[str, Any] | None:
    """The description, or None when SageMaker says the resource does not exist."""
    try:
        return _call(operation, **params)
    except SageMakerError as err:
        if err.code == "ValidationException" and err.aws_message.startswith("Could not find"):
            return None
        raise


def _call(operation: str, **params: Any) -> dict[str, Any]:
    return call("sagemaker", operation, **params)
