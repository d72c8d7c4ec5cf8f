"""Property-based test of the router's handler: any request, any model answer, any AWS failure.

Hypothesis draws methods, paths, headers, bodies and base64 flags, and what the model or AWS does:
an answer of any Content-Type and any bytes, an error of every code in the error table (and unknown
ones), a timeout, a lost connection, a body that breaks off mid-read. Invariants:
  - the handler returns, never a 500, always a well-formed Content-Type;
  - every 4xx/5xx body is JSON {"error", "message"};
  - an unknown model is a 404, a known model's body over the limit a 413;
  - a SageMaker answer reaches the client byte for byte.

AWS is a stand-in client (one object, no moto per example) that checks each call's parameters against
botocore's own model of the API, so a parameter AWS would refuse fails the test too.
2,000 examples by default; MLKIT_HYPOTHESIS_EXAMPLES=20000 runs more by hand.
"""

import base64
import io
import json
import os
import re
from types import SimpleNamespace

import boto3
import moto
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.response import StreamingBody
from botocore.validate import validate_parameters
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from router_events import LambdaContext, add_model, load_router, rest_event
from shared import aws
from shared.errors import AWS_ERRORS
from shared.registry import BedrockModel

settings.register_profile(
    "mlkit-router",
    max_examples=int(os.environ.get("MLKIT_HYPOTHESIS_EXAMPLES", "2000")),
    deadline=None,  # examples differ in cost (a listing runs threads); the count bounds the run
    database=None,  # nothing written to .hypothesis/
    suppress_health_check=[HealthCheck.too_slow],
)
ROUTER = load_router()
MEDIA_TYPES = ("image/*", "audio/wav", "application/octet-stream")  # the extra models' content_types
MEDIA_MODELS = ("media", "media-async")
HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
URL = "https://runtime.sagemaker.us-east-1.amazonaws.com"


class FakeClient:
    """A boto3 client's stand-in: checks each call's parameters as botocore would, then answers
    what Hypothesis draws at that moment (``world.draw``): an error, or an answer of any shape."""

    def __init__(self, service: str, world: SimpleNamespace):
        self.meta = boto3.client(service, region_name="us-east-1").meta  # its API model; it never sends
        self.world = world

    def __getattr__(self, method: str):
        def call(**params):
            self.world.calls.append(method)
            self._check(method, params)
            return self._answer(method)

        return call

    def _check(self, method: str, params: dict) -> None:
        shape = self.meta.service_model.operation_model(self.meta.method_to_api_mapping[method]).input_shape
        try:
            validate_parameters(params, shape)
        except Exception as error:  # noqa: BLE001 - recorded, asserted after the call
            self.world.problems.append(f"{method}: {error}")
        for name, member in shape.members.items():
            value = params.get(name)
            if member.serialization.get("location") != "header" or not isinstance(value, str):
                continue
            # http.client refuses CR/LF and non-Latin-1 in headers; these APIs take ASCII only.
            if not HEADER_VALUE.fullmatch(value) or len(value) > member.metadata.get("max", 8192):
                self.world.problems.append(f"{method}: header {name}={value!r}")

    def _answer(self, method: str) -> dict:
        if method == "describe_endpoint":  # runs in the listing's threads, where Hypothesis cannot draw
            if isinstance(self.world.describe, Exception):
                raise self.world.describe
            return {"EndpointStatus": self.world.describe}
        draw = self.world.draw
        if sometimes(draw, 4):
            raise draw(ERRORS, label=f"{method} fails with")
        if method == "invoke_endpoint":
            raw = self.world.raw = draw(BODIES, label="model answers")
            body = StreamingBody(io.BytesIO(raw), len(raw))
            if sometimes(draw, 10):
                body = BreakingBody(draw(TRANSPORT_ERRORS, label="while reading the answer"))
            content_type = draw(ANSWER_TYPES, label="model's Content-Type")
            return {"Body": body} if content_type is None else {"Body": body, "ContentType": content_type}
        if method == "invoke_endpoint_async":
            return draw(ASYNC_ANSWERS)
        if method == "converse":
            return draw(CONVERSE_ANSWERS)
        return {}


class BreakingBody:
    """A response body whose connection drops while it is read."""

    def __init__(self, error: Exception):
        self.error = error

    def read(self):
        raise self.error


@pytest.fixture(scope="module")
def world():
    """Fake clients for every service, and two media models (a wildcard one, an async one)."""
    world = SimpleNamespace(draw=None, describe=None, calls=[], problems=[], raw=None)
    services = ("sagemaker-runtime", "bedrock-runtime", "s3", "sagemaker")
    clients = {service: FakeClient(service, world) for service in services}
    like = {model.hosting: name for name, model in ROUTER.SETTINGS.models.items()}
    with moto.mock_aws(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws, "client", clients.__getitem__)
        add_model(
            patch, "media", like=like["realtime"], endpoint_name="mlkit-media", content_types=MEDIA_TYPES
        )
        add_model(patch, "media-async", like=like["async"], content_types=MEDIA_TYPES)
        yield world


