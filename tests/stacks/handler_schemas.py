"""CloudFormation's handler permissions (cfn-lint's resource provider schemas) against the execution policies.

For every resource mlkit deploys, each IAM action its type's create, update and delete handlers call (the
schema of the stack's region) is either allowed by the account's execution policy or excluded here, naming
the property it serves, which mlkit never sets. ``derive`` computes what a policy must list beside its service
wildcards; stacks/delivery/handler_permissions.py is its committed output (tests/stacks/handler_report.py
finds the resources, prints the figures and writes it).

Custom resources: CloudFormation reaches the handler of a Lambda-backed one with lambda:InvokeFunction (an
SNS-backed one, sns:Publish), as the execution role; what the function then does is its own role's business.
"""

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import cfnlint

from stacks.delivery.execution_policy import ANY_RESOURCE, OIDC_PROVIDER, POLICY, ROLE, SERVICE_LINKED_ROLE

CFN_LINT_DATA = Path(cfnlint.__file__).parent / "data"
OPERATIONS = ("create", "update", "delete")
CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"  # and every Custom::<name>
# Types CloudFormation handles itself, calling no service.
NEEDS_NOTHING = {"AWS::CDK::Metadata": "CDK's usage metadata: CloudFormation keeps it, no handler runs"}
# Types whose schema lists no handler permissions: what their service's API reference says each operation
# calls (create, update, delete the resource; pass its service role).
STAND_INS = {
    "AWS::CodeBuild::Project": {
        "create": ("codebuild:CreateProject", "iam:PassRole"),
        "update": ("codebuild:UpdateProject", "iam:PassRole"),
        "delete": ("codebuild:DeleteProject",),
    },
}


@dataclass(frozen=True)
class Exclusion:
    """A handler permission the policy leaves out: the handler calls it only for ``properties``, which no
    mlkit template sets. No properties: the schema names an action IAM does not have."""

    properties: tuple[str, ...]
    reason: str


def _excluding(resource_type: str, properties: tuple[str, ...], reason: str, actions: Iterable[str]) -> dict:
    return {(resource_type, action): Exclusion(properties, reason) for action in actions}


# (resource type, action) → why the policy leaves it out.
EXCLUDED: dict[tuple[str, str], Exclusion] = {
    **_excluding(
        "AWS::IAM::ManagedPolicy",
        ("Groups", "Users"),
        "mlkit attaches its managed policies to roles only",
        ["iam:AttachGroupPolicy", "iam:AttachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachUserPolicy"],
    ),
    **_excluding(
        "AWS::IAM::Policy",
        ("Groups", "Users"),
        "mlkit's inline policies belong to roles only",
        [f"iam:{verb}{kind}Policy" for verb in ("Put", "Get", "Delete") for kind in ("Group", "User")],
    ),
    **_excluding(
        "AWS::Lambda::Function",
        ("VpcConfig",),
        "mlkit's functions run outside a VPC (no network interfaces to look up or wait for)",
        [
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
        ],
    ),
    **_excluding(
        "AWS::Lambda::Function",
        ("FileSystemConfigs",),
        "mlkit's functions mount no EFS or S3 Files file system",
        ["elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets"],
    ),
    **_excluding(
        "AWS::S3::Bucket",
        ("MetadataConfiguration", "MetadataTableConfiguration"),
        "mlkit's buckets keep no S3 Metadata journal or inventory tables (S3 Tables)",
        [
            f"s3tables:{name}"
            for name in (
                "CreateNamespace",
                "CreateTable",
                "CreateTableBucket",
                "GetTable",
                "GetTableMetadataLocation",
                "PutTableBucketPolicy",
                "PutTableEncryption",
                "PutTablePolicy",
                "UpdateTableMetadataLocation",
            )
        ],
    ),
    **_excluding(
        "AWS::Logs::LogGroup",
        ("DataProtectionPolicy",),
        "mlkit's log groups have no data protection policy, so no audit findings go to a Firehose stream",
        ["firehose:TagDeliveryStream"],
    ),
    **_excluding(
        "AWS::Glue::Table",
        (),
        "not an IAM action (cfn-lint's IAM catalogue has none); CREATE_TABLE is a Lake Formation grant",
        ["lakeformation:CreateTable"],
    ),
}


