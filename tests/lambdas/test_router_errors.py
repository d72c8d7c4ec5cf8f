"""Every failure maps to its status and a JSON {"error", "message"}; only a router bug is a 500."""

import io
import json
import warnings
from types import SimpleNamespace

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from router_events import MAX_BODY_BYTES, call, converse_event, invoke_event, load_router, rest_event
from shared import aws
from shared.errors import AWS_ERRORS, THROTTLING_CODES

pytestmark = pytest.mark.usefixtures("aws")  # moto underneath: nothing unstubbed can reach AWS

CHAT_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
SENTIMENT = {"name": "sentiment", "service": "sagemaker-runtime", "operation": "invoke_endpoint"}
CHAT = {"name": "chat", "service": "bedrock-runtime", "operation": "converse"}


def model_request(model: dict) -> dict:
    if model is CHAT:
        return converse_event(prompt="Hi")
    return invoke_event("sentiment", '{"inputs": "hello"}')


def call_with_aws_error(model: dict, code: str, message: str, **modeled_fields) -> tuple[int, dict]:
    with Stubber(aws.client(model["service"])) as stubber:
        stubber.add_client_error(
            model["operation"], code, message, http_status_code=400, modeled_fields=modeled_fields or None
        )
        status, _, body = call(model_request(model))
        stubber.assert_no_pending_responses()
    return status, body


# (model, AWS code, AWS message, modeled fields, status, error, a fragment of the message)
AWS_CASES = {
    "sagemaker-model-error": (
        SENTIMENT,
        "ModelError",
        "Received client error (400) from primary with message ...",
        {"OriginalStatusCode": 400, "OriginalMessage": '{"error": "input must be a string"}'},
        502,
        "model_error",
        'Model sentiment failed: {"error": "input must be a string"}',
    ),
    "bedrock-model-error": (
        CHAT,
        "ModelErrorException",
        "The model crashed",
        {},
        502,
        "model_error",
        "Model chat failed: The model crashed",
    ),
    "endpoint-not-found": (
        SENTIMENT,
        "ValidationError",
        "Endpoint mlkit-test-sentiment of account 123456789012 not found.",
        {},
        503,
        "model_not_ready",
        "Endpoint mlkit-test-sentiment of model sentiment is not ready (missing or not InService)",
    ),
    "model-not-ready": (
        CHAT,
        "ModelNotReadyException",
        "Model is loading",
        {},
        503,
        "model_not_ready",
        "Model chat is not ready yet",
    ),
    "sagemaker-unavailable": (
        SENTIMENT,
        "ServiceUnavailable",
        "Try later",
        {},
        503,
        "service_unavailable",
        "AWS is unavailable",
    ),
    "bedrock-unavailable": (
        CHAT,
        "ServiceUnavailableException",
        "Try later",
        {},
        503,
        "service_unavailable",
        "model chat; retry shortly",
    ),
    "bedrock-access-denied": (
        CHAT,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
        {},
        403,
        "access_denied",
        f"enable model access for {CHAT_MODEL} in the Bedrock console of us-east-1",
    ),
    "bedrock-model-timeout": (
        CHAT,
        "ModelTimeoutException",
        "Took too long",
        {},
        504,
        "timeout",
        "Model chat timed out: Took too long",
    ),
    "bedrock-bad-conversation": (
        CHAT,
        "ValidationException",
        "A conversation must start with a user message.",
        {},
        400,
        "validation",
        "A conversation must start with a user message.",
    ),
    "bedrock-validation-without-message": (
        CHAT,
        "ValidationException",
        "",
        {},
        400,
        "validation",
        "AWS answered ValidationException for model chat",
    ),
    # Not in the table for this service (or at all): a 502 that names the AWS code.
    "sagemaker-other-validation": (
        SENTIMENT,
        "ValidationError",
        "Inference component required",
        {},
        502,
        "aws_error",
        "AWS answered ValidationError",
    ),
    "sagemaker-access-denied": (
        SENTIMENT,
        "AccessDeniedException",
        "No",
        {},
        502,
        "aws_error",
        "AWS answered AccessDeniedException",
    ),
    "unknown-code": (
        SENTIMENT,
        "InternalFailure",
        "Oops",
        {},
        502,
        "aws_error",
        "AWS answered InternalFailure",
    ),
}


@pytest.mark.parametrize("case", AWS_CASES.values(), ids=AWS_CASES.keys())
def test_an_aws_error_maps_to_its_status_and_message(case):
    model, code, aws_message, modeled, status, error, fragment = case

    answered, body = call_with_aws_error(model, code, aws_message, **modeled)

    assert (answered, body["error"]) == (status, error)
    assert fragment in body["message"]
    assert answered != 500 and "Traceback" not in body["message"]


@pytest.mark.parametrize("code", THROTTLING_CODES)
@pytest.mark.parametrize("model", [SENTIMENT, CHAT], ids=["sagemaker", "bedrock"])
def test_throttling_is_a_429(model, code):
    status, body = call_with_aws_error(model, code, "Rate exceeded")

    assert (status, body["error"]) == (429, "throttled")
    assert (
        body["message"]
        == f"Model {model['name']} is being throttled by AWS ({code}); retry later with backoff"
    )


def test_every_row_of_the_error_table_is_exercised():
    covered = {case[1] for case in AWS_CASES.values()} | set(THROTTLING_CODES)

    assert {code for rule in AWS_ERRORS for code in rule.codes} <= covered


class RaisingClient:
    """Stands in for a boto3 client whose every call fails before any answer arrives."""

    def __init__(self, error: Exception):
        self.error, self.meta = error, SimpleNamespace(region_name="us-east-1")

    def __getattr__(self, operation):
        def fail(**_params):
            raise self.error

        return fail


