"""The CloudFormation execution policies `make bootstrap` gives each account instead of AdministratorAccess.

`cdk bootstrap --cloudformation-execution-policies ARN` sets what CloudFormation may do when it deploys
the stacks, whoever asked for the deploy (the pipeline, GitHub Actions, a workstation). By default that
is AdministratorAccess. These policies allow the services mlkit's stacks use, and IAM only for roles and
policies named ``mlkit-*`` (CloudFormation names a role after its stack: ``mlkit-<env>-<part>-...``).

What this does not do: a role the templates create may still hold any permission the template gives it.
The templates are what guards that (cdk-nag on every synth, the tests, the approval before prod); for a
hard ceiling, bootstrap with ``--custom-permissions-boundary`` as well. No CDK import: the bootstrap
command runs before anything is synthesized.
"""

import json

from stacks import names

# CloudFormation resource namespaces mlkit's stacks create, and the IAM service that manages each.
ENVIRONMENT_SERVICES = {
    "ApiGateway": "apigateway",
    "ApplicationAutoScaling": "application-autoscaling",
    "Bedrock": "bedrock",
    "Budgets": "budgets",
    "CloudWatch": "cloudwatch",
    "Events": "events",
    "Glue": "glue",
    "KMS": "kms",
    "Lambda": "lambda",
    "Logs": "logs",
    "S3": "s3",
    "SNS": "sns",
    "SageMaker": "sagemaker",
    "StepFunctions": "states",
}
# The pipeline stack and its cross-region support stacks, in the tooling account.
TOOLING_SERVICES = {
    "CodeBuild": "codebuild",
    "CodePipeline": "codepipeline",
    "CodeStarNotifications": "codestar-notifications",
    "Events": "events",
    "KMS": "kms",
    "Logs": "logs",
    "S3": "s3",
    "SNS": "sns",
}
# Actions other than the resource's own service that creating those resources needs.
TOOLING_EXTRA_ACTIONS = [
    "codeconnections:PassConnection",
    "codestar-connections:PassConnection",
    "codecommit:GetRepository",
]
ROLE_ACTIONS = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
]
POLICY_ACTIONS = [
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListPolicyVersions",
    "iam:TagPolicy",
    "iam:UntagPolicy",
]
OIDC_PROVIDER_ACTIONS = [
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:CreateOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
    "iam:UntagOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
]
# AWS managed policies that would make a created role an administrator in all but name.
ADMINISTRATOR_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def execution_policy(account: str, region: str, *, tooling: bool = False) -> dict:
    """The policy document for ``account``: an environment's, or (``tooling``) the pipeline's account."""
    partition = names.partition(region)
    iam = f"arn:{partition}:iam::{account}"
    services = TOOLING_SERVICES if tooling else ENVIRONMENT_SERVICES
    statements = [
        {
            "Sid": "Services",
            "Effect": "Allow",
            "Action": sorted(f"{s}:*" for s in set(services.values()))
            + (TOOLING_EXTRA_ACTIONS if tooling else []),
            "Resource": "*",
        },
        {
            "Sid": "Roles",
            "Effect": "Allow",
            "Action": ROLE_ACTIONS,
            "Resource": f"{iam}:role/{names.PROJECT}-*",
        },
        {
            "Sid": "Policies",
            "Effect": "Allow",
            "Action": POLICY_ACTIONS,
            "Resource": f"{iam}:policy/{names.PROJECT}-*",
        },
        {
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"{iam}:role/aws-service-role/*",
        },
        {
            "Sid": "BootstrapVersion",
            "Effect": "Allow",
            "Action": "ssm:GetParameters",
            "Resource": f"arn:{partition}:ssm:*:{account}:parameter/cdk-bootstrap/{names.CDK_QUALIFIER}/*",
        },
        {
            "Sid": "NoAdministrators",
            "Effect": "Deny",
            "Action": "iam:AttachRolePolicy",
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "iam:PolicyARN": [f"arn:{partition}:iam::aws:policy/{p}" for p in ADMINISTRATOR_POLICIES]
                }
            },
        },
    ]
    if not tooling:
        provider = names.github_oidc_provider_arn(account, region)
        statements.insert(
            3, {"Sid": "GitHubOidc", "Effect": "Allow", "Action": OIDC_PROVIDER_ACTIONS, "Resource": provider}
        )
    return {"Version": "2012-10-17", "Statement": statements}


def policy_text(document: dict) -> str:
    """As IAM counts it against the 6,144-character limit of a managed policy: no whitespace."""
    return json.dumps(document, separators=(",", ":"))
