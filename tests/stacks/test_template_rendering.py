"""template_rendering: template values and identity policies, each token at the value CloudFormation gives."""

import re

import pytest

from tests.stacks.template_rendering import ACCOUNT, RenderingError, identity_policies

REGION = "eu-west-1"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
TRUST = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "x"}}]}


def arn(*parts: str) -> dict:
    return {"Fn::GetAtt": list(parts)}


def join(*parts) -> dict:
    return {"Fn::Join": ["", list(parts)]}


# Each token kind in the statements CDK writes, in the order the expected values below follow.
TOKENS = [
    {"Fn::ImportValue": "data:ExportsKeyArn"},
    {"Ref": "Bucket"},
    join(arn("Bucket", "Arn"), "/models/*"),
    arn("Role", "Arn"),
    {"Ref": "Topic"},
    {"Ref": "Machine"},
    arn("Function", "Arn"),
    arn("Logs", "Arn"),
    join(
        "arn:",
        {"Ref": "AWS::Partition"},
        ":sagemaker:",
        {"Ref": "AWS::Region"},
        ":",
        {"Ref": "AWS::AccountId"},
    ),
    {"Fn::Sub": "cdk-assets-${AWS::AccountId}-${AWS::Region}/${Bucket}"},
]
EXPECTED = [
    rf"arn:aws:kms:{REGION}:{ACCOUNT}:key/{UUID}",
    r"mlkit-dev-data",
    r"arn:aws:s3:::mlkit-dev-data/models/\*",
    rf"arn:aws:iam::{ACCOUNT}:role/model-Role-[A-Z0-9]{{12}}",
    rf"arn:aws:sns:{REGION}:{ACCOUNT}:model-Topic-[A-Z0-9]{{12}}",
    rf"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:mlkit-dev-train",
    rf"arn:aws:lambda:{REGION}:{ACCOUNT}:function:model-Function-[A-Z0-9]{{12}}",
    rf"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/states/train:\*",
    rf"arn:aws:sagemaker:{REGION}:{ACCOUNT}",
    rf"cdk-assets-{ACCOUNT}-{REGION}/mlkit-dev-data",
]


def templates(resource: object) -> dict[str, dict]:
    """A data stack exporting a key; a model stack whose inline and attached policies use ``resource``."""
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}
    return {
        "data": {
            "Resources": {"Key": {"Type": "AWS::KMS::Key"}},
            "Outputs": {"Out": {"Value": arn("Key", "Arn"), "Export": {"Name": "data:ExportsKeyArn"}}},
        },
        "model": {
            "Resources": {
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "mlkit-dev-data"}},
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": TRUST,
                        "Policies": [{"PolicyName": "inline", "PolicyDocument": {"Statement": [statement]}}],
                    },
                },
                "Topic": {"Type": "AWS::SNS::Topic"},
                "Machine": {
                    "Type": "AWS::StepFunctions::StateMachine",
                    "Properties": {"StateMachineName": join("mlkit-", "dev-train")},
                },
                "Function": {"Type": "AWS::Lambda::Function"},
                "Logs": {
                    "Type": "AWS::Logs::LogGroup",
                    "Properties": {"LogGroupName": "/aws/vendedlogs/states/train"},
                },
                "Policy": {
                    "Type": "AWS::IAM::Policy",
                    "Properties": {"PolicyName": "attached", "PolicyDocument": {"Statement": [statement]}},
                },
            }
        },
    }


def test_identity_policies_render_every_token_realistically():
    policies = identity_policies(templates(TOKENS), region=REGION)
    assert [(p.stack, p.logical_id, p.resource_type, p.name) for p in policies] == [
        ("model", "Role", "AWS::IAM::Role", "inline"),
        ("model", "Policy", "AWS::IAM::Policy", "attached"),
    ]  # the trust policy is no identity policy
    rendered = policies[0].document["Statement"][0]["Resource"]
    assert len(rendered) == len(EXPECTED)
    for value, expected in zip(rendered, EXPECTED, strict=True):
        assert re.fullmatch(expected, value), (value, expected)
    again = identity_policies(templates(TOKENS), region=REGION)[0].document
    assert again == policies[0].document  # generated names and ids are deterministic


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ({"Ref": "Unknown"}, "Ref Unknown is no resource"),
        ({"Ref": "AWS::NotificationARNs"}, "no rendering for AWS::NotificationARNs"),
        (arn("Key", "KeyPolicy"), "no KeyPolicy for AWS::KMS::Key"),
        ({"Fn::ImportValue": "data:Missing"}, "imports data:Missing, which no stack here exports"),
        ({"Fn::If": ["C", "a", "b"]}, "no rendering for Fn::If"),
        ({"Ref": "Queue"}, "no rendering for type AWS::Glue::Crawler"),
    ],
)
def test_a_token_with_no_realistic_value_raises(token, message):
    stacks = templates(token)
    stacks["model"]["Resources"]["Queue"] = {"Type": "AWS::Glue::Crawler"}
    stacks["model"]["Resources"]["Key"] = {"Type": "AWS::KMS::Key"}
    with pytest.raises(RenderingError, match=re.escape(message)):
        identity_policies(stacks, region=REGION)
