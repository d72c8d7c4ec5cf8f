"""Proof, from what the emulator records, that the router called *that* endpoint with *those* bytes.

moto's InvokeEndpoint cannot tell endpoints apart: in server mode it reads EndpointName from the
request's parameters, where the path's name never is (moto/sagemakerruntime/responses.py), so its
answer queue and its kept answers are shared by every name. Seeded answers alone therefore prove
nothing about the endpoint. moto's recorder (/moto-api/recorder) does keep every request it
receives: its URL (/endpoints/<name>/invocations), headers and body. Each proof records the
emulator's requests while the router handles one call, then compares the one InvokeEndpoint (or
InvokeEndpointAsync) it received with the endpoint name and request the model's config implies.
"""

import base64
import json
import re
import urllib.request
from contextlib import contextmanager
from typing import NamedTuple
from urllib.parse import unquote, urlparse

from botocore.awsrequest import AWSResponse

from lambdas.shared.registry import is_text_media_type
from mlkit.api_event import LambdaContext, rest_event
from mlkit.local_endpoint import drain_endpoint_results, seed_endpoint_body
from mlkit.local_training import object_keys
from mlkit.report import StepFailed
from stacks import names

RECORDER = "/moto-api/recorder"
ENDPOINT_PATH = re.compile(r"/endpoints/(?P<endpoint>[^/]+)/(?P<action>invocations|async-invocations)")
ACTIONS = {"invocations": "InvokeEndpoint", "async-invocations": "InvokeEndpointAsync"}


class SageMakerCall(NamedTuple):
    """One InvokeEndpoint(Async) as the emulator received it (the last attempt, if retried)."""

    endpoint: str
    action: str
    body: bytes
    headers: dict[str, str]  # names lower-cased


