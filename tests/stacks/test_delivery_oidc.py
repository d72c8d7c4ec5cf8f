"""mlkit-<env>-oidc: the exact trust of the GitHub roles, and that they become only CDK bootstrap roles."""

import re

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks import names
from stacks.cdk_app import mlkit_app
from stacks.config import load_delivery
from stacks.config.delivery import GitHubSettings
from stacks.config.loader import DELIVERY_PATH
from stacks.delivery.oidc_stack import GitHubOidcStack
from tests.stacks.synth import CDK_CONTEXT

DELIVERY = load_delivery(DELIVERY_PATH)
GITHUB = DELIVERY.settings.github
HOST = names.GITHUB_OIDC_HOST


def roles(template: dict) -> dict[str, dict]:
    return {
        r["Properties"]["RoleName"]: {"id": lid, **r["Properties"]}
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role"
    }


def permissions(template: dict, role_id: str) -> list[dict]:
    """Every statement of every policy attached to the role, inline or managed."""
    return [
        statement
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and {"Ref": role_id} in r["Properties"].get("Roles", [])
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
    ]


def trust(role: dict, provider) -> dict:
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Principal"] == {"Federated": provider}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    return statement["Condition"]


@pytest.mark.parametrize("environment", DELIVERY.environments, ids=lambda env: env.name)
def test_roles_trust_exactly_this_repository_its_environment_and_its_pull_requests(delivery_app, environment):
    template = delivery_app.raw[names.oidc_stack_name(environment.name)]
    (provider_id,) = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::IAM::OIDCProvider"]
    provider = template["Resources"][provider_id]["Properties"]
    assert provider["Url"] == f"https://{HOST}" and provider["ClientIdList"] == [names.STS_AUDIENCE]
    found = roles(template)
    assert set(found) == {
        names.github_deploy_role(environment.name),
        names.github_diff_role(environment.name),
    }
    deploy = found[names.github_deploy_role(environment.name)]
    assert trust(deploy, {"Ref": provider_id}) == {
        "StringEquals": {
            f"{HOST}:aud": "sts.amazonaws.com",
            f"{HOST}:sub": f"repo:my-org/mlkit:environment:{environment.name}",
        }
    }
    diff = found[names.github_diff_role(environment.name)]
    assert trust(diff, {"Ref": provider_id}) == {
        "StringEquals": {f"{HOST}:aud": "sts.amazonaws.com", f"{HOST}:sub": "repo:my-org/mlkit:pull_request"}
    }
    assert deploy["MaxSessionDuration"] == diff["MaxSessionDuration"] == 3600


@pytest.mark.parametrize("environment", DELIVERY.environments, ids=lambda env: env.name)
def test_the_roles_may_only_assume_this_accounts_cdk_bootstrap_roles(delivery_app, environment):
    template = delivery_app.raw[names.oidc_stack_name(environment.name)]
    account, region = environment.account, environment.region
    bootstrap = re.compile(
        rf"arn:aws:iam::{account}:role/cdk-{names.CDK_QUALIFIER}-([a-z-]+)-role-{account}-{region}"
    )
    expected = {"github-deploy": ["deploy", "file-publishing"], "github-diff": ["lookup"]}
    for name, role in roles(template).items():
        assert "ManagedPolicyArns" not in role and "Policies" not in role
        (statement,) = permissions(template, role["id"])
        assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        kinds = [bootstrap.fullmatch(resource).group(1) for resource in resources]
        assert kinds == expected[name.removeprefix(f"mlkit-{environment.name}-")]


@pytest.fixture(scope="module")
def variants():
    """The branch subject and an imported provider, on one small app (the shipped file uses neither)."""
    app = mlkit_app(context=CDK_CONTEXT)
    github = GitHubSettings(repository="acme/models", branch="release", deploy_subject="branch")
    imported = "arn:aws:iam::555555555555:oidc-provider/token.actions.githubusercontent.com"
    env = cdk.Environment(account="555555555555", region="eu-central-1")
    stack = GitHubOidcStack(app, "Oidc", environment_name="qa", github=github, provider_arn=imported, env=env)
    return Template.from_stack(stack).to_json(), imported


def test_a_branch_subject_trusts_pushes_to_that_branch_only(variants):
    template, imported = variants
    deploy = roles(template)[names.github_deploy_role("qa")]
    assert trust(deploy, imported)["StringEquals"][f"{HOST}:sub"] == "repo:acme/models:ref:refs/heads/release"


def test_an_imported_provider_is_trusted_and_not_created(variants):
    template, imported = variants
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::OIDCProvider"]
    for role in roles(template).values():
        trust(role, imported)
