"""The router's registry: valid entries parse into typed models; every deploy mistake fails loudly."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from router_events import REGISTRY
from shared.registry import (
    DEFAULT_MAX_BODY_BYTES,
    BedrockModel,
    ConfigError,
    Guardrail,
    S3Location,
    SageMakerModel,
    load_settings,
    parse_registry,
)

ROOT = Path(__file__).resolve().parents[2]


def registry_with(name: str, **changes) -> str:
    """The test registry with one entry's keys changed (a value of None removes the key)."""
    registry = copy.deepcopy(REGISTRY)
    for key, value in changes.items():
        if value is None:
            registry[name].pop(key, None)
        else:
            registry[name][key] = value
    return json.dumps(registry)


def test_sagemaker_entries_parse_into_typed_models():
    models = parse_registry(json.dumps(REGISTRY))

    assert models["churn"] == SageMakerModel(
        name="churn",
        source="training",
        endpoint_name="mlkit-churn",
        hosting="realtime",
        content_types=("text/csv", "application/json"),
    )
    assert models["churn-async"].input_location == S3Location("mlkit-test-data", "async-input/churn-async/")
    assert models["churn-async"].output_location.uri == "s3://mlkit-test-data/async-output/churn-async/"


def test_bedrock_entries_parse_with_defaults_limits_and_guardrail():
    models = parse_registry(json.dumps(REGISTRY))

    chat = models["chat"]
    assert isinstance(chat, BedrockModel)
    assert chat.model_id == "anthropic.claude-3-haiku-20240307-v1:0"
    assert chat.inference == {"max_tokens": 512, "temperature": 0.5, "top_p": 0.9}
    assert chat.limits == {"max_tokens": 2048}
    assert chat.guardrail == Guardrail("gr-123", "1")
    assert models["plain-chat"].inference == {} and models["plain-chat"].guardrail is None


def test_async_locations_gain_a_trailing_slash_and_media_types_are_lower_cased():
    text = registry_with("churn-async", input_location="s3://mlkit-test-data/in", content_types=["Text/CSV "])

    model = parse_registry(text)["churn-async"]

    assert model.input_location.prefix == "in/"
    assert model.content_types == ("text/csv",)


def test_settings_read_max_body_bytes_with_a_default():
    registry = json.dumps(REGISTRY)

    assert load_settings({"MODEL_REGISTRY": registry}).max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1048576
    assert load_settings({"MODEL_REGISTRY": registry, "MAX_BODY_BYTES": "2048"}).max_body_bytes == 2048


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "MODEL_REGISTRY is not set"),
        ("{not json", "MODEL_REGISTRY is not valid JSON"),
        ("[]", "must be a JSON object of model name -> entry, not an array"),
        ('{"bad name!": {"source": "bedrock", "model_id": "m"}}', "model name 'bad name!' must be"),
        ('{"m": "bedrock"}', "model 'm': entry must be an object"),
        (
            '{"m": {"source": "pytorch-hub"}}',
            "source must be one of huggingface, training, autopilot, bedrock",
        ),
        (registry_with("churn", endpoint_name=None), "model 'churn': endpoint_name is required"),
        (registry_with("churn", endpoint_name=""), "model 'churn': endpoint_name must be a non-empty string"),
        (
            registry_with("churn", hosting="batch"),
            "hosting must be one of serverless, realtime, async (got 'batch')",
        ),
        (registry_with("churn", content_types=[]), "content_types must be a non-empty list"),
        (registry_with("churn", content_types=["csv"]), "invalid media type(s) ['csv']"),
        (registry_with("churn", content_type=["text/csv"]), "unknown key(s) content_type"),
        (
            registry_with("churn-async", input_location=None),
            "model 'churn-async': input_location is required",
        ),
        (registry_with("churn-async", output_location="bucket/out/"), "output_location must be an s3://"),
        (registry_with("churn", input_location="s3://b-1/x/"), "input_location is only for hosting 'async'"),
        (registry_with("chat", model_id=None), "model 'chat': model_id is required"),
        (registry_with("chat", inference={"max_tokens": 0}), "inference.max_tokens must be a whole number"),
        (registry_with("chat", inference={"temperature": "hot"}), "inference.temperature must be a number"),
        (registry_with("chat", inference={"top_k": 5}), "inference has unknown key(s) top_k"),
        (registry_with("chat", limits={"top_p": 1.5}), "limits.top_p must be between 0 and 1"),
        (
            registry_with("chat", limits={"max_tokens": 100}),
            "inference.max_tokens default 512 is over limits",
        ),
        (registry_with("chat", guardrail={"identifier": "g"}), "guardrail.version is required"),
        (registry_with("chat", guardrail="g"), "guardrail must be an object"),
    ],
)
def test_a_bad_registry_is_refused_with_the_model_and_key(text, message):
    with pytest.raises(ConfigError) as raised:
        parse_registry(text)

    assert message in str(raised.value)


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1.5"])
def test_a_bad_max_body_bytes_is_refused(value):
    with pytest.raises(ConfigError, match="MAX_BODY_BYTES must be a positive whole number"):
        load_settings({"MODEL_REGISTRY": json.dumps(REGISTRY), "MAX_BODY_BYTES": value})


def test_a_bad_registry_fails_the_lambda_cold_start_with_its_reason():
    env = {key: value for key, value in os.environ.items() if key != "MODEL_REGISTRY"}
    env.update(PYTHONPATH=str(ROOT / "lambdas"), MODEL_REGISTRY=registry_with("churn", hosting="batch"))

    result = subprocess.run(
        [sys.executable, "-c", "import router"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    assert "ConfigError: MODEL_REGISTRY: model 'churn': hosting must be one of" in result.stderr


def test_the_cold_start_skips_unused_powertools_resolvers_yet_keeps_them_importable():
    """shared.rest_resolver imports only Powertools' REST resolver; the rest load on first use."""
    code = """
import sys, router
print("asyncio" in sys.modules)
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, AppSyncResolver, content_types
print(APIGatewayRestResolver is router.APIGatewayRestResolver, AppSyncResolver.__name__)
print(content_types.APPLICATION_JSON)
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lambdas"), MODEL_REGISTRY=json.dumps(REGISTRY))

    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "AppSyncResolver", "application/json"]
