"""Every IAM statement of every stack the tests synthesize, normalized, so two trees' IAM can be diffed.

    .venv/bin/python -m tests.stacks.iam_statements OUT.json [--config NAME ...]

writes ``{config name: {stack name: [entry, ...]}}``: one entry per statement of every
``AWS::IAM::Policy``, ``AWS::IAM::ManagedPolicy`` and ``AWS::IAM::Role`` (inline policies and trust
policy), with the resource's logical id, where the statement sits and what the policy is attached to.
A refactoring that must not change IAM runs it in both trees and compares the files (``cmp``, ``diff``).
"""

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stacks.config import MlKitConfig, load_config
from stacks.config.loader import CONFIG_DIR
from tests.stacks.synth import config_from, synthesize

IAM_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role")
# Keys whose values IAM reads as sets: their order is no part of what a statement allows.
SET_KEYS = {"Action", "NotAction", "Resource", "NotResource", "AWS", "Service", "Federated"}
ATTACHMENT_KEYS = ("Roles", "Users", "Groups")


def synthesized_configs() -> dict[str, Callable[[], MlKitConfig]]:
    """The shipped configs and the configs the template tests build, by name (loaded when called)."""
    from benchmarks.catalog import catalog
    from tests.sources.autopilot.test_stack import CONFIG as AUTOPILOT_CONFIG
    from tests.sources.huggingface.test_stack import MODELS as HUGGINGFACE_MODELS
    from tests.sources.training.test_stack import training_config
    from tests.stacks.test_api_stack import CONFIG as API_CONFIG
    from tests.stacks.test_catalog_scale import MODELS as CATALOG_MODELS
    from tests.stacks.test_data_stack import BASE as DATA_BASE

    configs = {path.stem: (lambda path=path: load_config(path)) for path in sorted(CONFIG_DIR.glob("*.yaml"))}
    configs.pop("delivery", None)  # the delivery file is no environment
    return {
        **configs,
        "training": training_config,
        "autopilot": lambda: config_from(AUTOPILOT_CONFIG),
        "all-hf-hosting": lambda: config_from(
            {"environment": "hf", "region": "eu-west-1", "models": HUGGINGFACE_MODELS}
        ),
        "api-bedrock": lambda: config_from(API_CONFIG),
        "data-destroy": lambda: config_from({**DATA_BASE, "removal": "destroy"}),
        "catalog": lambda: config_from(catalog(CATALOG_MODELS)),
    }


def normalized(value: Any, key: str = "") -> Any:
    """``value`` with dict keys sorted and set-like lists (actions, resources, principals) sorted."""
    if isinstance(value, dict):
        return {name: normalized(value[name], name) for name in sorted(value)}
    if isinstance(value, list):
        items = [normalized(item) for item in value]
        return sorted(items, key=json.dumps) if key in SET_KEYS else items
    return value


def _documents(resource_type: str, properties: dict) -> list[tuple[str, dict]]:
    """(where, policy document) pairs of one IAM resource."""
    if resource_type == "AWS::IAM::Role":
        documents = [("AssumeRolePolicyDocument", properties["AssumeRolePolicyDocument"])]
        for policy in properties.get("Policies", []):
            documents.append((f"Policies/{policy['PolicyName']}", policy["PolicyDocument"]))
        return documents
    return [("PolicyDocument", properties["PolicyDocument"])]


def _attachments(resource_type: str, properties: dict) -> dict:
    if resource_type == "AWS::IAM::Role":
        return {"ManagedPolicyArns": properties.get("ManagedPolicyArns", [])}
    return {key: properties[key] for key in ATTACHMENT_KEYS if key in properties}


def stack_statements(template: dict) -> list[dict]:
    """Every IAM statement of one template, each with its resource's logical id, sorted."""
    entries = []
    for logical_id, resource in template.get("Resources", {}).items():
        resource_type = resource["Type"]
        if resource_type not in IAM_TYPES:
            continue
        properties = resource.get("Properties", {})
        attached = normalized(
            {
                key: sorted(value, key=json.dumps)
                for key, value in _attachments(resource_type, properties).items()
            }
        )
        for where, document in _documents(resource_type, properties):
            statements = document["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                entries.append(
                    {
                        "logical_id": logical_id,
                        "type": resource_type,
                        "document": where,
                        "attached": attached,
                        "statement": normalized(statement),
                    }
                )
    return sorted(entries, key=lambda entry: json.dumps(entry, sort_keys=True))


def iam_statements(config: MlKitConfig, *, emulated: bool = False) -> dict[str, list[dict]]:
    """Synthesize ``config`` as the tests do and return every stack's IAM statements by stack name."""
    app = synthesize(config, emulated=emulated)
    return {stack_name: stack_statements(app.raw[stack_name]) for stack_name in sorted(app.raw)}


def main(argv: list[str]) -> int:
    configs = synthesized_configs()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the JSON file to write")
    parser.add_argument("--config", action="append", choices=sorted(configs), help="default: every config")
    arguments = parser.parse_args(argv)
    result = {}
    for name in arguments.config or list(configs):
        config = configs[name]()
        result[name] = iam_statements(config)
        if name == "dev":  # the variant `make local` deploys into the emulator
            result["dev-emulated"] = iam_statements(config, emulated=True)
    arguments.output.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    stacks = sum(len(by_stack) for by_stack in result.values())
    statements = sum(len(entries) for by_stack in result.values() for entries in by_stack.values())
    print(f"{len(result)} configs, {stacks} stacks, {statements} statements -> {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
