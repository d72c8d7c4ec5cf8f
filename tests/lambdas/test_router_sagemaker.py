"""The router against SageMaker endpoints in moto: real-time, serverless, async, and GET /models.

moto's InvokeEndpoint answers canned results; they are seeded through moto's documented API,
``POST http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results``, which
``mock_aws`` intercepts in-process (no server needed).
"""

import io
import json

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from router_events import BUCKET, call, invoke_event, rest_event
from shared import aws

MOTO_API = "http://motoapi.amazonaws.com/moto-api/static/sagemaker"
ROLE = "arn:aws:iam::123456789012:role/mlkit-sagemaker"


def seed_endpoint_results(*results: dict) -> None:
    answer = requests.post(f"{MOTO_API}/endpoint-results", json={"results": list(results)}, timeout=5)
    assert answer.status_code == 201


def seed_async_results(*results: dict) -> None:
    answer = requests.post(f"{MOTO_API}/async-endpoint-results", json={"results": list(results)}, timeout=5)
    assert answer.status_code == 201


def create_endpoint(name: str) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "xgboost:3.0-5"})
    variant = {
        "VariantName": "main",
        "ModelName": name,
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
    }
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)


def endpoint_answer(body: bytes, content_type: str = "application/json") -> dict:
    """An InvokeEndpoint answer for a Stubber; botocore hands the body over as a stream."""
    return {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": content_type}


@pytest.fixture
def endpoints(aws):
    """The sentiment and async endpoints exist (InService); mlkit-test-churn does not."""
    create_endpoint("mlkit-test-sentiment")
    create_endpoint("mlkit-test-churn-async")
    boto3.client("s3").create_bucket(Bucket=BUCKET)


def test_a_serverless_endpoint_answer_is_passed_through(endpoints):
    seed_endpoint_results(
        {"Body": '[{"label": "POSITIVE", "score": 0.98}]', "ContentType": "application/json"}
    )

    status, headers, body = call(invoke_event("sentiment", '{"inputs": "I love it"}'))

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body == [{"label": "POSITIVE", "score": 0.98}]


def test_a_csv_answer_keeps_its_content_type_and_text(endpoints):
    seed_endpoint_results({"Body": "0.87\n", "ContentType": "text/csv; charset=utf-8"})

    status, headers, body = call(invoke_event("churn", "42,1,0,3.5", "text/csv", Accept="text/csv"))

    assert (status, headers["Content-Type"], body) == (200, "text/csv; charset=utf-8", "0.87\n")


@pytest.mark.usefixtures("aws")
def test_a_binary_answer_is_returned_base64_encoded():
    # moto only cans text bodies, so this one comes from a Stubber.
    npy = b"\x93NUMPY\x01\x00v\x00"
    with Stubber(aws.client("sagemaker-runtime")) as stubber:
        stubber.add_response("invoke_endpoint", endpoint_answer(npy, "application/x-npy"))
        status, headers, body = call(invoke_event("sentiment", '{"inputs": "x"}'))

    assert (status, headers["Content-Type"], body) == (200, "application/x-npy", npy)


@pytest.mark.usefixtures("aws")
def test_content_type_is_normalised_and_accept_passed_through():
    """Parameters the router sends, asserted with a Stubber (moto does not record them)."""
    runtime = aws.client("sagemaker-runtime")
    expected = {
        "EndpointName": "mlkit-test-churn",
        "Body": b"42,1,0,3.5",
        "ContentType": "text/csv",
        "Accept": "application/json",
    }
    with Stubber(runtime) as stubber:
        stubber.add_response("invoke_endpoint", endpoint_answer(b'{"p": 0.9}'), expected)
        status, _, body = call(
            invoke_event("churn", "42,1,0,3.5", "Text/CSV; charset=utf-8", Accept="application/json")
        )
        stubber.assert_no_pending_responses()

    assert (status, body) == (200, {"p": 0.9})


@pytest.mark.usefixtures("aws")
def test_a_base64_request_body_reaches_the_endpoint_as_bytes():
    runtime = aws.client("sagemaker-runtime")
    payload = bytes(range(256))
    expected = {"EndpointName": "mlkit-test-churn", "Body": payload, "ContentType": "application/json"}
    with Stubber(runtime) as stubber:
        stubber.add_response("invoke_endpoint", endpoint_answer(b"{}"), expected)
        status, _, _ = call(invoke_event("churn", payload))
        stubber.assert_no_pending_responses()

    assert status == 200


def test_an_async_request_is_stored_in_s3_and_answered_202(endpoints):
    seed_async_results({"data": json.dumps({"churn_probability": 0.12})})

    status, _, body = call(invoke_event("churn-async", "42,1,0,3.5", "text/csv"))

    assert status == 202
    assert set(body) == {"inference_id", "output_location", "failure_location"}
    stored = boto3.client("s3").get_object(
        Bucket=BUCKET, Key=f"async-input/churn-async/{body['inference_id']}"
    )
    assert stored["Body"].read() == b"42,1,0,3.5"
    assert stored["ContentType"] == "text/csv"
    bucket, key = body["output_location"].removeprefix("s3://").split("/", 1)
    output = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert json.loads(output) == {"churn_probability": 0.12}


def test_an_async_request_with_the_wrong_content_type_writes_nothing(endpoints):
    status, _, body = call(invoke_event("churn-async", '{"a": 1}', "application/json"))

    assert (status, body["error"]) == (415, "unsupported_media_type")
    assert "text/csv" in body["message"]
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_get_models_lists_every_model_with_its_endpoint_status(endpoints):
    status, _, body = call(rest_event("GET", "/models"))

    assert status == 200
    models = {model["name"]: model for model in body["models"]}
    assert list(models) == sorted(models)
    assert models["sentiment"] == {
        "name": "sentiment",
        "source": "huggingface",
        "hosting": "serverless",
        "endpoint_name": "mlkit-test-sentiment",
        "content_types": ["application/json"],
        "status": "InService",
    }
    assert models["churn"]["status"] == "NotFound"
    assert models["churn-async"]["hosting"] == "async"
    assert models["chat"] == {
        "name": "chat",
        "source": "bedrock",
        "hosting": "bedrock",
        "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
    }


def test_a_failed_describe_marks_one_model_unknown_without_failing_the_list(endpoints):
    def deny_sentiment(params, **_):
        if params["EndpointName"] == "mlkit-test-sentiment":
            error = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}
            raise ClientError(error, "DescribeEndpoint")

    aws.client("sagemaker").meta.events.register(
        "before-parameter-build.sagemaker.DescribeEndpoint", deny_sentiment
    )

    status, _, body = call(rest_event("GET", "/models"))

    models = {model["name"]: model for model in body["models"]}
    assert status == 200
    assert models["sentiment"]["status"] == "Unknown"
    assert models["sentiment"]["reason"] == "AccessDeniedException: not allowed"
    assert models["churn-async"]["status"] == "InService"


def test_get_one_model_and_an_unknown_one(endpoints):
    status, _, body = call(rest_event("GET", "/models/churn-async"))
    assert (status, body["status"], body["endpoint_name"]) == (200, "InService", "mlkit-test-churn-async")

    status, _, body = call(rest_event("GET", "/models/nope"))
    assert (status, body["error"]) == (404, "not_found")
    assert "Unknown model 'nope'" in body["message"]
