"""What GET /models shows about each registered model."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared import aws, sagemaker
from shared.registry import BedrockModel, Model

# DescribeEndpoint calls run side by side so a long registry stays well inside API Gateway's 29 s.
MAX_PARALLEL_DESCRIBES = 8


def describe(model: Model) -> dict[str, Any]:
    """Name, source, hosting; the Bedrock model id, or the SageMaker endpoint and its status."""
    view: dict[str, Any] = {"name": model.name, "source": model.source, "hosting": model.hosting}
    if isinstance(model, BedrockModel):
        view["model_id"] = model.model_id
        return view
    view["endpoint_name"] = model.endpoint_name
    view["content_types"] = list(model.content_types)
    return {**view, **sagemaker.endpoint_status(model.endpoint_name)}


def describe_all(models: Iterable[Model]) -> list[dict[str, Any]]:
    models = sorted(models, key=lambda model: model.name)
    if len(models) <= 1:
        return [describe(model) for model in models]
    # boto3's default session is not thread-safe: make the client before the threads share it.
    aws.client("sagemaker")
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_DESCRIBES, len(models))) as pool:
        return list(pool.map(describe, models))
