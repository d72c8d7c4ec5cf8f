"""`make train`: finds the model's state machine from its stack output and starts it with prepare."""

import json

import boto3
import pytest
from moto import mock_aws

from mlkit.train import TrainError, main, start
from tests.stacks.synth import config_from

CONFIG = config_from(
    {
        "environment": "dev",
        "region": "us-east-1",
        "models": {
            "churn": {"source": "training", "dataset": "churn", "target": "churned"},
            "chat": {"source": "bedrock", "model_id": "anthropic.claude-3-haiku-20240307-v1:0"},
        },
    }
)
ROLE = "arn:aws:iam::123456789012:role/states"


def deploy_model_stack(session, *, with_output: bool = True) -> str:
    machine = session.client("stepfunctions").create_state_machine(
        name="mlkit-dev-churn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"StateMachineArn": {"Value": machine}} if with_output else {},
    }
    session.client("cloudformation").create_stack(
        StackName="mlkit-dev-churn", TemplateBody=json.dumps(template)
    )
    return machine


@mock_aws
def test_starts_the_models_state_machine_with_prepare():
    session = boto3.Session(region_name="us-east-1")
    machine = deploy_model_stack(session)
    answer = start("churn", CONFIG, session)
    execution = session.client("stepfunctions").describe_execution(executionArn=answer["executionArn"])
    assert execution["stateMachineArn"] == machine
    assert json.loads(execution["input"]) == {"prepare": True}


@mock_aws
def test_refuses_unknown_and_untrainable_models_and_undeployed_stacks():
    session = boto3.Session(region_name="us-east-1")
    with pytest.raises(TrainError, match="no model 'nope'.*models: churn, chat"):
        start("nope", CONFIG, session)
    with pytest.raises(TrainError, match="chat is a bedrock model"):
        start("chat", CONFIG, session)
    with pytest.raises(TrainError, match="mlkit-dev-churn: .*deploy it first"):
        start("churn", CONFIG, session)
    deploy_model_stack(session, with_output=False)
    with pytest.raises(TrainError, match="no StateMachineArn output"):
        start("churn", CONFIG, session)


def test_command_line_reports_a_bad_model_with_exit_code_1(capsys):
    assert main(["no-such-model", "--env", "dev"]) == 1
    assert "no model 'no-such-model'" in capsys.readouterr().err
