"""The deploy Lambda's autoscaling against moto's Application Auto Scaling and CloudWatch, called
in-process as the pipeline's "Apply scaling" state calls it once the endpoint is InService.

UpdateEndpoint comes from test_deploy.py's ``moto_update_endpoint`` (moto 5.2.5 lacks it).
"""

import copy
from collections import defaultdict

import deploy_events as events
import pytest
import test_deploy
from shared.aws import client
from shared.endpoints import EndpointBusy, InvalidDeployRequest
from test_deploy import invoke, moto_backend, set_status

moto_update_endpoint = test_deploy.moto_update_endpoint  # the fixture, shared

RESOURCE_ID = f"endpoint/{events.ENDPOINT}/variant/AllTraffic"
TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": RESOURCE_ID,
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}
REALTIME, ASYNC = events.REALTIME_SCALING, events.ASYNC_SCALING
WAKE_ALARM = f"{events.ENDPOINT}-wake-from-zero"


def realtime(run: str = "run-1", instance_type: str = "ml.m5.large", scaling=REALTIME) -> dict:
    variant = {"InstanceType": instance_type, "InitialInstanceCount": 1}
    return events.one_container(run, variant=variant, scaling=copy.deepcopy(scaling))


def asynchronous(run: str = "run-1") -> dict:
    return events.one_container(
        run, variant=dict(events.INSTANCE), async_config=events.ASYNC_CONFIG, scaling=copy.deepcopy(ASYNC)
    )


def scale(scaling, endpoint_name: str = events.ENDPOINT) -> dict:
    return invoke({"action": "scale", "endpoint_name": endpoint_name, "scaling": copy.deepcopy(scaling)})


@pytest.fixture
def calls(aws):
    """Every Application Auto Scaling, CloudWatch and SageMaker operation the Lambda sent, in order."""
    sent = []
    for service in ("application-autoscaling", "cloudwatch", "sagemaker"):
        client(service).meta.events.register(
            f"before-parameter-build.{service}", lambda params, model, **_: sent.append(model.name)
        )
    return sent


def targets() -> list[dict]:
    return client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]


def policies() -> dict[str, dict]:
    found = client("application-autoscaling").describe_scaling_policies(ServiceNamespace="sagemaker")
    return {policy["PolicyName"]: policy for policy in found["ScalingPolicies"]}


def wake_alarms() -> list[dict]:
    return client("cloudwatch").describe_alarms(AlarmNames=[WAKE_ALARM])["MetricAlarms"]


def test_realtime_endpoint_tracks_invocations_per_instance_within_its_capacities(calls):
    invoke(realtime())
    answer = scale(REALTIME)

    assert answer == {
        "endpoint_name": events.ENDPOINT,
        "action": "scale",
        "scaling": "applied",
        "min_capacity": 1,
        "max_capacity": 4,
        "policies": ["InvocationsPerInstance"],
    }
    ((target,),) = [targets()]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (RESOURCE_ID, 1, 4)
    (policy,) = policies().values()
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "TargetValue": 70.0,
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
    }
    assert wake_alarms() == []
    # Scaling waits for InService: the deploy itself registers nothing.
    assert calls.index("RegisterScalableTarget") > calls.index("CreateEndpoint")


def test_async_endpoint_scales_on_backlog_down_to_zero_and_wakes_on_its_alarm(aws):
    invoke(asynchronous())
    scale(ASYNC)

    ((target,),) = [targets()]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 2)
    found = policies()
    assert set(found) == {"BacklogPerInstance", "WakeFromZero"}
    assert found["BacklogPerInstance"]["TargetTrackingScalingPolicyConfiguration"] == {
        "CustomizedMetricSpecification": {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": events.ENDPOINT}],
            "Statistic": "Average",
        },
        "TargetValue": 5.0,
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 60,
    }
    step = found["WakeFromZero"]["StepScalingPolicyConfiguration"]
    assert step["AdjustmentType"] == "ChangeInCapacity" and step["Cooldown"] == 300
    assert step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]
    (alarm,) = wake_alarms()
    assert alarm["AlarmActions"] == [found["WakeFromZero"]["PolicyARN"]]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "HasBacklogWithoutCapacity",
        0.5,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": events.ENDPOINT}]


def test_a_new_model_keeps_the_scaling_through_the_blue_green_update(calls, moto_update_endpoint):
    invoke(realtime("run-1", scaling=REALTIME))
    scale(REALTIME)
    calls.clear()
    rolled_back_by = {"Alarms": [{"AlarmName": f"{events.ENDPOINT}-5xx"}]}
    blue_green = {**events.BLUE_GREEN, "AutoRollbackConfiguration": rolled_back_by}

    updated = invoke({**realtime("run-2"), "deployment_config": blue_green})
    assert updated["action"] == "updated"
    # Only the model changed: SageMaker allows that on a scalable variant, so it stays registered.
    assert "DeregisterScalableTarget" not in calls and len(targets()) == 1
    assert moto_update_endpoint[-1]["DeploymentConfig"]["AutoRollbackConfiguration"] == rolled_back_by
    scale(REALTIME)  # the pipeline re-applies it after every deployment: idempotent
    assert [t["MinCapacity"] for t in targets()] == [1] and list(policies()) == ["InvocationsPerInstance"]


