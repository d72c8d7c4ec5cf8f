"""Autoscaling of an endpoint's variant: invocations per instance (real-time), backlog (async).

The same settings the deploy Lambda applies to pipeline-made endpoints: the numbers come from
hosting_settings.py, the metric, dimension and threshold names from lambdas/shared/scaling_requests.py.
"""

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from constructs import Construct

from lambdas.shared import scaling_requests as contract
from stacks.config.hosting import AsyncHosting, Autoscaling
from stacks.constructs.endpoint_alarms import endpoint_metric
from stacks.constructs.hosting_settings import (
    ASYNC_SCALE_IN_COOLDOWN,
    ASYNC_SCALE_OUT_COOLDOWN,
    WAKE_COOLDOWN,
)


def _target(scope: Construct, endpoint_name: str, minimum: int, maximum: int) -> appscaling.ScalableTarget:
    return appscaling.ScalableTarget(
        scope,
        "ScalableTarget",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id=contract.resource_id(endpoint_name),
        scalable_dimension=contract.SCALABLE_DIMENSION,
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
    dimensions = {"EndpointName": endpoint_name}
    backlog = endpoint_metric(contract.BACKLOG_METRIC, dimensions, "Average")
    target.scale_to_track_metric(
        "BacklogPerInstance",
        custom_metric=backlog,
        target_value=hosting.target_backlog_per_instance,
        scale_in_cooldown=cdk.Duration.seconds(ASYNC_SCALE_IN_COOLDOWN),
        scale_out_cooldown=cdk.Duration.seconds(ASYNC_SCALE_OUT_COOLDOWN),
    )
    # Target tracking cannot leave zero (there is no per-instance figure): a step policy does.
    waiting = endpoint_metric(contract.WAITING_METRIC, dimensions, "Average")
    target.scale_on_metric(
        "WakeFromZero",
        metric=waiting,
        adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        scaling_steps=[
            appscaling.ScalingInterval(upper=contract.WAKE_THRESHOLD, change=0),
            appscaling.ScalingInterval(lower=contract.WAKE_THRESHOLD, change=1),
        ],
        cooldown=cdk.Duration.seconds(WAKE_COOLDOWN),
    )
    return target
