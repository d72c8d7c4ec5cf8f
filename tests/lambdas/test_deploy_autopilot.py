"""An Autopilot best candidate deployed through the deploy Lambda, with the real state machine.

The synthesized definition is walked state by state (tests/stacks/autopilot_walk.py). Every
SageMaker call is answered by moto, and the deploy Lambda runs in-process against moto, except
DescribeAutoMLJobV2: moto's AutoML job never completes and its BestCandidate is a placeholder
(test_moto_cannot_complete_an_autopilot_job), so a botocore Stubber answers it with a recorded
description that botocore validates against the API's output shape.
"""

import datetime
import json
import re

import boto3
import deploy
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from shared.aws import client

from tests.sources.autopilot.test_stack import (
    CONFIG,
    ENSEMBLE,
    HPO_CLASSIFICATION,
    MODELS,
    sdk_inference_containers,
)
from tests.stacks.autopilot_walk import TaskFailed, render_definition, run
from tests.stacks.synth import config_from, synthesize

# Its synthesized state machines are a module fixture: one xdist worker runs the module.
pytestmark = pytest.mark.xdist_group("autopilot-definitions")

ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:mlkit-ap-deploy"
WHEN = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def concrete(definition: dict) -> dict:
    """The rendered definition with its <tokens> as values moto and the deploy Lambda accept."""

    def value(match: re.Match) -> str:
        token = match.group(1)
        if token in ("AWS::Partition", "AWS::AccountId"):
            return {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT}[token]
        if "DataKey" in token:
            return KEY_ARN
        if "DeployFunction" in token:
            return FUNCTION_ARN
        if "Role" in token and token.endswith(".Arn"):
            return f"arn:aws:iam::{ACCOUNT}:role/{token.split('.')[0]}"
        raise AssertionError(f"no value for token {token}")

    return json.loads(re.sub(r"<([^<>\"]+)>", value, json.dumps(definition)))


@pytest.fixture(scope="module")
def definitions():
    app = synthesize(config_from(CONFIG))
    return {
        label: concrete(render_definition(app.raw[f"mlkit-ap-{label}"]))
        for label in ("churn-automl", "price")
    }


def description(status: str, containers: list | None = None) -> dict:
    """A DescribeAutoMLJobV2 answer as SageMaker gives it (the Stubber checks its shape)."""
    answer = {
        "AutoMLJobName": "recorded",
        "AutoMLJobArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:automl-job/recorded",
        "AutoMLJobInputDataConfig": [
            {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://curated/churn/autopilot/"}
                }
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://artifacts/models/churn-automl/autopilot/"},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/autopilot",
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
        "AutoMLJobStatus": status,
        "AutoMLJobSecondaryStatus": "Completed" if containers else "Training",
    }
    if containers:
        answer["BestCandidate"] = {
            "CandidateName": "recorded-best",
            "ObjectiveStatus": "Succeeded",
            "CandidateSteps": [],
            "CandidateStatus": "Completed",
            "CreationTime": WHEN,
            "LastModifiedTime": WHEN,
            "InferenceContainers": containers,
        }
    return answer


class MotoServices:
    """Answers the walked Task states: moto for SageMaker, the deploy Lambda in-process, and the
    stubbed client for DescribeAutoMLJobV2."""

    def __init__(self, describer):
        self.sagemaker = client("sagemaker")
        self.describer = describer

    def __call__(self, resource: str, params: dict):
        if resource == FUNCTION_ARN:
            return deploy.handler(params, None)
        service, action = resource.split(":::aws-sdk:")[1].split(":")
        operation = action[0].upper() + action[1:]
        target = self.describer if operation == "DescribeAutoMLJobV2" else client(service)
        try:
            answer = getattr(target, xform_name(operation))(**params)
        except ClientError as err:
            error = err.response["Error"]
            raise TaskFailed(f"SageMaker.{error['Code']}", error["Message"]) from err
        answer.pop("ResponseMetadata", None)
        return json.loads(json.dumps(answer, default=str))  # Step Functions passes JSON


def walk_with_moto(definition: dict, containers: list, group: str):
    sagemaker = client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=group)  # CloudFormation's, in AWS
    describer = boto3.client("sagemaker", region_name="us-east-1")
    stubber = Stubber(describer)
    stubber.add_response("describe_auto_ml_job_v2", description("InProgress"))
    stubber.add_response("describe_auto_ml_job_v2", description("Completed", containers))
    with stubber:
        result = run(definition, {}, MotoServices(describer))
        stubber.assert_no_pending_responses()
    return result