@dataclass(frozen=True)
class Resource:
    """One resource of a synthesized template, and the region its stack deploys to."""

    stack: str
    region: str
    logical_id: str
    type: str
    properties: Mapping = field(hash=False)
    service_token_call: str | None = None  # a custom resource's: how CloudFormation reaches its handler


def template_resources(stack: str, template: dict, region: str) -> list[Resource]:
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        call = None
        if is_custom(resource["Type"]):
            call = service_token_call(template, properties.get("ServiceToken"))
        found.append(Resource(stack, region, logical_id, resource["Type"], properties, call))
    return found


def is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == CUSTOM_RESOURCE


def service_token_call(template: dict, token) -> str | None:
    """CloudFormation invokes a Lambda-backed custom resource's function, or publishes to an SNS-backed one's
    topic, as the execution role; None for a token it cannot tell."""
    calls = {"AWS::Lambda::Function": "lambda:InvokeFunction", "AWS::SNS::Topic": "sns:Publish"}
    if isinstance(token, dict) and {"Fn::GetAtt", "Ref"} & set(token):  # a resource of the same template
        target = token["Fn::GetAtt"][0] if "Fn::GetAtt" in token else token["Ref"]
        return calls.get(template.get("Resources", {}).get(target, {}).get("Type"))
    arn = json.dumps(token)  # literal or joined
    return next((call for kind, call in calls.items() if f":{kind.split('::')[1].lower()}:" in arn), None)


@functools.cache
def _json(relative: str) -> dict:
    return json.loads((CFN_LINT_DATA / relative).read_text())


def schema(resource_type: str, region: str) -> dict | None:
    """The resource provider schema cfn-lint ships for ``region``; None when the region has no such type."""
    name = _json(f"schemas/providers/{region}.json").get(resource_type)
    return None if name is None else _json(f"schemas/resources/{name}.json")


def iam_action(action: str) -> dict | None:
    """cfn-lint's IAM catalogue entry of an action (its resource types), None if IAM has no such action."""
    service, name = action.split(":", 1)
    return _json("AdditionalSpecs/Policies.json").get(service, {}).get("Actions", {}).get(name.lower())


def handler_calls(resource: Resource) -> dict[str, tuple[str, ...]] | str:
    """The actions CloudFormation's handlers call per operation, or why they are unknown."""
    if resource.type in NEEDS_NOTHING:
        return {}
    if is_custom(resource.type):
        if resource.service_token_call is None:
            return "a custom resource whose ServiceToken is neither a Lambda function nor an SNS topic"
        return dict.fromkeys(OPERATIONS, (resource.service_token_call,))
    found = schema(resource.type, resource.region)
    if found is None:
        return f"no resource schema in {resource.region}"
    if "handlers" not in found:
        if resource.type in STAND_INS:
            return STAND_INS[resource.type]
        return "its schema lists no handler permissions: give it a stand-in in STAND_INS"
    return {op: tuple(found["handlers"][op]["permissions"]) for op in OPERATIONS if op in found["handlers"]}


@dataclass
class Requirements:
    """What the handlers of some resources call: (type, action) → operations, and the types with no answer."""

    types: set[str] = field(default_factory=set)
    calls: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(operations) for operations in self.calls.values())


def requirements(resources: Iterable[Resource]) -> Requirements:
    found = Requirements()
    for resource in resources:
        found.types.add(resource.type)
        calls = handler_calls(resource)
        if isinstance(calls, str):
            found.unknown[resource.type] = f"{resource.stack}/{resource.logical_id}: {calls}"
            continue
        for operation, actions in calls.items():
            for action in actions:
                found.calls.setdefault((resource.type, action), set()).add(operation)
    return found


def allows(policy: dict, action: str) -> bool:
    """Whether an Allow statement's Action globs match ``action`` (IAM compares case-insensitively) and no
    unconditional Deny does. Resources are not compared: IAM actions act on ``mlkit-*`` names only."""

    def matches(statement: dict) -> bool:
        patterns = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)

    statements = policy["Statement"]
    if any(s["Effect"] == "Deny" and "Condition" not in s and matches(s) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and matches(s) for s in statements)


