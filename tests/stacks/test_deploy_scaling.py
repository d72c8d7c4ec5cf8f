"""Pipeline-made endpoints scale like CloudFormation-made ones: the deploy event's ``scaling`` comes from
hosting, and the requests the deploy Lambda makes of it equal endpoint_scaling.py's CloudFormation."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from lambdas.shared import scaling_requests as contract
from stacks import names
from stacks.cdk_app import mlkit_app
from stacks.config import MlKitConfig
from stacks.config.hosting import AsyncHosting, Autoscaling, RealtimeHosting, ServerlessHosting
from stacks.constructs import endpoint_scaling
from stacks.constructs.deploy_steps import DEPLOY_STATE, SCALE_STATE, DeploySteps
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.hosting_settings import scaling_settings
from stacks.deploy_stack import DeployStack
from tests.stacks.synth import CDK_CONTEXT, render_tokens

ENDPOINT = "mlkit-dev-churn"
SCALED = Autoscaling(min=2, max=6, target_invocations_per_instance=70, scale_in_cooldown=120)
REALTIME = RealtimeHosting(type="realtime", initial_count=2, autoscaling=SCALED)
ASYNC = AsyncHosting(type="async", max=3, target_backlog_per_instance=8)


def cloudformation_scaling(build) -> dict[str, list[dict]]:
    """The properties endpoint_scaling.py gives CloudFormation, by resource type."""
    stack = cdk.Stack(cdk.App(), "Scaling")
    build(stack)
    resources = Template.from_stack(stack).to_json()["Resources"].values()
    found: dict[str, list[dict]] = {}
    for resource in resources:
        found.setdefault(resource["Type"], []).append(resource["Properties"])
    return found


def without(properties: dict, *keys: str) -> dict:
    return {key: value for key, value in properties.items() if key not in keys}


def test_realtime_requests_equal_the_cloudformation_target_and_policy():
    template = cloudformation_scaling(lambda s: endpoint_scaling.scale_realtime(s, ENDPOINT, SCALED))
    scaling = scaling_settings(REALTIME)

    (target,) = template["AWS::ApplicationAutoScaling::ScalableTarget"]
    assert contract.register_request(ENDPOINT, scaling) == without(target, "RoleARN")
    (policy,) = template["AWS::ApplicationAutoScaling::ScalingPolicy"]
    request = contract.tracking_request(ENDPOINT, scaling)
    assert (
        request["TargetTrackingScalingPolicyConfiguration"]
        == policy["TargetTrackingScalingPolicyConfiguration"]
    )
    assert request["PolicyType"] == policy["PolicyType"] == "TargetTrackingScaling"
    assert "AWS::CloudWatch::Alarm" not in template


def test_async_requests_equal_the_cloudformation_target_policies_and_wake_alarm():
    template = cloudformation_scaling(lambda s: endpoint_scaling.scale_async(s, ENDPOINT, ASYNC))
    scaling = scaling_settings(ASYNC)

    (target,) = template["AWS::ApplicationAutoScaling::ScalableTarget"]
    assert contract.register_request(ENDPOINT, scaling) == without(target, "RoleARN")
    policies = {p["PolicyType"]: p for p in template["AWS::ApplicationAutoScaling::ScalingPolicy"]}
    tracking = contract.tracking_request(ENDPOINT, scaling)["TargetTrackingScalingPolicyConfiguration"]
    assert tracking == policies["TargetTrackingScaling"]["TargetTrackingScalingPolicyConfiguration"]
    step = contract.wake_policy_request(ENDPOINT, scaling)["StepScalingPolicyConfiguration"]
    assert step == policies["StepScaling"]["StepScalingPolicyConfiguration"]
    (alarm,) = template["AWS::CloudWatch::Alarm"]
    request = contract.wake_alarm_request(ENDPOINT, "arn:policy")
    assert without(request, "AlarmName", "AlarmDescription", "AlarmActions") == without(
        alarm, "AlarmDescription", "AlarmActions"
    )


@pytest.mark.parametrize("hosting", [ServerlessHosting(), RealtimeHosting(type="realtime")])
def test_hosting_without_autoscaling_sends_none(hosting):
    assert scaling_settings(hosting) is None


def test_a_settings_event_the_lambda_would_refuse_is_caught_by_its_own_check():
    assert contract.problems(scaling_settings(REALTIME)) == contract.problems(scaling_settings(ASYNC)) == []
    assert contract.problems({**scaling_settings(REALTIME), "min_capacity": 0}) == [
        "scaling.min_capacity: expected a whole number >= 1, got 0"
    ]


@pytest.fixture(scope="module")
def definitions(tmp_path_factory):
    """The deploy steps of a training model with real-time autoscaling (the config used to refuse it)
    and of an async one, in a probe app (no whole-stage synth)."""
    base = {"source": "training", "dataset": "churn", "target": "churned"}
    config = MlKitConfig.model_validate(
        {
            "environment": "sc",
            "region": "us-east-1",
            "models": {
                "scaled": {**base, "hosting": {"type": "realtime", "autoscaling": {"min": 1, "max": 3}}},
                "queued": {**base, "hosting": {"type": "async", "max": 2}},
            },
        }
    )
    app = mlkit_app(outdir=str(tmp_path_factory.mktemp("scaling")), context=CDK_CONTEXT)
    pipeline = cdk.Stack(app, "Pipeline")
    key = kms.Key.from_key_arn(pipeline, "Key", "arn:aws:kms:us-east-1:123456789012:key/probe")
    deployer = DeployStack(app, "Deploy", environment_name="sc", models=config.models, key=key)
    for label, model in config.models.items():
        steps = DeploySteps(
            pipeline,
            f"{label}Deploy",
            endpoint_name=names.endpoint_name("sc", label),
            model_label=label,
            hosting=model.hosting,
            deployer=deployer,
            execution_role=ExecutionRole(pipeline, f"{label}Role", description="probe"),
            key=key,
            artifacts_bucket=s3.Bucket.from_bucket_name(pipeline, f"{label}Artifacts", "artifacts"),
        )
        body = sfn.DefinitionBody.from_chainable(steps.chain.next(sfn.Succeed(pipeline, f"{label}Done")))
        sfn.StateMachine(pipeline, label, state_machine_name=label, definition_body=body)
    machines = Template.from_stack(pipeline).find_resources("AWS::StepFunctions::StateMachine")
    return {
        machine["Properties"]["StateMachineName"]: json.loads(
            render_tokens(machine["Properties"]["DefinitionString"])
        )
        for machine in machines.values()
    }


def test_the_pipeline_sends_the_hostings_scaling_to_deploy_and_scale(definitions):
    for label, hosting in (
        ("scaled", RealtimeHosting(type="realtime", autoscaling=Autoscaling(min=1, max=3))),
        ("queued", AsyncHosting(type="async", max=2)),
    ):
        states = definitions[label]["States"]
        expected = scaling_settings(hosting)
        assert states[DEPLOY_STATE]["Parameters"]["scaling"] == expected, label
        assert states[SCALE_STATE]["Parameters"] == {
            "action": "scale",
            "endpoint_name": f"mlkit-sc-{label}",
            "scaling": expected,
        }
        assert states[SCALE_STATE]["ResultPath"] == "$.scaling"
        # Both ways to InService (already, or after the wait) apply the scaling before going on.
        assert states["Already in service?"]["Choices"][0]["Next"] == SCALE_STATE
        assert states["Endpoint status?"]["Choices"][0]["Next"] == SCALE_STATE
        assert states[SCALE_STATE]["Next"] == "Endpoint in service"
