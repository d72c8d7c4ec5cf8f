"""The CloudFormation execution policies `make bootstrap` gives each account instead of AdministratorAccess.

`cdk bootstrap --cloudformation-execution-policies ARN` sets what CloudFormation may do when it deploys
the stacks, whoever asked for the deploy (the pipeline, GitHub Actions, a workstation). By default that
is AdministratorAccess. These policies allow the services mlkit's stacks use (a wildcard each), and beside
them exactly the other actions CloudFormation's create, update and delete handlers call for the resource
types mlkit deploys: stacks/delivery/handler_permissions.py, generated from the resource provider schemas
and checked against every template by tests/stacks/test_execution_policy.py. IAM actions act only on roles
and policies named ``mlkit-*`` (CloudFormation names a role after its stack: ``mlkit-<env>-<part>-...``).

What this does not do: a role the templates create may still hold any permission the template gives it.
The templates are what guards that (cdk-nag on every synth, the tests, the approval before prod); for a
hard ceiling, bootstrap with ``--custom-permissions-boundary`` as well. No CDK or cfn-lint import: the
bootstrap command runs before anything is synthesized.
"""

import json

from stacks import names
from stacks.delivery import handler_permissions

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
    "Events": "events",  # a CodeCommit source's rule
    "KMS": "kms",
    "S3": "s3",
    "SNS": "sns",
}
# Actions the pipeline's account needs that no resource schema lists, and why.
TOOLING_UNLISTED_ACTIONS = {
    "codeconnections:PassConnection": "a connection ARN under the codeconnections prefix is authorized "
    "under that prefix; the CodePipeline schema lists only codestar-connections:PassConnection",
    "codecommit:GetRepository": "a CodeCommit source: kept read-only from the hand-written policy, "
    "unproven offline (no schema lists a codecommit call)",
}
# The groups of handler_permissions' actions: the IAM resource each acts on, and its statement's Sid.
ANY_RESOURCE, ROLE, POLICY, SERVICE_LINKED_ROLE, OIDC_PROVIDER = (
    "*",
    "role",
    "policy",
    "service-linked-role",
    "oidc-provider",
)
STATEMENT_IDS = {
    ANY_RESOURCE: "Services",
    ROLE: "Roles",
    POLICY: "Policies",
    SERVICE_LINKED_ROLE: "ServiceLinkedRoles",
    OIDC_PROVIDER: "GitHubOidc",
}
# AWS managed policies that would make a created role an administrator in all but name.
ADMINISTRATOR_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def execution_policy(account: str, region: str, *, tooling: bool = False) -> dict:
    """The policy document for ``account``: an environment's, or (``tooling``) the pipeline's account."""
    partition = names.partition(region)
    iam = f"arn:{partition}:iam::{account}"
    services = TOOLING_SERVICES if tooling else ENVIRONMENT_SERVICES
    actions = handler_permissions.TOOLING_ACTIONS if tooling else handler_permissions.ENVIRONMENT_ACTIONS
    resources = {
        ANY_RESOURCE: "*",
        ROLE: f"{iam}:role/{names.PROJECT}-*",
        POLICY: f"{iam}:policy/{names.PROJECT}-*",
        SERVICE_LINKED_ROLE: f"{iam}:role/aws-service-role/*",
        OIDC_PROVIDER: names.github_oidc_provider_arn(account, region),
    }
    listed = {group: list(actions[group]) for group in actions}
    listed[ANY_RESOURCE] = sorted(f"{s}:*" for s in set(services.values())) + sorted(
        {*listed.get(ANY_RESOURCE, ()), *(TOOLING_UNLISTED_ACTIONS if tooling else ())}
    )
    statements = [
        {"Sid": sid, "Effect": "Allow", "Action": listed[group], "Resource": resources[group]}
        for group, sid in STATEMENT_IDS.items()
        if group in listed
    ]
    statements += [
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
    return {"Version": "2012-10-17", "Statement": statements}


def policy_text(document: dict) -> str:
    """As IAM counts it against the 6,144-character limit of a managed policy: no whitespace."""
    return json.dumps(document, separators=(",", ":"))
