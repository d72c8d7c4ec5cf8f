"""The environment's one deploy Lambda: its stack, its grants, and how every pipeline stack uses it."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from benchmarks.catalog import catalog
from stacks import names
from stacks.cdk_app import mlkit_app
from stacks.config import MlKitConfig, load_config
from stacks.config.loader import CONFIG_DIR
from stacks.constructs.deploy_steps import DEPLOY_STATE, DeploySteps
from stacks.constructs.execution_role import ExecutionRole
from stacks.deploy_access import PASS_ROLE_CONDITION, deploy_policies, deployed_models, scaling_statements
from stacks.deploy_stack import DeployStack
from stacks.nag import add_nag_checks
from tests.stacks.synth import CDK_CONTEXT, render_tokens, synthesize

ACCOUNT, REGION = "123456789012", "eu-west-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_GRANT = {
    "Action": "kms:CreateGrant",
    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    "Effect": "Allow",
    "Resource": KEY_ARN,
}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def normal(statement: dict) -> dict:
    """A statement with its actions and resources as sorted lists (the app's minimizePolicies sorts them)."""
    return {
        **statement,
        "Action": sorted(as_list(statement["Action"])),
        "Resource": sorted(as_list(statement["Resource"])),
    }


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    """Two deploy stacks in a literal environment, with cdk-nag (an unacknowledged wildcard fails the
    synth): serverless models only, and one with an async endpoint beside them."""
    models = MlKitConfig.model_validate(catalog(8)).models
    serverless = {label: models[label] for label in ("training-005", "autopilot-006")}
    app = mlkit_app(outdir=str(tmp_path_factory.mktemp("deploy")), context=CDK_CONTEXT)
    add_nag_checks(app)
    env = cdk.Environment(account=ACCOUNT, region=REGION)
    stacks = {}
    for name, chosen in (
        ("serverless", serverless),
        ("volumes", {**serverless, "t": models["training-async-007"]}),
    ):
        holder = cdk.Stack(app, f"Key-{name}", env=env)
        key = kms.Key.from_key_arn(holder, "Key", KEY_ARN)
        stacks[name] = DeployStack(app, name, environment_name="t", models=chosen, key=key, env=env)
    app.synth()
    return {name: (stack, Template.from_stack(stack)) for name, stack in stacks.items()}


def test_one_function_whose_managed_policies_are_exactly_the_packed_grants(probes):
    stack, template = probes["volumes"]
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    assert function["Properties"]["Handler"] == "deploy.handler"
    labels = ["training-005", "autopilot-006", "t"]
    expected = [
        {
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": resources,
            **({"Condition": PASS_ROLE_CONDITION} if actions == ("iam:PassRole",) else {}),
        }
        for document in deploy_policies("t", labels, partition="aws", account=ACCOUNT, region=REGION)
        for actions, resources in document.items()
    ]
    policies = template.find_resources("AWS::IAM::ManagedPolicy").values()
    found = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert [normal(s) for s in found] == [normal(s) for s in expected]
    role_id = stack.get_logical_id(stack.role.node.default_child)
    assert all(p["Properties"]["Roles"] == [{"Ref": role_id}] for p in policies)


def test_autoscaling_grants_sit_alone_in_one_inline_policy_scoped_to_sagemaker_variants(probes):
    stack, template = probes["serverless"]
    policies = template.find_resources("AWS::IAM::Policy")
    (scaling,) = [p for logical_id, p in policies.items() if logical_id.startswith("DeployScaling")]
    expected = [
        {
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": resources[0],
            **({"Condition": c} if c else {}),
        }
        for actions, resources, c in scaling_statements(partition="aws", account=ACCOUNT)
    ]
    assert [normal(s) for s in scaling["Properties"]["PolicyDocument"]["Statement"]] == [
        normal(s) for s in expected
    ]
    writes, reads, linked_role = scaling["Properties"]["PolicyDocument"]["Statement"]
    assert writes["Resource"] == "*" and set(writes["Condition"]["StringEquals"].values()) == {
        "sagemaker",
        "sagemaker:variant:DesiredInstanceCount",
    }
    assert all(action.startswith("application-autoscaling:Describe") for action in reads["Action"])
    assert linked_role["Resource"].endswith(
        ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )
    assert linked_role["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
    }
    role_id = stack.get_logical_id(stack.role.node.default_child)
    assert scaling["Properties"]["Roles"] == [{"Ref": role_id}]


def test_the_key_grant_comes_only_with_an_endpoint_that_has_volumes(probes):
    def inline(name: str) -> list[dict]:
        policies = probes[name][1].find_resources("AWS::IAM::Policy").values()
        return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]

    assert KEY_GRANT in inline("volumes")
    assert not [s for s in inline("serverless") if "kms:CreateGrant" in as_list(s["Action"])]