def _recorder(emulator: str, action: str) -> str:
    method = "GET" if action == "download-recording" else "POST"
    data = None if method == "GET" else b""
    request = urllib.request.Request(f"{emulator}{RECORDER}/{action}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read().decode("utf-8")


@contextmanager
def recorded_calls(emulator: str):
    """The SageMaker runtime calls the emulator receives inside the block, from moto's recorder."""
    calls: list[SageMakerCall] = []
    _recorder(emulator, "reset-recording")
    _recorder(emulator, "start-recording")
    try:
        yield calls
    finally:
        _recorder(emulator, "stop-recording")
        text = _recorder(emulator, "download-recording")
        _recorder(emulator, "reset-recording")  # the record is for this proof only
        calls.extend(sagemaker_calls(json.loads(line) for line in text.splitlines() if line.strip()))


def sagemaker_calls(entries) -> list[SageMakerCall]:
    latest: dict[str, SageMakerCall] = {}
    for index, entry in enumerate(entries):
        match = ENDPOINT_PATH.fullmatch(urlparse(entry.get("url", "")).path)
        if not match:
            continue
        body = entry.get("body") or ""
        data = base64.b64decode(body) if entry.get("body_encoded") else body.encode("utf-8")
        headers = {key.lower(): value for key, value in entry.get("headers", {}).items()}
        call = SageMakerCall(unquote(match["endpoint"]), match["action"], data, headers)
        # botocore retries keep the invocation id: one call, however many attempts.
        latest[headers.get("amz-sdk-invocation-id") or str(index)] = call
    return list(latest.values())


def check_call(calls: list[SageMakerCall], action: str, endpoint: str, expected: dict) -> SageMakerCall:
    """The one ``action`` call received went to ``endpoint`` with the ``expected`` body and headers."""
    made = [call for call in calls if call.action == action]
    if len(made) != 1:
        raise StepFailed(f"the emulator received {len(made)} {ACTIONS[action]} calls for one request")
    call, problems = made[0], []
    if call.endpoint != endpoint:
        problems.append(f"endpoint {call.endpoint!r}, not {endpoint!r}")
    for key, value in expected.items():
        got = call.body if key == "body" else call.headers.get(key)
        if got != value:
            problems.append(f"{key} {_short(got)}, not {_short(value)}")
    if problems:
        raise StepFailed(f"the router's {ACTIONS[action]} reached the emulator with " + "; ".join(problems))
    return call


def _short(value) -> str:
    if isinstance(value, bytes):
        return f"{value[:60]!r} ({len(value)} bytes)"
    return repr(value)


class Answer(NamedTuple):
    """The router's reply, its body as bytes whether API Gateway would carry it as text or base64."""

    status: int
    content_type: str
    body: bytes

    def text(self, limit: int = 1000) -> str:
        return self.body[:limit].decode("utf-8", "replace")


def sample_request(content_types, preferred: str, text: str) -> tuple[str | bytes, str]:
    """A request the model's route accepts: ``preferred`` if it declares it, else its first type.

    Binary types get ``text``'s bytes, sent base64 as API Gateway sends binary bodies; plain ASCII,
    since moto's InvokeEndpoint fails on a body that is not UTF-8.
    """
    content_type = preferred if preferred in content_types else content_types[0]
    return (text if is_text_media_type(content_type) else text.encode()), content_type


def as_bytes(request: str | bytes) -> bytes:
    return request if isinstance(request, bytes) else request.encode()


def call(
    router, method: str, path: str, body: str | bytes | None = None, headers: dict | None = None
) -> Answer:
    reply = router.handler(rest_event(method, path, body, headers), LambdaContext())
    raw = reply.get("body") or ""
    data = base64.b64decode(raw) if reply.get("isBase64Encoded") else raw.encode("utf-8")
    reply_headers = {key.lower(): value for key, value in (reply.get("headers") or {}).items()}
    for key, values in (reply.get("multiValueHeaders") or {}).items():
        reply_headers.setdefault(key.lower(), values[0])
    return Answer(reply["statusCode"], reply_headers.get("content-type", ""), data)


def invoke(router, label: str, request: str | bytes, content_type: str, accept: str) -> Answer:
    headers = {"Content-Type": content_type, "Accept": accept}
    return call(router, "POST", f"/models/{label}/invoke", request, headers)


def prove_inline(
    run, label: str, request: str | bytes, content_type: str, answer: str, answer_type: str
) -> Answer:
    """The router's 200, once the emulator shows one InvokeEndpoint to this model's endpoint with the
    request's bytes, Content-Type and Accept, and the router passed the endpoint's ``answer`` back."""
    endpoint = run.endpoint_name(label)
    drain_endpoint_results(run.clients("sagemaker-runtime"))  # no answer left over from an earlier run
    seed_endpoint_body(run.emulator.endpoint, answer, answer_type)
    with recorded_calls(run.emulator.endpoint) as calls:
        reply = invoke(run.router, label, request, content_type, answer_type)
    if reply.status != 200:
        raise StepFailed(f"router answered {reply.status}: {reply.text()}")
    expected = {"body": as_bytes(request), "content-type": content_type, "accept": answer_type}
    check_call(calls, "invocations", endpoint, expected)
    if (reply.body, reply.content_type) != (answer.encode(), answer_type):
        raise StepFailed(
            f"router answered {reply.text()!r} ({reply.content_type}), not the endpoint's "
            f"{answer[:200]!r} ({answer_type})"
        )
    return reply


def prove_queued(run, label: str, request: str | bytes, content_type: str, accept: str) -> dict:
    """The router's 202, once proven: the request's bytes stored under the model's input prefix, that
    object queued for this model's endpoint, and the output location that endpoint answered reported.

    Answers the router's reply and where the request was stored."""
    s3, bucket = run.s3(), run.bucket("artifacts")
    prefix, endpoint = names.async_prefixes(label)["input"], run.endpoint_name(label)
    before = set(object_keys(s3, bucket, prefix))
    with recorded_calls(run.emulator.endpoint) as calls:
        answer = invoke(run.router, label, request, content_type, accept)
    if answer.status != 202:
        raise StepFailed(f"router answered {answer.status} (async hosting answers 202): {answer.text()}")
    reply = json.loads(answer.body)
    location = stored_request(
        s3, bucket, prefix, before, reply.get("inference_id"), as_bytes(request), content_type
    )
    expected = {
        "x-amzn-sagemaker-inputlocation": location,
        "x-amzn-sagemaker-content-type": content_type,
        "x-amzn-sagemaker-accept": accept,
    }
    check_call(calls, "async-invocations", endpoint, expected)
    # moto keys async answers by endpoint and input location: asking again gives its answer for that pair.
    again = run.clients("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=location, ContentType=content_type, Accept=accept
    )
    if again["OutputLocation"] != reply.get("output_location"):
        raise StepFailed(
            f"the router reported {reply.get('output_location')}; {endpoint} answered "
            f"{again['OutputLocation']} for {location}"
        )
    return {"reply": reply, "location": location}


def stored_request(
    s3, bucket: str, prefix: str, before: set, inference_id, request: bytes, content_type: str
) -> str:
    """The one new object under ``prefix``, named for the inference, holding the request: its URI."""
    new = sorted(set(object_keys(s3, bucket, prefix)) - before)
    if len(new) != 1 or not inference_id or inference_id not in new[0]:
        raise StepFailed(
            f"expected one new object named for inference {inference_id} under s3://{bucket}/{prefix}, "
            f"found {new}"
        )
    stored = s3.get_object(Bucket=bucket, Key=new[0])
    data = stored["Body"].read()
    if data != request or stored.get("ContentType") != content_type:
        raise StepFailed(
            f"s3://{bucket}/{new[0]} holds {_short(data)} ({stored.get('ContentType')}), "
            f"not the request's {len(request)} bytes ({content_type})"
        )
    return f"s3://{bucket}/{new[0]}"


# Parameters are recorded as the router built them; the answer comes in place of the HTTP exchange
# (before-send), so every check botocore makes before sending (IAM's, mlkit/access) still runs.
CONVERSE_EVENTS = ("before-parameter-build.bedrock-runtime.Converse", "before-send.bedrock-runtime.Converse")


class _Payload:
    """The raw body botocore reads an HTTP answer from."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_):
        yield self.content


@contextmanager
def converse_stub(router, text: str):
    """The router's own bedrock-runtime client answers Converse in-process (moto has no Bedrock runtime).

    The stub answers after IAM's decision on the call (mlkit/access), as Bedrock would.
    Yields the list of parameters each Converse call was made with, as the router built them.
    """
    from shared import aws  # the router's package: lambdas/ is on sys.path once the router is loaded

    router.activate()  # the router's own credentials and clients, which the call then uses
    client = aws.client("bedrock-runtime")
    calls: list[dict] = []

    def record(params, **_):
        calls.append(dict(params))

    def answer(request, **_):
        body = {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
            "metrics": {"latencyMs": 1},
        }
        headers = {"Content-Type": "application/json"}
        return AWSResponse(request.url, 200, headers, _Payload(json.dumps(body).encode()))

    handlers = dict(zip(CONVERSE_EVENTS, (record, answer), strict=True))
    for event, handler in handlers.items():
        client.meta.events.register(event, handler)
    try:
        yield calls
    finally:
        for event, handler in handlers.items():
            client.meta.events.unregister(event, handler)
