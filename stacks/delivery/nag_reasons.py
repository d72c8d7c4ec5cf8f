"""cdk-nag IAM5 findings on the policies CDK Pipelines generates, each acknowledged with its reason.

CDK Pipelines writes the roles of the pipeline, its CodeBuild projects and its self-mutation itself.
Rather than silence IAM5 on them wholesale, every wildcard is matched against the shapes below, each with
why no narrower form exists; a wildcard of any other shape stays a finding and fails synth.
"""

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from stacks import names
from stacks.nag import acknowledge, nag_text

ARTIFACT_ACTIONS = (
    "CDK's read/write grant on the pipeline's artifact bucket and its key (and the cross-region replication "
    "bucket): the action groups cover object versions and multipart uploads of those resources only."
)
# (pattern of the finding's text, actions the statement may hold (None: any), reason)
WILDCARDS = (
    (
        r"Action::(s3:(GetObject|GetBucket|List|DeleteObject|Abort)|kms:(GenerateDataKey|ReEncrypt))\*",
        None,
        ARTIFACT_ACTIONS,
    ),
    (
        r"Resource::<Artifacts\w+\.Arn>/\*",
        None,
        "Objects of the pipeline's own artifact bucket: every execution writes artifacts under new keys.",
    ),
    (
        rf"Resource::arn:[\w-]+:s3:::{names.DELIVERY_STACK}-support-\w+/\*",
        None,
        "Objects of the replication bucket CodePipeline keeps in another region for that region's stages.",
    ),
    (
        r"Resource::arn:[\w-]+:logs:[\w-]+:\d{12}:log-group:/aws/codebuild/(<\w+>:\*|\*)",
        {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
        "CodeBuild names its log streams at run time inside the project's group /aws/codebuild/<project>; "
        "the asset role is shared by the asset projects, so it covers their groups under /aws/codebuild/.",
    ),
    (
        r"Resource::arn:[\w-]+:codebuild:[\w-]+:\d{12}:report-group/(<\w+>-\*|\*)",
        None,
        "Test report groups CodeBuild creates at run time, named after the project.",
    ),
    (
        r"Resource::arn:\*:iam::\d{12}:role/\*",
        {"sts:AssumeRole"},
        "Self-mutation assumes the CDK bootstrap roles of the tooling account; CDK limits it with the "
        "condition iam:ResourceTag/aws-cdk:bootstrap-role (deploy, file- and image-publishing roles only).",
    ),
    (
        r"Resource::\*",
        {"cloudformation:DescribeStacks", "s3:ListBucket"},
        "The CDK CLI in self-mutation reads stack status and lists the bootstrap bucket before it assumes "
        "the bootstrap roles; neither call exposes data or changes anything.",
    ),
    (
        r"Resource::\*",
        {"codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"},
        "The asset role is also the action role that starts the asset-publishing projects, which CDK "
        "creates per asset type after the role; starting a build needs no data access.",
    ),
    (
        r"Resource::\*",
        {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"},
        "The replication key of the cross-region support stack, which CodePipeline refers to by alias "
        "from another region, so this stack cannot name its ARN; the key's policy admits these roles.",
    ),
)


def acknowledge_pipeline(stack: cdk.Stack) -> None:
    """Acknowledge each known-shaped wildcard of every IAM policy in ``stack`` on that policy."""
    # The stages' stacks are children of the pipeline stack in the construct tree, not its resources.
    policies = (n for n in stack.node.find_all() if isinstance(n, iam.Policy) and cdk.Stack.of(n) is stack)
    for policy in policies:
        for statement in stack.resolve(policy.document)["Statement"]:
            for finding in wildcard_findings(statement):
                reason = reason_for(finding, statement)
                if reason:
                    acknowledge(policy, f"IAM5[{finding}]", reason)


def wildcard_findings(statement: dict) -> list[str]:
    """The IAM5 finding texts cdk-nag raises for ``statement``."""
    actions = as_list(statement.get("Action"))
    resources = [text for resource in as_list(statement.get("Resource")) if (text := rendered(resource))]
    return [f"Action::{a}" for a in actions if "*" in a] + [f"Resource::{r}" for r in resources if "*" in r]


def rendered(resource) -> str | None:
    """cdk-nag's text of a resource; None for shapes it is not known for (left to cdk-nag to report)."""
    try:
        return nag_text(resource)
    except ValueError:
        return None


def reason_for(finding: str, statement: dict) -> str | None:
    actions = set(as_list(statement.get("Action")))
    for pattern, allowed, reason in WILDCARDS:
        if re.fullmatch(pattern, finding) and (allowed is None or actions <= allowed):
            if pattern.startswith(r"Resource::arn:\*:iam") and "Condition" not in statement:
                continue  # assuming any role without CDK's tag condition is not what this covers
            return reason
    return None


def as_list(value) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []
