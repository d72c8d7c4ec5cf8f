"""The invoke API: routes, IAM auth, validation, logging, throttles, keys, a router scoped to its models."""

import json
import re

import pytest

from tests.stacks.synth import config_from, render_tokens, synthesize

MODELS = {
    "sentiment": {"source": "huggingface", "model_id": "org/sentiment", "task": "text-classification"},
    "summarizer": {
        "source": "huggingface", "model_id": "google/flan-t5-base", "task": "text2text-generation",
        "hosting": {"type": "async", "instance_type": "ml.m5.xlarge", "max": 2},
    },
    "chat": {
        "source": "bedrock", "model_id": "us.anthropic.claude-3-haiku-20240307-v1:0",
        "inference": {"max_tokens": 256}, "limits": {"max_tokens": 1024},
        "guardrail": {
            "content_filters": [{"type": "HATE", "input_strength": "MEDIUM"}, {"type": "PROMPT_ATTACK"}],
            "denied_topics": [{"name": "advice", "definition": "Investment advice.", "examples": ["Buy X?"]}],
            "pii": [
                {"type": "EMAIL", "action": "ANONYMIZE"},
                {"type": "US_SOCIAL_SECURITY_NUMBER", "action": "BLOCK"},
            ],
            "blocked_input_message": "No.",
        },
    },
    "summary": {"source": "bedrock", "model_id": "amazon.nova-lite-v1:0"},
}  # fmt: skip
CONFIG = {
    "environment": "api",
    "region": "us-east-1",
    "bedrock": {"invocation_logging": True},
    "api": {"throttle_rate": 20, "throttle_burst": 40, "max_body_kb": 512,
            "api_keys": {"rate": 5, "burst": 10, "quota_per_day": 1000}},
    "models": MODELS,
}  # fmt: skip


@pytest.fixture(scope="module")
def app():
    return synthesize(config_from(CONFIG))


def properties(app, part, resource_type):
    return [r["Properties"] for r in app.resources(part, resource_type).values()]


def test_three_routes_all_with_iam_auth_and_api_keys(app):
    resources = {r["PathPart"] for r in properties(app, "api", "AWS::ApiGateway::Resource")}
    assert resources == {"models", "{name}", "invoke"}
    methods = properties(app, "api", "AWS::ApiGateway::Method")
    assert sorted(m["HttpMethod"] for m in methods) == ["GET", "GET", "POST"]
    for method in methods:
        assert method["AuthorizationType"] == "AWS_IAM"
        assert method["ApiKeyRequired"] is True
        assert "RequestValidatorId" in method


def test_invoke_validates_name_content_type_and_json_body(app):
    invoke = next(m for m in properties(app, "api", "AWS::ApiGateway::Method") if m["HttpMethod"] == "POST")
    assert invoke["RequestParameters"] == {
        "method.request.path.name": True,
        "method.request.header.Content-Type": True,
    }
    assert "application/json" in invoke["RequestModels"]
    (validator,) = properties(app, "api", "AWS::ApiGateway::RequestValidator")
    assert validator["ValidateRequestBody"] and validator["ValidateRequestParameters"]


def test_stage_logs_traces_and_throttles(app):
    (stage,) = properties(app, "api", "AWS::ApiGateway::Stage")
    assert stage["TracingEnabled"] is True
    assert "AccessLogSetting" in stage and '"status"' in stage["AccessLogSetting"]["Format"]
    (settings,) = stage["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (20, 40)
    assert settings["LoggingLevel"] == "ERROR"


def test_usage_plan_from_config(app):
    (plan,) = properties(app, "api", "AWS::ApiGateway::UsagePlan")
    assert plan["Throttle"] == {"BurstLimit": 10, "RateLimit": 5}
    assert plan["Quota"] == {"Limit": 1000, "Period": "DAY"}
    assert len(properties(app, "api", "AWS::ApiGateway::ApiKey")) == 1


def router_statements(app):
    policies = app.resources("api", "AWS::IAM::ManagedPolicy")
    invoke = [p for logical_id, p in policies.items() if logical_id.startswith("RouterInvoke")]
    return [s for policy in invoke for s in policy["Properties"]["PolicyDocument"]["Statement"]]


def test_router_may_invoke_exactly_the_configured_models(app):
    granted = {}
    for statement in router_statements(app):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions:
            granted.setdefault(action, set()).update(render_tokens(r) for r in resources)
    account = "<AWS::AccountId>"
    endpoint = f"arn:aws:sagemaker:us-east-1:{account}:endpoint/mlkit-api-"
    assert granted["sagemaker:InvokeEndpoint"] == {endpoint + "sentiment"}
    assert granted["sagemaker:InvokeEndpointAsync"] == {endpoint + "summarizer"}
    assert granted["sagemaker:DescribeEndpoint"] == {endpoint + "sentiment", endpoint + "summarizer"}
    claude = "::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    assert granted["bedrock:InvokeModel"] == {
        f"arn:aws:bedrock:us-east-1:{account}:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
        *(f"arn:aws:bedrock:{region}{claude}" for region in ("us-east-1", "us-east-2", "us-west-2")),
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
    }
    assert granted["s3:PutObject"] == {
        f"arn:aws:s3:::mlkit-api-artifacts-{account}-us-east-1/async-input/summarizer/*"
    }
    assert len(granted["bedrock:ApplyGuardrail"]) == 1


