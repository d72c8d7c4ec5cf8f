"""The router's registry entries, built from an environment's config through the registry contract.

The contract (entry shapes, the file, its parser) is lambdas/shared/registry.py; this module only
maps config models onto it.
"""

from typing import Any

from lambdas.shared import registry as contract
from stacks import names


def model_entry(environment: str, label: str, model, *, guardrail_created: bool) -> dict[str, Any]:
    """One model's entry. ``guardrail_created``: its stack made the guardrail (ids come at deploy)."""
    if model.source == "bedrock":
        return _bedrock_entry(model, guardrail_created)
    is_async = model.hosting.type == "async"
    return contract.sagemaker_entry(
        source=model.source,
        endpoint_name=names.endpoint_name(environment, label),
        hosting=model.hosting.type,
        content_types=model.resolved_content_types,
        async_prefixes=names.async_prefixes(label) if is_async else None,
    )


def _bedrock_entry(model, guardrail_created: bool) -> dict[str, Any]:
    settings = model.guardrail
    guardrail = None
    if guardrail_created:
        guardrail = contract.CREATED_GUARDRAIL
    elif settings and not settings.creates_guardrail:
        guardrail = {"identifier": settings.id, "version": settings.version or "DRAFT"}
    return contract.bedrock_entry(
        model_id=model.model_id,
        inference=model.inference.model_dump(),
        limits=model.limits.model_dump(),
        guardrail=guardrail,
    )


def registry_document(environment: str, models: dict, created_guardrails: set[str]) -> str:
    """The registry file's text for every model, checked by the router's own parser."""
    entries = {
        label: model_entry(environment, label, model, guardrail_created=label in created_guardrails)
        for label, model in models.items()
    }
    return contract.registry_document(entries)
