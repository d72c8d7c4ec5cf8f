"""Invoking SageMaker endpoints (real-time, serverless, async) and reading their status."""

from __future__ import annotations

import uuid

from botocore.exceptions import BotoCoreError, ClientError

from shared import aws, errors, http
from shared.registry import SageMakerModel

RUNTIME = "sagemaker-runtime"


def invoke(model: SageMakerModel, request: http.InvokeRequest) -> http.Reply:
    """Real-time and serverless endpoints answer inline: pass their body and type through."""
    content_type = http.require_content_type(request, model.content_types)
    params = {"EndpointName": model.endpoint_name, "Body": request.body, "ContentType": content_type}
    if request.accept:
        params["Accept"] = request.accept
    runtime = aws.client(RUNTIME)
    with errors.aws_call(_context(model, runtime)):
        answer = runtime.invoke_endpoint(**params)
        body = answer["Body"].read()
    return http.passthrough_reply(body, answer.get("ContentType"))


def invoke_async(model: SageMakerModel, request: http.InvokeRequest) -> http.Reply:
    """Async endpoints read their input from S3: store it, queue it, answer 202 with where to look."""
    content_type = http.require_content_type(request, model.content_types)
    inference_id = str(uuid.uuid4())
    location = model.input_location
    key = f"{location.prefix}{inference_id}"
    params = {
        "EndpointName": model.endpoint_name,
        "InputLocation": f"s3://{location.bucket}/{key}",
        "ContentType": content_type,
        "InferenceId": inference_id,
    }
    if request.accept:
        params["Accept"] = request.accept
    runtime = aws.client(RUNTIME)
    context = _context(model, runtime)
    with errors.aws_call(context):
        aws.client("s3").put_object(
            Bucket=location.bucket, Key=key, Body=request.body, ContentType=content_type
        )
        answer = runtime.invoke_endpoint_async(**params)
    reply = {
        "inference_id": answer.get("InferenceId", inference_id),
        "output_location": answer["OutputLocation"],
    }
    if answer.get("FailureLocation"):
        reply["failure_location"] = answer["FailureLocation"]
    return http.json_reply(202, reply)


def endpoint_status(endpoint_name: str) -> dict[str, str]:
    """{"status": EndpointStatus} from DescribeEndpoint; "NotFound" or "Unknown" plus a reason
    instead of raising, so one bad endpoint cannot fail a listing."""
    try:
        described = aws.client("sagemaker").describe_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") in ("ValidationException", "ValidationError") and "not find" in str(
            details.get("Message", "")
        ):
            return {"status": "NotFound"}
        return {"status": "Unknown", "reason": f"{details.get('Code')}: {details.get('Message', '')}"}
    except BotoCoreError as error:
        return {"status": "Unknown", "reason": type(error).__name__}
    status = {"status": described["EndpointStatus"]}
    if described.get("FailureReason"):
        status["reason"] = described["FailureReason"]
    return status


def _context(model: SageMakerModel, runtime) -> errors.CallContext:
    return errors.CallContext(RUNTIME, model.name, model.endpoint_name, runtime.meta.region_name)
