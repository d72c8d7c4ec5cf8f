"""Template values as CloudFormation resolves them: every token rendered to a realistic value.

IAM linters match each resource ARN against the ARN formats of the resource types an action takes, and
Step Functions' parser reads a Task's Resource ARN field by field, so a token must become what
CloudFormation would resolve it to: ``{"Fn::GetAtt": ["DataKey", "Arn"]}`` an
``arn:aws:kms:REGION:ACCOUNT:key/<uuid>``, a bucket's ``Ref`` a bucket name, a topic's ``Ref`` its ARN.

    TemplateRenderer(templates, region="us-east-1", account=ACCOUNT, partition="aws").render(value, stack)
    identity_policies(templates, region="us-east-1", account=ACCOUNT)
    -> [RenderedPolicy(stack, logical_id, resource_type, name, document), ...]

``templates`` are the stacks of one account and region by stack name (an app's stage, or a pipeline
and its stacks in the tooling account), so ``Fn::ImportValue`` resolves through the exporting stack's
``Outputs``. Names a template does not give are generated the way CloudFormation does
(``<stack>-<logical id>-<suffix>``), deterministically. A token this module cannot render (a resource
type or attribute not in ``RESOURCE_TYPES``, a parameter, an unknown export) raises RenderingError:
a check fed a guess would pass or fail for the wrong reason.
"""

import hashlib
import re
import string
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

PARTITION = "aws"
ACCOUNT = "111111111111"
URL_SUFFIX = "amazonaws.com"
# Identity policies: (resource type, where its documents are). Trust and resource policies are not here.
IDENTITY_POLICY_TYPES = {
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::IAM::RolePolicy": "PolicyDocument",
    "AWS::IAM::Role": "Policies",
    "AWS::IAM::User": "Policies",
    "AWS::IAM::Group": "Policies",
}


class RenderingError(ValueError):
    """A token with no realistic rendering here: extend RESOURCE_TYPES rather than guess."""


@dataclass(frozen=True)
class RenderedPolicy:
    stack: str
    logical_id: str
    resource_type: str
    name: str  # PolicyName, or the managed policy's name (its logical id when CloudFormation names it)
    document: dict


class ResourceType(NamedTuple):
    """How CloudFormation resolves one resource type's Ref and Fn::GetAtt. Formats take the fields of
    ``_Resource.fields``: partition, region, account, name, path, uuid, id."""

    name_property: str | None  # the property that names it, when a template may set it
    max_length: int  # of a name CloudFormation generates
    ref: str | None
    attributes: dict[str, str]
    lowercase: bool = False  # generated names are lowercase (S3 buckets)


def _arn(service: str, resource: str, *, regional: bool = True) -> str:
    return f"arn:{{partition}}:{service}:{'{region}' if regional else ''}:{{account}}:{resource}"


