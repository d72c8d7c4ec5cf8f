"""Reading an invoke request and shaping replies, independent of the event library."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from shared import errors
from shared.registry import is_text_media_type

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"
# RFC 9110 tokens: what a media type's type and subtype may be made of.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
# Printable ASCII within SageMaker's 1024-character limit: a header value every hop passes on as is.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,1024}")


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
    raw = _body_bytes(body, is_base64, max_bytes)
    if len(raw) > max_bytes:
        raise errors.too_large(len(raw), max_bytes)
    if not raw:
        raise errors.validation("Request body is empty")
    accept = headers.get("accept") or None
    if accept is not None and not _HEADER_VALUE.fullmatch(accept):
        # SageMaker takes Accept as a header: control or non-ASCII characters would break the call.
        raise errors.validation("The Accept header must be at most 1024 printable ASCII characters")
    return InvokeRequest(raw, media_type(headers.get("content-type")), accept)


def _body_bytes(body: str | None, is_base64: bool, max_bytes: int) -> bytes:
    if not (is_base64 and body):
        try:
            return (body or "").encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: no bytes to send
            raise errors.validation("Request body is not valid Unicode text") from None
    # base64 is 4/3 the size of its content: refuse clearly oversized bodies before decoding.
    if len(body) * 3 // 4 > max_bytes + 3:
        raise errors.too_large(len(body) * 3 // 4, max_bytes)
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise errors.validation("Request body is marked base64 but is not valid base64") from None


def media_type(header: str | None) -> str | None:
    """'Application/JSON; charset=utf-8' -> 'application/json'; None when blank."""
    if not header:
        return None
    return header.split(";", 1)[0].strip().lower() or None


def require_content_type(request: InvokeRequest, allowed: tuple[str, ...], default_ok: bool = False) -> str:
    """The request's media type if an ``allowed`` entry covers it, else 415 listing what is allowed.

    An entry may be a wildcard ('image/*', '*/*'). With ``default_ok`` a request without
    Content-Type is taken as the first allowed type (when that is not a wildcard)."""
    sent = request.content_type
    if sent is None and default_ok and "*" not in allowed[0]:
        return allowed[0]
    if sent is not None and any(_covers(entry, sent) for entry in allowed):
        return sent
    raise errors.unsupported_media_type(sent, allowed)


def _covers(entry: str, sent: str) -> bool:
    if "*" in sent:  # a request names one concrete type
        return False
    if entry == sent:
        return True
    # A wildcard passes the request's own type on to the model, so that must be well-formed.
    if not entry.endswith("/*") or not _MEDIA_TYPE.fullmatch(sent):
        return False
    return entry == "*/*" or sent.startswith(entry[:-1])


def json_object(body: bytes) -> dict[str, Any]:
    """The body parsed as a JSON object, or a 400 saying why not."""
    try:
        value = json.loads(body)
    except UnicodeDecodeError:
        raise errors.validation("Request body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise errors.validation(f"Request body is not valid JSON: {error}") from None
    except RecursionError:  # arrays or objects nested past the parser's stack: the client's doing
        raise errors.validation("Request body nests JSON arrays or objects too deeply") from None
    if not isinstance(value, dict):
        raise errors.validation("Request body must be a JSON object")
    return value


def json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, JSON, json.dumps(payload, separators=(",", ":")))


def passthrough_reply(body: bytes, content_type: str | None) -> Reply:
    """A model's answer as the API's answer, whatever its type and bytes: text when the type is
    text-like and the bytes are UTF-8 (they round-trip exactly), binary otherwise."""
    header = reply_content_type(content_type)
    kind = media_type(header)
    if is_text_media_type(kind):  # the API's binary media types are the other ones
        try:
            return Reply(200, header, body.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    return Reply(200, header, body)


def reply_content_type(header: str | None) -> str:
    """The model's Content-Type if it is a well-formed header, else its media type alone,
    else application/octet-stream: a container's garbage never reaches the API's headers."""
    header = (header or "").strip()
    kind = header.split(";", 1)[0].strip()
    if not _MEDIA_TYPE.fullmatch(kind):
        return OCTET_STREAM
    return header if _HEADER_VALUE.fullmatch(header) else kind
