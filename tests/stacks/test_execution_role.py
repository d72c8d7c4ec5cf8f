"""ExecutionRole: each named grant adds exactly its statements, with the acknowledgements its wildcards need.

Each case builds a role on a tiny stack (literal account and region, the app's feature flags and
cdk-nag), calls one grant, and compares the role's whole policy: a grant that opens more, or less, or
leaves a wildcard unacknowledged (cdk-nag fails the synth) fails its case.
"""

from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from stacks.cdk_app import mlkit_app
from stacks.constructs.execution_role import ExecutionRole, sagemaker_key_grants
from stacks.nag import add_nag_checks
from tests.stacks.synth import CDK_CONTEXT

ACCOUNT, REGION = "123456789012", "eu-west-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPICS = [f"arn:aws:sns:{REGION}:{ACCOUNT}:success", f"arn:aws:sns:{REGION}:{ACCOUNT}:errors"]
IMAGES = [
    f"141502667606.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:3.0-5",
    f"763104351884.dkr.ecr.{REGION}.amazonaws.com/huggingface-pytorch-inference:2.6.0-cpu-py312",
    f"763104351884.dkr.ecr.{REGION}.amazonaws.com/autogluon-inference:1.1-cpu-py311",
]
LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs"
SAGEMAKER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
ROLE_ARN = "<role arn>"  # stands for the role's Fn::GetAtt, whose logical id CDK hashes
PASSED_TO_SAGEMAKER = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
PASS_ROLE = {
    "Action": "iam:PassRole",
    "Condition": PASSED_TO_SAGEMAKER,
    "Effect": "Allow",
    "Resource": ROLE_ARN,
}
KEY_GRANT = {
    "Action": "kms:CreateGrant",
    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    "Effect": "Allow",
    "Resource": KEY_ARN,
}
PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
TOKEN = {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}


def iam5(resource: str) -> str:
    return f"Annotation::AwsSolutions-IAM5[Resource::{resource}]"


# grant name → (the call, the role policy's statements, the acknowledged findings)
CASES: dict[str, tuple[Callable[[ExecutionRole, cdk.Stack], None], list[dict], set[str]]] = {
    "allow_listing": (
        lambda role, stack: role.allow_listing(s3.Bucket.from_bucket_name(stack, "B", "data"), "churn/"),
        [
            {
                "Action": "s3:ListBucket",
                "Condition": {"StringLike": {"s3:prefix": ["churn/", "churn/*"]}},
                "Effect": "Allow",
                "Resource": "arn:aws:s3:::data",
            }
        ],
        set(),
    ),
    "allow_job_volume_key_grants": (
        lambda role, stack: role.allow_job_volume_key_grants(kms.Key.from_key_arn(stack, "K", KEY_ARN)),
        [KEY_GRANT],
        set(),
    ),
    "allow_passing_itself": (
        lambda role, stack: role.allow_passing_itself(),
        [PASS_ROLE],
        set(),
    ),
    "allow_sagemaker_jobs": (
        lambda role, stack: role.allow_sagemaker_jobs(
            ["TrainingJob", "HyperParameterTuningJob"], name_prefix="churn12345"
        ),
        [
            {
                "Action": [
                    "sagemaker:AddTags",
                    "sagemaker:CreateHyperParameterTuningJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeHyperParameterTuningJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopHyperParameterTuningJob",
                    "sagemaker:StopTrainingJob",
                ],
                "Effect": "Allow",
                "Resource": [
                    f"{SAGEMAKER}:hyper-parameter-tuning-job/churn12345*",
                    f"{SAGEMAKER}:training-job/churn12345*",
                ],
            }
        ],
        {
            iam5(f"{SAGEMAKER}:training-job/churn12345*"),
            iam5(f"{SAGEMAKER}:hyper-parameter-tuning-job/churn12345*"),
        },
    ),
    "allow_job_log_streams": (
        lambda role, stack: role.allow_job_log_streams(
            "/aws/sagemaker/TrainingJobs", job_prefix="mlkit-dev-churn"
        ),
        [
            {
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Effect": "Allow",
                "Resource": f"{LOGS}:log-stream:mlkit-dev-churn-*",
            },
            {
                "Action": ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                "Effect": "Allow",
                "Resource": f"{LOGS}:*",
            },
        ],
        {iam5(f"{LOGS}:log-stream:mlkit-dev-churn-*"), iam5(f"{LOGS}:*")},
    ),
    "allow_sagemaker_metrics": (
        lambda role, stack: role.allow_sagemaker_metrics(),
        [
            {
                "Action": "cloudwatch:PutMetricData",
                "Condition": {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
                "Effect": "Allow",
                "Resource": "*",
            }
        ],
        {iam5("*")},
    ),
    "allow_registry_pulls": (
        lambda role, stack: role.allow_registry_pulls(IMAGES),
        [
            {
                "Action": PULL_ACTIONS,
                "Effect": "Allow",
                "Resource": [
                    f"arn:aws:ecr:{REGION}:141502667606:repository/*",
                    f"arn:aws:ecr:{REGION}:763104351884:repository/*",
                ],
            },
            TOKEN,
        ],
        {
            iam5(f"arn:aws:ecr:{REGION}:141502667606:repository/*"),
            iam5(f"arn:aws:ecr:{REGION}:763104351884:repository/*"),
            iam5("*"),
        },
    ),
    "allow_object_read": (
        lambda role, stack: role.allow_object_read("arn:aws:s3:::assets/source.tar.gz"),
        [{"Action": "s3:GetObject", "Effect": "Allow", "Resource": "arn:aws:s3:::assets/source.tar.gz"}],
        set(),
    ),
    "allow_publish": (
        lambda role, stack: role.allow_publish(
            [sns.Topic.from_topic_arn(stack, f"T{index}", arn) for index, arn in enumerate(TOPICS)]
        ),
        [{"Action": "sns:Publish", "Effect": "Allow", "Resource": sorted(TOPICS)}],
        set(),
    ),
}


def probe_stack(outdir: Path) -> tuple[cdk.Stack, ExecutionRole]:
    """A stack in a literal environment, with the app's feature flags and cdk-nag, holding one role."""
    app = mlkit_app(outdir=str(outdir), context=CDK_CONTEXT)
    add_nag_checks(app)  # an unacknowledged wildcard fails the synth
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account=ACCOUNT, region=REGION))
    return stack, ExecutionRole(stack, "Execution", description="probe")


