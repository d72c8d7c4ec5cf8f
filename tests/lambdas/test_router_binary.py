"""Bytes in and out, and any answer a model gives: the router passes both through untouched.

API Gateway hands binary bodies (image/*, audio/*, application/octet-stream) over base64-encoded with
isBase64Encoded, and turns a base64 answer flagged isBase64Encoded back into bytes for the client.
The parameters the router sends are asserted with a Stubber (moto does not record them).
"""

import base64
import io

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from router_events import LambdaContext, add_model, invoke_event, load_router
from shared import aws

from tests.images import TINY_JPEG

pytestmark = pytest.mark.usefixtures("aws")  # moto underneath: nothing unstubbed can reach AWS


@pytest.fixture
def vision(monkeypatch):
    """An image model: a real-time endpoint that takes JPEG or PNG."""
    add_model(
        monkeypatch,
        "vision",
        like="churn",
        endpoint_name="mlkit-vision",
        content_types=("image/jpeg", "image/png"),
    )


def answer_of(body: bytes, content_type: str | None) -> dict:
    answer = {"Body": StreamingBody(io.BytesIO(body), len(body))}
    if content_type is not None:
        answer["ContentType"] = content_type
    return answer


def handle(event: dict) -> tuple[int, str, bool, bytes]:
    """Status, Content-Type, isBase64Encoded and the body's bytes as the client gets them."""
    answer = load_router().handler(event, LambdaContext())
    headers = {key: values[-1] for key, values in (answer.get("multiValueHeaders") or {}).items()}
    body = answer["body"]
    raw = base64.b64decode(body, validate=True) if answer["isBase64Encoded"] else body.encode("utf-8")
    return answer["statusCode"], headers["Content-Type"], answer["isBase64Encoded"], raw


def invoke_stubbed(event: dict, answer: dict, expected: dict | None = None) -> tuple[int, str, bool, bytes]:
    with Stubber(aws.client("sagemaker-runtime")) as stubber:
        stubber.add_response("invoke_endpoint", answer, expected)
        result = handle(event)
        stubber.assert_no_pending_responses()
    return result


@pytest.mark.usefixtures("vision")
def test_jpeg_bytes_reach_the_endpoint_and_a_jpeg_answer_comes_back_byte_identical():
    event = invoke_event("vision", TINY_JPEG, "image/jpeg", Accept="image/jpeg")
    assert event["isBase64Encoded"]  # as API Gateway delivers a binary media type
    expected = {
        "EndpointName": "mlkit-vision",
        "Body": TINY_JPEG,
        "ContentType": "image/jpeg",
        "Accept": "image/jpeg",
    }

    answered = invoke_stubbed(event, answer_of(TINY_JPEG, "image/jpeg"), expected)

    assert answered == (200, "image/jpeg", True, TINY_JPEG)


@pytest.mark.usefixtures("vision")
def test_a_binary_type_stays_binary_even_when_its_bytes_decode_as_text():
    answered = invoke_stubbed(
        invoke_event("vision", TINY_JPEG, "image/png"), answer_of(b"P5 1 1", "image/png")
    )

    assert answered == (200, "image/png", True, b"P5 1 1")


@pytest.mark.parametrize(
    ("allowed", "sent", "passed_on"),
    [
        (("image/*",), "Image/JPEG; q=1", "image/jpeg"),
        (("image/*",), "image/x-portable-graymap", "image/x-portable-graymap"),
        (("text/csv", "audio/*"), "audio/wav", "audio/wav"),
        (("*/*",), "application/octet-stream", "application/octet-stream"),
    ],
)
def test_a_wildcard_content_type_passes_the_requests_own_type_on(monkeypatch, allowed, sent, passed_on):
    add_model(monkeypatch, "media", like="churn", endpoint_name="mlkit-media", content_types=allowed)
    expected = {"EndpointName": "mlkit-media", "Body": TINY_JPEG, "ContentType": passed_on}

    status, *_ = invoke_stubbed(
        invoke_event("media", TINY_JPEG, sent), answer_of(b"{}", "application/json"), expected
    )

    assert status == 200