def fitting_types(content_types: tuple[str, ...]) -> list[str]:
    """Content-Types a model takes, as a client may write them (wildcards made concrete)."""
    types = [t.replace("*", "x-drawn") if t.endswith("/*") else t for t in content_types]
    return [*types, *(f"{t.upper()}; charset=utf-8" for t in types)]


BEDROCK = {name for name, model in ROUTER.SETTINGS.models.items() if isinstance(model, BedrockModel)}
FITTING = {
    name: fitting_types(getattr(model, "content_types", ("application/json",)))
    for name, model in ROUTER.SETTINGS.models.items()
}
FITTING.update({name: fitting_types(MEDIA_TYPES) for name in MEDIA_MODELS})
KNOWN = sorted(FITTING)
TEXT = st.text(max_size=24)
PROMPT = st.one_of(st.text(st.characters(codec="ascii"), min_size=1, max_size=20), TEXT)
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        ["", " ", ";", "image/*", "*/*", "image/jpeg", "audio/wav", "text/csv", "application/json"]
    ),
    st.text(max_size=20),
)
# What a model may answer as its Content-Type: realistic, blank, malformed, hostile.
ANSWER_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/jsonlines",
            "text/csv; charset=utf-8",
            "image/png",
            "application/x-npy",
            "application/problem+json",
            "",
            " ",
            ";",
            "; charset=utf-8",
            "text/plain\r\nX-Evil: 1",
            "text/plain; note=caf\u00e9",
        ]
    ),
    st.none(),
    st.text(max_size=30),
)
OTHER_ROUTES = st.tuples(
    st.sampled_from(["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "post"]),
    st.sampled_from(["/models", "/models/{name}", "/models/{name}/invoke", "/models/{name}/other"]),
)


def sometimes(draw, one_in: int) -> bool:
    return draw(st.integers(1, one_in)) == one_in


def unknown_names():
    safe = st.characters(exclude_characters="/%?#")
    return st.text(safe, min_size=1, max_size=12).filter(lambda name: name not in KNOWN)


def converse_payloads():
    """Mostly valid Converse requests (so Bedrock gets called), with wrong types and keys mixed in."""
    numbers = st.one_of(st.integers(-3, 5000), st.floats(-1, 3), st.booleans(), TEXT)
    keys = st.sampled_from(["max_tokens", "temperature", "top_p", "stop_sequences", "x"])
    inference = st.dictionaries(keys, numbers, max_size=2)
    message = st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system"]), "content": TEXT}
    )
    return st.one_of(
        st.fixed_dictionaries({"prompt": PROMPT}, optional={"system": PROMPT, "inference": inference}),
        st.fixed_dictionaries({"prompt": PROMPT}),
        st.fixed_dictionaries({"messages": st.lists(message, max_size=3)}),
        st.dictionaries(TEXT, st.one_of(TEXT, st.integers(), st.none()), max_size=2),
    )


BODY_KINDS = ["text", "binary", "json", "none", "bad-base64", "surrogate", "big"]


@st.composite
def bodies(draw, bedrock: bool, limit: int):
    """(body, isBase64Encoded, the bytes it stands for or None when it stands for none)."""
    kind = draw(
        st.sampled_from(["json"] * 12 + BODY_KINDS if bedrock else ["text", "binary"] * 6 + BODY_KINDS)
    )
    if kind == "none":
        return draw(st.sampled_from([None, ""])), draw(st.booleans()), b""
    if kind == "text":
        text = draw(st.text(min_size=1, max_size=40))
        return text, False, text.encode("utf-8")
    if kind == "binary":
        raw = draw(st.binary(min_size=1, max_size=100))
        return base64.b64encode(raw).decode(), True, raw
    if kind == "json":
        text = json.dumps(draw(converse_payloads() if bedrock else st.just({"inputs": "hi"})))
        return text, False, text.encode("utf-8")
    if kind == "bad-base64":
        return draw(TEXT) + "!", True, None
    if kind == "surrogate":
        return draw(TEXT) + "\ud800", False, None
    # Around the limit: a drawn seed repeated, as text or base64.
    seed = draw(st.binary(min_size=1, max_size=4))
    raw = (seed * (limit // len(seed) + 2))[: limit + draw(st.integers(-2, 20))]
    if draw(st.booleans()):
        return base64.b64encode(raw).decode(), True, raw
    text = raw.decode("latin-1")
    return text, False, text.encode("utf-8")


@st.composite
def requests(draw):
    """Mostly invocations of known models with fitting types (so AWS gets called), and everything else."""
    name = draw(unknown_names()) if sometimes(draw, 15) else draw(st.sampled_from(KNOWN))
    method, path = draw(OTHER_ROUTES) if sometimes(draw, 8) else ("POST", "/models/{name}/invoke")
    path = "/" + draw(TEXT) if sometimes(draw, 30) else path.format(name=name)
    body, is_base64, raw = draw(bodies(name in BEDROCK, ROUTER.SETTINGS.max_body_bytes))
    headers = draw(st.dictionaries(st.text(min_size=1, max_size=8), TEXT, max_size=2))
    fitting = FITTING.get(name)
    fits = fitting and not sometimes(draw, 6)
    content_type = draw(st.sampled_from(fitting) if fits else CONTENT_TYPES)
    accept = draw(st.one_of(CONTENT_TYPES, st.just("a" * 1100))) if sometimes(draw, 5) else None
    for header, value in (("Content-Type", content_type), ("Accept", accept)):
        if value is not None:
            headers[draw(st.sampled_from([header, header.lower(), header.upper()]))] = value
    event = rest_event(method, path, None, headers if headers or draw(st.booleans()) else None)
    event.update(body=body, isBase64Encoded=is_base64)
    return SimpleNamespace(event=event, name=name, method=method.upper(), path=path, raw=raw)


def client_errors():
    codes = st.one_of(st.sampled_from([code for rule in AWS_ERRORS for code in rule.codes]), TEXT)
    messages = st.one_of(TEXT, st.just("Endpoint mlkit-x of account 123456789012 not found."))

    def error(code, message, original, status):
        response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        if original is not None:
            response["OriginalMessage"] = original
        return ClientError(response, "Invoke")

    return st.builds(
        error, codes, messages, st.one_of(st.none(), TEXT), st.sampled_from([400, 424, 429, 500, 503])
    )


TRANSPORT_ERRORS = st.sampled_from(
    [
        ReadTimeoutError(endpoint_url=URL),
        ConnectTimeoutError(endpoint_url=URL),
        EndpointConnectionError(endpoint_url=URL),
        NoCredentialsError(),
        ResponseStreamingError(error="connection reset"),
    ]
)
ERRORS = st.one_of(client_errors(), TRANSPORT_ERRORS)


BODIES = st.one_of(st.binary(max_size=100), TEXT.map(str.encode))
LOCATION = "s3://mlkit-test-data/async-output/x.out"
ASYNC_ANSWERS = st.fixed_dictionaries(
    {"OutputLocation": st.just(LOCATION)},
    optional={"InferenceId": TEXT, "FailureLocation": st.just(LOCATION + ".failure")},
)
CONVERSE_ANSWERS = st.builds(
    lambda blocks, stop: {
        "output": {"message": {"role": "assistant", "content": blocks}},
        "stopReason": stop,
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
    },
    st.lists(st.one_of(st.builds(dict, text=TEXT), st.just({"image": {}})), max_size=3),
    st.sampled_from(["end_turn", "max_tokens", "guardrail_intervened"]),
)


@settings(settings.get_profile("mlkit-router"))
@given(request=requests(), data=st.data())
def test_the_router_answers_anything_well(world, request, data):
    world.draw, world.calls, world.problems, world.raw = data.draw, [], [], None
    if request.method == "GET":
        world.describe = data.draw(
            st.one_of(st.sampled_from(["InService", "Failed"]), ERRORS), label="describe"
        )

    answer = ROUTER.handler(request.event, LambdaContext())

    status, headers = answer["statusCode"], {k: v[-1] for k, v in answer["multiValueHeaders"].items()}
    body = (
        base64.b64decode(answer["body"], validate=True)
        if answer["isBase64Encoded"]
        else answer["body"].encode()
    )
    event(f"{status} after {'+'.join(world.calls) or 'no AWS call'}")  # --hypothesis-show-statistics
    assert world.problems == []
    assert 200 <= status < 600 and status != 500, (status, body)
    assert HEADER_VALUE.fullmatch(headers["Content-Type"]) and headers["Content-Type"].strip()
    if status >= 400:
        assert headers["Content-Type"] == "application/json"
        error = json.loads(body)
        assert set(error) == {"error", "message"} and all(isinstance(v, str) and v for v in error.values())
    invoke = request.method == "POST" and request.path == f"/models/{request.name}/invoke"
    if (
        invoke or request.method == "GET" and request.path == f"/models/{request.name}"
    ) and request.name not in KNOWN:
        assert status == 404
    if invoke and request.name in KNOWN and request.raw and len(request.raw) > ROUTER.SETTINGS.max_body_bytes:
        assert status == 413
    if invoke and status == 200 and world.calls == ["invoke_endpoint"]:
        assert body == world.raw  # byte for byte, whatever the type
    if status == 202:
        assert {"inference_id", "output_location"} <= set(json.loads(body))


def test_the_fake_client_records_what_botocore_would_refuse(world):
    world.problems = []
    params = {"EndpointName": "e", "Body": b"x", "ContentType": "text/csv\r\nX: 1", "Accept": 1}

    aws.client("sagemaker-runtime")._check("invoke_endpoint", params)

    assert len(world.problems) == 2, world.problems  # Accept's type, ContentType's line break
