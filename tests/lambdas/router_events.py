"""API Gateway REST proxy events, a Lambda context and the test registry for the router tests.

Importing this module sets MODEL_REGISTRY, so import it before ``router`` (which reads the
registry once, at import, like a cold start).
"""

import base64
import json
import os

from mlkit.api_event import LambdaContext, rest_event  # noqa: F401  (re-exported for the tests)

BUCKET = "mlkit-test-data"
REGISTRY = {
    "sentiment": {
        "source": "huggingface",
        "endpoint_name": "mlkit-sentiment",
        "hosting": "serverless",
        "content_types": ["application/json"],
    },
    "churn": {
        "source": "training",
        "endpoint_name": "mlkit-churn",
        "hosting": "realtime",
        "content_types": ["text/csv", "application/json"],
    },
    "churn-async": {
        "source": "autopilot",
        "endpoint_name": "mlkit-churn-async",
        "hosting": "async",
        "content_types": ["text/csv"],
        "input_location": f"s3://{BUCKET}/async-input/churn-async/",
        "output_location": f"s3://{BUCKET}/async-output/churn-async/",
    },
    "chat": {
        "source": "bedrock",
        "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
        "inference": {"max_tokens": 512, "temperature": 0.5, "top_p": 0.9},
        "limits": {"max_tokens": 2048},
        "guardrail": {"identifier": "gr-123", "version": "1"},
    },
    "plain-chat": {"source": "bedrock", "model_id": "us.amazon.nova-lite-v1:0"},
}
MAX_BODY_BYTES = 4096

os.environ["MODEL_REGISTRY"] = json.dumps(REGISTRY)
os.environ["MAX_BODY_BYTES"] = str(MAX_BODY_BYTES)


def invoke_event(
    name: str, body: str | bytes | None, content_type: str | None = "application/json", **headers
):
    all_headers = {"Content-Type": content_type} if content_type else {}
    all_headers.update({key.replace("_", "-"): value for key, value in headers.items()})
    return rest_event("POST", f"/models/{name}/invoke", body, all_headers)


def converse_event(name: str = "chat", **payload) -> dict:
    return invoke_event(name, json.dumps(payload))


def load_router():
    """The router module, imported only once MODEL_REGISTRY (above) is set."""
    import router

    return router


def call(event: dict) -> tuple[int, dict[str, str], object]:
    """Run the router on ``event``: status, headers, and the body (parsed when JSON)."""
    answer = load_router().handler(event, LambdaContext())
    body = answer["body"]
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body)
    # The REST resolver answers with multiValueHeaders; flatten them for assertions.
    headers = {key: values[-1] for key, values in (answer.get("multiValueHeaders") or {}).items()}
    headers.update(answer.get("headers") or {})
    if headers.get("Content-Type") == "application/json":
        body = json.loads(body)
    return answer["statusCode"], headers, body
