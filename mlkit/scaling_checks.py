"""Does the deployed endpoint scale as its config says? Read back from the emulator's Application Auto
Scaling and CloudWatch.

The expectations come from the config's own fields (hosting.autoscaling, the async hosting's max and
backlog target), the cooldowns from the values CloudFormation-made endpoints get (hosting_settings.py),
so a deploy event or a Lambda that drops or mistypes a setting makes the check fail.
"""

from lambdas.shared import scaling_requests as contract
from mlkit.report import StepFailed
from stacks.constructs.hosting_settings import (
    ASYNC_SCALE_IN_COOLDOWN,
    ASYNC_SCALE_OUT_COOLDOWN,
    WAKE_COOLDOWN,
)


def expected_scaling(hosting) -> dict | None:
    """(capacities, {policy name: its settings}, wake alarm metric) a hosting entry asks for; None: none."""
    if hosting.type == "async":
        return {
            "capacity": (0, hosting.max),
            "policies": {
                contract.POLICY_NAMES["async"]: (
                    contract.BACKLOG_METRIC,
                    float(hosting.target_backlog_per_instance),
                    ASYNC_SCALE_IN_COOLDOWN,
                    ASYNC_SCALE_OUT_COOLDOWN,
                ),
                contract.WAKE_POLICY_NAME: ("StepScaling", WAKE_COOLDOWN),
            },
            "alarm": contract.WAITING_METRIC,
        }
    scaling = getattr(hosting, "autoscaling", None)
    if scaling is None:
        return None
    tracking = (
        contract.INVOCATIONS_METRIC,
        float(scaling.target_invocations_per_instance),
        scaling.scale_in_cooldown,
        scaling.scale_out_cooldown,
    )
    return {
        "capacity": (scaling.min, scaling.max),
        "policies": {contract.POLICY_NAMES["realtime"]: tracking},
        "alarm": None,
    }


def read_scaling(clients, endpoint: str) -> dict | None:
    """The same shape as ``expected_scaling``, read from the emulator; None when nothing is registered."""
    autoscaling = clients("application-autoscaling")
    target = contract.target(endpoint)
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace=target["ServiceNamespace"],
        ResourceIds=[target["ResourceId"]],
        ScalableDimension=target["ScalableDimension"],
    )["ScalableTargets"]
    if not targets:
        return None
    found = autoscaling.describe_scaling_policies(**target)["ScalingPolicies"]
    policies = {p["PolicyName"]: _settings(p) for p in found if p["ResourceId"] == target["ResourceId"]}
    alarms = clients("cloudwatch").describe_alarms(AlarmNames=[contract.wake_alarm_name(endpoint)])
    alarm = next(iter(alarms["MetricAlarms"]), None)
    return {
        "capacity": (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]),
        "policies": policies,
        "alarm": alarm["MetricName"] if alarm else None,
        "alarm_actions": alarm["AlarmActions"] if alarm else [],
        "wake_arn": next(
            (p["PolicyARN"] for p in found if p["PolicyName"] == contract.WAKE_POLICY_NAME), None
        ),
    }


def _settings(policy: dict) -> tuple:
    if policy["PolicyType"] == "StepScaling":
        return ("StepScaling", policy["StepScalingPolicyConfiguration"]["Cooldown"])
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    predefined = tracking.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
    metric = predefined or tracking.get("CustomizedMetricSpecification", {}).get("MetricName")
    return (metric, float(tracking["TargetValue"]), tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"])


def check_scaling(clients, endpoint: str, hosting) -> str:
    """The endpoint scales as its hosting says; answers a one-line summary of what was read back."""
    expected, found = expected_scaling(hosting), read_scaling(clients, endpoint)
    if expected is None:
        if found is not None:
            raise StepFailed(f"{endpoint} is registered for autoscaling, but its hosting has none")
        return f"{endpoint}: no scalable target, as the config says ({hosting.type}, no autoscaling)"
    if found is None:
        raise StepFailed(f"{endpoint} has no scalable target; the config asks for {expected['capacity']}")
    problems = [
        f"{key} is {found[key]!r}, the config says {expected[key]!r}"
        for key in ("capacity", "policies", "alarm")
        if found[key] != expected[key]
    ]
    if expected["alarm"] and found["alarm_actions"] != [found["wake_arn"]]:
        problems.append(f"the wake alarm's actions {found['alarm_actions']} are not the wake policy")
    if problems:
        raise StepFailed(f"{endpoint}: " + "; ".join(problems))
    low, high = found["capacity"]
    summary = ", ".join(
        name if settings[0] == "StepScaling" else f"{name} {settings[1]:g}"
        for name, settings in sorted(found["policies"].items())
    )
    alarm = f"; alarm {contract.wake_alarm_name(endpoint)} on {found['alarm']}" if found["alarm"] else ""
    return f"{endpoint}: {low}..{high} instances; {summary}{alarm} (read back from the emulator)"
