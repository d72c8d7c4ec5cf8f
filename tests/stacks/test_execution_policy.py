"""The execution policies `make bootstrap` gives CloudFormation: every handler permission of every resource
mlkit deploys is allowed or excluded with its reason, the generated list matches the schemas, and no admin."""

import json
import subprocess
import sys

import pytest

from stacks import names
from stacks.delivery import handler_permissions
from stacks.delivery.execution_policy import TOOLING_UNLISTED_ACTIONS, policy_text
from tests.stacks import handler_schemas as schemas
from tests.stacks.handler_report import (
    ENVIRONMENT,
    GENERATED,
    POLICIES,
    SERVICES,
    TOOLING,
    committed,
    config_sources,
    deployed,
    derived,
    render,
)
from tests.stacks.synth import ROOT, render_tokens
from tests.stacks.test_checks import CONFIGS

# The resources come from the synths test_checks and test_catalog_scale make: run beside the catalogue's.
pytestmark = pytest.mark.xdist_group("catalog")
REGENERATE = "run `.venv/bin/python -m tests.stacks.handler_report --write` and review the policy's diff"


@pytest.fixture(scope="module")
def resources(delivery_app):
    return deployed(delivery_app)


def one(resource_type: str, properties: dict | None = None, **template) -> list[schemas.Resource]:
    """A resource of ``resource_type`` in a one-resource template (plus ``template``'s other resources)."""
    body = {"Resources": {"It": {"Type": resource_type, "Properties": properties or {}}, **template}}
    return [r for r in schemas.template_resources("mlkit-x", body, "us-east-1") if r.logical_id == "It"]


@pytest.mark.parametrize("kind", POLICIES)
def test_every_handler_permission_is_allowed_or_excluded(resources, kind):
    report = schemas.check(resources[kind], POLICIES[kind])
    assert report.missing == []
    # The sources are wired: the types that make each account's stacks are among those checked.
    core = {ENVIRONMENT: "AWS::SageMaker::Endpoint", TOOLING: "AWS::CodePipeline::Pipeline"}[kind]
    assert {core, "AWS::IAM::Role", "AWS::S3::Bucket"} <= report.needed.types
    assert len(report.allowed) + len(report.excluded) == len(report.needed.calls)


def test_the_resources_come_from_every_source(resources):
    sources = config_sources()
    assert {*CONFIGS, "catalogue", "config/staging.yaml"} <= set(sources)
    stacks = {kind: {r.stack for r in resources[kind]} for kind in POLICIES}
    for load in sources.values():
        assert any(s.startswith(f"{names.prefix(load().environment)}-") for s in stacks[ENVIRONMENT])
    assert {names.oidc_stack_name("dev"), names.oidc_stack_name("prod")} <= stacks[ENVIRONMENT]
    assert {names.DELIVERY_STACK, f"{names.DELIVERY_STACK}-support-eu-west-1"} <= stacks[TOOLING]
    assert "AWS::Events::Rule" in {r.type for r in resources[TOOLING]}  # the CodeCommit source's


def test_the_committed_actions_are_what_the_schemas_and_templates_give(resources):
    assert derived(resources) == committed(), REGENERATE
    assert GENERATED.read_text() == render(committed()), "handler_permissions.py was edited by hand"


def test_a_new_resource_type_fails_even_when_a_wildcard_covers_it(resources):
    url = one("AWS::Lambda::Url")  # lambda:* allows every call of its handlers
    assert schemas.check(url, POLICIES[ENVIRONMENT]).missing == []
    assert derived({**resources, ENVIRONMENT: resources[ENVIRONMENT] + url}) != committed()


def test_a_resource_type_the_policy_does_not_cover_is_missing():
    queue = one("AWS::SQS::Queue")
    missing = schemas.check(queue, POLICIES[ENVIRONMENT]).missing
    assert "AWS::SQS::Queue create: sqs:CreateQueue" in missing
    assert "AWS::SQS::Queue delete: sqs:DeleteQueue" in missing


def test_a_type_whose_schema_lists_no_handlers_needs_a_stand_in():
    detector = one("AWS::CloudWatch::AnomalyDetector")  # cloudwatch:* would allow it, but nothing says so
    assert schemas.check(detector, POLICIES[ENVIRONMENT]).missing == [
        "mlkit-x/It: its schema lists no handler permissions: give it a stand-in in STAND_INS"
    ]
    project = one("AWS::CodeBuild::Project")  # the one the kit deploys has one
    report = schemas.check(project, POLICIES[TOOLING])
    assert report.missing == [] and ("AWS::CodeBuild::Project", "iam:PassRole") in report.allowed


def test_a_custom_resource_needs_the_call_that_reaches_its_handler():
    function = {"Type": "AWS::Lambda::Function", "Properties": {}}
    lambda_backed = one(
        "Custom::Thing", {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}}, Handler=function
    )
    assert schemas.handler_calls(lambda_backed[0]) == dict.fromkeys(
        schemas.OPERATIONS, ("lambda:InvokeFunction",)
    )
    assert schemas.check(lambda_backed, POLICIES[ENVIRONMENT]).missing == []
    assert schemas.check(lambda_backed, POLICIES[TOOLING]).missing == [
        "Custom::Thing create/delete/update: lambda:InvokeFunction"
    ]
    topic_backed = one("Custom::Thing", {"ServiceToken": "arn:aws:sns:us-east-1:111111111111:handler"})
    assert schemas.handler_calls(topic_backed[0])["create"] == ("sns:Publish",)
    unknown = one("AWS::CloudFormation::CustomResource", {"ServiceToken": {"Ref": "TokenParameter"}})
    assert (
        "neither a Lambda function nor an SNS topic"
        in schemas.check(unknown, POLICIES[ENVIRONMENT]).missing[0]
    )
    assert schemas.check(one("AWS::CDK::Metadata"), POLICIES[TOOLING]).needed.calls == {}


