"""API Gateway REST (v1) proxy events, as API Gateway hands them to the router Lambda."""

import base64
from dataclasses import dataclass


@dataclass
class LambdaContext:
    """The Lambda context fields Powertools reads, for running a handler outside Lambda."""

    function_name: str = "mlkit-router"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:mlkit-router"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def rest_event(method: str, path: str, body: str | bytes | None = None, headers: dict | None = None) -> dict:
    """A REST API proxy event; bytes bodies arrive base64-encoded, as with binary media types."""
    is_base64 = isinstance(body, bytes)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers or {},
        "multiValueHeaders": {key: [value] for key, value in (headers or {}).items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": "req-1",
            "stage": "v1",
            "httpMethod": method,
            "path": f"/v1{path}",
            "resourcePath": path,
        },
        "body": base64.b64encode(body).decode() if is_base64 else body,
        "isBase64Encoded": is_base64,
    }
