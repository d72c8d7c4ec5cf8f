"""Autoscaling of an endpoint's variant: invocations per instance (real-time), backlog (async)."""

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from constructs import Construct

from stacks.config.hosting import AsyncHosting, Autoscaling
from stacks.constructs.endpoint_alarms import endpoint_metric
from stacks.constructs.hosting_settings import VARIANT_NAME


def _target(scope: Construct, endpoint_name: str, minimum: int, maximum: int) -> appscaling.ScalableTarget:
    return appscaling.ScalableTarget(
        scope,
        "ScalableTarget",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id=f"endpoint/{endpoint_name}/variant/{VARIANT_NAME}",
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=minimum,
        max_capacity=maximum,
    )


def scale_realtime(scope: Construct, endpoint_name: str, scaling: Autoscaling) -> appscaling.ScalableTarget:
    """Target tracking on SageMakerVariantInvocationsPerInstance, with scale-in protection cooldowns."""
    target = _target(scope, endpoint_name, scaling.min, scaling.max)
    target.scale_to_track_metric(
        "InvocationsPerInstance",
        predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        target_value=scaling.target_invocations_per_instance,
        scale_in_cooldown=cdk.Duration.seconds(scaling.scale_in_cooldown),
        scale_out_cooldown=cdk.Duration.seconds(scaling.scale_out_cooldown),
    )
    return target


def scale_async(scope: Construct, endpoint_name: str, hosting: AsyncHosting) -> appscaling.ScalableTarget:
    """Track the backlog per instance down to zero instances, and wake from zero when work arrives."""
    target = _target(scope, endpoint_name, 0, hosting.max)
    backlog = endpoint_metric("ApproximateBacklogSizePerInstance", {"EndpointName": endpoint_name}, "Average")
    target.scale_to_track_metric(
        "BacklogPerInstance",
        custom_metric=backlog,
        target_value=hosting.target_backlog_per_instance,
        scale_in_cooldown=cdk.Duration.minutes(10),
        scale_out_cooldown=cdk.Duration.minutes(1),
    )
    # Target tracking cannot leave zero (there is no per-instance figure): a step policy does.
    waiting = endpoint_metric("HasBacklogWithoutCapacity", {"EndpointName": endpoint_name}, "Average")
    target.scale_on_metric(
        "WakeFromZero",
        metric=waiting,
        adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        scaling_steps=[
            appscaling.ScalingInterval(upper=0.5, change=0),
            appscaling.ScalingInterval(lower=0.5, change=1),
        ],
        cooldown=cdk.Duration.minutes(5),
    )
    return target