def test_no_template_sets_a_property_an_exclusion_relies_on(resources):
    for kind in POLICIES:
        assert schemas.excluded_properties_set(resources[kind]) == [], kind
    in_a_vpc = one("AWS::Lambda::Function", {"VpcConfig": {"SubnetIds": ["subnet-1"]}})
    (found,) = schemas.excluded_properties_set(in_a_vpc)
    assert "mlkit-x/It (AWS::Lambda::Function) sets VpcConfig, so its handler calls ec2:" in found
    assert found.count("ec2:Describe") == 4


def test_no_exclusion_or_stand_in_is_stale(resources, monkeypatch):
    assert schemas.stale_entries(resources, POLICIES) == []
    stale = {  # (type, action) → what stale_entries says of it
        ("AWS::Lambda::Function", "ec2:CreateVpc"): "no deployed type's handler needs it",
        ("AWS::Lambda::Function", "lambda:CreateFunction"): "or the policy allows it",  # lambda:*
        ("AWS::Glue::Table", "glue:CreateTable"): "IAM has this action now",  # "not an action" that is one
    }
    for key in stale:
        monkeypatch.setitem(schemas.EXCLUDED, key, schemas.Exclusion((), "a test's"))
    monkeypatch.setitem(schemas.STAND_INS, "AWS::SQS::Queue", {"create": ("sqs:CreateQueue",)})
    found = " | ".join(schemas.stale_entries(resources, POLICIES))
    for key, why in stale.items():
        assert f"EXCLUDED {key}: " in found and why in found
    assert "STAND_INS AWS::SQS::Queue: no template deploys it" in found


@pytest.mark.parametrize("kind", POLICIES)
def test_every_service_wildcard_serves_a_deployed_type(resources, kind):
    prefixes = {action.split(":")[0].lower() for _, action in schemas.requirements(resources[kind]).calls}
    assert set(SERVICES[kind].values()) <= prefixes, set(SERVICES[kind].values()) - prefixes


def test_the_actions_no_schema_lists_are_needed_by_no_schema(resources):
    listed = {action.lower() for _, action in schemas.requirements(resources[TOOLING]).calls}
    for action in TOOLING_UNLISTED_ACTIONS:
        assert action.lower() not in listed, (
            f"{action} is in a schema now: drop it from TOOLING_UNLISTED_ACTIONS"
        )
        assert schemas.allows(POLICIES[TOOLING], action)


def test_an_action_no_statement_can_scope_is_refused():
    with pytest.raises(ValueError, match="no statement of the policy scopes that"):
        schemas.derive(one("AWS::IAM::User"), SERVICES[ENVIRONMENT].values())  # iam:CreateUser acts on users
    with pytest.raises(ValueError, match="lakeformation:CreateTable is not an IAM action"):
        schemas.statement_group("lakeformation:CreateTable")


def test_the_gaps_the_issue_found_are_closed():
    environment, tooling = POLICIES[ENVIRONMENT], POLICIES[TOOLING]
    statements = {s["Sid"]: s for s in environment["Statement"]}
    assert "iam:ListEntitiesForPolicy" in statements["Policies"]["Action"]  # deleting a managed policy
    for policy in (environment, tooling):  # updating a role under --custom-permissions-boundary
        roles = next(s for s in policy["Statement"] if s["Sid"] == "Roles")
        assert {"iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"} <= set(roles["Action"])
    services = set(statements["Services"]["Action"])
    assert {
        "lakeformation:DescribeResource",
        "lakeformation:ListResources",
        "billing:GetBillingViewData",
    } <= services


def test_the_kits_roles_and_policies_carry_the_name_the_iam_statements_allow(resources):
    prefix = f"{names.PROJECT}-"
    named = {"AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName"}
    for resource in (r for kind in POLICIES for r in resources[kind] if r.type in named):
        assert resource.stack.startswith(prefix), resource.stack  # CloudFormation names it after the stack
        name = resource.properties.get(named[resource.type])
        assert name is None or render_tokens(name).startswith(prefix), (
            resource.stack,
            resource.logical_id,
            name,
        )


@pytest.mark.parametrize("kind", POLICIES)
def test_no_policy_is_administrator_access_in_disguise(kind):
    policy = POLICIES[kind]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    actions = [a for s in allows for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert "*" not in actions and not [a for a in actions if a.startswith("iam:") and "*" in a]
    iam = [s for s in allows if "iam:" in json.dumps(s["Action"])]
    scoped = (":role/mlkit-*", ":policy/mlkit-*", ":role/aws-service-role/*", ":oidc-provider/")
    assert iam and all(any(part in s["Resource"] for part in scoped) for s in iam), iam
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Action"] == "iam:AttachRolePolicy"
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in deny["Condition"]["ArnLike"]["iam:PolicyARN"]
    assert len(policy_text(policy)) <= 6144  # a managed policy's limit
    oidc = [s["Resource"] for s in policy["Statement"] if s["Sid"] == "GitHubOidc"]
    assert oidc == ([] if kind == TOOLING else [names.github_oidc_provider_arn("111111111111", "us-east-1")])


def test_bootstrap_imports_neither_the_cdk_nor_cfn_lint():
    probe = (
        "import json, sys, mlkit.bootstrap; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} | set(sys.modules))))"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(run.stdout))
    assert handler_permissions.__name__ in loaded  # the generated list is what bootstrap reads
    assert not {"aws_cdk", "cfnlint", "jsii", "constructs"} & loaded
