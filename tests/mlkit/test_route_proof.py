"""The local run's route and hosting checks can fail: point the router elsewhere and they go red.

Each test runs the very function behind a report row against moto's server in a thread, with the
real router reading the registry the API stack would deploy (tests/mlkit/emulated.py).
"""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from mlkit import route_checks
from mlkit.hosting_checks import check_endpoint_config, template_endpoint
from mlkit.local_endpoint import seed_endpoint_body
from mlkit.report import FAILED, OK, Report, StepFailed
from mlkit.route_proof import prove_inline, recorded_calls, sample_request
from stacks.config import MlKitConfig
from stacks.names import async_prefixes, endpoint_name
from tests.mlkit.emulated import (
    ACCOUNT,
    bucket_names,
)
from tests.model_entries import SENTIMENT

ENV = "proof"
CONFIG = MlKitConfig.model_validate(
    {
        "environment": ENV,
        "region": "us-east-1",
        "models": {
            "sentiment": {
                **SENTIMENT,
                "hosting": {"type": "serverless", "memory_mb": 3072, "max_concurrency": 5},
            },
            "summarizer": {
                "source": "huggingface",
                "model_id": "sshleifer/distilbart-cnn-12-6",
                "task": "summarization",
                "hosting": {"type": "async", "instance_type": "ml.m5.xlarge"},
            },
            "vision": {
                "source": "huggingface",
                "model_id": "google/vit-base-patch16-224",
                "task": "image-classification",
            },
        },
    }
)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/model"
JSON = "application/json"


@pytest.fixture(scope="module")
def run(router_run):
    return router_run


def row_of(run, label: str, step: str, action):
    report = Report()
    report.attempt(label, step, None, action)
    return report.rows[0]


def route_row(run, label: str, check, text: str):
    """The row ``check`` gives a fresh JSON request to ``label`` (fresh: moto replays a seen request)."""
    request = json.dumps({"inputs": f"{text} {uuid.uuid4().hex}"})
    return row_of(run, label, "route", lambda row: check(row, run, label, request, JSON))


def inline_row(run):
    return route_row(run, "sentiment", route_checks.inline_endpoint, "great kit")


def queued_row(run):
    return route_row(run, "summarizer", route_checks.queued_detail, "a long text")


def test_the_route_check_passes_when_the_router_calls_the_registered_endpoint(run):
    row = inline_row(run)
    assert row.status == OK, row.detail
    assert f"recorded one InvokeEndpoint to {endpoint_name(ENV, 'sentiment')} with" in row.detail


def test_a_binary_route_gets_bytes_of_its_first_declared_type(run):
    request, content_type = sample_request(CONFIG.models["vision"].resolved_content_types, JSON, "pixels")
    assert (request, content_type) == (b"pixels", "image/jpeg")
    step = lambda row: route_checks.inline_endpoint(row, run, "vision", request, content_type)  # noqa: E731
    row = row_of(run, "vision", "route", step)
    assert row.status == OK, row.detail
    assert "(image/jpeg) → 200" in row.detail and "request's 6 bytes" in row.detail


def test_a_router_pointed_at_another_endpoint_fails_the_route_check(run, retarget):
    retarget("sentiment", endpoint_name=endpoint_name(ENV, "sentiment") + "-WRONG")
    row = inline_row(run)
    assert row.status == FAILED
    wrong = f"{endpoint_name(ENV, 'sentiment')}-WRONG"
    assert row.detail == (
        f"the router's InvokeEndpoint reached the emulator with endpoint {wrong!r}, "
        f"not {endpoint_name(ENV, 'sentiment')!r}"
    )


def test_a_router_that_changes_the_bytes_fails_the_route_check(run, monkeypatch):
    from shared import aws

    runtime = aws.client("sagemaker-runtime")  # the router's own client
    original = runtime.invoke_endpoint
    monkeypatch.setattr(
        runtime, "invoke_endpoint", lambda **call: original(**{**call, "Body": call["Body"] + b" "})
    )
    row = inline_row(run)
    assert row.status == FAILED and "reached the emulator with body b'{" in row.detail


