"""Invoking a Bedrock model through the Converse API.

A request is a JSON object: ``messages`` (Converse shape, or {role, content: "text"}) or a
bare ``prompt``, an optional ``system``, and optional ``inference`` settings merged over the
registry's defaults and bounded by its limits.
"""

from __future__ import annotations

from typing import Any

from shared import aws, errors, http
from shared.registry import BedrockModel, number_problem

RUNTIME = "bedrock-runtime"
REQUEST_KEYS = ("messages", "prompt", "system", "inference")
ROLES = ("user", "assistant")
# Request "inference" key -> Converse inferenceConfig key.
INFERENCE_KEYS = {"max_tokens": "maxTokens", "temperature": "temperature", "top_p": "topP"}
STOP_SEQUENCES = "stop_sequences"


def converse(model: BedrockModel, request: http.InvokeRequest) -> http.Reply:
    http.require_content_type(request, (http.JSON,), default_ok=True)
    params = converse_params(model, http.json_object(request.body))
    runtime = aws.client(RUNTIME)
    context = errors.CallContext(RUNTIME, model.name, model.model_id, runtime.meta.region_name)
    with errors.aws_call(context):
        answer = runtime.converse(**params)
    return http.json_reply(200, answer_payload(model, answer))


def converse_params(model: BedrockModel, payload: dict[str, Any]) -> dict[str, Any]:
    """The Converse call's parameters for a request payload (400 on anything malformed)."""
    unknown = sorted(set(payload) - set(REQUEST_KEYS))
    if unknown:
        raise errors.validation(f"Unknown field(s) {', '.join(unknown)}; allowed: {', '.join(REQUEST_KEYS)}")
    params: dict[str, Any] = {"modelId": model.model_id, "messages": _messages(payload)}
    if payload.get("system") is not None:
        params["system"] = _system(payload["system"])
    inference = _inference_config(model, payload.get("inference"))
    if inference:
        params["inferenceConfig"] = inference
    if model.guardrail:
        params["guardrailConfig"] = {
            "guardrailIdentifier": model.guardrail.identifier,
            "guardrailVersion": model.guardrail.version,
        }
    return params


def answer_payload(model: BedrockModel, answer: dict[str, Any]) -> dict[str, Any]:
    content = answer.get("output", {}).get("message", {}).get("content", [])
    usage = answer.get("usage", {})
    return {
        "text": "".join(block["text"] for block in content if "text" in block),
        "stop_reason": answer.get("stopReason"),
        "usage": {
            "input_tokens": usage.get("inputTokens"),
            "output_tokens": usage.get("outputTokens"),
            "total_tokens": usage.get("totalTokens"),
        },
        "model_id": model.model_id,
    }


def _messages(payload: dict[str, Any]) -> list[dict[str, Any]]:
    has_messages, has_prompt = payload.get("messages") is not None, payload.get("prompt") is not None
    if has_messages == has_prompt:
        raise errors.validation("Send either 'messages' or 'prompt' (exactly one of them)")
    if has_prompt:
        return [{"role": "user", "content": [{"text": _text(payload["prompt"], "prompt")}]}]
    messages = payload["messages"]
    if not isinstance(messages, list) or not messages:
        raise errors.validation("'messages' must be a non-empty list of {role, content}")
    return [_message(message, index) for index, message in enumerate(messages)]


def _message(message: Any, index: int) -> dict[str, Any]:
    where = f"messages[{index}]"
    if not isinstance(message, dict) or set(message) != {"role", "content"}:
        raise errors.validation(f"{where} must be an object with exactly 'role' and 'content'")
    if message["role"] not in ROLES:
        raise errors.validation(f"{where}.role must be one of {', '.join(ROLES)}")
    content = message["content"]
    if isinstance(content, str):
        return {"role": message["role"], "content": [{"text": _text(content, f"{where}.content")}]}
    if not isinstance(content, list) or not content or not all(isinstance(block, dict) for block in content):
        raise errors.validation(
            f"{where}.content must be text or a non-empty list of Converse content blocks"
        )
    return {"role": message["role"], "content": content}


def _system(system: Any) -> list[dict[str, Any]]:
    if isinstance(system, str):
        return [{"text": _text(system, "system")}]
    if isinstance(system, list) and system and all(isinstance(block, dict) for block in system):
        return system
    raise errors.validation("'system' must be text or a non-empty list of Converse system blocks")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.validation(f"'{where}' must be non-empty text")
    return value


def _inference_config(model: BedrockModel, requested: Any) -> dict[str, Any]:
    """Request settings over the model's defaults; a setting over a limit is a 400 naming the limit."""
    if requested is None:
        requested = {}
    if not isinstance(requested, dict):
        raise errors.validation("'inference' must be an object")
    allowed = (*INFERENCE_KEYS, STOP_SEQUENCES)
    unknown = sorted(set(requested) - set(allowed))
    if unknown:
        raise errors.validation(
            f"Unknown inference setting(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )
    settings = {**model.inference, **requested}
    if "max_tokens" not in settings and "max_tokens" in model.limits:
        # Without it Bedrock would use the model's own maximum, which may exceed the limit.
        settings["max_tokens"] = model.limits["max_tokens"]
    config: dict[str, Any] = {}
    for key, converse_key in INFERENCE_KEYS.items():
        if key not in settings:
            continue
        value = settings[key]
        problem = number_problem(key, value)
        if problem:
            raise errors.validation(f"inference.{key} {problem}")
        limit = model.limits.get(key)
        if limit is not None and value > limit:
            raise errors.validation(f"inference.{key} is {value}, over this model's limit of {limit}")
        config[converse_key] = value
    stops = settings.get(STOP_SEQUENCES)
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(stop, str) and stop for stop in stops):
            raise errors.validation("inference.stop_sequences must be a list of non-empty strings")
        config["stopSequences"] = stops
    return config