@pytest.mark.parametrize("sent", ["image/*", "*/*", "text/csv", "image", "image/jp eg", "image/\x01", None])
def test_a_wildcard_takes_only_well_formed_concrete_types_of_its_family(monkeypatch, sent):
    add_model(monkeypatch, "media", like="churn", content_types=("image/*",))

    status, content_type, _, body = handle(invoke_event("media", TINY_JPEG, sent))

    assert (status, content_type) == (415, "application/json")
    assert b'"unsupported_media_type"' in body and b"image/*" in body


def test_an_async_image_is_stored_byte_identical_under_the_input_prefix(monkeypatch):
    add_model(monkeypatch, "vision-async", like="churn-async", content_types=("image/*",))
    model = load_router().SETTINGS.models["vision-async"]
    inputs = model.input_location
    boto3.client("s3").create_bucket(Bucket=inputs.bucket)
    expected = {
        "EndpointName": model.endpoint_name,
        "InputLocation": ANY,
        "ContentType": "image/jpeg",
        "InferenceId": ANY,
    }
    answer = {"OutputLocation": f"{model.output_location.uri}x.out", "InferenceId": "x"}
    with Stubber(aws.client("sagemaker-runtime")) as stubber:
        stubber.add_response("invoke_endpoint_async", answer, expected)
        status, _, _, body = handle(invoke_event("vision-async", TINY_JPEG, "image/jpeg"))

    assert status == 202 and b"x.out" in body
    (stored,) = boto3.client("s3").list_objects_v2(Bucket=inputs.bucket, Prefix=inputs.prefix)["Contents"]
    got = boto3.client("s3").get_object(Bucket=inputs.bucket, Key=stored["Key"])
    assert (got["Body"].read(), got["ContentType"]) == (TINY_JPEG, "image/jpeg")


# What a container may answer (type, bytes) -> the Content-Type the client gets and whether it is base64.
ODD_ANSWERS = {
    "no-type": (None, b'{"a": 1}', "application/octet-stream", True),
    "empty-type": ("", b"ok", "application/octet-stream", True),
    "blank-type": (" ", b"ok", "application/octet-stream", True),
    "only-parameters": (";", b"ok", "application/octet-stream", True),
    "parameters-without-type": ("; charset=utf-8", b"ok", "application/octet-stream", True),
    "not-a-media-type": ("garbage", b"ok", "application/octet-stream", True),
    "json-not-utf8": ("application/json", b"\xff\xfe{", "application/json", True),
    "json-jpeg": ("application/json; charset=utf-8", TINY_JPEG, "application/json; charset=utf-8", True),
    "json-any-case": (
        "APPLICATION/JSON; Charset=UTF-8",
        b'{"a": 1}',
        "APPLICATION/JSON; Charset=UTF-8",
        False,
    ),
    "suffix-json": ("application/problem+json", b"{}", "application/problem+json", False),
    "header-injection": ("text/csv; charset=utf-8\r\nX-Evil: 1", b"1,2", "text/csv", False),
    "injection-in-type": ("text/csv\r\nX-Evil: 1", b"1,2", "application/octet-stream", True),
    "non-ascii-parameter": ("text/plain; note=caf\u00e9", b"caf\xc3\xa9", "text/plain", False),
    "control-character": ("text/plain;\x00", b"x", "text/plain", False),
    "latin1-text": ("text/plain; charset=iso-8859-1", b"caf\xe9", "text/plain; charset=iso-8859-1", True),
    "empty-body": ("text/csv", b"", "text/csv", False),
}


@pytest.mark.usefixtures("vision")
@pytest.mark.parametrize("case", ODD_ANSWERS.values(), ids=ODD_ANSWERS.keys())
def test_any_answer_is_passed_on_byte_identical_with_a_valid_content_type(case):
    model_type, model_body, content_type, is_base64 = case

    answered = invoke_stubbed(
        invoke_event("vision", TINY_JPEG, "image/jpeg"), answer_of(model_body, model_type)
    )

    assert answered == (200, content_type, is_base64, model_body)
