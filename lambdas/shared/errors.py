"""Every failure the router can meet, mapped to an HTTP status and a JSON body.

Client mistakes are raised directly as ``ApiError``. AWS failures go through one table,
``AWS_ERRORS``: the first row whose code (and, when set, service and message pattern)
matches decides the status. Anything the table does not know is a 502 naming the AWS
code, so an upstream failure never surfaces as a 500 or leaks a stack trace.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import NamedTuple

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)


class ApiError(Exception):
    """A failure with its HTTP status; the body is {"error": code, "message": message}."""

    def __init__(self, status: int, code: str, message: str, aws_code: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.aws_code = status, code, message, aws_code

    @property
    def upstream(self) -> bool:
        """True when AWS or the model failed, not the client's request."""
        return self.aws_code is not None

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


def validation(message: str) -> ApiError:
    return ApiError(400, "validation", message)


def unknown_model(name: str, known: list[str]) -> ApiError:
    return ApiError(404, "not_found", f"Unknown model {name!r}; known models: {', '.join(sorted(known))}")


def too_large(size: int, limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"Request body is {size} bytes; the limit is {limit} bytes")


def unsupported_media_type(got: str | None, allowed: tuple[str, ...]) -> ApiError:
    sent = f"Content-Type {got!r} is" if got else "A missing Content-Type is"
    return ApiError(415, "unsupported_media_type", f"{sent} not accepted; send one of: {', '.join(allowed)}")


class AwsErrorRule(NamedTuple):
    """One row of the AWS error table. ``message`` is a str.format template over
    model, target (endpoint name or Bedrock model id), region, aws_code, aws_message
    and model_said (what a failing model answered, if AWS passed it on)."""

    codes: tuple[str, ...]
    status: int
    error: str
    message: str = "{aws_code}: {aws_message}"
    service: str | None = None  # only errors from this client (e.g. "bedrock-runtime")
    pattern: str | None = None  # only when the AWS message matches this regex

    def matches(self, code: str, service: str, aws_message: str) -> bool:
        return (
            code in self.codes
            and (self.service is None or self.service == service)
            and (self.pattern is None or re.search(self.pattern, aws_message) is not None)
        )


THROTTLING_CODES = (
    "ThrottlingException",
    "TooManyRequestsException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "ServiceQuotaExceededException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
)

AWS_ERRORS: tuple[AwsErrorRule, ...] = (
    AwsErrorRule(
        THROTTLING_CODES,
        429,
        "throttled",
        "Model {model} is being throttled by AWS ({aws_code}); retry later with backoff",
    ),
    AwsErrorRule(
        ("ModelError", "ModelErrorException"), 502, "model_error", "Model {model} failed: {model_said}"
    ),
    # SageMaker says "Endpoint <name> of account <id> not found." for a missing endpoint.
    AwsErrorRule(
        ("ValidationError",),
        503,
        "model_not_ready",
        "Endpoint {target} of model {model} is not ready (missing or not InService): {aws_message}",
        pattern=r"(?i)\bendpoint\b.*\b(not found|not in ?service)",
    ),
    AwsErrorRule(
        ("ModelNotReadyException",),
        503,
        "model_not_ready",
        "Model {model} is not ready yet; retry shortly: {aws_message}",
    ),
    AwsErrorRule(
        ("ServiceUnavailable", "ServiceUnavailableException"),
        503,
        "service_unavailable",
        "AWS is unavailable for model {model}; retry shortly: {aws_message}",
    ),
    AwsErrorRule(
        ("AccessDeniedException",),
        403,
        "access_denied",
        "Access to Bedrock model {target} is denied in region {region}: enable model access for "
        "{target} in the Bedrock console of {region} (and check the router's IAM policy). {aws_message}",
        service="bedrock-runtime",
    ),
    AwsErrorRule(("ModelTimeoutException",), 504, "timeout", "Model {model} timed out: {aws_message}"),
    # Bedrock rejects malformed conversations (e.g. two user turns in a row): the client's to fix.
    AwsErrorRule(("ValidationException",), 400, "validation", "{aws_message}", service="bedrock-runtime"),
)

# botocore failures that are not AWS answers: no response arrived in time, or none at all.
TRANSPORT_ERRORS: tuple[tuple[type[Exception], int, str, str], ...] = (
    ((ReadTimeoutError, ConnectTimeoutError), 504, "timeout", "Model {model} did not answer in time"),
    (EndpointConnectionError, 503, "service_unavailable", "Could not reach AWS for model {model}"),
)


class CallContext(NamedTuple):
    """What the router was calling, for the error message."""

    service: str  # boto3 service name, e.g. "sagemaker-runtime"
    model: str  # registry name
    target: str  # endpoint name or Bedrock model id
    region: str


def from_aws(error: Exception, context: CallContext) -> ApiError:
    """The ApiError for a botocore ClientError or BotoCoreError."""
    if isinstance(error, ClientError):
        return _from_client_error(error, context)
    fields = {"model": context.model, "target": context.target}
    for types, status, code, message in TRANSPORT_ERRORS:
        if isinstance(error, types):
            return ApiError(status, code, message.format(**fields), aws_code=type(error).__name__)
    name = type(error).__name__
    return ApiError(502, "aws_error", f"Calling AWS for model {context.model} failed: {name}", aws_code=name)


def _from_client_error(error: ClientError, context: CallContext) -> ApiError:
    details = error.response.get("Error", {})
    code = details.get("Code") or "Unknown"
    aws_message = details.get("Message") or ""
    fields = {
        "model": context.model,
        "target": context.target,
        "region": context.region,
        "aws_code": code,
        "aws_message": aws_message,
        "model_said": error.response.get("OriginalMessage") or aws_message,
    }
    answered = f"AWS answered {code} for model {context.model}"
    for rule in AWS_ERRORS:
        if rule.matches(code, context.service, aws_message):
            # A row that is only AWS's message ("{aws_message}") must still say something when AWS did not.
            message = rule.message.format(**fields).strip() or answered
            return ApiError(rule.status, rule.error, message, aws_code=code)
    return ApiError(502, "aws_error", f"{answered}: {aws_message}", code)


@contextlib.contextmanager
def aws_call(context: CallContext) -> Iterator[None]:
    """Turn botocore failures inside the block into ApiError."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise from_aws(error, context) from error