RESOURCE_TYPES: dict[str, ResourceType] = {
    "AWS::ApiGateway::RestApi": ResourceType(None, 0, "{id}", {"RootResourceId": "{id}"}),
    "AWS::ApiGateway::Stage": ResourceType("StageName", 128, "{name}", {}),
    "AWS::Bedrock::Guardrail": ResourceType(
        "Name",
        50,
        _arn("bedrock", "guardrail/{id}"),
        {"GuardrailArn": _arn("bedrock", "guardrail/{id}"), "GuardrailId": "{id}", "Version": "DRAFT"},
    ),
    "AWS::Bedrock::GuardrailVersion": ResourceType(None, 0, None, {"Version": "1"}),
    "AWS::CodeBuild::Project": ResourceType(
        "Name", 150, "{name}", {"Arn": _arn("codebuild", "project/{name}")}
    ),
    "AWS::CodePipeline::Pipeline": ResourceType("Name", 100, "{name}", {}),
    "AWS::Events::Rule": ResourceType("Name", 64, "{name}", {"Arn": _arn("events", "rule/{name}")}),
    "AWS::Glue::Job": ResourceType("Name", 255, "{name}", {}),
    "AWS::IAM::ManagedPolicy": ResourceType(
        "ManagedPolicyName",
        128,
        _arn("iam", "policy{path}{name}", regional=False),
        {"PolicyArn": _arn("iam", "policy{path}{name}", regional=False)},
    ),
    "AWS::IAM::Role": ResourceType(
        "RoleName",
        64,
        "{name}",
        {"Arn": _arn("iam", "role{path}{name}", regional=False), "RoleId": "AROA{id}"},
    ),
    "AWS::KMS::Key": ResourceType(None, 0, "{uuid}", {"Arn": _arn("kms", "key/{uuid}"), "KeyId": "{uuid}"}),
    "AWS::Lambda::Function": ResourceType(
        "FunctionName", 64, "{name}", {"Arn": _arn("lambda", "function:{name}")}
    ),
    "AWS::Logs::LogGroup": ResourceType(
        "LogGroupName", 512, "{name}", {"Arn": _arn("logs", "log-group:{name}:*")}
    ),
    "AWS::S3::Bucket": ResourceType(
        "BucketName",
        63,
        "{name}",
        {
            "Arn": "arn:{partition}:s3:::{name}",
            "DomainName": "{name}.s3.amazonaws.com",
            "RegionalDomainName": "{name}.s3.{region}.amazonaws.com",
        },
        lowercase=True,
    ),
    "AWS::SNS::Topic": ResourceType(
        "TopicName",
        256,
        _arn("sns", "{name}"),
        {"TopicArn": _arn("sns", "{name}"), "TopicName": "{name}"},
    ),
    "AWS::SQS::Queue": ResourceType(
        "QueueName",
        80,
        "https://sqs.{region}.amazonaws.com/{account}/{name}",
        {
            "Arn": _arn("sqs", "{name}"),
            "QueueName": "{name}",
            "QueueUrl": "https://sqs.{region}.amazonaws.com/{account}/{name}",
        },
    ),
    "AWS::StepFunctions::StateMachine": ResourceType(
        "StateMachineName",
        80,
        _arn("states", "stateMachine:{name}"),
        {"Arn": _arn("states", "stateMachine:{name}"), "Name": "{name}"},
    ),
}


def _digest(seed: str) -> bytes:
    return hashlib.sha256(seed.encode()).digest()


def _characters(seed: str, length: int, alphabet: str) -> str:
    return "".join(alphabet[byte % len(alphabet)] for byte in _digest(seed)[:length])


class _Resource:
    """One resource of one stack, with the values its Ref and attributes resolve to."""

    def __init__(self, stage: "TemplateRenderer", stack: str, logical_id: str) -> None:
        self.stage, self.stack, self.logical_id = stage, stack, logical_id
        resource = stage.templates[stack]["Resources"][logical_id]
        self.resource_type, self.properties = resource["Type"], resource.get("Properties", {})
        if self.resource_type not in RESOURCE_TYPES:
            raise RenderingError(f"{stack}/{logical_id}: no rendering for type {self.resource_type}")
        self.spec = RESOURCE_TYPES[self.resource_type]

    def _name(self) -> str:
        given = self.properties.get(self.spec.name_property) if self.spec.name_property else None
        if given is not None:
            return self.stage.text(given, self.stack)
        seed = f"{self.stack}/{self.logical_id}"
        suffix = _characters(seed, 12, string.ascii_uppercase + string.digits)
        name = f"{self.stack}-{self.logical_id}"[: self.spec.max_length - len(suffix) - 1] + f"-{suffix}"
        return name.lower() if self.spec.lowercase else name

    def fields(self) -> dict[str, str]:
        seed = f"{self.stack}/{self.logical_id}"
        return {
            "partition": self.stage.partition,
            "region": self.stage.region,
            "account": self.stage.account,
            "name": self._name() if self.spec.name_property is not None else "",
            "path": self.stage.text(self.properties.get("Path", "/"), self.stack),
            "uuid": str(uuid.UUID(bytes=_digest(seed)[:16], version=4)),
            "id": _characters(seed, 12, string.ascii_lowercase + string.digits),
        }

    def ref(self) -> str:
        if self.spec.ref is None:
            raise RenderingError(f"{self.stack}/{self.logical_id}: no Ref rendering for {self.resource_type}")
        return self.spec.ref.format(**self.fields())

    def attribute(self, name: str) -> str:
        if name not in self.spec.attributes:
            raise RenderingError(f"{self.stack}/{self.logical_id}: no {name} for {self.resource_type}")
        return self.spec.attributes[name].format(**self.fields())


