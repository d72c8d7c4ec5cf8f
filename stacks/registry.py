"""The router's model registry, built from the stacks of one environment (never a hand-kept list)."""

import json
from typing import Any

import aws_cdk as cdk

from stacks.config.hosting import AsyncHosting

# What each SageMaker source's containers accept: HF DLCs take JSON; XGBoost and Autopilot take CSV rows.
CONTENT_TYPES = {
    "huggingface": ["application/json"],
    "training": ["text/csv"],
    "autopilot": ["text/csv"],
}
# Lambda caps all environment variables together at 4 KB; leave room for the others.
MAX_REGISTRY_BYTES = 3500


def endpoint_name(environment: str, model_label: str) -> str:
    """The stable endpoint name of a SageMaker model: routes and clients never change."""
    return f"mlkit-{environment}-{model_label}"


def async_prefixes(model_label: str) -> dict[str, str]:
    """Where an async endpoint's requests, answers and failures live in the artifacts bucket."""
    return {
        "input": f"async-input/{model_label}/",
        "output": f"async-output/{model_label}/",
        "failure": f"async-failures/{model_label}/",
    }


def sagemaker_entry(environment: str, label: str, model, artifacts_bucket_name: str) -> dict[str, Any]:
    entry = {
        "source": model.source,
        "endpoint_name": endpoint_name(environment, label),
        "hosting": model.hosting.type,
        "content_types": CONTENT_TYPES[model.source],
    }
    if isinstance(model.hosting, AsyncHosting):
        prefixes = async_prefixes(label)
        entry["input_location"] = f"s3://{artifacts_bucket_name}/{prefixes['input']}"
        entry["output_location"] = f"s3://{artifacts_bucket_name}/{prefixes['output']}"
    return entry


def sagemaker_grants(environment: str, region: str, label: str, model, artifacts_bucket_name: str) -> list:
    """(actions, resources) the router needs for one SageMaker model: its endpoint, its async inputs."""
    partition, account = cdk.Aws.PARTITION, cdk.Aws.ACCOUNT_ID
    endpoint_arn = (
        f"arn:{partition}:sagemaker:{region}:{account}:endpoint/{endpoint_name(environment, label)}"
    )
    if not isinstance(model.hosting, AsyncHosting):
        return [(["sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint"], [endpoint_arn])]
    inputs = f"arn:{partition}:s3:::{artifacts_bucket_name}/{async_prefixes(label)['input']}*"
    return [
        (["sagemaker:InvokeEndpointAsync", "sagemaker:DescribeEndpoint"], [endpoint_arn]),
        (["s3:PutObject"], [inputs]),
    ]


def bedrock_entry(model, guardrail: dict[str, str] | None) -> dict[str, Any]:
    entry = {
        "source": "bedrock",
        "model_id": model.model_id,
        "inference": model.inference.model_dump(),
        "limits": model.limits.model_dump(),
    }
    if guardrail:
        entry["guardrail"] = guardrail
    return entry


def registry_json(stack: cdk.Stack, entries: dict[str, dict[str, Any]]) -> str:
    """The MODEL_REGISTRY value; fails synth early when it cannot fit in a Lambda environment."""
    text = stack.to_json_string(entries)
    if len(json.dumps(entries)) > MAX_REGISTRY_BYTES:
        raise ValueError(
            f"{len(entries)} models make the router registry larger than {MAX_REGISTRY_BYTES} bytes: "
            "split them across environments"
        )
    return text
