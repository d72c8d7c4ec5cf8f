"""Data capture: the endpoint config's capture settings, the role's grant, the Glue table, the refusals."""

import json

import pytest

from stacks.config import load_config
from stacks.config.loader import CONFIG_DIR
from stacks.constructs.data_capture import COLUMNS
from tests.config.test_config import model, problems
from tests.stacks.synth import render_tokens, synthesize


@pytest.fixture(scope="module")
def showcase():
    return synthesize(load_config(CONFIG_DIR / "showcase.yaml"))


@pytest.fixture(scope="module")
def dev():
    return synthesize(load_config(CONFIG_DIR / "dev.yaml"))


def test_a_cloudformation_endpoint_captures_as_configured(showcase):
    (config,) = showcase.resources("ner", "AWS::SageMaker::EndpointConfig").values()
    capture = config["Properties"]["DataCaptureConfig"]
    assert capture["InitialSamplingPercentage"] == 10
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert render_tokens(capture["DestinationS3Uri"]).endswith("/captures/ner")
    assert render_tokens(capture["DestinationS3Uri"]).startswith("s3://mlkit-showcase-artifacts-")
    assert "DataKey" in json.dumps(capture["KmsKeyId"])
    (summarizer,) = showcase.resources("summarizer", "AWS::SageMaker::EndpointConfig").values()
    assert summarizer["Properties"]["DataCaptureConfig"]["CaptureOptions"] == [{"CaptureMode": "Input"}]
    (sentiment,) = showcase.resources("sentiment", "AWS::SageMaker::EndpointConfig").values()
    assert "DataCaptureConfig" not in sentiment["Properties"]


def test_the_model_role_may_write_its_capture_prefix_only(showcase):
    policies = json.dumps([render_tokens(p) for p in _statements(showcase, "ner")])
    assert "/captures/ner/*" in policies
    assert "/captures/" not in json.dumps([render_tokens(p) for p in _statements(showcase, "sentiment")])


def _statements(app, part: str) -> list:
    return [
        statement["Resource"]
        for policy in app.resources(part, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_a_pipeline_endpoint_gets_capture_through_the_deploy_event(dev):
    (machine,) = dev.resources("resnet", "AWS::StepFunctions::StateMachine").values()
    definition = render_tokens(machine["Properties"]["DefinitionString"])
    assert '"data_capture_config":{"EnableCapture":true,"InitialSamplingPercentage":20' in definition
    assert "/captures/resnet" in definition


def test_a_glue_table_reads_the_captures(showcase):
    (table,) = showcase.resources("ner", "AWS::Glue::Table").values()
    table_input = table["Properties"]["TableInput"]
    assert table_input["Name"] == "capture_ner"
    assert table["Properties"]["DatabaseName"] == "mlkit_showcase_curated"
    descriptor = table_input["StorageDescriptor"]
    assert render_tokens(descriptor["Location"]).endswith("/captures/ner/")
    assert [column["Name"] for column in descriptor["Columns"]] == list(COLUMNS)
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"


def test_capture_on_serverless_is_refused_with_the_reason(tmp_path):
    body = model(
        "source: huggingface\nmodel_id: distilbert/distilbert-base-uncased\ntask: text-classification\n"
        "hosting: {type: serverless, capture: {sampling_percent: 5}}"
    )
    found = problems(tmp_path, body)
    assert any(
        "hosting.capture: serverless endpoints do not support data capture" in line for line in found
    ), found
