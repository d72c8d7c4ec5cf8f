"""The router against moto as its deployed role: the API stack's own policies for the models called here.

The router tests' config (router_events.CONFIG), cut to the models these tests call (a synth of its
training and Autopilot stacks would cost ~10 s more), is synthesized as `cdk deploy` would get it; the
policies attached to the router's role are rendered for moto's account and created in moto's IAM; the
router then runs with that role's credentials while mlkit/access decides every call it makes. Taking one
grant away must fail exactly the call that needs it.
"""

import json

import boto3
import pytest
from botocore.stub import Stubber
from router_events import CONFIG, call, converse_event, invoke_event, rest_event
from shared import aws as shared_aws

from mlkit.access.enforcer import AccessEmulation, enforcing
from stacks import names
from tests.lambdas.test_router_sagemaker import create_endpoint, seed_endpoint_results
from tests.mlkit.access_mutations import without
from tests.stacks.template_rendering import identity_policies

ACCOUNT, REGION = "123456789012", "us-east-1"
CALLED = ("sentiment", "plain-chat")
TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}


@pytest.fixture(scope="module")
def router_policies() -> list[tuple[str, str, dict]]:
    """(kind, name, document) of every policy the API stack attaches to the router's role, rendered."""
    from tests.stacks.synth import synthesize

    models = {label: CONFIG.models[label] for label in CALLED}
    app = synthesize(CONFIG.model_copy(update={"models": models}))
    api = names.api_stack_name(CONFIG.environment)
    resources = app.raw[api]["Resources"]
    (router,) = [r for r in resources.values() if r["Properties"].get("Handler") == "router.handler"]
    role = router["Properties"]["Role"]["Fn::GetAtt"][0]
    attached = {
        logical_id
        for logical_id, resource in resources.items()
        if {"Ref": role} in resource.get("Properties", {}).get("Roles", [])
    }
    return [
        (policy.resource_type, policy.logical_id, policy.document)
        for policy in identity_policies(app.raw, region=REGION, account=ACCOUNT)
        if policy.stack == api and policy.logical_id in attached
    ]


@pytest.fixture
def as_router(aws, router_policies, monkeypatch):
    """The router's role in moto with its deployed policies; the router runs as it, enforced."""
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="router", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    for kind, name, document in router_policies:
        if kind == "AWS::IAM::ManagedPolicy":
            arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
            iam.attach_role_policy(RoleName="router", PolicyArn=arn)
        else:
            iam.put_role_policy(RoleName="router", PolicyName=name, PolicyDocument=json.dumps(document))
    access = AccessEmulation(boto3.Session(region_name=REGION).client, region=REGION)
    with enforcing(access):
        for variable, value in access.assume(role, "router").items():
            monkeypatch.setenv(variable, value)
        shared_aws.reset_clients()  # the router's clients are made again, with the role's credentials
        yield access
    shared_aws.reset_clients()


def test_the_deployed_grants_let_the_router_call_and_describe_its_endpoint(as_router):
    create_endpoint(names.endpoint_name(CONFIG.environment, "sentiment"))
    seed_endpoint_results({"Body": '{"label": "POSITIVE"}', "ContentType": "application/json"})

    status, _, body = call(invoke_event("sentiment", '{"inputs": "great"}'))
    assert (status, body) == (200, {"label": "POSITIVE"})
    status, _, listed = call(rest_event("GET", "/models/sentiment"))
    assert (status, listed["status"]) == (200, "InService")
    ledger = as_router.ledgers["router"]
    assert ledger.denials == []
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/mlkit-test-sentiment"
    assert (
        ledger.resources["sagemaker:InvokeEndpoint"]
        == ledger.resources["sagemaker:DescribeEndpoint"]
        == {endpoint}
    )


def test_without_its_invoke_grant_the_route_fails_with_the_denial_and_no_call_reaches_sagemaker(as_router):
    create_endpoint(names.endpoint_name(CONFIG.environment, "sentiment"))
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/mlkit-test-sentiment"
    iam = boto3.client("iam")
    for policy in iam.list_attached_role_policies(RoleName="router")["AttachedPolicies"]:
        arn = policy["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        changed = json.dumps(without(document, "sagemaker:InvokeEndpoint", endpoint))
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=changed, SetAsDefault=True)
    as_router.refresh()

    status, _, body = call(invoke_event("sentiment", '{"inputs": "great"}'))
    assert status == 502 and body["error"] == "aws_error"
    assert f"not authorized to perform: sagemaker:InvokeEndpoint on resource: {endpoint}" in body["message"]
    assert [denial.resource for denial in as_router.ledgers["router"].denials] == [endpoint]


def test_converse_on_an_inference_profile_is_allowed_on_the_profile_and_every_routed_region(as_router):
    runtime = shared_aws.client("bedrock-runtime")
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 1},
    }
    with Stubber(runtime) as stubber:  # moto has no Converse; IAM decides before the stub answers
        stubber.add_response("converse", answer)
        status, _, body = call(converse_event("plain-chat", prompt="hello"))
    assert (status, body["text"]) == (200, "hi")
    profile = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.amazon.nova-lite-v1:0"
    models = {
        f"arn:aws:bedrock:{r}::foundation-model/amazon.nova-lite-v1:0"
        for r in ("us-east-1", "us-east-2", "us-west-2")
    }
    assert as_router.ledgers["router"].resources["bedrock:InvokeModel"] == {profile, *models}
