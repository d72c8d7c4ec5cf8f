"""The emulator's IAM decides the deploy Lambda's autoscaling calls (mlkit/access/autoscaling.py) against the
deploy role's own grants (stacks/deploy_access.py): enough for its endpoints, nothing for another's."""

import json

import pytest

from lambdas.shared import scaling_requests as contract
from stacks.deploy_access import PASS_ROLE, PASS_ROLE_CONDITION, deploy_grants, scaling_statements
from tests.lambdas.deploy_events import ASYNC_SCALING
from tests.mlkit.test_access_enforcer import clients_as, denied_message, emulation, role  # noqa: F401

ACCOUNT, REGION = "123456789012", "us-east-1"
ENDPOINT = "mlkit-dev-churn"
SCALING = ASYNC_SCALING


def deploy_statements(drop: tuple[str, ...] = ()) -> list[dict]:
    """The deploy role's statements for one pipeline model, as the deploy stack writes them (less the
    actions in ``drop``)."""
    statements = [
        {
            "Effect": "Allow",
            "Action": list(grant.actions),
            "Resource": grant.resource,
            **({"Condition": PASS_ROLE_CONDITION} if grant.actions == PASS_ROLE else {}),
        }
        for grant in deploy_grants("dev", ["churn"], partition="aws", account=ACCOUNT, region=REGION)
    ]
    for actions, resources, condition in scaling_statements(partition="aws", account=ACCOUNT):
        statement = {"Effect": "Allow", "Action": list(actions), "Resource": resources}
        statements.append({**statement, **({"Condition": condition} if condition else {})})
    kept = [{**s, "Action": [a for a in s["Action"] if a not in drop]} for s in statements]
    return [s for s in kept if s["Action"]]


def scale_as(emulation, statements: list[dict], endpoint: str = ENDPOINT) -> None:  # noqa: F811
    """What lambdas/shared/scaling.py's apply sends for an async endpoint, signed as the role."""
    clients = clients_as(emulation, role(f"deploy-{len(statements)}", *statements), "deploy")
    autoscaling = clients("application-autoscaling")
    autoscaling.register_scalable_target(**contract.register_request(endpoint, SCALING))
    autoscaling.put_scaling_policy(**contract.tracking_request(endpoint, SCALING))
    wake = autoscaling.put_scaling_policy(**contract.wake_policy_request(endpoint, SCALING))
    clients("cloudwatch").put_metric_alarm(**contract.wake_alarm_request(endpoint, wake["PolicyARN"]))
    autoscaling.describe_scaling_policies(**contract.target(endpoint))
    autoscaling.delete_scaling_policy(PolicyName=contract.WAKE_POLICY_NAME, **contract.target(endpoint))
    clients("cloudwatch").delete_alarms(AlarmNames=[contract.wake_alarm_name(endpoint)])
    autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")
    autoscaling.deregister_scalable_target(**contract.target(endpoint))


def test_the_deploy_roles_grants_let_it_scale_its_endpoint_with_nothing_denied(emulation):  # noqa: F811
    scale_as(emulation, deploy_statements())

    ledger = emulation.ledgers["deploy"]
    assert ledger.calls == 9 and ledger.denials == []
    assert {
        "application-autoscaling:RegisterScalableTarget",
        "iam:CreateServiceLinkedRole",
        "sagemaker:UpdateEndpointWeightsAndCapacities",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
    } <= set(ledger.checked)


@pytest.mark.parametrize(
    "dropped, action",
    [
        (("iam:CreateServiceLinkedRole",), "iam:CreateServiceLinkedRole"),
        (("cloudwatch:PutMetricAlarm",), "cloudwatch:PutMetricAlarm"),
        (("sagemaker:UpdateEndpointWeightsAndCapacities",), "sagemaker:UpdateEndpointWeightsAndCapacities"),
        (
            ("application-autoscaling:RegisterScalableTarget",),
            "application-autoscaling:RegisterScalableTarget",
        ),
    ],
)
def test_each_grant_is_needed(emulation, dropped, action):  # noqa: F811
    message = denied_message(lambda: scale_as(emulation, deploy_statements(drop=dropped)))
    assert f"perform: {action} on resource" in message


def test_another_endpoint_or_another_service_is_refused(emulation):  # noqa: F811
    message = denied_message(lambda: scale_as(emulation, deploy_statements(), endpoint="mlkit-dev-other"))
    other = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/mlkit-dev-other"
    assert f"sagemaker:DescribeEndpoint on resource: {other}" in message
    clients = clients_as(emulation, role("deploy-ecs", *deploy_statements()), "deploy-ecs")
    ecs = {
        "ServiceNamespace": "ecs",
        "ResourceId": "service/default/web",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    message = denied_message(lambda: clients("application-autoscaling").deregister_scalable_target(**ecs))
    assert "application-autoscaling:DeregisterScalableTarget on resource: *" in message


def test_a_statement_the_emulator_reads_carries_the_condition_aws_evaluates():
    (writes,) = [s for s in deploy_statements() if "application-autoscaling:PutScalingPolicy" in s["Action"]]
    assert json.loads(json.dumps(writes["Condition"])) == {
        "StringEquals": {
            "application-autoscaling:service-namespace": "sagemaker",
            "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
        }
    }