URL = "https://runtime.sagemaker.us-east-1.amazonaws.com"
TRANSPORT_CASES = {
    "read-timeout": (ReadTimeoutError(endpoint_url=URL), 504, "timeout", "did not answer in time"),
    "connect-timeout": (ConnectTimeoutError(endpoint_url=URL), 504, "timeout", "did not answer in time"),
    "no-connection": (
        EndpointConnectionError(endpoint_url=URL),
        503,
        "service_unavailable",
        "Could not reach AWS",
    ),
    "other-botocore": (NoCredentialsError(), 502, "aws_error", "failed: NoCredentialsError"),
}


@pytest.mark.parametrize("model", [SENTIMENT, CHAT], ids=["sagemaker", "bedrock"])
@pytest.mark.parametrize("case", TRANSPORT_CASES.values(), ids=TRANSPORT_CASES.keys())
def test_a_botocore_failure_maps_to_its_status(monkeypatch, case, model):
    error, status, code, fragment = case
    monkeypatch.setattr(aws, "client", lambda _service: RaisingClient(error))

    answered, _, body = call(model_request(model))

    assert (answered, body["error"]) == (status, code)
    assert f"model {model['name']}" in body["message"].lower() and fragment in body["message"]


BAD_REQUESTS = {
    "unknown-model": (invoke_event("nope", '{"inputs": 1}'), 404, "not_found"),
    "unknown-model-get": (rest_event("GET", "/models/nope"), 404, "not_found"),
    "unknown-route": (rest_event("GET", "/predict"), 404, "not_found"),
    "wrong-method": (rest_event("DELETE", "/models"), 404, "not_found"),
    "no-body": (invoke_event("sentiment", None), 400, "validation"),
    "empty-body": (invoke_event("sentiment", ""), 400, "validation"),
    "bad-base64": (dict(invoke_event("sentiment", "x"), isBase64Encoded=True, body="***"), 400, "validation"),
    "oversized": (invoke_event("sentiment", "x" * (MAX_BODY_BYTES + 1)), 413, "payload_too_large"),
    "oversized-base64": (invoke_event("sentiment", b"x" * (MAX_BODY_BYTES * 2)), 413, "payload_too_large"),
    "wrong-content-type": (invoke_event("sentiment", "a,b", "text/csv"), 415, "unsupported_media_type"),
    "missing-content-type": (invoke_event("churn", "a,b", None), 415, "unsupported_media_type"),
    "bedrock-bad-json": (invoke_event("chat", '{"prompt": '), 400, "validation"),
    "bedrock-json-array": (invoke_event("chat", '["Hi"]'), 400, "validation"),
    "bedrock-not-utf8": (invoke_event("chat", b"\xff\xfe\x00"), 400, "validation"),
    "bedrock-missing-fields": (invoke_event("chat", "{}"), 400, "validation"),
    "bedrock-wrong-types": (converse_event(prompt=["Hi"]), 400, "validation"),
    "bedrock-over-limit": (converse_event(prompt="Hi", inference={"max_tokens": 10**6}), 400, "validation"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_a_bad_request_is_a_client_error_never_a_500(case):
    event, status, error = case

    answered, headers, body = call(event)

    assert answered == status < 500
    assert headers["Content-Type"] == "application/json"
    assert body["error"] == error and body["message"]


def test_the_size_limit_names_both_sizes():
    _, _, body = call(invoke_event("sentiment", "x" * (MAX_BODY_BYTES + 1)))

    assert (
        body["message"] == f"Request body is {MAX_BODY_BYTES + 1} bytes; the limit is {MAX_BODY_BYTES} bytes"
    )


def test_a_wrong_content_type_lists_the_allowed_ones():
    _, _, body = call(invoke_event("churn", "a,b", "text/plain"))

    assert (
        body["message"]
        == "Content-Type 'text/plain' is not accepted; send one of: text/csv, application/json"
    )


def test_a_router_bug_is_a_500_without_its_details(monkeypatch):
    def broken(_model, _request):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(load_router(), "_call", broken)

    status, _, body = call(invoke_event("sentiment", '{"inputs": 1}'))

    assert status == 500
    assert body == {"error": "internal", "message": "The router failed unexpectedly; see its logs"}


def test_metrics_and_log_name_the_model_and_status_but_never_the_body(capsys):
    router = load_router()
    log = io.StringIO()
    previous = router.logger.registered_handler.setStream(log)
    try:
        call_with_aws_error(SENTIMENT, "ThrottlingException", "Rate exceeded")
    finally:
        router.logger.registered_handler.setStream(previous)

    emf = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0] == "model"
    assert {key: emf[key] for key in ("model", "Throttles", "Errors", "ClientErrors")} == {
        "model": "sentiment",
        "Throttles": [1.0],
        "Errors": [0.0],
        "ClientErrors": [0.0],
    }
    assert emf["Latency"][0] >= 0
    line = json.loads(log.getvalue().strip().splitlines()[-1])
    assert (line["model"], line["status"], line["error"], line["aws_code"]) == (
        "sentiment",
        429,
        "throttled",
        "ThrottlingException",
    )
    assert "hello" not in log.getvalue()


@pytest.mark.parametrize("disabled", ["true", "false"])
def test_requests_for_different_models_never_warn_and_each_emf_names_its_model(monkeypatch, capsys, disabled):
    # `make local` disables metrics; Powertools' flush then keeps the dimensions it would clear.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", disabled)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for model in (SENTIMENT, CHAT, SENTIMENT):
            call_with_aws_error(model, "ThrottlingException", "Rate exceeded")

    assert [str(warning.message) for warning in caught] == []
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    expected = [] if disabled == "true" else ["sentiment", "chat", "sentiment"]
    assert [line["model"] for line in emf] == expected
    assert all(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0] == "model" for line in emf)
