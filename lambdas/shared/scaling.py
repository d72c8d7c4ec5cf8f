"""An endpoint's autoscaling, applied by the deploy Lambda once the endpoint is InService, idempotently.

The requests are shared/scaling_requests.py's; every call here is an upsert or a removal of what exists,
so the pipeline re-applies scaling after every deployment (a rerun, a new model, a changed config).

SageMaker refuses an UpdateEndpoint that changes the instance type of a variant registered for
autoscaling, and allows one that changes only its model; the documented order is: delete the policies
and deregister the variant, update, then register it again
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). endpoints.py calls
``release`` before such an update; the scale action registers the variant once the update is done.
"""

from typing import Any

from aws_lambda_powertools import Logger

from shared import scaling_requests as requests
from shared.deploy_calls import call
from shared.deploy_request import EndpointBusy, InvalidDeployRequest, SageMakerError

logger = Logger(child=True)

AUTOSCALING = "application-autoscaling"
MISSING_CODES = frozenset({"ObjectNotFoundException", "ResourceNotFound", "ResourceNotFoundException"})


def scale(endpoint_name: str, scaling: dict[str, Any] | None) -> dict[str, Any]:
    """The scale action: the endpoint, InService, scales as ``scaling`` says (null: not at all)."""
    try:
        status = call("sagemaker", "describe_endpoint", EndpointName=endpoint_name)["EndpointStatus"]
    except SageMakerError as err:
        if err.aws_message.startswith("Could not find"):
            raise InvalidDeployRequest(f"endpoint_name: {endpoint_name} does not exist") from err
        raise
    if status != "InService":
        raise EndpointBusy(f"{endpoint_name} is {status}; its scaling is applied once it is InService")
    answer: dict[str, Any] = {"endpoint_name": endpoint_name, "action": "scale"}
    if scaling is None:
        answer["scaling"] = "removed" if release(endpoint_name) else "none"
    else:
        policies = apply(endpoint_name, scaling)
        answer.update(
            scaling="applied",
            min_capacity=scaling["min_capacity"],
            max_capacity=scaling["max_capacity"],
            policies=policies,
        )
    logger.info(f"scaling {answer['scaling']}", policies=answer.get("policies"))
    return answer


def apply(endpoint_name: str, scaling: dict[str, Any]) -> list[str]:
    """Register the variant, put its policies (and the async wake alarm), drop policies it no longer has."""
    call(AUTOSCALING, "register_scalable_target", **requests.register_request(endpoint_name, scaling))
    tracking = requests.tracking_request(endpoint_name, scaling)
    call(AUTOSCALING, "put_scaling_policy", **tracking)
    wanted = [tracking["PolicyName"]]
    if scaling["kind"] == "async":
        wake = call(AUTOSCALING, "put_scaling_policy", **requests.wake_policy_request(endpoint_name, scaling))
        alarm = requests.wake_alarm_request(endpoint_name, wake["PolicyARN"])
        call("cloudwatch", "put_metric_alarm", **alarm)
        wanted.append(requests.WAKE_POLICY_NAME)
    for name in _policy_names(endpoint_name):
        if name not in wanted:
            _remove_policy(endpoint_name, name)
    return wanted


def release(endpoint_name: str) -> bool:
    """Delete the variant's policies (and the wake alarm), then deregister it; False if it was not
    registered."""
    found = call(
        AUTOSCALING,
        "describe_scalable_targets",
        ServiceNamespace=requests.SERVICE_NAMESPACE,
        ResourceIds=[requests.resource_id(endpoint_name)],
        ScalableDimension=requests.SCALABLE_DIMENSION,
    )["ScalableTargets"]
    if not found:
        return False
    for name in _policy_names(endpoint_name):
        _remove_policy(endpoint_name, name)
    _ignoring_missing(AUTOSCALING, "deregister_scalable_target", **requests.target(endpoint_name))
    logger.info("scalable target deregistered", resource_id=requests.resource_id(endpoint_name))
    return True


def _policy_names(endpoint_name: str) -> list[str]:
    target = requests.target(endpoint_name)
    policies = call(AUTOSCALING, "describe_scaling_policies", **target)
    # Filtered again: the emulator matches ResourceId as a substring.
    return [p["PolicyName"] for p in policies["ScalingPolicies"] if p["ResourceId"] == target["ResourceId"]]


def _remove_policy(endpoint_name: str, name: str) -> None:
    _ignoring_missing(AUTOSCALING, "delete_scaling_policy", PolicyName=name, **requests.target(endpoint_name))
    if name == requests.WAKE_POLICY_NAME:  # the alarm is the Lambda's own, not Application Auto Scaling's
        _ignoring_missing("cloudwatch", "delete_alarms", AlarmNames=[requests.wake_alarm_name(endpoint_name)])


def _ignoring_missing(service: str, operation: str, **params: Any) -> None:
    try:
        call(service, operation, **params)
    except SageMakerError as err:
        if err.code not in MISSING_CODES:
            raise
