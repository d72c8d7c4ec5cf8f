"""API Gateway router: invoke any registered model by name.

POST /models/{name}/invoke   call the model (SageMaker endpoint or Bedrock Converse)
GET  /models                 every model with its hosting and endpoint status
GET  /models/{name}          one model

This module only parses, calls and maps; the work lives in the ``shared`` package.
"""

import base64
import gc
import os
import time

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from shared import bedrock, catalog, errors, http, router_metrics, sagemaker
from shared.registry import BedrockModel, Model, load_settings
from shared.rest_resolver import APIGatewayRestResolver, Response

logger = Logger()
app = APIGatewayRestResolver()
# Parsed once per cold start; a bad registry fails the init with its reason.
SETTINGS = load_settings(os.environ)
# Modules and the registry live as long as the process. Freezing them keeps the collector from
# walking them again on every full collection: the clients' first creation parses ~1 MB of
# endpoint JSON, which without this costs a cold start ~30 ms of collections over objects that never die.
gc.freeze()


@app.post("/models/<name>/invoke")
def invoke_model(name: str) -> Response:
    model = _model(name)
    started, status, failure = time.perf_counter(), 500, None
    try:
        event = app.current_event
        request = http.read_request(
            event.headers, event.body, bool(event.is_base64_encoded), SETTINGS.max_body_bytes
        )
        reply = _call(model, request)
        status = reply.status
        return _response(reply)
    except errors.ApiError as error:
        status, failure = error.status, error
        raise
    finally:
        _record(model.name, status, started, failure)


@app.get("/models")
def list_models() -> dict:
    return {"models": catalog.describe_all(SETTINGS.models.values())}


@app.get("/models/<name>")
def get_model(name: str) -> dict:
    return catalog.describe(_model(name))


@app.exception_handler(errors.ApiError)
def answer_api_error(error: errors.ApiError) -> Response:
    return _json(error.status, error.body())


@app.not_found
def answer_no_route(_error: Exception) -> Response:
    event = app.current_event
    return _json(404, {"error": "not_found", "message": f"No route for {event.http_method} {event.path}"})


@app.exception_handler(Exception)
def answer_bug(_error: Exception) -> Response:
    # A bug of ours, not the client's or AWS's: the trace goes to the logs, never the body.
    logger.exception("router failed unexpectedly")
    return _json(500, {"error": "internal", "message": "The router failed unexpectedly; see its logs"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context) -> dict:
    return app.resolve(event, context)


def _model(name: str) -> Model:
    model = SETTINGS.models.get(name)
    if model is None:
        raise errors.unknown_model(name, list(SETTINGS.models))
    return model


def _call(model: Model, request: http.InvokeRequest) -> http.Reply:
    if isinstance(model, BedrockModel):
        return bedrock.converse(model, request)
    if model.hosting == "async":
        return sagemaker.invoke_async(model, request)
    return sagemaker.invoke(model, request)


def _record(model: str, status: int, started: float, failure: errors.ApiError | None) -> None:
    """Per-model metrics and one log line; never the request or response body."""
    latency_ms = (time.perf_counter() - started) * 1000
    # One metrics object per request: a shared one keeps its "model" dimension whenever a flush
    # does not clear it (POWERTOOLS_METRICS_DISABLED), and then warns on the next model's.
    metrics = EphemeralMetrics()
    metrics.add_dimension(router_metrics.MODEL_DIMENSION, model)
    metrics.add_metric(router_metrics.LATENCY, MetricUnit.Milliseconds, latency_ms)
    metrics.add_metric(router_metrics.ERRORS, MetricUnit.Count, int(status >= 500))
    client_error = int(400 <= status < 500 and status != 429)
    metrics.add_metric(router_metrics.CLIENT_ERRORS, MetricUnit.Count, client_error)
    metrics.add_metric(router_metrics.THROTTLES, MetricUnit.Count, int(status == 429))
    metrics.flush_metrics()
    details = {"model": model, "status": status, "latency_ms": round(latency_ms, 1)}
    if failure is not None:
        details.update(error=failure.code, aws_code=failure.aws_code)
    logger.info("model invoked", extra=details)


def _response(reply: http.Reply) -> Response:
    if isinstance(reply.body, str):
        return Response(reply.status, reply.content_type, reply.body)
    # Powertools base64-encodes bytes, but would first try to JSON-serialise bytes typed
    # application/json (and fail outside our handlers): encode them here, the same way.
    response = Response(reply.status, reply.content_type, base64.b64encode(reply.body).decode())
    response.base64_encoded = True
    return response


def _json(status: int, payload: dict) -> Response:
    return Response(status, http.JSON, http.json_reply(status, payload).body)