def test_the_router_must_pass_the_endpoints_answer_through(run, monkeypatch):
    request = json.dumps({"inputs": uuid.uuid4().hex})
    from shared import http

    original = http.passthrough_reply
    monkeypatch.setattr(http, "passthrough_reply", lambda body, content_type: original(b"{}", content_type))
    with pytest.raises(StepFailed, match="not the endpoint's"):
        prove_inline(run, "sentiment", request, JSON, '{"label": "x"}', JSON)


def test_the_async_check_reads_the_stored_request_and_replays_its_location(run):
    row = queued_row(run)
    assert row.status == OK, row.detail
    prefix = f"s3://{bucket_names(ENV)['artifacts']}/{async_prefixes('summarizer')['input']}"
    assert f"→ 202; {prefix}" in row.detail
    assert f"InvokeEndpointAsync of that object to {endpoint_name(ENV, 'summarizer')}" in row.detail


def test_an_async_router_pointed_at_another_endpoint_fails(run, retarget):
    retarget("summarizer", endpoint_name=endpoint_name(ENV, "summarizer") + "-WRONG")
    row = queued_row(run)
    assert row.status == FAILED
    assert row.detail.startswith("the router's InvokeEndpointAsync reached the emulator with endpoint ")


def test_an_async_request_stored_outside_the_models_prefix_fails(run, retarget):
    location = run.router.SETTINGS.models["summarizer"].input_location
    retarget("summarizer", input_location=location._replace(prefix="async-input/someone-else/"))
    row = queued_row(run)
    assert row.status == FAILED and "expected one new object" in row.detail


def deploy_endpoint(run, name: str, variant: dict, async_config: dict | None = None) -> None:
    sagemaker = run.clients("sagemaker")
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "hf"})
    extra = {"AsyncInferenceConfig": async_config} if async_config else {}
    variant = {"VariantName": "AllTraffic", "ModelName": name, **variant}
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant], **extra)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)