def test_a_new_instance_type_deregisters_before_the_update_and_registers_after(calls, moto_update_endpoint):
    invoke(realtime("run-1"))
    scale(REALTIME)
    calls.clear()

    invoke(realtime("run-1", instance_type="ml.c5.xlarge"))
    # AWS refuses to change the instance type of a registered variant: released first, in this order.
    order = [
        calls.index(name) for name in ("DeleteScalingPolicy", "DeregisterScalableTarget", "UpdateEndpoint")
    ]
    assert order == sorted(order)
    assert targets() == [] and policies() == {}
    scale(REALTIME)
    assert len(targets()) == 1 and list(policies()) == ["InvocationsPerInstance"]


def test_hosting_without_scaling_removes_what_an_earlier_deploy_applied(aws):
    invoke(asynchronous())
    scale(ASYNC)

    assert scale(None)["scaling"] == "removed"
    assert targets() == [] and policies() == {} and wake_alarms() == []
    assert scale(None)["scaling"] == "none"  # nothing left: nothing to do


def test_switching_to_realtime_scaling_drops_the_async_policies_and_alarm(aws):
    invoke(asynchronous())
    scale(ASYNC)

    scale(REALTIME)
    assert list(policies()) == ["InvocationsPerInstance"] and wake_alarms() == []
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets()] == [(1, 4)]


def test_scaling_waits_for_an_endpoint_in_service(aws):
    invoke(realtime())
    set_status(events.ENDPOINT, "Updating")
    with pytest.raises(EndpointBusy, match="once it is InService"):
        scale(REALTIME)
    assert targets() == []
    with pytest.raises(InvalidDeployRequest, match="^endpoint_name: mlkit-dev-other does not exist"):
        scale(REALTIME, endpoint_name="mlkit-dev-other")


def with_scaling(**changes) -> dict:
    settings = {**REALTIME, **changes}
    return {key: value for key, value in settings.items() if value is not None}


BAD_SCALING = {
    "scaling: expected an object": realtime(scaling=[1, 4]),
    "scaling.kind: expected": realtime(scaling=with_scaling(kind="scheduled")),
    "scaling.min_capacity: expected a whole number >= 1": realtime(scaling=with_scaling(min_capacity=0)),
    "scaling.max_capacity: expected a whole number": realtime(scaling=with_scaling(max_capacity="4")),
    "scaling.min_capacity: 5 is above max_capacity 4": realtime(scaling=with_scaling(min_capacity=5)),
    "scaling.target_value: expected a number > 0": realtime(scaling=with_scaling(target_value=0)),
    "scaling.scale_in_cooldown: expected a whole number >= 0": realtime(
        scaling=with_scaling(scale_in_cooldown=-1)
    ),
    "scaling.scale_out_cooldown: missing": realtime(scaling=with_scaling(scale_out_cooldown=None)),
    "scaling.wake_cooldown: unknown": realtime(scaling=with_scaling(wake_cooldown=300)),
    "scaling.wake_cooldown: missing": {
        **asynchronous(),
        "scaling": {key: value for key, value in ASYNC.items() if key != "wake_cooldown"},
    },
    "scaling.kind: 'async' on a realtime endpoint": realtime(scaling=ASYNC),
    "scaling.kind: 'realtime' on a async endpoint": {**asynchronous(), "scaling": REALTIME},
    "scaling: not with variant.ServerlessConfig": events.one_container(scaling=REALTIME),
}


@pytest.mark.parametrize("field, event", BAD_SCALING.items(), ids=list(BAD_SCALING))
def test_bad_scaling_is_invalid_deploy_request_naming_the_field(aws, field, event):
    with pytest.raises(InvalidDeployRequest) as raised:
        invoke(event)

    assert field in str(raised.value)
    assert not moto_backend()._models and not moto_backend().endpoint_configs  # nothing half-made


def test_the_scale_action_takes_only_its_own_fields(aws):
    invoke(realtime())
    with pytest.raises(InvalidDeployRequest, match="^image: not with action 'scale'"):
        invoke({"action": "scale", "endpoint_name": events.ENDPOINT, "scaling": REALTIME, "image": "x"})
    with pytest.raises(InvalidDeployRequest, match="scaling.max_capacity"):
        scale({**REALTIME, "max_capacity": 0})
    assert targets() == []


def test_calls_are_upserts_and_removals_only(calls):
    """Rerunning the scale action repeats the same writes: no duplicate target, policy or alarm."""
    invoke(asynchronous())
    for _ in range(2):
        scale(ASYNC)
    counts = defaultdict(int)
    for name in calls:
        counts[name] += 1
    assert counts["RegisterScalableTarget"] == 2 and counts["PutMetricAlarm"] == 2
    assert len(targets()) == 1 and len(policies()) == 2 and len(wake_alarms()) == 1
