"""What the router may do, model by model, and how that fits IAM's size limits.

The grants are a pure function of the config and a few ARN parts. The API stack calls it with CDK
tokens; config validation calls it with the longest values those tokens can take, so a config that
would not fit IAM is refused before any construct is built, and the stack splits its policies at
exactly the places the estimate chose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from lambdas.shared import registry, router_metrics
from sources import source_of
from sources.base import ArnParts, Grant, InvokeGrantee
from stacks import names

# IAM: a managed policy holds at most 6,144 characters (whitespace aside); a role takes at most 10
# managed policies unless its account's quota was raised.
MANAGED_POLICY_CHARACTERS = 6144
MANAGED_POLICIES_PER_ROLE = 10
# Lambda: all environment variables of a function together, names and values, at most 4 KB.
LAMBDA_ENVIRONMENT_BYTES = 4096

# The longest value each part can resolve to (a guardrail id is 12 characters).
LONGEST = ArnParts(
    partition="aws-us-gov",
    account="123456789012",
    region="ap-southeast-5",
    artifacts_bucket="b" * 63,
    data_key_arn="arn:aws-us-gov:kms:ap-southeast-5:123456789012:key/" + "k" * 36,
)
LONGEST_GUARDRAIL_ID = "g" * 12


def router_grants(config, parts: ArnParts, created_guardrails: Mapping[str, str]) -> list[Grant]:
    """One row per (actions, resource) the router needs: exactly the configured models, nothing else.

    Each model's source grants it (``grant_invoke``); ``created_guardrails`` maps model names to the
    ARNs of the guardrails their stacks create."""
    grantee = InvokeGrantee(parts, created_guardrails)
    for label, model in config.models.items():
        source_of(model).grant_invoke(grantee, config.environment, label, model)
    return grantee.rows


def pack_policies(
    rows: list[Grant], sizes: list[Grant] | None = None, limit: int = MANAGED_POLICY_CHARACTERS
) -> list[dict[tuple, list[str]]]:
    """Rows grouped into policy documents ({actions: [resources]}) that each fit a managed policy.

    ``sizes`` are the same rows with the longest values their tokens can take (default ``rows``):
    the split is decided on them, so it holds whatever the tokens resolve to."""
    sizes = sizes or rows
    if len(sizes) != len(rows):
        raise ValueError("rows and their sized twins must correspond one to one")
    empty = len('{"Version":"2012-10-17","Statement":[]}')
    documents: list[dict[tuple, list[str]]] = [{}]
    used, granted = empty, set()
    for row, sized in zip(rows, sizes, strict=True):
        if row in granted:
            continue  # Bedrock models that share a base model share its ARNs: grant each once
        granted.add(row)
        cost = _added_characters(documents[-1], sized)
        if used + cost > limit:
            documents.append({})
            used, cost = empty, _added_characters(documents[-1], sized)
        documents[-1].setdefault(row.actions, []).append(row.resource)
        used += cost
    return [document for document in documents if document]


def _added_characters(document: dict[tuple, list[str]], row: Grant) -> int:
    resource = len(json.dumps(row.resource)) + 1  # the string and its comma
    if row.actions in document:
        return resource
    statement = {"Effect": "Allow", "Action": list(row.actions), "Resource": []}
    return len(json.dumps(statement, separators=(",", ":"))) + 1 + resource


def guardrails_variable_bytes(labels: list[str]) -> int:
    """The longest GUARDRAILS value for these created guardrails (see the registry contract)."""
    longest = {label: {"identifier": LONGEST_GUARDRAIL_ID, "version": "99999"} for label in labels}
    return len(registry.guardrails_variable(longest))


def router_environment(
    environment: str, *, artifacts_bucket: str, guardrails: str, max_body_bytes: int
) -> dict[str, str]:
    """The router Lambda's variables beside its registry file (which has no size limit)."""
    return {
        "POWERTOOLS_METRICS_NAMESPACE": router_metrics.NAMESPACE,
        "POWERTOOLS_SERVICE_NAME": names.router_service_name(environment),
        registry.ARTIFACTS_BUCKET_VARIABLE: artifacts_bucket,
        registry.GUARDRAILS_VARIABLE: guardrails,
        registry.MAX_BODY_VARIABLE: str(max_body_bytes),
    }


def longest_created_guardrail_arns(config) -> dict[str, str]:
    """Stand-ins for the ARNs of the guardrails the config's Bedrock stacks create."""
    parts = LONGEST
    prefix = f"arn:{parts.partition}:bedrock:{parts.region}:{parts.account}:guardrail/"
    # As long as a real id, and one per model, as each stack creates its own.
    return {
        label: prefix + hashlib.sha256(label.encode()).hexdigest()[: len(LONGEST_GUARDRAIL_ID)]
        for label, model in config.models.items()
        if source_of(model).creates_guardrail(model)
    }


def limit_problems(config) -> list[tuple[str, str]]:
    """(key, message) for every AWS limit this config would break, from the longest token values."""
    problems = []
    created = longest_created_guardrail_arns(config)
    documents = pack_policies(router_grants(config, LONGEST, created))
    if len(documents) > MANAGED_POLICIES_PER_ROLE:
        problems.append(
            (
                "models",
                f"{len(config.models)} models need {len(documents)} IAM managed policies of "
                f"{MANAGED_POLICY_CHARACTERS} characters for the router, and a role takes at most "
                f"{MANAGED_POLICIES_PER_ROLE}: move some models to another environment's config",
            )
        )
    variables = router_environment(
        config.environment,
        artifacts_bucket=LONGEST.artifacts_bucket,
        guardrails="x" * guardrails_variable_bytes(list(created)),
        max_body_bytes=config.api.max_body_kb * 1024,
    )
    size = sum(len(key) + len(value) for key, value in variables.items())
    if size > LAMBDA_ENVIRONMENT_BYTES:
        problems.append(
            (
                "models",
                f"{len(created)} Bedrock models create their own guardrail, and the router's environment "
                f"would need up to {size} bytes for their ids (Lambda allows {LAMBDA_ENVIRONMENT_BYTES}): "
                "reference an existing guardrail (guardrail.id) from some of them",
            )
        )
    return problems