def test_the_hosting_check_compares_the_endpoint_config_with_the_config(run):
    artifacts = bucket_names(ENV)["artifacts"]
    serverless = CONFIG.models["sentiment"]
    deploy_endpoint(run, "as-configured", {"ServerlessConfig": {"MemorySizeInMB": 3072, "MaxConcurrency": 5}})
    deploy_endpoint(run, "too-small", {"ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 5}})
    summary = check_endpoint_config(
        run.clients("sagemaker"), "as-configured", serverless, "sentiment", artifacts
    )
    assert summary == "as-configured: serverless, 3072 MB, concurrency 5"
    with pytest.raises(StepFailed, match="ServerlessConfig.MemorySizeInMB is 1024, the config says 3072"):
        check_endpoint_config(run.clients("sagemaker"), "too-small", serverless, "sentiment", artifacts)


def test_the_hosting_check_wants_async_answers_under_the_models_output_prefix(run):
    artifacts = bucket_names(ENV)["artifacts"]
    model = CONFIG.models["summarizer"]
    instances = {"InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1}

    def async_config(output: str) -> dict:
        return {
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
            "OutputConfig": {
                "S3OutputPath": f"s3://{artifacts}/{output}",
                "S3FailurePath": f"s3://{artifacts}/async-failures/summarizer/",
            },
        }

    deploy_endpoint(run, "async-right", instances, async_config("async-output/summarizer/"))
    deploy_endpoint(run, "async-wrong", instances, async_config("async-output/sentiment/"))
    assert "answers under s3://" in check_endpoint_config(
        run.clients("sagemaker"), "async-right", model, "summarizer", artifacts
    )
    with pytest.raises(StepFailed, match="async.OutputConfig.S3OutputPath is .*async-output/sentiment/"):
        check_endpoint_config(run.clients("sagemaker"), "async-wrong", model, "summarizer", artifacts)


def endpoint_stack(name: str, endpoint: str) -> dict:
    config = {
        "VariantName": "AllTraffic",
        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
        "ServerlessConfig": {"MemorySizeInMB": 3072, "MaxConcurrency": 5},
    }
    return {
        "Resources": {
            "Model": {
                "Type": "AWS::SageMaker::Model",
                "Properties": {"ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "hf"}},
            },
            "Config": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {"ProductionVariants": [config]},
            },
            "Endpoint": {
                "Type": "AWS::SageMaker::Endpoint",
                "Properties": {
                    "EndpointName": endpoint,
                    "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
                },
            },
        }
    }


def test_the_template_must_name_the_endpoint_the_router_calls(run):
    cloudformation, expected = run.clients("cloudformation"), endpoint_name(ENV, "sentiment")
    for stack, named in (("named-right", expected), ("named-wrong", f"{expected}-WRONG")):
        cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(endpoint_stack(stack, named)))
    emulated = template_endpoint(cloudformation, "named-right", expected)
    summary = check_endpoint_config(
        run.clients("sagemaker"), emulated, CONFIG.models["sentiment"], "sentiment", "unused"
    )
    assert "serverless, 3072 MB" in summary
    with pytest.raises(StepFailed, match=f"named-wrong names its endpoint '{expected}-WRONG'"):
        template_endpoint(cloudformation, "named-wrong", expected)


@pytest.fixture
def patched_moto(monkeypatch):
    """mlkit/emulator_server.py's patches, on this process's moto (the server thread) for one test."""
    from mlkit import emulator_server

    for owner, attribute, replacement in emulator_server.PATCHES:
        monkeypatch.setattr(owner, attribute, replacement, raising=False)


def test_the_emulator_server_accepts_instance_types_newer_than_motos_list(run, patched_moto):
    deploy_endpoint(run, "gpu", {"InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1})
    with pytest.raises(ClientError, match="is not an ml.\\* instance type"):
        deploy_endpoint(run, "bogus", {"InstanceType": "g5.xlarge", "InitialInstanceCount": 1})


def test_the_emulator_server_attaches_a_functions_layers(run, patched_moto):
    s3, role = run.s3(), run.clients("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
    bucket = bucket_names(ENV)["artifacts"]
    s3.put_object(Bucket=bucket, Key="layer.zip", Body=layer_zip())
    layer = {"S3Bucket": bucket, "S3Key": "layer.zip"}
    function = {
        "Runtime": "python3.12",
        "Handler": "router.handler",
        "Role": role["Role"]["Arn"],
        "Code": {"ZipFile": "def handler(event, context): pass"},
        "Layers": [{"Ref": "Layer"}],
    }
    template = {
        "Resources": {
            "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": layer}},
            "Function": {"Type": "AWS::Lambda::Function", "Properties": function},
        }
    }
    cloudformation = run.clients("cloudformation")
    cloudformation.create_stack(StackName="layered", TemplateBody=json.dumps(template))
    resources = cloudformation.describe_stack_resources(StackName="layered")["StackResources"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    configuration = run.clients("lambda").get_function_configuration(FunctionName=physical["Function"])
    assert [layer["Arn"] for layer in configuration["Layers"]] == [physical["Layer"]]


def layer_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mlkit/registry.json", "{}")
    return buffer.getvalue()


def test_the_emulator_server_takes_binary_bodies_and_keeps_network_isolation(run, patched_moto):
    image = bytes(range(256))  # not UTF-8: moto alone answers 500
    seed_endpoint_body(run.emulator.endpoint, '{"ok": true}', "application/json")
    with recorded_calls(run.emulator.endpoint) as calls:
        answer = run.clients("sagemaker-runtime").invoke_endpoint(
            EndpointName="binary", Body=image, ContentType="image/png", Accept="application/json"
        )
    assert answer["Body"].read() == b'{"ok": true}'
    assert [call.body for call in calls] == [image]
    sagemaker = run.clients("sagemaker")
    for name, isolated in (("isolated", True), ("open", False)):
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/model",
            PrimaryContainer={"Image": "image"},
            EnableNetworkIsolation=isolated,
        )
        assert sagemaker.describe_model(ModelName=name)["EnableNetworkIsolation"] is isolated


def test_the_emulator_server_keeps_a_log_groups_key(run, patched_moto):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    properties = {"LogGroupName": "/mlkit/encrypted", "KmsKeyId": key, "RetentionInDays": 90}
    template = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": properties}}}
    run.clients("cloudformation").create_stack(StackName="logged", TemplateBody=json.dumps(template))
    (group,) = run.clients("logs").describe_log_groups(logGroupNamePrefix="/mlkit/encrypted")["logGroups"]
    assert (group["kmsKeyId"], group["retentionInDays"]) == (key, 90)
