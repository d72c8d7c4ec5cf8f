"""API Gateway REST proxy events, a Lambda context and the test registry for the router tests.

The registry is built from a config by the stacks' own code (stacks/registry.py, through the
contract in lambdas/shared/registry.py) and written to a file, as the API stack's layer ships it.
Importing this module points the router at that file, so import it before ``router`` (which reads
the registry once, at import, like a cold start).
"""

import base64
import json
import os
import tempfile
from pathlib import Path

from shared.registry import ARTIFACTS_BUCKET_VARIABLE, FILE_VARIABLE, GUARDRAILS_VARIABLE, MAX_BODY_VARIABLE

from mlkit.api_event import LambdaContext, rest_event  # noqa: F401  (re-exported for the tests)
from stacks.config import MlKitConfig
from stacks.names import endpoint_name
from stacks.registry import registry_document
from tests.model_entries import SENTIMENT

ENVIRONMENT = "test"
BUCKET = "mlkit-test-data"
CONFIG = MlKitConfig.model_validate(
    {
        "environment": ENVIRONMENT,
        "region": "us-east-1",
        "models": {
            "sentiment": {
                **SENTIMENT,
            },
            "churn": {
                "source": "training",
                "dataset": "churn",
                "target": "churned",
                "content_types": ["text/csv", "application/json"],
                "hosting": {"type": "realtime", "instance_type": "ml.m5.large"},
            },
            "churn-async": {
                "source": "autopilot",
                "dataset": "churn",
                "target": "churned",
                "hosting": {"type": "async", "instance_type": "ml.m5.large"},
            },
            "chat": {
                "source": "bedrock",
                "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
                "inference": {"max_tokens": 512, "temperature": 0.5, "top_p": 0.9},
                "limits": {"max_tokens": 2048},
                "guardrail": {"content_filters": [{"type": "HATE"}]},
            },
            "plain-chat": {"source": "bedrock", "model_id": "us.amazon.nova-lite-v1:0"},
        },
    }
)
ENDPOINTS = {label: endpoint_name(ENVIRONMENT, label) for label in CONFIG.models}
# What the Bedrock stack's guardrail resolves to at deploy time.
GUARDRAILS = {"chat": {"identifier": "gr-123", "version": "1"}}
REGISTRY_TEXT = registry_document(ENVIRONMENT, CONFIG.models, created_guardrails=set(GUARDRAILS))
REGISTRY = json.loads(REGISTRY_TEXT)["models"]
MAX_BODY_BYTES = 4096


def write_registry(text: str, directory: str | None = None) -> str:
    """``text`` as a registry file; answers its path."""
    path = Path(directory or tempfile.mkdtemp(prefix="mlkit-registry-")) / "registry.json"
    path.write_text(text)
    return str(path)


def router_environment(registry_text: str = REGISTRY_TEXT) -> dict[str, str]:
    """The variables the API stack gives the router, with the registry file written for them."""
    return {
        FILE_VARIABLE: write_registry(registry_text),
        ARTIFACTS_BUCKET_VARIABLE: BUCKET,
        GUARDRAILS_VARIABLE: json.dumps(
            {name: [g["identifier"], g["version"]] for name, g in GUARDRAILS.items()}
        ),
        MAX_BODY_VARIABLE: str(MAX_BODY_BYTES),
    }


os.environ.update(router_environment())


def invoke_event(
    name: str, body: str | bytes | None, content_type: str | None = "application/json", **headers
):
    all_headers = {"Content-Type": content_type} if content_type else {}
    all_headers.update({key.replace("_", "-"): value for key, value in headers.items()})
    return rest_event("POST", f"/models/{name}/invoke", body, all_headers)


def converse_event(name: str = "chat", **payload) -> dict:
    return invoke_event(name, json.dumps(payload))


def load_router():
    """The router module, imported only once its registry (above) is in place."""
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


def add_model(monkeypatch, name: str, like: str, **fields) -> None:
    """Register one more model for a test: ``like``'s entry under ``name``, with ``fields`` changed
    (e.g. content_types=("image/jpeg",)). The router reads its registry once, so patch what it read."""
    router = load_router()
    model = router.SETTINGS.models[like]._replace(name=name, **fields)
    models = {**router.SETTINGS.models, name: model}
    monkeypatch.setattr(router, "SETTINGS", router.SETTINGS._replace(models=models))
