"""The deploy event's ``scaling`` field: what it holds, and the Application Auto Scaling and CloudWatch
requests it becomes. The contract between the stacks that build the event and the Lambda that applies it.

No imports beyond the standard library: the stacks (stacks/deploy_access.py's grants, the deploy steps'
event) import it as ``lambdas.shared.scaling_requests``, the Lambda as ``shared.scaling_requests``.

``scaling`` is null (no autoscaling: any the endpoint had is removed) or
  {"kind": "realtime" | "async", "min_capacity": n, "max_capacity": n, "target_value": x,
   "scale_in_cooldown": s, "scale_out_cooldown": s, ("wake_cooldown": s, async only)}.
Real-time: target tracking on SageMakerVariantInvocationsPerInstance. Async: target tracking on
ApproximateBacklogSizePerInstance, and a step policy, driven by an alarm on HasBacklogWithoutCapacity,
that adds an instance when requests wait with none running (target tracking cannot leave zero).
These are the settings stacks/constructs/endpoint_scaling.py gives CloudFormation-made endpoints.
"""

from __future__ import annotations

from typing import Any

VARIANT_NAME = "AllTraffic"  # the deployer's one variant (hosting_settings.VARIANT_NAME for CloudFormation)
SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# Application Auto Scaling creates this service-linked role on an account's first SageMaker target.
SERVICE_LINKED_ROLE_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SERVICE_LINKED_ROLE_NAME = "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"

INVOCATIONS_METRIC = "SageMakerVariantInvocationsPerInstance"
BACKLOG_METRIC = "ApproximateBacklogSizePerInstance"
WAITING_METRIC = "HasBacklogWithoutCapacity"
# The wake-from-zero alarm fires at a one-minute average of at least half: a request waits, no instance.
WAKE_THRESHOLD = 0.5
# Policy names are unique per scalable target, so they need not carry the endpoint's name.
POLICY_NAMES = {"realtime": "InvocationsPerInstance", "async": "BacklogPerInstance"}
WAKE_POLICY_NAME = "WakeFromZero"
ALL_POLICY_NAMES = (*POLICY_NAMES.values(), WAKE_POLICY_NAME)

FIELDS = {"kind", "min_capacity", "max_capacity", "target_value", "scale_in_cooldown", "scale_out_cooldown"}
ASYNC_FIELDS = FIELDS | {"wake_cooldown"}


def resource_id(endpoint_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{VARIANT_NAME}"


def wake_alarm_name(endpoint_name: str) -> str:
    """The async endpoint's wake-from-zero alarm (alarm names are unique per account and region)."""
    return f"{endpoint_name}-wake-from-zero"


def target(endpoint_name: str) -> dict[str, str]:
    """What identifies the endpoint's scalable target in every Application Auto Scaling request."""
    return {
        "ServiceNamespace": SERVICE_NAMESPACE,
        "ResourceId": resource_id(endpoint_name),
        "ScalableDimension": SCALABLE_DIMENSION,
    }


# ---- checking the event's field ---------------------------------------------------------------------


def problems(scaling: Any) -> list[str]:
    """What is wrong with an event's ``scaling`` value, each naming its field; [] when it is usable."""
    if scaling is None:
        return []
    if not isinstance(scaling, dict):
        return [f"scaling: expected an object or null, got {type(scaling).__name__}"]
    kind = scaling.get("kind")
    if kind not in POLICY_NAMES:
        return [f"scaling.kind: expected 'realtime' or 'async', got {kind!r}"]
    allowed = ASYNC_FIELDS if kind == "async" else FIELDS
    found = [f"scaling.{key}: unknown; allowed: {sorted(allowed)}" for key in sorted(set(scaling) - allowed)]
    found += [f"scaling.{key}: missing" for key in sorted(allowed - set(scaling))]
    if found:
        return found
    lowest = 0 if kind == "async" else 1  # only async endpoints may scale to zero
    counts = {"min_capacity": lowest, "max_capacity": 1, "scale_in_cooldown": 0, "scale_out_cooldown": 0}
    if kind == "async":
        counts["wake_cooldown"] = 0
    for key, least in counts.items():
        value = scaling[key]
        if not _whole(value) or value < least:
            found.append(f"scaling.{key}: expected a whole number >= {least}, got {value!r}")
    value = scaling["target_value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        found.append(f"scaling.target_value: expected a number > 0, got {value!r}")
    if not found and scaling["min_capacity"] > scaling["max_capacity"]:
        found.append(
            f"scaling.min_capacity: {scaling['min_capacity']} is above max_capacity {scaling['max_capacity']}"
        )
    return found


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---- the requests ---------------------------------------------------------------------------------


def register_request(endpoint_name: str, scaling: dict) -> dict[str, Any]:
    """RegisterScalableTarget, with no RoleARN: Application Auto Scaling uses its service-linked role."""
    return {
        **target(endpoint_name),
        "MinCapacity": scaling["min_capacity"],
        "MaxCapacity": scaling["max_capacity"],
    }


def tracking_request(endpoint_name: str, scaling: dict) -> dict[str, Any]:
    """PutScalingPolicy: target tracking on invocations (real-time) or backlog (async) per instance."""
    if scaling["kind"] == "realtime":
        predefined = {"PredefinedMetricType": INVOCATIONS_METRIC}
        metric: dict[str, Any] = {"PredefinedMetricSpecification": predefined}
    else:
        metric = {"CustomizedMetricSpecification": _metric(endpoint_name, BACKLOG_METRIC)}
    return {
        **target(endpoint_name),
        "PolicyName": POLICY_NAMES[scaling["kind"]],
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            **metric,
            "TargetValue": float(scaling["target_value"]),
            "ScaleInCooldown": scaling["scale_in_cooldown"],
            "ScaleOutCooldown": scaling["scale_out_cooldown"],
        },
    }


def wake_policy_request(endpoint_name: str, scaling: dict) -> dict[str, Any]:
    """PutScalingPolicy: one more instance while the wake alarm is in ALARM (steps relative to it)."""
    return {
        **target(endpoint_name),
        "PolicyName": WAKE_POLICY_NAME,
        "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": "ChangeInCapacity",
            "Cooldown": scaling["wake_cooldown"],
            "MetricAggregationType": "Average",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
        },
    }


def wake_alarm_request(endpoint_name: str, policy_arn: str) -> dict[str, Any]:
    """PutMetricAlarm: requests waiting with no instance, for one minute, start the wake policy."""
    return {
        "AlarmName": wake_alarm_name(endpoint_name),
        "AlarmDescription": f"{endpoint_name}: requests wait with no instance; adds one (scales from zero)",
        "AlarmActions": [policy_arn],
        **_metric(endpoint_name, WAITING_METRIC),
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": WAKE_THRESHOLD,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }


def _metric(endpoint_name: str, name: str) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Namespace": "AWS/SageMaker",
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
        "Statistic": "Average",
    }
