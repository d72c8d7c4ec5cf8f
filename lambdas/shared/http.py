"""Reading an invoke request and shaping replies, independent of the event library."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from shared import errors

JSON = "application/json"
# Replies of these types go back as text; anything else is returned base64-encoded (binary).
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/jsonlines",
    "application/x-ndjson",
    "application/xml",
)


class InvokeRequest(NamedTuple):
    body: bytes
    content_type: str | None  # media type only: lower case, parameters (charset) dropped
    accept: str | None


class Reply(NamedTuple):
    status: int
    content_type: str
    body: str | bytes


def read_request(
    headers: Mapping[str, str], body: str | None, is_base64: bool, max_bytes: int
) -> InvokeRequest:
    """The request body as bytes (413 over ``max_bytes``, 400 when empty) and its headers.

    ``headers`` must look names up case-insensitively (Powertools' event headers do)."""
    if is_base64 and body:
        # base64 is 4/3 the size of its content: refuse clearly oversized bodies before decoding.
        if len(body) * 3 // 4 > max_bytes + 3:
            raise errors.too_large(len(body) * 3 // 4, max_bytes)
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise errors.validation("Request body is marked base64 but is not valid base64") from None
    else:
        raw = (body or "").encode("utf-8")
    if len(raw) > max_bytes:
        raise errors.too_large(len(raw), max_bytes)
    if not raw:
        raise errors.validation("Request body is empty")
    return InvokeRequest(raw, media_type(headers.get("content-type")), headers.get("accept") or None)


def media_type(header: str | None) -> str | None:
    """'Application/JSON; charset=utf-8' -> 'application/json'."""
    if not header:
        return None
    return header.split(";", 1)[0].strip().lower() or None


def require_content_type(request: InvokeRequest, allowed: tuple[str, ...], default_ok: bool = False) -> str:
    """The request's media type if ``allowed`` holds it, else 415 listing what is allowed.

    With ``default_ok`` a request without Content-Type is taken as the first allowed type."""
    if request.content_type in allowed:
        return request.content_type
    if request.content_type is None and default_ok:
        return allowed[0]
    raise errors.unsupported_media_type(request.content_type, allowed)


def json_object(body: bytes) -> dict[str, Any]:
    """The body parsed as a JSON object, or a 400 saying why not."""
    try:
        value = json.loads(body)
    except UnicodeDecodeError:
        raise errors.validation("Request body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise errors.validation(f"Request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise errors.validation("Request body must be a JSON object")
    return value


def json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, JSON, json.dumps(payload, separators=(",", ":")))


def passthrough_reply(body: bytes, content_type: str | None) -> Reply:
    """A model's answer as the API's answer: text stays text, anything else stays binary."""
    content_type = content_type or "application/octet-stream"
    kind = media_type(content_type)
    if kind.startswith(_TEXT_TYPES) or kind.endswith("+json"):
        try:
            return Reply(200, content_type, body.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    return Reply(200, content_type, body)
