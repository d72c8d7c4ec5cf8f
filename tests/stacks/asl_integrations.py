"""A Task's ``Resource`` as the botocore operation Step Functions calls, with the documented differences.

``arn:aws:states:::aws-sdk:<sdk name>:<action>`` calls any SDK operation: the SDK name is the service id,
lowercased without spaces (``sfn``, ``eventbridge``, ``cloudwatchlogs``), which botocore spells its own
way (``stepfunctions``, ``events``, ``logs``) (supported-services-awssdk.html).
``arn:aws:states:::<service>:<action>[.sync|.sync:2|.waitForTaskToken]`` is an optimized integration.
The action is the operation's name in camelCase.
"""

import functools
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import botocore.session

DOCS = "https://docs.aws.amazon.com/step-functions/latest/dg/"
_PARTITION = r"aws(?:-cn|-us-gov|-iso|-iso-b)?"
FUNCTION_ARN = re.compile(rf"arn:{_PARTITION}:lambda:[a-z0-9-]+:\d{{12}}:function:[\w-]+(?::[\w$-]+)?")
SERVICE_ARN = re.compile(
    rf"arn:{_PARTITION}:states:::(aws-sdk:)?([a-z0-9-]+):([A-Za-z0-9]+)(?:\.(sync:2|sync|waitForTaskToken))?"
)


class _Runtime:
    """A value known only when the task runs: a ``key.$`` result, or JSON that Step Functions serializes."""

    def __repr__(self) -> str:
        return "<runtime value>"


RUNTIME = _Runtime()


@dataclass(frozen=True)
class Difference:
    """Where an optimized integration's request differs from the API's input shape."""

    doc: str
    # Members whose value may be any JSON (Step Functions serializes it), as paths; "*" is every list item.
    json_members: tuple[tuple[str, ...], ...] = ()
    # Step Functions' own fields, read by Step Functions and not sent to the API.
    own_members: tuple[str, ...] = ()

    def apply(self, params):
        if not isinstance(params, dict):
            return params
        params = {key: value for key, value in params.items() if key not in self.own_members}
        for path in self.json_members:
            params = _mark_json(params, path)
        return params


def _mark_json(value, path: tuple[str, ...]):
    if not path:
        return RUNTIME
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(value, list):
        return [_mark_json(item, rest) for item in value]
    if isinstance(value, dict) and head in value:
        return {**value, head: _mark_json(value[head], rest)}
    return value


NO_DIFFERENCE = Difference(doc="")
# Optimized integrations' documented differences, by (botocore service, operation).
DIFFERENCES: dict[tuple[str, str], Difference] = {
    # "Payload" is the function's input as JSON (an object in the docs' examples); the API takes a blob.
    ("lambda", "Invoke"): Difference(DOCS + "connect-lambda.html", json_members=(("Payload",),)),
    # Each entry's "Detail" is a JSON object in the docs' example; the API takes a string.
    ("events", "PutEvents"): Difference(
        DOCS + "connect-eventbridge.html", json_members=(("Entries", "*", "Detail"),)
    ),
    # "Body" is JSON Step Functions does not validate; "Input"/"Output" ({"S3Uri"}) are Step Functions' own.
    ("bedrock-runtime", "InvokeModel"): Difference(
        DOCS + "connect-bedrock.html", json_members=(("Body",),), own_members=("Input", "Output")
    ),
}
# Optimized integrations named differently from botocore's service (connect-supported-services.html).
OPTIMIZED_SERVICES = {"states": "stepfunctions", "elasticmapreduce": "emr"}
# ... and one operation that botocore files under another service than the integration's.
OPTIMIZED_OPERATION_SERVICES = {("bedrock", "invokeModel"): "bedrock-runtime"}


@dataclass(frozen=True)
class Integration:
    label: str  # "aws-sdk:<sdk name>" or "optimized:<service>", as the figures count tasks
    service: str = ""  # botocore's
    operation: str = ""
    pattern: str | None = None
    difference: Difference = field(default=NO_DIFFERENCE)

    @property
    def call(self) -> str:
        return f"{self.service}.{self.operation}"


def integration_for(sdk: str | None, name: str, action: str, pattern: str | None) -> tuple[Integration, str]:
    """The integration of a matched SERVICE_ARN, and a problem ("" if none)."""
    label = f"aws-sdk:{name}" if sdk else f"optimized:{name}"
    if sdk:
        service = sdk_service(name)
        if pattern and pattern.startswith("sync"):  # connect-supported-services.html: "Not supported"
            return Integration(label), f"AWS SDK integrations do not support .{pattern}"
    else:
        service = OPTIMIZED_OPERATION_SERVICES.get((name, action), OPTIMIZED_SERVICES.get(name, name))
    if service not in _services():
        return Integration(
            label
        ), f"botocore has no service for the {'SDK' if sdk else 'integration'} name {name!r}"
    operation = action[0].upper() + action[1:]
    if operation not in service_model(service).operation_names:
        return Integration(label), f"botocore's {service} has no operation {operation} (from {action!r})"
    difference = NO_DIFFERENCE if sdk else DIFFERENCES.get((service, operation), NO_DIFFERENCE)
    return Integration(label, service, operation, pattern, difference), ""


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def service_model(service: str):
    return _session().get_service_model(service)


@functools.cache
def _services() -> frozenset[str]:
    return frozenset(_session().get_available_services())


_SERVICE_ID = re.compile(r'"serviceId"\s*:\s*"([^"]+)"')


@functools.cache
def _sdk_name(service: str) -> str:
    """A service's SDK name: its id, lowercased, without spaces. The id sits in the model's first bytes, so
    read those (all 455 models in 0.2 s) rather than load each model (3 s)."""
    loader = _session().get_component("data_loader")
    version = loader.determine_latest_version(service, "service-2")
    for base in loader.search_paths:
        for name, opener in (("service-2.json.gz", gzip.open), ("service-2.json", open)):
            path = Path(base, service, version, name)
            if path.exists():
                with opener(path, "rt") as model:
                    match = _SERVICE_ID.search(model.read(4096))
                if match:
                    return match.group(1).replace(" ", "").lower()
    metadata = loader.load_service_model(service, "service-2")["metadata"]
    return metadata["serviceId"].replace(" ", "").lower()


@functools.cache
def sdk_service(name: str) -> str:
    """botocore's service for an SDK name: the service whose id it is ("" if none)."""
    return next((service for service in sorted(_services()) if _sdk_name(service) == name), "")
