"""The shared deploy Lambda's grants and how they split into managed policies, without a synth."""

import json
from types import SimpleNamespace

import pytest

from benchmarks.catalog import catalog
from sources.base import Grant
from stacks.config import ConfigError, MlKitConfig, load_config
from stacks.config.loader import CONFIG_DIR
from stacks.deploy_access import (
    ALARM_ACTIONS,
    DEPLOY_ACTIONS,
    LONGEST_PARTS,
    PASS_ROLE,
    PASS_ROLE_CONDITION,
    deploy_grants,
    deploy_policies,
    deployed_models,
    limit_problems,
    uses_key_grants,
)
from stacks.router_access import MANAGED_POLICIES_PER_ROLE, MANAGED_POLICY_CHARACTERS, pack_policies


def characters(document: dict) -> int:
    """IAM's count of one document as the deploy stack writes it: PassRole with its condition."""
    statements = []
    for actions, resources in document.items():
        statement = {"Effect": "Allow", "Action": list(actions), "Resource": resources}
        if actions == PASS_ROLE:
            statement["Condition"] = PASS_ROLE_CONDITION
        statements.append(statement)
    return len(json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":")))


def test_only_pipeline_models_deploy_through_it():
    config = load_config(CONFIG_DIR / "showcase.yaml")
    pipelines = {"training", "autopilot", "pytorch_hub", "tensorflow_hub"}
    assert {model.source for model in config.models.values()} > pipelines  # HF, Bedrock, JumpStart too
    expected = {label for label, model in config.models.items() if model.source in pipelines}
    assert set(deployed_models(config)) == expected


def test_each_model_gets_its_endpoint_its_versions_and_its_role_and_nothing_else():
    rows = deploy_grants("dev", ["churn"], partition="aws", account="111122223333", region="eu-west-1")
    sagemaker = "arn:aws:sagemaker:eu-west-1:111122223333"
    assert rows == [
        Grant(DEPLOY_ACTIONS, f"{sagemaker}:endpoint/mlkit-dev-churn"),
        Grant(DEPLOY_ACTIONS, f"{sagemaker}:model/mlkit-dev-churn-*"),
        Grant(DEPLOY_ACTIONS, f"{sagemaker}:endpoint-config/mlkit-dev-churn-*"),
        Grant(PASS_ROLE, "arn:aws:iam::111122223333:role/mlkit-dev-churn-model"),
        Grant(
            ALARM_ACTIONS, "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:mlkit-dev-churn-wake-from-zero"
        ),
    ]


def test_documents_fit_with_the_pass_role_condition_and_grant_every_row_once():
    labels = [f"model-{n:03}" for n in range(100)]
    documents = deploy_policies("catalog", labels, **LONGEST_PARTS)
    assert 1 < len(documents) <= MANAGED_POLICIES_PER_ROLE
    assert max(characters(document) for document in documents) <= MANAGED_POLICY_CHARACTERS
    granted = sorted((actions, r) for document in documents for actions, rs in document.items() for r in rs)
    assert granted == sorted(deploy_grants("catalog", labels, **LONGEST_PARTS))
    # The room kept for the condition is needed: packed to the full limit, a document overflows.
    full = pack_policies(deploy_grants("catalog", labels, **LONGEST_PARTS))
    assert max(characters(document) for document in full) > MANAGED_POLICY_CHARACTERS


def test_the_key_grant_is_needed_only_for_endpoints_with_volumes():
    models = MlKitConfig.model_validate(catalog(8)).models
    serverless, asynchronous = models["training-005"], models["training-async-007"]
    assert not uses_key_grants({"a": serverless})
    assert uses_key_grants({"a": serverless, "b": asynchronous})


def test_more_pipeline_models_than_ten_policies_hold_is_one_problem():
    trained = MlKitConfig.model_validate(catalog(8)).models["training-005"]

    def config(count: int) -> SimpleNamespace:
        return SimpleNamespace(
            environment="catalog", models={f"trained-{n:03}": trained for n in range(count)}
        )

    assert limit_problems(config(120)) == []
    ((key, message),) = limit_problems(config(200))
    assert key == "models" and message.startswith("200 pipeline models need 17 IAM managed policies")
    assert limit_problems(SimpleNamespace(environment="catalog", models={})) == []


def test_a_model_may_not_take_the_deploy_stacks_name(tmp_path):
    path = tmp_path / "taken.yaml"
    path.write_text(
        json.dumps({**catalog(0), "models": {"deploy": {"source": "bedrock", "model_id": "a.b"}}})
    )
    with pytest.raises(ConfigError, match="models.deploy: 'deploy' is taken by mlkit's own stacks"):
        load_config(path)