def role_arn_as_text(value, role_id: str):
    """The role's own ARN as ``ROLE_ARN``, so expectations need not know its hashed logical id."""
    if value == {"Fn::GetAtt": [role_id, "Arn"]}:
        return ROLE_ARN
    if isinstance(value, dict):
        return {key: role_arn_as_text(item, role_id) for key, item in value.items()}
    if isinstance(value, list):
        return [role_arn_as_text(item, role_id) for item in value]
    return value


def policy_statements(stack: cdk.Stack) -> list[dict]:
    """The role policy's statements as synthesized (the app's minimizePolicies flag sorts resources)."""
    template = Template.from_stack(stack)
    (role_id,) = template.find_resources("AWS::IAM::Role")
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    return role_arn_as_text(policy["Properties"]["PolicyDocument"]["Statement"], role_id)


def acknowledgements(role: ExecutionRole) -> dict[str, str]:
    return {
        finding: reason
        for entry in role.policy.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for finding, reason in entry.data.items()
    }


@pytest.mark.parametrize("grant", list(CASES))
def test_grant_adds_exactly_its_statements_and_acknowledgements(grant, tmp_path):
    call, statements, acknowledged = CASES[grant]
    stack, role = probe_stack(tmp_path)
    call(role, stack)
    assert policy_statements(stack) == statements
    reasons = acknowledgements(role)
    assert set(reasons) == acknowledged
    assert all(len(reason) > 20 for reason in reasons.values())


def test_shared_statements_other_principals_use(tmp_path):
    """What the state machines and the deploy Lambda get about SageMaker, written once here."""
    stack, role = probe_stack(tmp_path)
    key = kms.Key.from_key_arn(stack, "K", KEY_ARN)
    role_id = stack.get_logical_id(role.role.node.default_child)
    assert role_arn_as_text(stack.resolve(role.pass_to_sagemaker().to_statement_json()), role_id) == PASS_ROLE
    assert stack.resolve(sagemaker_key_grants(key).to_statement_json()) == KEY_GRANT
