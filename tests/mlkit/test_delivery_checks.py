"""`make local`'s delivery rows, in-process against moto: the emulated OIDC stack deployed through
CloudFormation, its checks passing, and failing when the deployed trust or permissions are wrong."""

import copy
import json

import boto3
import pytest

from mlkit import delivery_checks
from mlkit.report import FAILED, NOT_EMULATED, OK, SKIPPED, Report
from stacks import names
from stacks.cdk_app import mlkit_app
from stacks.config import load_delivery
from stacks.config.loader import DELIVERY_PATH
from stacks.delivery.app import build_delivery
from tests.stacks.synth import CDK_CONTEXT

DELIVERY = load_delivery(DELIVERY_PATH)
ENV = DELIVERY.environments[0]
STACK = names.oidc_stack_name(ENV.name)
ROWS = ("GitHub roles: trust and permissions", "assume the deploy role with a GitHub token")


@pytest.fixture(scope="module")
def emulated_template() -> dict:
    """The emulated mlkit-<env>-oidc, as `make local` deploys it (the emulated app has no pipeline)."""
    app = mlkit_app(context=CDK_CONTEXT)
    stacks = build_delivery(app, DELIVERY, emulated=True)
    assert set(stacks) == {names.oidc_stack_name(env.name) for env in DELIVERY.environments}
    return app.synth().get_stack_by_name(STACK).template


def deployed_rows(template: dict) -> dict[str, tuple[str, str]]:
    """Create the provider, deploy ``template`` through moto's CloudFormation, run the checks."""
    session = boto3.Session(region_name=ENV.region)
    delivery_checks.create_provider(session.client("iam"))
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    report = Report()
    delivery_checks.check_oidc(report, session.client, ENV.region, ENV.name, DELIVERY.settings.github)
    return {row.step: (row.status, row.detail) for row in report.rows}


def test_the_deployed_roles_pass_and_sts_enforcement_is_reported_not_emulated(aws, emulated_template):
    rows = deployed_rows(emulated_template)
    assert [rows[step][0] for step in ROWS] == [OK, OK]
    assert (
        "trusts sub repo:my-org/mlkit:environment:dev and may assume deploy, file-publishing roles only"
        in rows[ROWS[0]][1]
    )
    assert f":assumed-role/{names.github_deploy_role(ENV.name)}/" in rows[ROWS[1]][1]
    status, detail = rows["STS enforces the trust conditions"]
    assert status == NOT_EMULATED and "a token for repo:someone/else:environment:dev got" in detail


def test_a_wider_trust_fails_the_check_and_skips_the_rows_that_need_it(aws, emulated_template):
    template = copy.deepcopy(emulated_template)
    role = next(
        r
        for r in template["Resources"].values()
        if r["Properties"].get("RoleName") == names.github_deploy_role(ENV.name)
    )
    condition = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    condition["StringLike"] = {f"{names.GITHUB_OIDC_HOST}:sub": "repo:my-org/*"}
    del condition["StringEquals"][f"{names.GITHUB_OIDC_HOST}:sub"]
    rows = deployed_rows(template)
    assert rows[ROWS[0]][0] == FAILED and "repo:my-org/*" in rows[ROWS[0]][1]
    assert rows[ROWS[1]][0] == SKIPPED


def test_a_role_that_may_do_more_than_assume_bootstrap_roles_fails_the_check(aws, emulated_template):
    template = copy.deepcopy(emulated_template)
    policy = next(r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy")
    policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"] = "*"
    rows = deployed_rows(template)
    assert rows[ROWS[0]][0] == FAILED and "may assume ['*'], not only" in rows[ROWS[0]][1]


def test_the_pipeline_row_is_not_emulated_and_names_the_tests_that_check_it():
    report = Report()
    delivery_checks.pipeline_row(report, DELIVERY)
    (row,) = report.rows
    assert row.status == NOT_EMULATED
    assert row.detail.startswith("mlkit-delivery (stages dev → staging → prod) is not deployed here")
    assert "tests/stacks/test_delivery_pipeline.py" in row.detail


def test_the_emulated_delivery_app_leaves_the_pipeline_out():
    app = mlkit_app(context=CDK_CONTEXT)
    assert names.DELIVERY_STACK not in build_delivery(app, DELIVERY, emulated=True)


def test_an_environment_the_delivery_file_does_not_deliver_is_skipped_with_the_reason():
    report = Report()
    config = DELIVERY.environments[0].config.model_copy(update={"environment": "showcase"})
    delivery_checks.run_delivery(report, config, clients=None, deploy=None)
    (row,) = report.rows
    assert (row.scope, row.status) == ("delivery", SKIPPED)
    assert row.detail == "config/delivery.yaml does not deliver 'showcase'"
