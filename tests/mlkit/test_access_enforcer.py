"""IAM enforced on a role's calls to moto (mlkit/access/enforcer.py), in-process: who is decided, on what.

Each test makes a role in moto's IAM, assumes it through the emulation and calls with its credentials:
the call either reaches moto or gets AWS's AccessDenied naming the role, the action and the resource.
"""

import json

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto.s3.models import FakeBucket

from mlkit.access.enforcer import AccessEmulation, enforcing
from mlkit.emulator_server import bucket_policy_left_to_mlkit

REGION = "us-east-1"
TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}


@pytest.fixture
def emulation(monkeypatch):
    """An emulation over a fresh moto, the operator's clients being the test's own; bucket policies are
    decided by the emulation, as in `make local`'s server (mlkit/emulator_server.py)."""
    monkeypatch.setattr(FakeBucket, "get_permission", bucket_policy_left_to_mlkit)
    with moto.mock_aws():
        session = boto3.Session(region_name=REGION)
        access = AccessEmulation(session.client, region=REGION)
        with enforcing(access):
            yield access


def operator(service: str):
    return boto3.client(service, region_name=REGION)


def role(name: str, *statements, managed: list[dict] | None = None) -> str:
    iam = operator("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    if statements:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(document))
    for index, statement in enumerate(managed or []):
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        policy = iam.create_policy(PolicyName=f"{name}-{index}", PolicyDocument=document)["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    return arn


def clients_as(access: AccessEmulation, role_arn: str, label: str):
    credentials = access.assume(role_arn, label)
    session = boto3.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name=REGION,
    )
    return session.client


def endpoint(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{name}"


def denied_message(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return raised.value.response["Error"]["Message"]


def test_a_grant_on_one_endpoint_lets_that_call_through_and_refuses_another(emulation):
    grant = {
        "Effect": "Allow",
        "Action": "sagemaker:DescribeEndpoint",
        "Resource": endpoint("mlkit-dev-churn"),
    }
    sagemaker = clients_as(emulation, role("router", grant), "router")("sagemaker")

    # Allowed: the call reaches moto, which answers as it would (no such endpoint here).
    with pytest.raises(ClientError) as reached:
        sagemaker.describe_endpoint(EndpointName="mlkit-dev-churn")
    assert reached.value.response["Error"]["Code"] == "ValidationException"
    message = denied_message(lambda: sagemaker.describe_endpoint(EndpointName="mlkit-dev-other"))
    assert message == (
        "User: arn:aws:sts::123456789012:assumed-role/router/router is not authorized to perform: "
        f"sagemaker:DescribeEndpoint on resource: {endpoint('mlkit-dev-other')} because no identity-based "
        "policy allows it"
    )
    ledger = emulation.ledgers["router"]
    assert (ledger.calls, len(ledger.denials)) == (2, 1)
    assert ledger.denials[0].resource == endpoint("mlkit-dev-other")


def test_the_operators_calls_pass_untouched_and_managed_policies_count(emulation):
    grant = {"Effect": "Allow", "Action": "sagemaker:DescribeEndpoint", "Resource": "*"}
    sagemaker = clients_as(emulation, role("reader", managed=[grant]), "reader")("sagemaker")
    with pytest.raises(ClientError) as reached:  # the managed policy allows it: moto answers
        sagemaker.describe_endpoint(EndpointName="anything")
    assert reached.value.response["Error"]["Code"] == "ValidationException"
    assert operator("sagemaker").list_endpoints()["Endpoints"] == []  # the operator is never decided
    assert emulation.ledgers["reader"].calls == 1


def test_a_call_the_table_does_not_know_is_denied_as_not_emulated(emulation):
    sagemaker = clients_as(
        emulation, role("wide", {"Effect": "Allow", "Action": "*", "Resource": "*"}), "wide"
    )
    message = denied_message(lambda: sagemaker("sagemaker").list_endpoints())
    assert "not emulated: mlkit/access/operations.py has no row for it" in message


def test_an_object_written_to_an_sse_kms_bucket_needs_the_key_too(emulation):
    key = operator("kms").create_key()["KeyMetadata"]["Arn"]
    s3 = operator("s3")
    s3.create_bucket(Bucket="mlkit-dev-raw")
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
    s3.put_bucket_encryption(Bucket="mlkit-dev-raw", ServerSideEncryptionConfiguration={"Rules": [rule]})
    put = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::mlkit-dev-raw/churn/*"}
    without_key = clients_as(emulation, role("writer", put), "writer")("s3")
    message = denied_message(
        lambda: without_key.put_object(Bucket="mlkit-dev-raw", Key="churn/a.csv", Body=b"1")
    )
    assert f"kms:GenerateDataKey on resource: {key}" in message

    use_key = {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key}
    writer = clients_as(emulation, role("writer-with-key", put, use_key), "writer with key")("s3")
    writer.put_object(Bucket="mlkit-dev-raw", Key="churn/a.csv", Body=b"1")
    assert s3.get_object(Bucket="mlkit-dev-raw", Key="churn/a.csv")["Body"].read() == b"1"
    outside = denied_message(lambda: writer.put_object(Bucket="mlkit-dev-raw", Key="other/a.csv", Body=b"1"))
    assert "s3:PutObject on resource: arn:aws:s3:::mlkit-dev-raw/other/a.csv" in outside


def test_a_bucket_policys_deny_is_decided_with_its_condition(emulation):
    s3 = operator("s3")
    s3.create_bucket(Bucket="mlkit-dev-curated")
    deny_role = {
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::mlkit-dev-curated/*",
        "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/blocked"}},
    }  # fmt: skip
    s3.put_bucket_policy(Bucket="mlkit-dev-curated", Policy=json.dumps({"Statement": [deny_role]}))
    s3.put_object(Bucket="mlkit-dev-curated", Key="churn/a.csv", Body=b"1")
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::mlkit-dev-curated/*"}
    allowed = clients_as(emulation, role("reader", read), "reader")("s3")
    assert allowed.get_object(Bucket="mlkit-dev-curated", Key="churn/a.csv")["Body"].read() == b"1"
    blocked = clients_as(emulation, role("blocked", read), "blocked")("s3")
    message = denied_message(lambda: blocked.get_object(Bucket="mlkit-dev-curated", Key="churn/a.csv"))
    assert "explicitly denied by bucket policy of mlkit-dev-curated statement 0" in message


def test_passing_a_role_and_tagging_on_create_are_decided_as_aws_does(emulation):
    execution = role("execution")
    pass_to_sagemaker = {
        "Effect": "Allow", "Action": "iam:PassRole", "Resource": execution,
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    }  # fmt: skip
    create = {
        "Effect": "Allow",
        "Action": "sagemaker:CreateModel",
        "Resource": "arn:aws:sagemaker:*:*:model/m-*",
    }
    request = {
        "ModelName": "m-1", "ExecutionRoleArn": execution, "Tags": [{"Key": "project", "Value": "mlkit"}],
        "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    }  # fmt: skip
    no_tags = clients_as(emulation, role("deployer", create, pass_to_sagemaker), "deployer")("sagemaker")
    assert "sagemaker:AddTags on resource" in denied_message(lambda: no_tags.create_model(**request))
    tag = {"Effect": "Allow", "Action": "sagemaker:AddTags", "Resource": "arn:aws:sagemaker:*:*:model/m-*"}
    no_pass = clients_as(emulation, role("no-pass", create, tag), "no pass")("sagemaker")
    assert f"iam:PassRole on resource: {execution}" in denied_message(lambda: no_pass.create_model(**request))
    deployer = clients_as(emulation, role("full", create, tag, pass_to_sagemaker), "full")("sagemaker")
    deployer.create_model(**request)
    assert operator("sagemaker").describe_model(ModelName="m-1")["ExecutionRoleArn"] == execution
