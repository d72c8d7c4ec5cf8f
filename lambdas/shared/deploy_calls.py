"""One AWS call of the deploy Lambda (botocore retries it), its failure mapped to a named error."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from shared.aws import client
from shared.deploy_request import InvalidDeployRequest, SageMakerError, SageMakerUnavailable

RETRYABLE_CODES = frozenset(
    {"ThrottlingException", "Throttling", "ServiceUnavailable", "InternalFailure", "InternalServerError"}
)


def call(service: str, operation: str, **params: Any) -> dict[str, Any]:
    """``operation`` (snake_case) of ``service``; SageMakerUnavailable when retrying later can help,
    SageMakerError when the service refused (the names Step Functions' Retry and Catch match)."""
    try:
        return getattr(client(service), operation)(**params)
    except ParamValidationError as err:
        raise InvalidDeployRequest(f"{operation}: {err}") from err
    except ClientError as err:
        error = err.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", "")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        retryable = code in RETRYABLE_CODES or status >= 500
        raise (SageMakerUnavailable if retryable else SageMakerError)(operation, code, message) from err
    except BotoCoreError as err:  # connection failures and timeouts
        raise SageMakerUnavailable(operation, type(err).__name__, str(err)) from err