def test_router_registry_ships_in_a_layer_and_deploy_time_values_in_its_environment(app):
    (function,) = properties(app, "api", "AWS::Lambda::Function")
    variables = function["Environment"]["Variables"]
    assert variables["MAX_BODY_BYTES"] == str(512 * 1024)
    assert "MODEL_REGISTRY_FILE" not in variables  # the layer's default path
    assert render_tokens(variables["ARTIFACTS_BUCKET"]) == "mlkit-api-artifacts-<AWS::AccountId>-us-east-1"
    guardrails = re.sub(r"<mlkit-api-chat:[^>]+>", "TOKEN", render_tokens(variables["GUARDRAILS"]))
    assert json.loads(guardrails) == {"chat": ["TOKEN", "TOKEN"]}
    assert len(function["Layers"]) == 2
    document = app.router_registry()
    entries = document["models"]
    assert set(entries) == set(MODELS)
    assert entries["summarizer"]["hosting"] == "async"
    assert entries["summarizer"]["input_prefix"] == "async-input/summarizer/"
    assert entries["chat"]["guardrail"] == "created"
    assert entries["chat"]["limits"] == {"max_tokens": 1024}
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["Timeout"] == 28


def test_binary_media_types_cover_images_audio_and_what_models_declare(app):
    (api,) = properties(app, "api", "AWS::ApiGateway::RestApi")
    assert api["BinaryMediaTypes"][:4] == ["image/*", "audio/*", "video/*", "application/octet-stream"]


def test_a_model_declaring_another_binary_type_adds_it():
    config = {"environment": "bin", "region": "us-east-1", "models": {
        "vision": {"source": "huggingface", "model_id": "google/vit-base-patch16-224",
                   "task": "image-classification"},
        "tensor": {"source": "huggingface", "model_id": "org/tensor", "task": "feature-extraction",
                   "content_types": ["application/x-npy", "application/json", "image/png"]}}}  # fmt: skip
    app = synthesize(config_from(config))
    (api,) = properties(app, "api", "AWS::ApiGateway::RestApi")
    # image/jpeg and image/png are covered by image/*; application/x-image and x-npy are not.
    assert api["BinaryMediaTypes"][4:] == ["application/x-image", "application/x-npy"]
    vision = app.router_registry()["models"]["vision"]
    assert vision["content_types"] == ["image/jpeg", "image/png", "application/x-image"]


def test_guardrail_created_from_config(app):
    (guardrail,) = properties(app, "chat", "AWS::Bedrock::Guardrail")
    filters = {f["Type"]: f for f in guardrail["ContentPolicyConfig"]["FiltersConfig"]}
    assert filters["HATE"]["InputStrength"] == "MEDIUM" and filters["HATE"]["OutputStrength"] == "HIGH"
    assert filters["PROMPT_ATTACK"]["OutputStrength"] == "NONE"
    topic = guardrail["TopicPolicyConfig"]["TopicsConfig"][0]
    assert (topic["Name"], topic["Type"], topic["Examples"]) == ("advice", "DENY", ["Buy X?"])
    pii = {p["Type"]: p["Action"] for p in guardrail["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]}
    assert pii == {"EMAIL": "ANONYMIZE", "US_SOCIAL_SECURITY_NUMBER": "BLOCK"}
    assert guardrail["BlockedInputMessaging"] == "No."
    assert "KmsKeyArn" in guardrail
    assert len(properties(app, "chat", "AWS::Bedrock::GuardrailVersion")) == 1
    # A Bedrock model with no guardrail to create has no stack: it is IAM and a route only.
    assert "mlkit-api-summary" not in app.templates


def test_existing_guardrail_is_referenced_not_created():
    config = {"environment": "ref", "region": "us-east-1", "models": {
        "chat": {"source": "bedrock", "model_id": "amazon.nova-lite-v1:0",
                 "guardrail": {"id": "abc123xyz", "version": "3"}}}}  # fmt: skip
    app = synthesize(config_from(config))
    assert sorted(app.templates) == ["mlkit-ref-api", "mlkit-ref-data", "mlkit-ref-operations"]
    registry = app.router_registry()["models"]
    assert registry["chat"]["guardrail"] == {"identifier": "abc123xyz", "version": "3"}


def test_global_profile_and_explicit_regions():
    config = {"environment": "geo", "region": "eu-west-1", "models": {
        "world": {"source": "bedrock", "model_id": "global.anthropic.claude-sonnet-4-v1:0"},
        "europe": {"source": "bedrock", "model_id": "eu.meta.llama3-2-1b-instruct-v1:0",
                   "profile_regions": ["eu-west-1", "eu-central-1"]},
    }}  # fmt: skip
    text = json.dumps(router_statements(synthesize(config_from(config))))
    assert "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-v1:0" in text
    assert "eu-central-1::foundation-model/meta.llama3-2-1b-instruct-v1:0" in text
    assert "eu-west-3::foundation-model/meta.llama3-2-1b-instruct-v1:0" not in text


def test_bedrock_invocation_logging_is_set_once_for_the_environment(app):
    (call,) = properties(app, "data", "Custom::AWS")
    create = json.loads(re.sub(r"<[^>]+>", "TOKEN", render_tokens(call["Create"])))
    assert create["action"] == "putModelInvocationLoggingConfiguration"
    assert create["parameters"]["loggingConfig"]["s3Config"]["keyPrefix"] == "bedrock-invocations"
    policies = json.dumps(properties(app, "data", "AWS::S3::BucketPolicy"))
    assert '"Service": "bedrock.amazonaws.com"' in policies and "aws:SourceAccount" in policies


def test_no_invocation_logging_unless_configured():
    app = synthesize(config_from({**CONFIG, "bedrock": {"invocation_logging": False}}))
    assert properties(app, "data", "Custom::AWS") == []
