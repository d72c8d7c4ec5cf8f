"""The execution policies `make bootstrap` gives CloudFormation: enough for each delivered stack, no admin."""

import json

import pytest

from stacks import names
from stacks.delivery.execution_policy import (
    ENVIRONMENT_SERVICES,
    TOOLING_SERVICES,
    execution_policy,
    policy_text,
)

POLICIES = {
    "environment": execution_policy("111111111111", "us-east-1"),
    "tooling": execution_policy("444444444444", "us-east-1", tooling=True),
}


def allowed_actions(policy: dict) -> list[str]:
    return [
        action
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]


def namespaces(templates) -> set[str]:
    """AWS::<namespace>::Type of every resource; a custom resource is a Lambda function's call."""
    found = set()
    for template in templates:
        for resource in template["Resources"].values():
            kind = resource["Type"]
            found.add("Lambda" if kind.startswith("Custom::") else kind.split("::")[1])
    return found


@pytest.mark.parametrize("kind", POLICIES)
def test_no_policy_is_administrator_access_in_disguise(kind):
    policy = POLICIES[kind]
    actions = allowed_actions(policy)
    assert "*" not in actions and not [a for a in actions if a.startswith("iam:") and "*" in a]
    iam = [s for s in policy["Statement"] if s["Effect"] == "Allow" and "iam:" in json.dumps(s["Action"])]
    scoped = (":role/mlkit-*", ":policy/mlkit-*", ":role/aws-service-role/*", ":oidc-provider/")
    assert all(any(part in s["Resource"] for part in scoped) for s in iam), iam
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Action"] == "iam:AttachRolePolicy"
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in deny["Condition"]["ArnLike"]["iam:PolicyARN"]
    assert len(policy_text(policy)) <= 6144  # a managed policy's limit


def test_the_environment_policy_covers_every_resource_type_the_pipeline_deploys(delivery_app):
    templates = [t for stage in delivery_app.stages.values() for t in stage.values()]
    templates += [t for name, t in delivery_app.raw.items() if name.endswith("-oidc")]
    used = namespaces(templates) - {"IAM", "CDK"}
    assert used <= set(ENVIRONMENT_SERVICES), used - set(ENVIRONMENT_SERVICES)
    for namespace in used:
        assert f"{ENVIRONMENT_SERVICES[namespace]}:*" in allowed_actions(POLICIES["environment"])
    oidc = [s for s in POLICIES["environment"]["Statement"] if s.get("Sid") == "GitHubOidc"]
    assert oidc[0]["Resource"] == names.github_oidc_provider_arn("111111111111", "us-east-1")


def test_the_tooling_policy_covers_the_pipeline_and_its_support_stacks(delivery_app):
    templates = [t for name, t in delivery_app.raw.items() if name.startswith(names.DELIVERY_STACK)]
    used = namespaces(templates) - {"IAM", "CDK"}
    assert used <= set(TOOLING_SERVICES), used - set(TOOLING_SERVICES)
    assert "codeconnections:PassConnection" in allowed_actions(POLICIES["tooling"])
