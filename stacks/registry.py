"""The router's registry file, built from an environment's config through the registry contract.

The contract (entry shapes, the file, its parser) is lambdas/shared/registry.py; each model's source
(sources/) writes its own entry.
"""

from lambdas.shared import registry as contract
from sources import source_of


def registry_document(environment: str, models: dict, created_guardrails: set[str] = frozenset()) -> str:
    """The registry file's text for every model, checked by the router's own parser.

    ``created_guardrails`` names the models whose stacks create a guardrail (default none): their
    ids reach the router at deploy."""
    entries = {
        label: source_of(model).registry_entry(
            environment, label, model, guardrail_created=label in created_guardrails
        )
        for label, model in models.items()
    }
    return contract.registry_document(entries)