def test_deploy_steps_refuse_a_model_the_deploy_role_does_not_name(tmp_path):
    app = mlkit_app(outdir=str(tmp_path), context=CDK_CONTEXT)
    model = MlKitConfig.model_validate(catalog(8)).models["training-005"]
    pipeline = cdk.Stack(app, "Pipeline")
    key = kms.Key.from_key_arn(pipeline, "Key", KEY_ARN)
    deployer = DeployStack(app, "Deploy", environment_name="t", models={"training-005": model}, key=key)
    with pytest.raises(ValueError, match="may not deploy mlkit-t-other: its grants name the endpoints of"):
        DeploySteps(
            pipeline,
            "Deploy",
            endpoint_name="mlkit-t-other",
            model_label="other",
            hosting=model.hosting,
            deployer=deployer,
            execution_role=ExecutionRole(pipeline, "Role", description="probe"),
            key=key,
            artifacts_bucket=s3.Bucket.from_bucket_name(pipeline, "Artifacts", "artifacts"),
        )


def test_the_pass_role_condition_is_the_execution_roles_own(tmp_path):
    stack = cdk.Stack(mlkit_app(outdir=str(tmp_path), context=CDK_CONTEXT), "Probe")
    statement = ExecutionRole(stack, "Role", description="probe").pass_to_sagemaker()
    assert stack.resolve(statement.to_statement_json())["Condition"] == PASS_ROLE_CONDITION


# ---- every pipeline stack of a config with every source ------------------------------------


@pytest.fixture(scope="module")
def showcase():
    config = load_config(CONFIG_DIR / "showcase.yaml")
    return config, synthesize(config)


def test_each_pipeline_invokes_only_the_shared_function_and_deploys_after_it(showcase):
    config, app = showcase
    deploy_stack = names.deploy_stack_name(config.environment)
    outputs = app.raw[deploy_stack]["Outputs"].values()
    (export,) = [o["Export"]["Name"] for o in outputs if "DeployFunction" in json.dumps(o["Value"])]
    artifacts = json.loads((app.directory / "manifest.json").read_text())["artifacts"]
    stack_ids = {
        a["properties"]["stackName"]: i
        for i, a in artifacts.items()
        if "stackName" in a.get("properties", {})
    }
    pipelines = deployed_models(config)
    assert len(pipelines) >= 4
    for label in pipelines:
        name = names.model_stack_name(config.environment, label)
        template = app.raw[name]
        assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
        (machine,) = [
            r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
        ]
        states = json.loads(render_tokens(machine["Properties"]["DefinitionString"]))["States"]
        assert states[DEPLOY_STATE]["Resource"] == f"<{export}>", label
        invoked = [
            render_tokens(resource)
            for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::Policy"
            for s in r["Properties"]["PolicyDocument"]["Statement"]
            if "lambda:InvokeFunction" in as_list(s["Action"])
            for resource in as_list(s["Resource"])
        ]
        assert sorted(invoked) == [f"<{export}>", f"<{export}>:*"], label
        assert stack_ids[deploy_stack] in artifacts[stack_ids[name]]["dependencies"], label
        role_names = [r["Properties"].get("RoleName") for r in template["Resources"].values()]
        assert names.model_role_name(config.environment, label) in role_names, label
