"""cdk-nag (AwsSolutions) and cfn-lint over every stack of every shipped config."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cfnlint.api import ManualArgs, lint

from stacks.cdk_app import mlkit_app
from stacks.config import load_config
from stacks.config.loader import CONFIG_DIR
from stacks.nag import acknowledge, add_nag_checks
from tests.stacks.synth import config_from, synthesize
from tests.stacks.test_api_stack import CONFIG as API_CONFIG
from tests.stacks.test_autopilot_stack import CONFIG as AUTOPILOT_CONFIG
from tests.stacks.test_huggingface_stack import MODELS as HUGGINGFACE_MODELS
from tests.stacks.test_training_stack import training_config

# The shipped configs, and configs that exercise every source, hosting type and API option.
CONFIGS = {
    "dev": lambda: load_config(CONFIG_DIR / "dev.yaml"),
    "prod": lambda: load_config(CONFIG_DIR / "prod.yaml"),
    "all-hf-hosting": lambda: config_from(
        {"environment": "hf", "region": "eu-west-1", "models": HUGGINGFACE_MODELS}
    ),
    # SageMaker and Bedrock models behind the API with keys, a created guardrail and an inference profile.
    "api-bedrock": lambda: config_from(API_CONFIG),
    # Training models: two share a dataset (one Glue job), built-in and script mode, every hosting type.
    "training": training_config,
    # Autopilot models: tuning mode on real-time, ensembling on serverless, auto mode on async.
    "autopilot": lambda: config_from(AUTOPILOT_CONFIG),
}

# The one place cfn-lint findings are ignored, each with its reason.
CFN_LINT_IGNORES = {
    "W3005": "CDK adds DependsOn entries that are also implied by Ref/GetAtt; harmless and not ours to edit.",
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
    settings = ManualArgs(regions=[config.region], ignore_checks=list(CFN_LINT_IGNORES))
    for stack_name, template in app.raw.items():
        findings = lint(json.dumps(template), config=settings)
        assert [str(finding) for finding in findings] == [], stack_name


def test_cfn_lint_catches_a_broken_template():
    broken = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Versioned": True}}}}
    assert lint(json.dumps(broken), config=ManualArgs(regions=["us-east-1"])) != []
