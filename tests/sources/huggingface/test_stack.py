"""Hugging Face source: one endpoint per model, each hosting type, TGI, gated models, safe updates, IAM."""

import json

import pytest
from aws_cdk.assertions import Match

from stacks.images import huggingface_uri, tgi_uri
from tests.model_entries import SENTIMENT
from tests.stacks.synth import config_from, synthesize

MODELS = {
    "sentiment": {
        **SENTIMENT,
        "hosting": {
            "type": "serverless",
            "memory_mb": 3072,
            "max_concurrency": 5,
            "provisioned_concurrency": 1,
        },
    },
    "ranker": {
        "source": "huggingface",
        "model_id": "cross-encoder/ms-marco-MiniLM-L-6-v2",
        "task": "text-classification",
        "hosting": {
            "type": "realtime",
            "instance_type": "ml.m5.large",
            "initial_count": 2,
            "autoscaling": {"min": 1, "max": 4, "target_invocations_per_instance": 70},
        },
        "vpc": {"subnet_ids": ["subnet-0123456789abcdef0"], "security_group_ids": ["sg-0123456789abcdef0"]},
    },
    "summarizer": {
        "source": "huggingface",
        "model_id": "google/flan-t5-base",
        "task": "text2text-generation",
        "hosting": {"type": "async", "instance_type": "ml.m5.xlarge", "max": 3},
    },
    "llm": {
        "source": "huggingface",
        "model_id": "meta-llama/Llama-3.2-1B-Instruct",
        "task": "text-generation",
        "token_secret": "hf/token",
        "hosting": {"type": "realtime", "instance_type": "ml.g5.xlarge"},
    },
}


@pytest.fixture(scope="module")
def app():
    return synthesize(config_from({"environment": "hf", "region": "eu-west-1", "models": MODELS}))


def resources(app, model, resource_type):
    return list(app.resources(model, resource_type).values())


def only(app, model, resource_type):
    found = resources(app, model, resource_type)
    assert len(found) == 1, found
    return found[0]["Properties"]


def container(app, model):
    return only(app, model, "AWS::SageMaker::Model")["PrimaryContainer"]


def test_one_stack_and_one_stable_endpoint_per_model(app):
    models = sorted(
        name for name in app.templates if name not in {"mlkit-hf-data", "mlkit-hf-api", "mlkit-hf-operations"}
    )
    assert models == ["mlkit-hf-llm", "mlkit-hf-ranker", "mlkit-hf-sentiment", "mlkit-hf-summarizer"]
    for model in MODELS:
        assert only(app, model, "AWS::SageMaker::Endpoint")["EndpointName"] == f"mlkit-hf-{model}"


def test_serverless_config_and_no_kms_on_serverless(app):
    variant = only(app, "sentiment", "AWS::SageMaker::EndpointConfig")["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 5,
        "ProvisionedConcurrency": 1,
    }
    assert "KmsKeyId" not in only(app, "sentiment", "AWS::SageMaker::EndpointConfig")
    assert resources(app, "sentiment", "AWS::ApplicationAutoScaling::ScalableTarget") == []


def test_realtime_autoscaling_target_and_policy(app):
    config = only(app, "ranker", "AWS::SageMaker::EndpointConfig")
    assert config["ProductionVariants"][0] | {"ModelName": None} == {
        "VariantName": "AllTraffic",
        "InitialVariantWeight": 1,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 2,
        "ModelName": None,
    }
    assert "KmsKeyId" in config
    target = only(app, "ranker", "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    assert target["ResourceId"] == "endpoint/mlkit-hf-ranker/variant/AllTraffic"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    policy = only(app, "ranker", "AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 70
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "SageMakerVariantInvocationsPerInstance"
    )
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (300, 60)


def test_async_config_with_encrypted_topics_and_scale_to_zero(app):
    config = only(app, "summarizer", "AWS::SageMaker::EndpointConfig")["AsyncInferenceConfig"]
    output = config["OutputConfig"]
    assert set(output["NotificationConfig"]) == {"SuccessTopic", "ErrorTopic"}
    assert "/async-output/summarizer/" in json.dumps(output["S3OutputPath"])
    assert "/async-failures/summarizer/" in json.dumps(output["S3FailurePath"])
    assert "KmsKeyId" in output
    for topic in resources(app, "summarizer", "AWS::SNS::Topic"):
        assert "KmsMasterKeyId" in topic["Properties"]
    assert len(resources(app, "summarizer", "AWS::SNS::Topic")) == 2
    target = only(app, "summarizer", "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 3)
    kinds = sorted(
        p["Properties"]["PolicyType"]
        for p in resources(app, "summarizer", "AWS::ApplicationAutoScaling::ScalingPolicy")
    )
    assert kinds == ["StepScaling", "TargetTrackingScaling"]


def test_images_are_the_sdk_images_for_the_region(app):
    assert container(app, "sentiment")["Image"] == huggingface_uri(
        "eu-west-1", transformers_version=None, pytorch_version=None, gpu=False
    )
    assert container(app, "llm")["Image"] == tgi_uri("eu-west-1", version=None)
    assert "huggingface-pytorch-tgi-inference" in container(app, "llm")["Image"]
    assert container(app, "summarizer")["Environment"]["HF_TASK"] == "text2text-generation"


def test_gated_model_reads_only_its_secret_and_template_holds_no_token(app):
    environment = container(app, "llm")["Environment"]
    assert environment["HF_TOKEN"] == "{{resolve:secretsmanager:hf/token:SecretString}}"
    statements = [
        s
        for p in resources(app, "llm", "AWS::IAM::Policy")
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    secret = [s for s in statements if "secretsmanager:GetSecretValue" in s["Action"]]
    assert len(secret) == 1
    assert json.dumps(secret[0]["Resource"]).endswith(':secret:hf/token-??????"]]}')
    for other in ("sentiment", "ranker", "summarizer"):
        assert "secretsmanager" not in json.dumps(resources(app, other, "AWS::IAM::Policy"))


def test_execution_role_is_least_privilege(app):
    template = app.template("sentiment")
    template.has_resource_properties("AWS::IAM::Role", {"ManagedPolicyArns": Match.absent()})
    document = json.dumps(resources(app, "sentiment", "AWS::IAM::Policy"))
    assert "repository/huggingface-pytorch-inference" in document
    assert "/aws/sagemaker/Endpoints/mlkit-hf-sentiment:*" in document
    assert "s3:" not in document and "AmazonSageMakerFullAccess" not in document


def test_vpc_placement(app):
    vpc = only(app, "ranker", "AWS::SageMaker::Model")["VpcConfig"]
    assert vpc == {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}


@pytest.mark.parametrize("model", list(MODELS))
def test_updates_are_blue_green_with_rollback_alarms(app, model):
    deployment = only(app, model, "AWS::SageMaker::Endpoint")["DeploymentConfig"]
    policy = deployment["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300}
    alarms = {a["AlarmName"] for a in deployment["AutoRollbackConfiguration"]["Alarms"]}
    assert alarms == {f"mlkit-hf-{model}-5xx", f"mlkit-hf-{model}-latency"}
    rollback = {
        a["Properties"]["AlarmName"]: a["Properties"]["MetricName"]
        for a in resources(app, model, "AWS::CloudWatch::Alarm")
        if a["Properties"].get("AlarmName") in alarms
    }
    assert sorted(rollback.values()) == ["Invocation5XXErrors", "ModelLatency"]
