"""cdk-nag (AwsSolutions, v3 plugin API) on the whole app, and scoped acknowledgements."""

from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_nag_checks(app: cdk.App) -> None:
    """Run AwsSolutions over every stack; any unacknowledged finding fails synthesis."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one finding (e.g. ``IAM5[Resource::*]``) on one construct, with why."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions-{rule}", reason=reason))


def accept_checkov(resource: cdk.CfnResource, check: str, reason: str) -> None:
    """Accept one checkov finding (``make scan``) on one resource, with why, in its template metadata."""
    accepted = resource.get_metadata("checkov") or {"skip": []}
    accepted["skip"].append({"id": check, "comment": reason})
    resource.add_metadata("checkov", accepted)


def nag_text(value: Any) -> str:
    """cdk-nag's text for a resolved value: literals as-is, Refs and GetAtts in angle brackets."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(nag_text(part) for part in parts)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if "Fn::ImportValue" in value:
        return nag_text(value["Fn::ImportValue"])
    raise ValueError(f"no cdk-nag text for {value}")


def acknowledge_wildcard(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge the IAM5 wildcard finding ``resource`` (an ARN, tokens allowed) raises on ``scope``."""
    text = nag_text(cdk.Stack.of(scope).resolve(resource))
    acknowledge(scope, f"IAM5[Resource::{text}]", reason)
