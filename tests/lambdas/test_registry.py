"""The router's registry: valid entries parse into typed models; every deploy mistake fails loudly."""

import copy
import json
import os
from pathlib import Path

import pytest
from router_events import BUCKET, ENDPOINTS, GUARDRAILS, REGISTRY, router_environment
from shared.registry import (
    ARTIFACTS_BUCKET_VARIABLE,
    DEFAULT_MAX_BODY_BYTES,
    FILE_VARIABLE,
    GUARDRAILS_VARIABLE,
    BedrockModel,
    ConfigError,
    Guardrail,
    S3Location,
    SageMakerModel,
    load_settings,
    parse_registry,
    registry_document,
)

from tests.python_files import run_python

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = {"artifacts_bucket": BUCKET, "guardrails": {"chat": Guardrail("gr-123", "1")}}


def document(models: dict) -> str:
    return json.dumps({"format": 1, "models": models})


def registry_with(name: str, **changes) -> str:
    """The test registry with one entry's keys changed (a value of None removes the key)."""
    registry = copy.deepcopy(REGISTRY)
    for key, value in changes.items():
        if value is None:
            registry[name].pop(key, None)
        else:
            registry[name][key] = value
    return document(registry)


def test_sagemaker_entries_parse_into_typed_models():
    models = parse_registry(document(REGISTRY), **DEPLOYED)

    assert models["churn"] == SageMakerModel(
        name="churn",
        source="training",
        endpoint_name=ENDPOINTS["churn"],
        hosting="realtime",
        content_types=("text/csv", "application/json"),
    )
    assert models["churn-async"].input_location == S3Location(BUCKET, "async-input/churn-async/")
    assert models["churn-async"].output_location.uri == f"s3://{BUCKET}/async-output/churn-async/"


def test_bedrock_entries_parse_with_defaults_limits_and_the_deployed_guardrail():
    models = parse_registry(document(REGISTRY), **DEPLOYED)

    chat = models["chat"]
    assert isinstance(chat, BedrockModel)
    assert chat.model_id == "anthropic.claude-3-haiku-20240307-v1:0"
    assert chat.inference == {"max_tokens": 512, "temperature": 0.5, "top_p": 0.9}
    assert chat.limits == {"max_tokens": 2048}
    assert chat.guardrail == Guardrail("gr-123", "1")
    assert models["plain-chat"].guardrail is None


def test_an_existing_guardrail_is_named_in_the_file_itself():
    text = registry_with("plain-chat", guardrail={"identifier": "abc123", "version": "DRAFT"})

    assert parse_registry(text, **DEPLOYED)["plain-chat"].guardrail == Guardrail("abc123", "DRAFT")


def test_media_types_are_lower_cased_and_wildcards_allowed():
    text = registry_with("churn", content_types=["Text/CSV ", "image/*"])

    assert parse_registry(text, **DEPLOYED)["churn"].content_types == ("text/csv", "image/*")


def test_settings_read_the_file_and_the_deployed_values_with_a_body_default():
    environment = router_environment()
    environment.pop("MAX_BODY_BYTES")

    settings = load_settings(environment)

    assert settings.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1048576
    assert settings.models["chat"].guardrail == Guardrail(**GUARDRAILS["chat"])
    assert settings.models["churn-async"].input_location.bucket == BUCKET
    assert load_settings({**environment, "MAX_BODY_BYTES": "2048"}).max_body_bytes == 2048


def test_the_document_the_stacks_write_is_checked_with_the_same_parser():
    with pytest.raises(ConfigError, match="model 'churn': hosting must be one of"):
        registry_document({"churn": {**REGISTRY["churn"], "hosting": "batch"}})


def test_two_hundred_models_make_a_registry_lambda_environment_could_not_hold():
    models = {
        f"model-{n:03}": {**REGISTRY["churn"], "endpoint_name": f"mlkit-dev-model-{n:03}"} for n in range(200)
    }
    text = registry_document(models)

    assert len(text) > 4096
    assert len(parse_registry(text)) == 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "model registry is empty"),
        ("{not json", "model registry is not valid JSON"),
        ("[]", 'must be {"format": 1, "models": {name: entry}}, not an array'),
        ('{"format": 2, "models": {}}', 'must be {"format": 1'),
        (document({"bad name!": {"source": "bedrock", "model_id": "m"}}), "model name 'bad name!' must be"),
        (document({"m": "bedrock"}), "model 'm': entry must be an object"),
        (
            document({"m": {"source": "pytorch-hub"}}),
            "source must be a source name such as 'huggingface' or 'bedrock' (got 'pytorch-hub')",
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
        (registry_with("churn-async", input_prefix=None), "model 'churn-async': input_prefix is required"),
        (registry_with("churn-async", output_prefix="s3://b/out/"), "output_prefix must be a key prefix"),
        (registry_with("churn", input_prefix="x/"), "input_prefix is only for hosting 'async'"),
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
        (registry_with("chat", guardrail="g"), "guardrail must be an object or 'created'"),
        (registry_with("plain-chat", guardrail="created"), "GUARDRAILS does not name it"),
    ],
)
def test_a_bad_registry_is_refused_with_the_model_and_key(text, message):
    with pytest.raises(ConfigError) as raised:
        parse_registry(text, **DEPLOYED)

    assert message in str(raised.value)


def test_an_async_model_needs_the_artifacts_bucket():
    with pytest.raises(ConfigError, match="model 'churn-async': hosting 'async' needs ARTIFACTS_BUCKET"):
        parse_registry(document(REGISTRY), guardrails=DEPLOYED["guardrails"])


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"MAX_BODY_BYTES": "0"}, "MAX_BODY_BYTES must be a positive whole number"),
        ({"MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES must be a positive whole number"),
        ({"MAX_BODY_BYTES": "1.5"}, "MAX_BODY_BYTES must be a positive whole number"),
        (
            {GUARDRAILS_VARIABLE: "[1]"},
            "GUARDRAILS must be a JSON object of model name -> [identifier, version]",
        ),
        ({ARTIFACTS_BUCKET_VARIABLE: "Not A Bucket"}, "ARTIFACTS_BUCKET 'Not A Bucket' is not a bucket name"),
        (
            {FILE_VARIABLE: "/nonexistent/registry.json"},
            "model registry /nonexistent/registry.json cannot be read",
        ),
    ],
)
def test_bad_deployed_values_are_refused(variables, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings({**router_environment(), **variables})


def test_a_bad_registry_fails_the_lambda_cold_start_with_its_reason():
    env = {**os.environ, **router_environment(registry_with("churn", hosting="batch"))}
    env.update(PYTHONPATH=str(ROOT / "lambdas"))

    result = run_python("import router", cwd=ROOT, env=env)

    assert result.returncode != 0
    assert "ConfigError: model registry: model 'churn': hosting must be one of" in result.stderr


def test_the_cold_start_skips_unused_powertools_resolvers_yet_keeps_them_importable():
    """shared.rest_resolver imports only Powertools' REST resolver; the rest load on first use."""
    code = """
import sys, router
print("asyncio" in sys.modules)
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, AppSyncResolver, content_types
print(APIGatewayRestResolver is router.APIGatewayRestResolver, AppSyncResolver.__name__)
print(content_types.APPLICATION_JSON)
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lambdas"), **router_environment())

    result = run_python(code, cwd=ROOT, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "AppSyncResolver", "application/json"]


def test_every_registered_source_writes_an_entry_the_router_parses():
    """The showcase config holds a model of every source: each entry parses into the router's kind
    for it (a Bedrock model, or a SageMaker endpoint under the model's own name) with its media types."""
    from sources import SOURCES, source_of
    from stacks import names
    from stacks.config import load_config
    from stacks.registry import registry_document as stacks_document

    config = load_config(ROOT / "config" / "showcase.yaml")
    assert {model.source for model in config.models.values()} == set(SOURCES)
    parsed = parse_registry(stacks_document(config.environment, config.models), artifacts_bucket=BUCKET)
    for label, model in config.models.items():
        entry = parsed[label]
        assert entry.source == model.source
        if model.source == "bedrock":
            assert isinstance(entry, BedrockModel)
            continue
        assert isinstance(entry, SageMakerModel)
        assert entry.endpoint_name == names.endpoint_name(config.environment, label)
        assert list(entry.content_types) == source_of(model).content_types(model)
