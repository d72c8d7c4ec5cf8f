"""cdk-nag (AwsSolutions) and cfn-lint over every stack of every shipped config."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from stacks import names
from stacks.cdk_app import mlkit_app
from stacks.config import load_config, load_delivery
from stacks.config.loader import CONFIG_DIR, DELIVERY_PATH
from stacks.delivery.nag_reasons import acknowledge_pipeline
from stacks.nag import acknowledge, add_nag_checks
from tests.sources.autopilot.test_stack import CONFIG as AUTOPILOT_CONFIG
from tests.sources.hub.test_stack import CONFIG as HUB_CONFIG
from tests.sources.huggingface.test_stack import MODELS as HUGGINGFACE_MODELS
from tests.sources.jumpstart.test_stack import CONFIG as JUMPSTART_CONFIG
from tests.sources.training.test_algorithms import CONFIG as ALGORITHMS_CONFIG
from tests.sources.training.test_stack import training_config
from tests.stacks.cfn_lint import lint_template
from tests.stacks.synth import config_from, synthesize
from tests.stacks.test_api_stack import CONFIG as API_CONFIG
from tests.stacks.test_dataset_stack import PREPARE_CONFIG

# The shipped configs, and configs that exercise every source, hosting type and API option.
CONFIGS = {
    "dev": lambda: load_config(CONFIG_DIR / "dev.yaml"),
    "prod": lambda: load_config(CONFIG_DIR / "prod.yaml"),
    # The held-out config: one model of every source and hosting type.
    "showcase": lambda: load_config(CONFIG_DIR / "showcase.yaml"),
    "all-hf-hosting": lambda: config_from(
        {"environment": "hf", "region": "eu-west-1", "models": HUGGINGFACE_MODELS}
    ),
    # SageMaker and Bedrock models behind the API with keys, a created guardrail and an inference profile.
    "api-bedrock": lambda: config_from(API_CONFIG),
    # Training models: two share a dataset (one Glue job), built-in and script mode, every hosting type.
    "training": training_config,
    # Autopilot models: tuning mode on real-time, ensembling on serverless, auto mode on async.
    "autopilot": lambda: config_from(AUTOPILOT_CONFIG),
    # Hub models: PyTorch Hub on real-time and async (GPU), TensorFlow Hub on the default hosting.
    "hub": lambda: config_from(HUB_CONFIG),
    # JumpStart models: prepacked and isolated, gated with a EULA, script mode on async.
    "jumpstart": lambda: config_from(JUMPSTART_CONFIG),
    # Datasets prepared by a Processing job and by a Data Wrangler flow.
    "dataset-prep": lambda: config_from(PREPARE_CONFIG),
    # The held-out training config: one model per algorithm, one tuned, every data preparation.
    "training-algorithms": lambda: config_from(ALGORITHMS_CONFIG),
}

# Single findings ignored by rule and message, where ignoring the whole rule would hide real problems.
CFN_LINT_IGNORED_FINDINGS = {
    ("E3703", "Prefer using Fn::Sub over Fn::Join with an empty delimiter"): (
        "cfn-lint reports its informational I1022 (Sub rather than Join) as E3703 inside CodePipeline "
        "action configurations; CDK Pipelines writes those role ARNs as Joins, and they are valid. "
        "cfn-lint skips I1022 for templates it recognises as CDK's (CDK metadata, which tests do not add)."
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_nag_reports_no_unacknowledged_finding(name):
    app = synthesize(CONFIGS[name]())
    report = json.loads((app.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin["violations"]]
    assert violations == []


def test_nag_is_live_and_acknowledgements_are_scoped(tmp_path):
    app = mlkit_app(outdir=str(tmp_path))  # the app's own settings: nag must stay live with them
    stack = cdk.Stack(app, "Probe")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    acknowledge(role, "IAM5[Action::s3:*]", "acknowledges a different finding than the one present")
    add_nag_checks(app)
    with pytest.raises(RuntimeError, match=r"AwsSolutions-IAM5\[Resource::\*\]"):
        app.synth()


@pytest.mark.parametrize("name", list(CONFIGS))
def test_cfn_lint_is_clean(name):
    config = CONFIGS[name]()
    app = synthesize(config)
    for stack_name, template in app.raw.items():
        assert [str(finding) for finding in lint_template(template, config.region)] == [], stack_name


def test_cfn_lint_catches_a_broken_template():
    broken = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Versioned": True}}}}
    findings = lint_template(broken, "us-east-1")
    assert [f.rule.id for f in findings] == ["E3002"], findings  # Versioned is not a property of a bucket
    # The shared rules keep working for the next template, and the ignores stay scoped to their rule.
    assert lint_template({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}, "us-east-1") == []


def test_nag_reports_no_unacknowledged_finding_in_the_delivery_app(delivery_app):
    report = json.loads((delivery_app.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin["violations"]]
    assert violations == []


def test_cfn_lint_is_clean_on_the_delivery_app(delivery_app):
    """The pipeline, its cross-region support stack, the OIDC stacks, and the first stage's api stack: the
    only stage stack that differs from a workstation deploy (it holds the smoke-test role; the other
    stages' api stacks are the same construct, and test_cfn_lint_is_clean lints their configs)."""
    artifacts = delivery_app.manifest()["artifacts"].items()
    regions = {
        a["properties"].get("stackName", artifact): a["environment"].rsplit("/", 1)[1]
        for artifact, a in artifacts
        if a["type"] == "aws:cloudformation:stack"
    }
    templates = {name: (template, regions[name]) for name, template in delivery_app.raw.items()}
    first = load_delivery(DELIVERY_PATH).environments[0]
    api = names.api_stack_name(first.name)
    templates[api] = (delivery_app.stages[first.name][api], first.region)
    for stack_name, (template, region) in templates.items():
        findings = lint_template(template, region)
        kept = [f for f in findings if (f.rule.id, f.message) not in CFN_LINT_IGNORED_FINDINGS]
        assert [str(finding) for finding in kept] == [], stack_name


def test_pipeline_acknowledgements_cover_known_shapes_only(tmp_path):
    """A wildcard CDK Pipelines is known to generate is acknowledged; any other shape stays a finding."""
    app = mlkit_app(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="444444444444", region="us-east-1"))
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"))
    project_logs = "arn:aws:logs:us-east-1:444444444444:log-group:/aws/codebuild/*"
    role.add_to_policy(iam.PolicyStatement(actions=["logs:CreateLogStream"], resources=[project_logs]))
    role.add_to_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::someone-else/*"])
    )
    acknowledge_pipeline(stack)
    add_nag_checks(app)
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    assert "AwsSolutions-IAM5[Resource::arn:aws:s3:::someone-else/*]" in str(raised.value)
    assert "/aws/codebuild/*" not in str(raised.value)
