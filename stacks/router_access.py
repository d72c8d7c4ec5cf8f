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
from typing import NamedTuple

from lambdas.shared import registry
from stacks import names

# IAM: a managed policy holds at most 6,144 characters (whitespace aside); a role takes at most 10
# managed policies unless its account's quota was raised.
MANAGED_POLICY_CHARACTERS = 6144
MANAGED_POLICIES_PER_ROLE = 10
# Lambda: all environment variables of a function together, names and values, at most 4 KB.
LAMBDA_ENVIRONMENT_BYTES = 4096

# Where each inference-profile geography routes requests. `profile_regions` in config overrides it,
# since the list differs by model and grows over time.
PROFILE_GEOGRAPHIES = {
    "us": ["us-east-1", "us-east-2", "us-west-2"],
    "us-gov": ["us-gov-east-1", "us-gov-west-1"],
    "eu": ["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"],
    "apac": ["ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2"],
    "jp": ["ap-northeast-1", "ap-northeast-3"],
    "au": ["ap-southeast-2", "ap-southeast-4"],
    "ca": ["ca-central-1", "ca-west-1"],
}


class ArnParts(NamedTuple):
    """The values ARNs are built from: CDK tokens in a stack, the longest possible ones in estimates."""

    partition: str
    account: str
    region: str
    artifacts_bucket: str
    data_key_arn: str


# The longest value each part can resolve to (a guardrail id is 12 characters).
LONGEST = ArnParts(
    partition="aws-us-gov",
    account="123456789012",
    region="ap-southeast-5",
    artifacts_bucket="b" * 63,
    data_key_arn="arn:aws-us-gov:kms:ap-southeast-5:123456789012:key/" + "k" * 36,
)
LONGEST_GUARDRAIL_ID = "g" * 12


class Grant(NamedTuple):
    actions: tuple[str, ...]
    resource: str


def profile_geography(model_id: str) -> str | None:
    """The geography prefix of an inference-profile id (``us.anthropic...`` → ``us``), else None."""
    prefix = model_id.split(".", 1)[0]
    return prefix if prefix in PROFILE_GEOGRAPHIES or prefix == "global" else None


def bedrock_invoke_resources(model, parts: ArnParts) -> list[str]:
    """Exactly the ARNs Converse needs: the foundation model, or the profile plus its routed models."""
    partition, region = parts.partition, parts.region
    geography = profile_geography(model.model_id)
    if geography is None:
        return [f"arn:{partition}:bedrock:{region}::foundation-model/{model.model_id}"]
    base_model = model.model_id.split(".", 1)[1]
    profile = f"arn:{partition}:bedrock:{region}:{parts.account}:inference-profile/{model.model_id}"
    if geography == "global" and not model.profile_regions:
        # Global profiles route to any commercial region; AWS documents the region-less model ARN for them.
        return [profile, f"arn:{partition}:bedrock:::foundation-model/{base_model}"]
    regions = model.profile_regions or PROFILE_GEOGRAPHIES[geography]
    return [profile, *(f"arn:{partition}:bedrock:{r}::foundation-model/{base_model}" for r in regions)]


def guardrail_arn(model, parts: ArnParts, created: Mapping[str, str], label: str) -> str | None:
    """The ARN ApplyGuardrail needs: the created guardrail's, or the configured existing one's."""
    settings = model.guardrail
    if settings is None:
        return None
    if settings.creates_guardrail:
        return created.get(label)
    if settings.id.startswith("arn:"):
        return settings.id
    return f"arn:{parts.partition}:bedrock:{parts.region}:{parts.account}:guardrail/{settings.id}"


def router_grants(config, parts: ArnParts, created_guardrails: Mapping[str, str]) -> list[Grant]:
    """One row per (actions, resource) the router needs: exactly the configured models, nothing else.

    ``created_guardrails`` maps model names to the ARNs of the guardrails their stacks create."""
    rows: list[Grant] = []
    for label, model in config.models.items():
        if model.source == "bedrock":
            rows += [Grant(("bedrock:InvokeModel",), arn) for arn in bedrock_invoke_resources(model, parts)]
            arn = guardrail_arn(model, parts, created_guardrails, label)
            if arn:
                rows.append(Grant(("bedrock:ApplyGuardrail",), arn))
            continue
        endpoint = names.endpoint_name(config.environment, label)
        endpoint_arn = f"arn:{parts.partition}:sagemaker:{parts.region}:{parts.account}:endpoint/{endpoint}"
        if model.hosting.type != "async":
            rows.append(Grant(("sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"), endpoint_arn))
            continue
        inputs = names.async_prefixes(label)["input"]
        rows.append(Grant(("sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpointAsync"), endpoint_arn))
        rows.append(
            Grant(("s3:PutObject",), f"arn:{parts.partition}:s3:::{parts.artifacts_bucket}/{inputs}*")
        )
    if any(
        getattr(model, "hosting", None) and model.hosting.type == "async" for model in config.models.values()
    ):
        # Async inputs land in the SSE-KMS artifacts bucket.
        rows.append(Grant(("kms:Encrypt", "kms:GenerateDataKey"), parts.data_key_arn))
    return rows


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
        "POWERTOOLS_METRICS_NAMESPACE": "mlkit",
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
        if model.source == "bedrock" and model.guardrail and model.guardrail.creates_guardrail
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