@dataclass
class Report:
    """One policy against the handler permissions of the resources it deploys."""

    needed: Requirements
    allowed: set[tuple[str, str]]
    excluded: dict[tuple[str, str], Exclusion]
    missing: list[str]


def check(resources: Iterable[Resource], policy: dict) -> Report:
    needed = requirements(resources)
    allowed, excluded, missing = set(), {}, list(needed.unknown.values())
    for (resource_type, action), operations in sorted(needed.calls.items()):
        if allows(policy, action):
            allowed.add((resource_type, action))
        elif (resource_type, action) in EXCLUDED:
            excluded[resource_type, action] = EXCLUDED[resource_type, action]
        else:
            missing.append(f"{resource_type} {'/'.join(sorted(operations))}: {action}")
    return Report(needed, allowed, excluded, missing)


def statement_group(action: str) -> str:
    """Which of execution_policy's statements lists ``action``: by the IAM resource it acts on."""
    entry = iam_action(action)
    if entry is None:
        raise ValueError(f"{action} is not an IAM action: exclude it in EXCLUDED, with the reason")
    if not action.lower().startswith("iam:"):
        return ANY_RESOURCE
    if action.lower() == "iam:createservicelinkedrole":
        return SERVICE_LINKED_ROLE
    groups = {"role": ROLE, "policy": POLICY, "oidc-provider": OIDC_PROVIDER}
    if len(entry.get("Resources", [])) != 1 or entry["Resources"][0] not in groups:
        raise ValueError(f"{action} acts on {entry.get('Resources')}: no statement of the policy scopes that")
    return groups[entry["Resources"][0]]


def derive(resources: Iterable[Resource], service_prefixes: Iterable[str]) -> tuple[tuple, dict]:
    """The types deployed, and the actions their handlers call beyond ``service_prefixes``' wildcards and
    EXCLUDED, by statement group: what handler_permissions holds for a policy."""
    needed = requirements(resources)
    if needed.unknown:
        raise ValueError(f"handler permissions unknown: {sorted(needed.unknown.values())}")
    wildcards = {prefix.lower() for prefix in service_prefixes}
    groups: dict[str, set[str]] = {}
    for resource_type, action in needed.calls:
        if (resource_type, action) not in EXCLUDED and action.split(":")[0].lower() not in wildcards:
            groups.setdefault(statement_group(action), set()).add(action)
    return tuple(sorted(needed.types)), {group: tuple(sorted(groups[group])) for group in sorted(groups)}


def stale_entries(deployed: dict[str, list[Resource]], policies: dict[str, dict]) -> list[str]:
    """Exclusions and stand-ins that no longer do anything, each with why."""
    needed = {kind: requirements(resources) for kind, resources in deployed.items()}
    left_out = {
        key for kind, found in needed.items() for key in found.calls if not allows(policies[kind], key[1])
    }
    stale = [
        f"EXCLUDED {key}: no deployed type's handler needs it, or the policy allows it"
        for key in EXCLUDED
        if key not in left_out
    ]
    stale += [
        f"EXCLUDED {key}: IAM has this action now, so name the property it serves"
        for key, exclusion in EXCLUDED.items()
        if not exclusion.properties and iam_action(key[1]) is not None
    ]
    regions = {(r.type, r.region) for resources in deployed.values() for r in resources}
    for resource_type in STAND_INS:
        used = [region for kind, region in regions if kind == resource_type]
        if not used:
            stale.append(f"STAND_INS {resource_type}: no template deploys it")
        elif any("handlers" in (schema(resource_type, region) or {}) for region in used):
            stale.append(f"STAND_INS {resource_type}: its schema lists handler permissions now")
    return stale


def excluded_properties_set(resources: Iterable[Resource]) -> list[str]:
    """Resources that set a property an exclusion says mlkit never sets."""
    excluded: dict[str, dict[str, list[str]]] = {}  # type → property → the actions excluded with it
    for (resource_type, action), exclusion in EXCLUDED.items():
        for name in exclusion.properties:
            excluded.setdefault(resource_type, {}).setdefault(name, []).append(action)
    return [
        f"{r.stack}/{r.logical_id} ({r.type}) sets {name}, so its handler calls {', '.join(actions)}"
        for r in resources
        for name, actions in excluded.get(r.type, {}).items()
        if name in r.properties
    ]