def endpoint_model(sagemaker, endpoint_name: str) -> dict:
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    assert endpoint["EndpointStatus"] == "InService"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    return sagemaker.describe_model(ModelName=variant["ModelName"]), variant


def test_moto_cannot_complete_an_autopilot_job(aws, definitions):
    """Why DescribeAutoMLJobV2 is stubbed: moto's job stays InProgress with a placeholder candidate."""
    parameters = definitions["churn-automl"]["States"]["Start Autopilot"]["Parameters"]
    request = {key: value for key, value in parameters.items() if not key.endswith(".$")}
    sagemaker = client("sagemaker")
    sagemaker.create_auto_ml_job_v2(AutoMLJobName="chur0000-000000000000", **request)
    answer = sagemaker.describe_auto_ml_job_v2(AutoMLJobName="chur0000-000000000000")
    assert answer["AutoMLJobStatus"] == "InProgress"
    assert answer["BestCandidate"]["InferenceContainers"][0]["Image"] == "string"


def test_multi_container_best_candidate_becomes_an_inference_pipeline_in_order(aws, definitions):
    result = walk_with_moto(definitions["churn-automl"], HPO_CLASSIFICATION, "mlkit-ap-churn-automl")

    assert (result.outcome, result.error) == ("Succeed", None), result.cause
    sagemaker = client("sagemaker")
    (created,) = result.called(":createAutoMLJobV2")
    job = sagemaker.describe_auto_ml_job_v2(AutoMLJobName=created["AutoMLJobName"])  # moto kept the request
    assert job["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"] == "churned"
    assert [call["AutoMLJobName"] for call in result.called(":describeAutoMLJobV2")] == [
        created["AutoMLJobName"]
    ] * 2

    expected = sdk_inference_containers(HPO_CLASSIFICATION, MODELS["churn-automl"]["inference_output"])
    model, variant = endpoint_model(sagemaker, "mlkit-ap-churn-automl")
    assert model["Containers"] == expected
    assert [c["Image"].rsplit("/", 1)[1] for c in model["Containers"]] == [
        "sagemaker-sklearn-automl:2.5-1-cpu-py3",
        "sagemaker-xgboost:1.7-1",
        "sagemaker-sklearn-automl:2.5-1-cpu-py3",
    ]
    assert not model.get("PrimaryContainer")  # moto answers {} for a pipeline model
    assert model["ExecutionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/ModelRole997FC3A9"
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.large", 1)

    (package,) = sagemaker.list_model_packages(ModelPackageGroupName="mlkit-ap-churn-automl")[
        "ModelPackageSummaryList"
    ]
    registered = sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])
    assert registered["InferenceSpecification"]["Containers"] == expected
    assert registered["ModelApprovalStatus"] == "Approved"


def test_rerun_on_the_same_candidate_changes_nothing(aws, definitions):
    first = walk_with_moto(definitions["churn-automl"], HPO_CLASSIFICATION, "mlkit-ap-churn-automl")
    sagemaker = client("sagemaker")
    models = sagemaker.list_models()["Models"]
    describer = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(describer) as stubber:
        stubber.add_response("describe_auto_ml_job_v2", description("Completed", HPO_CLASSIFICATION))
        second = run(definitions["churn-automl"], {}, MotoServices(describer))

    assert first.outcome == second.outcome == "Succeed"
    calls = [params for resource, params in second.calls if resource == FUNCTION_ARN]
    (answer,) = [params for params in calls if params.get("action") != "scale"]
    assert "Already in service?" in second.visited and "Wait for endpoint" not in second.visited
    # Unchanged, the endpoint's scaling is still re-applied (here: none, for a serverless endpoint).
    assert calls[-1] == {"action": "scale", "endpoint_name": "mlkit-ap-churn-automl"}
    assert sagemaker.list_models()["Models"] == models
    assert len(answer["containers"]) == 3


def test_single_container_candidate_is_served_serverless(aws, definitions):
    result = walk_with_moto(definitions["price"], ENSEMBLE, "mlkit-ap-price")

    assert result.outcome == "Succeed", result.cause
    model, variant = endpoint_model(client("sagemaker"), "mlkit-ap-price")
    assert model["PrimaryContainer"] == ENSEMBLE[0]  # predicted_label only: Autopilot's own settings
    assert "ServerlessConfig" in variant
