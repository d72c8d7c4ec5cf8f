"""mlkit-delivery, synthesized once from config/delivery.yaml: the order, accounts, approval, synth step,
artifacts, smoke tests and notifications of the pipeline that promotes one commit."""

import json
import re

import pytest

from stacks import names
from stacks.config import load_delivery
from stacks.config.loader import DELIVERY_PATH
from stacks.delivery.pipeline_stack import npm_pin, pinned
from tests.stacks.synth import ROOT, render_tokens

DELIVERY = load_delivery(DELIVERY_PATH)
TOOLING = DELIVERY.settings.pipeline.tooling
ENVIRONMENTS = DELIVERY.environments


@pytest.fixture(scope="module")
def pipeline(delivery_app):
    return delivery_app.raw[names.DELIVERY_STACK]


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def stages(template: dict) -> dict[str, list[dict]]:
    (pipeline,) = resources(template, "AWS::CodePipeline::Pipeline").values()
    return {stage["Name"]: stage["Actions"] for stage in pipeline["Properties"]["Stages"]}


def buildspec(template: dict, action: dict) -> dict:
    project = template["Resources"][action["Configuration"]["ProjectName"]["Ref"]]
    return json.loads(project["Properties"]["Source"]["BuildSpec"])


def test_a_commit_goes_through_tests_then_dev_staging_and_prod_in_that_order(pipeline):
    assert list(stages(pipeline)) == ["Source", "Build", "UpdatePipeline", "Assets", "dev", "staging", "prod"]
    assert [env.name for env in ENVIRONMENTS] == ["dev", "staging", "prod"]


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda env: env.name)
def test_each_stage_deploys_into_its_own_account_and_region(pipeline, delivery_app, environment):
    deploys = [
        a for a in stages(pipeline)[environment.name] if a["ActionTypeId"]["Provider"] == "CloudFormation"
    ]
    assert deploys
    account, region = environment.account, environment.region
    for action in deploys:
        assert action.get("Region", TOOLING.region) == region
        assert render_tokens(action["RoleArn"]).endswith(
            f":{account}:role/{names.bootstrap_role('deploy', account, region)}"
        )
        assert (
            render_tokens(action["Configuration"].get("RoleArn", "x")).endswith(
                f":{account}:role/cdk-{names.CDK_QUALIFIER}-cfn-exec-role-{account}-{region}"
            )
            or action["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE"
        )
        assert action["Configuration"]["StackName"].startswith(f"mlkit-{environment.name}-")
    # The stage's stacks are synthesized for that account and region, and only those.
    manifest = json.loads(
        (
            delivery_app.outdir / f"assembly-{names.DELIVERY_STACK}-{environment.name}" / "manifest.json"
        ).read_text()
    )
    targets = {
        a["environment"] for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"
    }
    assert targets == {f"aws://{account}/{region}"}


def test_an_approval_comes_before_prod_and_nowhere_else(pipeline):
    for name, actions in stages(pipeline).items():
        approvals = [a for a in actions if a["ActionTypeId"]["Provider"] == "Manual"]
        if name != "prod":
            assert approvals == [], name
            continue
        (approval,) = approvals
        first_deploy = min(
            a["RunOrder"] for a in actions if a["ActionTypeId"]["Provider"] == "CloudFormation"
        )
        assert approval["RunOrder"] < first_deploy
        assert approval["ActionTypeId"]["Category"] == "Approval"


def test_the_synth_step_runs_the_test_suite_then_synthesizes_the_delivery_app(pipeline):
    (synth,) = stages(pipeline)["Build"]
    spec = buildspec(pipeline, synth)
    assert spec["phases"]["build"]["commands"] == [
        "make test",
        "npx --no-install cdk synth -q -c delivery=config/delivery.yaml",
    ]
    assert spec["phases"]["install"]["runtime-versions"] == {
        "python": "3.11",
        "nodejs": "20",
        "java": "corretto17",
    }
    assert spec["artifacts"]["base-directory"] == "cdk.out"


def test_ci_installs_nothing_that_the_synth_step_would_not(pipeline):
    """The synth step runs `make test`; .ci/run must stay that command, or the pipeline tests less than CI."""
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "make test"
    assert all(re.match(r"(set |cd |export JSII_SILENCE)", line) for line in ci[:-1]), ci


def test_artifacts_are_encrypted_with_a_rotated_kms_key_in_every_region(pipeline, delivery_app):
    (codepipeline,) = resources(pipeline, "AWS::CodePipeline::Pipeline").values()
    stores = {s["Region"]: s["ArtifactStore"] for s in codepipeline["Properties"]["ArtifactStores"]}
    assert set(stores) == {TOOLING.region, *(env.region for env in ENVIRONMENTS)}
    assert all(store["EncryptionKey"]["Type"] == "KMS" for store in stores.values())
    key_id = stores[TOOLING.region]["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
    assert pipeline["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    bucket = pipeline["Resources"][stores[TOOLING.region]["Location"]["Ref"]]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert "LoggingConfiguration" in bucket and bucket["VersioningConfiguration"]["Status"] == "Enabled"
    # Another region's stages read a replication bucket with its own rotated key.
    (support,) = [
        t for name, t in delivery_app.raw.items() if name.startswith(f"{names.DELIVERY_STACK}-support-")
    ]
    (key,) = resources(support, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda env: env.name)
def test_each_environments_deploy_role_may_decrypt_the_artifacts_of_its_region(delivery_app, environment):
    """Cross-account keys: the key of the artifact store in the stage's region admits its deploy role."""
    in_tooling_region = environment.region == TOOLING.region
    stack = (
        names.DELIVERY_STACK if in_tooling_region else f"{names.DELIVERY_STACK}-support-{environment.region}"
    )
    keys = resources(delivery_app.raw[stack], "AWS::KMS::Key").values()
    (key,) = [k for k in keys if "notification" not in json.dumps(k)]
    account, region = environment.account, environment.region
    deploy_role = f":{account}:role/{names.bootstrap_role('deploy', account, region)}"
    admitted = [
        s["Action"]
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if deploy_role in json.dumps(s["Principal"])
    ]
    assert admitted == [["kms:Decrypt", "kms:DescribeKey"]]


def test_every_stage_is_smoke_tested_through_the_kits_client_after_it_deploys(pipeline):
    for environment in ENVIRONMENTS:
        actions = stages(pipeline)[environment.name]
        (smoke,) = [a for a in actions if a["Name"] == "SmokeTest"]
        assert smoke["RunOrder"] > max(a["RunOrder"] for a in actions if a is not smoke)
        (variable,) = json.loads(smoke["Configuration"]["EnvironmentVariables"])
        assert variable["name"] == "API_URL" and variable["value"].endswith(".ApiUrl}")
        api_deploy = next(
            a for a in actions if a["Name"] == f"{names.api_stack_name(environment.name)}.Deploy"
        )
        assert variable["value"] == "#{" + api_deploy["Namespace"] + ".ApiUrl}"
        spec = buildspec(pipeline, smoke)
        assert spec["phases"]["install"]["commands"] == [
            f"python3 -m pip install --quiet boto3=={pinned('boto3')}"
        ]
        assert spec["phases"]["build"]["commands"][-1].endswith(
            'python3 -m mlkit.client list --url "$API_URL"'
        )


def test_the_smoke_test_may_assume_only_each_environments_smoke_test_role(pipeline, delivery_app):
    role_name = names.pipeline_smoke_test_role()
    (role_id,) = [
        i
        for i, r in resources(pipeline, "AWS::IAM::Role").items()
        if r["Properties"].get("RoleName") == role_name
    ]
    statements = [
        s
        for policy in resources(pipeline, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sts:AssumeRole" in s["Action"]
    ]
    expected = sorted(
        names.role_arn(e.account, e.region, names.smoke_test_role(e.name)) for e in ENVIRONMENTS
    )
    assert (
        sorted(
            r
            for s in statements
            for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        )
        == expected
    )
    caller = names.role_arn(TOOLING.account, TOOLING.region, role_name)
    for environment in ENVIRONMENTS:
        api = delivery_app.stages[environment.name][names.api_stack_name(environment.name)]
        (target,) = [
            r
            for r in resources(api, "AWS::IAM::Role").values()
            if r["Properties"].get("RoleName") == names.smoke_test_role(environment.name)
        ]
        (trust,) = target["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert render_tokens(trust["Principal"]["AWS"]).endswith(f":iam::{TOOLING.account}:root")
        assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": caller}}
        (grant,) = [
            s
            for p in resources(api, "AWS::IAM::Policy").values()
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Action"] == "execute-api:Invoke"
        ]
        api_arn = rf"arn:aws:execute-api:{environment.region}:{environment.account}:<Api\w+>"
        assert re.fullmatch(
            api_arn + r"/<ApiDeploymentStage\w+>/GET/models", render_tokens(grant["Resource"])
        )


def test_failures_and_approvals_notify_a_kms_encrypted_tls_only_topic(pipeline):
    (rule,) = resources(pipeline, "AWS::CodeStarNotifications::NotificationRule").values()
    events = set(rule["Properties"]["EventTypeIds"])
    assert {
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-manual-approval-needed",
    } <= events
    (topic_id,) = resources(pipeline, "AWS::SNS::Topic")
    assert rule["Properties"]["Targets"] == [{"TargetAddress": {"Ref": topic_id}, "TargetType": "SNS"}]
    topic = pipeline["Resources"][topic_id]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert pipeline["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    key_policy = json.dumps(pipeline["Resources"][key_id]["Properties"]["KeyPolicy"])
    assert "codestar-notifications.amazonaws.com" in key_policy
    (policy,) = resources(pipeline, "AWS::SNS::TopicPolicy").values()
    denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    emails = [s["Properties"]["Endpoint"] for s in resources(pipeline, "AWS::SNS::Subscription").values()]
    assert emails == DELIVERY.settings.pipeline.notifications.emails


def test_assets_publish_in_one_project_and_self_mutation_uses_the_pinned_cli(pipeline):
    assert [a["Name"] for a in stages(pipeline)["Assets"]] == ["FileAssets"]
    (mutate,) = stages(pipeline)["UpdatePipeline"]
    assert (
        f"npm install -g aws-cdk@{npm_pin('aws-cdk')}"
        in buildspec(pipeline, mutate)["phases"]["install"]["commands"]
    )


def test_nothing_in_the_delivery_app_has_administrator_access(delivery_app):
    templates = [
        *delivery_app.raw.values(),
        *(t for stage in delivery_app.stages.values() for t in stage.values()),
    ]
    for template in templates:
        text = json.dumps(template)
        assert (
            "AdministratorAccess" not in text
            and "PowerUserAccess" not in text
            and "IAMFullAccess" not in text
        )
        for policy in [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        ]:
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert "*" not in actions and not any(a.endswith(":*") for a in actions), statement


def test_the_source_role_may_use_the_connection_under_its_own_prefix(pipeline):
    """CDK grants codestar-connections:UseConnection; a codeconnections ARN needs codeconnections too."""
    connection = load_delivery(DELIVERY_PATH).settings.pipeline.source.connection.arn
    assert connection.startswith("arn:aws:codeconnections:")
    granted = [
        action
        for policy in resources(pipeline, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Resource") == connection
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]
    assert "codeconnections:UseConnection" in granted
    assert "codestar-connections:UseConnection" in granted  # CDK's own, kept for older connections
