"""SageMaker hosting settings in the API's own shape, from a config ``hosting`` entry.

One source of truth for both consumers: CloudFormation (the Hugging Face endpoints) and the
deploy Lambda's event (endpoints the training and Autopilot pipelines create at run time).
"""

from typing import Any

from lambdas.shared import scaling_requests
from stacks.config.hosting import AsyncHosting, DataCapture, RealtimeHosting, ServerlessHosting

VARIANT_NAME = scaling_requests.VARIANT_NAME
# Async scaling: slow to remove the last instances (a backlog comes in bursts), quick to add; after a
# wake from zero, wait for the instance before adding another.
ASYNC_SCALE_IN_COOLDOWN = 600
ASYNC_SCALE_OUT_COOLDOWN = 60
WAKE_COOLDOWN = 300


def production_variant(hosting, model_name: str | None = None) -> dict[str, Any]:
    """The endpoint config's one production variant (``ModelName`` only when known at synth)."""
    variant: dict[str, Any] = {"VariantName": VARIANT_NAME, "InitialVariantWeight": 1}
    if model_name is not None:
        variant["ModelName"] = model_name
    if isinstance(hosting, ServerlessHosting):
        serverless = {"MemorySizeInMB": hosting.memory_mb, "MaxConcurrency": hosting.max_concurrency}
        if hosting.provisioned_concurrency:
            serverless["ProvisionedConcurrency"] = hosting.provisioned_concurrency
        variant["ServerlessConfig"] = serverless
    elif isinstance(hosting, RealtimeHosting):
        variant.update(InstanceType=hosting.instance_type, InitialInstanceCount=hosting.initial_count)
    else:
        # Async starts with one instance; autoscaling takes it to zero when the backlog is empty.
        variant.update(InstanceType=hosting.instance_type, InitialInstanceCount=1)
    return variant


def async_inference_config(
    hosting: AsyncHosting,
    *,
    output_path: str,
    failure_path: str,
    kms_key_arn: str,
    success_topic_arn: str,
    error_topic_arn: str,
) -> dict[str, Any]:
    return {
        "ClientConfig": {
            "MaxConcurrentInvocationsPerInstance": hosting.max_concurrent_invocations_per_instance
        },
        "OutputConfig": {
            "S3OutputPath": output_path,
            "S3FailurePath": failure_path,
            "KmsKeyId": kms_key_arn,
            "NotificationConfig": {"SuccessTopic": success_topic_arn, "ErrorTopic": error_topic_arn},
        },
    }


CAPTURE_MODES = {"input": ["Input"], "output": ["Output"], "both": ["Input", "Output"]}


def data_capture_config(capture: DataCapture, *, destination: str, kms_key_arn: str) -> dict[str, Any]:
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": capture.sampling_percent,
        "DestinationS3Uri": destination,
        "KmsKeyId": kms_key_arn,
        "CaptureOptions": [{"CaptureMode": mode} for mode in CAPTURE_MODES[capture.mode]],
    }


def deployment_config(hosting, alarm_names: list[str]) -> dict[str, Any]:
    """Blue/green, all at once, watched for ``baking_seconds``; any alarm rolls back.

    SageMaker supports blue/green with auto-rollback for every hosting type mlkit uses
    (rolling updates exclude serverless, so mlkit does not use them).
    """
    updates = hosting.updates
    return {
        "BlueGreenUpdatePolicy": {
            # For ALL_AT_ONCE the wait interval is the baking period, during which alarms roll back.
            "TrafficRoutingConfiguration": {
                "Type": "ALL_AT_ONCE",
                "WaitIntervalInSeconds": updates.baking_seconds,
            },
            "TerminationWaitInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": min(14400, max(600, 2 * updates.baking_seconds + 1800)),
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarm_names]},
    }


def uses_kms_storage(hosting) -> bool:
    """SageMaker rejects KmsKeyId on serverless endpoint configs (no attached storage volume)."""
    return not isinstance(hosting, ServerlessHosting)


def scaling_settings(hosting) -> dict[str, Any] | None:
    """The deploy event's ``scaling`` (lambdas/shared/scaling_requests.py), from the settings that
    endpoint_scaling.py gives CloudFormation-made endpoints; None when the hosting does not scale."""
    if isinstance(hosting, AsyncHosting):
        return {
            "kind": "async",
            "min_capacity": 0,
            "max_capacity": hosting.max,
            "target_value": hosting.target_backlog_per_instance,
            "scale_in_cooldown": ASYNC_SCALE_IN_COOLDOWN,
            "scale_out_cooldown": ASYNC_SCALE_OUT_COOLDOWN,
            "wake_cooldown": WAKE_COOLDOWN,
        }
    scaling = getattr(hosting, "autoscaling", None)
    if scaling is None:
        return None
    return {
        "kind": "realtime",
        "min_capacity": scaling.min,
        "max_capacity": scaling.max,
        "target_value": scaling.target_invocations_per_instance,
        "scale_in_cooldown": scaling.scale_in_cooldown,
        "scale_out_cooldown": scaling.scale_out_cooldown,
    }