class TemplateRenderer:
    """Renders template values of ``templates`` (one account and region): ``render`` any value,
    ``text`` one that must become a string."""

    def __init__(self, templates: dict[str, dict], *, region: str, account: str, partition: str) -> None:
        self.templates, self.region, self.account, self.partition = templates, region, account, partition
        self.exports: dict[str, tuple[str, Any]] = {}
        for stack, template in templates.items():
            for output in template.get("Outputs", {}).values():
                if "Export" in output:
                    self.exports[self.text(output["Export"]["Name"], stack)] = (stack, output["Value"])

    def pseudo(self, name: str, stack: str) -> str:
        values = {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": stack,
        }
        if name not in values:
            raise RenderingError(f"{stack}: no rendering for {name}")
        return values[name]

    def ref(self, name: str, stack: str) -> str:
        if name.startswith("AWS::"):
            return self.pseudo(name, stack)
        if name not in self.templates[stack].get("Resources", {}):
            raise RenderingError(f"{stack}: Ref {name} is no resource (a parameter has no realistic value)")
        return _Resource(self, stack, name).ref()

    def get_att(self, target: str | list, stack: str) -> str:
        logical_id, attribute = target.split(".", 1) if isinstance(target, str) else target
        return _Resource(self, stack, logical_id).attribute(attribute)

    def import_value(self, name: Any, stack: str) -> Any:
        export = self.text(name, stack)
        if export not in self.exports:
            raise RenderingError(f"{stack}: imports {export}, which no stack here exports")
        exporter, value = self.exports[export]
        return self.render(value, exporter)

    def sub(self, argument: str | list, stack: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self.text(variables[name], stack)
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(name, stack)
            return self.ref(name, stack)

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def render(self, value: Any, stack: str) -> Any:
        """``value`` with every intrinsic function replaced by what it resolves to."""
        if isinstance(value, list):
            return [self.render(item, stack) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1 and ((key := next(iter(value))) == "Ref" or key.startswith("Fn::")):
            return self._intrinsic(key, value[key], stack)
        return {key: self.render(item, stack) for key, item in value.items()}

    def _intrinsic(self, function: str, argument: Any, stack: str) -> Any:
        if function == "Ref":
            return self.ref(argument, stack)
        if function == "Fn::GetAtt":
            return self.get_att(argument, stack)
        if function == "Fn::ImportValue":
            return self.import_value(argument, stack)
        if function == "Fn::Sub":
            return self.sub(argument, stack)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(self.text(part, stack) for part in self.render(parts, stack))
        if function == "Fn::Select":
            index, items = argument
            return self.render(items, stack)[int(self.render(index, stack))]
        if function == "Fn::Split":
            separator, text = argument
            return self.text(text, stack).split(separator)
        raise RenderingError(f"{stack}: no rendering for {function}")

    def text(self, value: Any, stack: str) -> str:
        rendered = self.render(value, stack)
        if not isinstance(rendered, str):
            raise RenderingError(f"{stack}: {value} renders to {rendered!r}, not text")
        return rendered


def _documents(resource_type: str, properties: dict) -> list[tuple[Any, dict]]:
    """(policy name, document) pairs of one resource holding identity policies."""
    where = IDENTITY_POLICY_TYPES[resource_type]
    if where == "Policies":
        return [(policy["PolicyName"], policy["PolicyDocument"]) for policy in properties.get("Policies", [])]
    return [(properties.get("PolicyName", properties.get("ManagedPolicyName")), properties[where])]


def identity_policies(
    templates: dict[str, dict], *, region: str, account: str = ACCOUNT, partition: str = PARTITION
) -> list[RenderedPolicy]:
    """Every identity policy of ``templates`` (stack name → template of one account and region), rendered."""
    stage = TemplateRenderer(templates, region=region, account=account, partition=partition)
    policies = []
    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            resource_type = resource["Type"]
            if resource_type not in IDENTITY_POLICY_TYPES:
                continue
            for name, document in _documents(resource_type, resource.get("Properties", {})):
                policies.append(
                    RenderedPolicy(
                        stack=stack,
                        logical_id=logical_id,
                        resource_type=resource_type,
                        name=logical_id if name is None else stage.text(name, stack),
                        document=stage.render(document, stack),
                    )
                )
    return policies
