"""IAM's evaluation logic as mlkit/access/policy.py decides it, one rule at a time, as AWS documents it."""

import pytest

from mlkit.access.policy import Request, decide

ROLE = "arn:aws:iam::123456789012:role/router"
SESSION = "arn:aws:sts::123456789012:assumed-role/router/router"
ENDPOINT = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/mlkit-dev-churn"
SM, LAMBDA, PASSED, TAGS = (
    "sagemaker.amazonaws.com",
    "lambda.amazonaws.com",
    "iam:PassedToService",
    "aws:TagKeys",
)
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def request(action="sagemaker:InvokeEndpoint", resource=ENDPOINT, context=None, modelled=()):
    return Request(ROLE, SESSION, action, resource, context or {}, frozenset(modelled))


def policy(*statements):
    return [("inline", {"Version": "2012-10-17", "Statement": list(statements)})]


def allow(action="sagemaker:InvokeEndpoint", resource=ENDPOINT, **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_exact_grant_allows_only_its_resource():
    grant = policy(allow())
    assert decide(request(), grant).allowed
    other = decide(request(resource=ENDPOINT + "-automl"), grant)
    assert not other.allowed and other.reason == "no identity-based policy allows it"


def test_wildcards_in_actions_ignore_case_and_in_resources_do_not():
    grant = policy(allow(action="SageMaker:Invoke*", resource="arn:aws:sagemaker:*:*:endpoint/mlkit-dev-*"))
    assert decide(request(), grant).allowed
    assert not decide(request(resource=ENDPOINT.replace("mlkit-dev", "MLKIT-dev")), grant).allowed
    assert not decide(request(action="sagemaker:DescribeEndpoint"), grant).allowed


def test_an_explicit_deny_wins_over_any_allow():
    denied = decide(request(), policy(allow(), {"Effect": "Deny", "Action": "sagemaker:*", "Resource": "*"}))
    assert not denied.allowed and denied.reason.startswith("explicitly denied by inline statement 1")


def test_not_action_and_not_resource_invert_the_match():
    grant = policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": KEY})
    assert decide(request(), grant).allowed
    assert not decide(request(action="iam:PassRole"), grant).allowed
    assert not decide(request(resource=KEY), grant).allowed


@pytest.mark.parametrize(
    ("condition", "context", "allowed"),
    [
        ({"StringEquals": {PASSED: SM}}, {PASSED: SM}, True),
        ({"StringEquals": {PASSED: SM}}, {PASSED: LAMBDA}, False),
        ({"StringLike": {"s3:prefix": ["churn/", "churn/*"]}}, {"s3:prefix": "churn/xgboost/"}, True),
        ({"StringLike": {"s3:prefix": ["churn/", "churn/*"]}}, {"s3:prefix": "other/"}, False),
        ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {"kms:GrantIsForAWSResource": True}, True),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/rou*"}}, {"aws:PrincipalArn": ROLE}, True),
        # A key the request lacks: a positive operator fails, a negated one holds (IAM's documented rule).
        ({"StringEquals": {PASSED: SM}}, {}, False),
        ({"StringNotEquals": {PASSED: LAMBDA}}, {}, True),
        ({"StringEqualsIfExists": {PASSED: LAMBDA}}, {}, True),
        # Negated operators with several values: the value must match none of them.
        ({"StringNotEquals": {PASSED: ["a", SM]}}, {PASSED: SM}, False),
        ({"Null": {PASSED: "true"}}, {}, True),
        ({"Null": {PASSED: "false"}}, {}, False),
        ({"ForAnyValue:StringEquals": {TAGS: ["model"]}}, {TAGS: ["project", "model"]}, True),
        ({"ForAllValues:StringEquals": {TAGS: ["model"]}}, {TAGS: ["project", "model"]}, False),
        ({"ForAllValues:StringEquals": {TAGS: ["model"]}}, {}, True),
    ],
)  # fmt: skip
def test_conditions_follow_iams_operators(condition, context, allowed):
    modelled = {"iam:passedtoservice", "s3:prefix", "kms:grantisforawsresource"}
    action = {"iam": "iam:PassRole", "s3": "s3:ListBucket", "kms": "kms:CreateGrant"}
    key = next(iter(next(iter(condition.values()))))
    verb = action.get(key.split(":")[0], "sagemaker:InvokeEndpoint")
    grant = policy(allow(action=verb, resource="*", Condition=condition))
    assert decide(request(action=verb, context=context, modelled=modelled), grant).allowed is allowed


def test_a_condition_key_the_request_table_does_not_model_is_a_named_denial_never_a_pass():
    grant = policy(allow(Condition={"StringEquals": {"sagemaker:InferenceComponentName": "x"}}))
    decision = decide(request(), grant)
    assert not decision.allowed
    assert (
        "condition key sagemaker:InferenceComponentName on sagemaker:InvokeEndpoint is not emulated"
        in decision.reason
    )
    # Another service's key is one AWS never sets on this action: simply absent, not a gap.
    other = decide(request(), policy(allow(Condition={"Null": {"kms:ViaService": "true"}})))
    assert other.allowed and other.unevaluated == ()


def test_a_deny_that_cannot_be_ruled_out_denies():
    deny = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:username": "x"}},
    }
    decision = decide(request(), policy(allow(), deny))
    assert not decision.allowed and "not emulated" in decision.reason


def test_a_policy_variable_is_not_evaluated():
    grant = policy(allow(Condition={"StringLike": {"aws:PrincipalArn": "${aws:username}"}}))
    decision = decide(request(context={"aws:PrincipalArn": ROLE}), grant)
    assert not decision.allowed and "policy variable" in decision.reason


def test_a_key_policy_must_allow_directly_or_delegate_to_iam():
    use = request(action="kms:GenerateDataKey", resource=KEY)
    identity = policy(allow(action="kms:GenerateDataKey", resource=KEY))
    root = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    service_only = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.amazonaws.com"},
        "Action": "kms:*",
        "Resource": "*",
    }
    direct = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:GenerateDataKey", "Resource": "*"}

    def key(*statements):
        return ("key policy", {"Statement": list(statements)})

    assert decide(use, identity, key(root), key_policy=True).allowed
    assert not decide(use, [], key(root), key_policy=True).allowed  # delegation needs an identity grant
    refused = decide(use, identity, key(service_only), key_policy=True)
    assert not refused.allowed and refused.reason.startswith("the key policy does not allow it")
    assert decide(use, [], key(direct), key_policy=True).allowed


def test_a_bucket_policy_naming_the_role_allows_without_an_identity_grant_and_its_deny_applies():
    put = request(
        action="s3:PutObject", resource="arn:aws:s3:::raw/churn/a.csv", context={"aws:SecureTransport": True}
    )
    names_role = {
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::raw/*",
    }
    assert decide(put, [], ("bucket policy", {"Statement": [names_role]})).allowed
    tls_only = {
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }  # fmt: skip
    grant = policy(allow(action="s3:PutObject", resource="arn:aws:s3:::raw/*"))
    assert decide(put, grant, ("bucket policy", {"Statement": [tls_only]})).allowed
    plain = request(
        action="s3:PutObject", resource="arn:aws:s3:::raw/churn/a.csv", context={"aws:SecureTransport": False}
    )
    assert not decide(plain, grant, ("bucket policy", {"Statement": [tls_only]})).allowed
