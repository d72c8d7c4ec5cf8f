"""The deploy Lambda's event, parsed and checked into a DeployRequest, and the errors it raises.

Errors are named for Step Functions, whose Retry/Catch match the class name (see endpoints.py).
"""

import re
from dataclasses import dataclass, fields
from typing import Any

from shared import scaling_requests

NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
ROLE_ARN_PATTERN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-/]+")
S3_URL_PATTERN = re.compile(r"s3://[^/]+/.+")
ANY_TEXT = re.compile(r"\S+")


class DeployError(Exception):
    """Base of every error the deploy Lambda raises on purpose."""


class InvalidDeployRequest(DeployError):
    """The event is malformed; the message names the field."""


class EndpointBusy(DeployError):
    """The endpoint cannot change now; retrying later can succeed."""


class SageMakerError(DeployError):
    """SageMaker refused a request."""

    def __init__(self, operation: str, code: str, aws_message: str):
        super().__init__(f"{operation}: {code}: {aws_message}")
        self.code = code
        self.aws_message = aws_message


class SageMakerUnavailable(SageMakerError):
    """Throttled, or a SageMaker/network failure, after botocore's own retries."""


@dataclass(frozen=True)
class DeployRequest:
    endpoint_name: str
    execution_role_arn: str
    containers: tuple[dict[str, Any], ...]
    variant: dict[str, Any]
    async_config: dict[str, Any] | None = None
    data_capture_config: dict[str, Any] | None = None
    kms_key_arn: str | None = None
    deployment_config: dict[str, Any] | None = None
    vpc_config: dict[str, Any] | None = None
    enable_network_isolation: bool = False
    tags: dict[str, str] | None = None
    scaling: dict[str, Any] | None = None  # shared/scaling_requests.py: applied by the scale action

    @property
    def serverless(self) -> bool:
        return "ServerlessConfig" in self.variant


# The event's fields: the request's own, plus the one-container shorthand and the action.
SHORTHAND_FIELDS = {"action", "image", "model_data_url", "environment"}
DEPLOY_FIELDS = frozenset({field.name for field in fields(DeployRequest)} | SHORTHAND_FIELDS)


# ---- parsing the event ---------------------------------------------------------------


ACTIONS = ("deploy", "status", "scale")
SCALE_FIELDS = frozenset({"action", "endpoint_name", "scaling"})


def parse_action(event: Any) -> str:
    """'deploy' (the default), 'status' or 'scale'; also rejects unknown fields (typos)."""
    if not isinstance(event, dict):
        raise InvalidDeployRequest(f"event: expected a JSON object, got {type(event).__name__}")
    unknown = sorted(set(event) - DEPLOY_FIELDS)
    if unknown:
        raise InvalidDeployRequest(f"{', '.join(unknown)}: unknown field; allowed: {sorted(DEPLOY_FIELDS)}")
    action = event.get("action") or "deploy"
    if action not in ACTIONS:
        raise InvalidDeployRequest(f"action: expected one of {', '.join(map(repr, ACTIONS))}, got {action!r}")
    return action


def parse_endpoint_name(event: dict) -> str:
    return _text(event, "endpoint_name", NAME_PATTERN, "a SageMaker endpoint name (letters, digits, -)")


def parse_scaling(event: dict) -> dict[str, Any] | None:
    """The event's ``scaling`` (null: none), checked as shared/scaling_requests.py describes it."""
    problems = scaling_requests.problems(event.get("scaling"))
    if problems:
        raise InvalidDeployRequest("; ".join(problems))
    return event.get("scaling")


def parse_scale_request(event: dict) -> tuple[str, dict[str, Any] | None]:
    """The scale action's (endpoint name, scaling); it takes nothing else. A missing or null scaling
    means none (Step Functions drops a null the state machine's definition holds)."""
    extra = sorted(set(event) - SCALE_FIELDS)
    if extra:
        allowed = sorted(SCALE_FIELDS)
        raise InvalidDeployRequest(f"{', '.join(extra)}: not with action 'scale' (it takes {allowed})")
    return parse_endpoint_name(event), parse_scaling(event)


def parse_deploy_request(event: dict) -> DeployRequest:
    request = DeployRequest(
        endpoint_name=parse_endpoint_name(event),
        execution_role_arn=_text(event, "execution_role_arn", ROLE_ARN_PATTERN, "an IAM role ARN"),
        containers=_containers(event),
        variant=_variant(event.get("variant")),
        async_config=_optional(event, "async_config", dict),
        data_capture_config=_optional(event, "data_capture_config", dict),
        kms_key_arn=_optional(event, "kms_key_arn", str),
        deployment_config=_optional(event, "deployment_config", dict),
        vpc_config=_optional(event, "vpc_config", dict),
        enable_network_isolation=_optional(event, "enable_network_isolation", bool) or False,
        tags=_text_map(event.get("tags"), "tags"),
        scaling=parse_scaling(event),
    )
    _check_serverless_limits(request)
    _check_scaling_kind(request)
    return request


def _text(mapping: dict, field: str, pattern: re.Pattern, expected: str, path: str = "") -> str:
    value = mapping.get(field)
    if value is None:
        raise InvalidDeployRequest(f"{path}{field}: missing, expected {expected}")
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidDeployRequest(f"{path}{field}: expected {expected}, got {_shown(value)}")
    return value


def _optional(event: dict, field: str, kind: type) -> Any:
    value = event.get(field)
    if value is not None and not isinstance(value, kind):
        expected = {dict: "an object", str: "a string", bool: "true or false"}[kind]
        raise InvalidDeployRequest(f"{field}: expected {expected} or null, got {_shown(value)}")
    return value


def _text_map(value: Any, path: str) -> dict[str, str] | None:
    """A {string: string} map (environment, tags), or None."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidDeployRequest(f"{path}: expected an object of strings, got {_shown(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise InvalidDeployRequest(f"{path}.{key}: expected a string, got {_shown(item)}")
    return value


def _containers(event: dict) -> tuple[dict[str, Any], ...]:
    has_image, has_list = event.get("image") is not None, event.get("containers") is not None
    if has_image == has_list:
        raise InvalidDeployRequest("image, containers: give exactly one (one image, or a list of containers)")
    if has_image:
        return (_single_container(event),)
    for field in ("model_data_url", "environment"):
        if event.get(field) is not None:
            raise InvalidDeployRequest(f"{field}: only with image; with containers, set it in each container")
    items = event["containers"]
    if not isinstance(items, list) or not items:
        raise InvalidDeployRequest(f"containers: expected a non-empty list, got {_shown(items)}")
    return tuple(_listed_container(item, f"containers[{index}]") for index, item in enumerate(items))


def _single_container(event: dict) -> dict[str, Any]:
    container = {
        "Image": _text(event, "image", ANY_TEXT, "a container image URI"),
        "ModelDataUrl": _text(event, "model_data_url", S3_URL_PATTERN, "an s3:// URL of the model artifact"),
    }
    environment = _text_map(event.get("environment"), "environment")
    if environment:
        container["Environment"] = environment
    return container


def _listed_container(item: Any, path: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidDeployRequest(f"{path}: expected a container definition object, got {_shown(item)}")
    _text(item, "Image", ANY_TEXT, "a container image URI", f"{path}.")
    if item.get("ModelDataUrl") is not None:
        _text(item, "ModelDataUrl", S3_URL_PATTERN, "an s3:// URL", f"{path}.")
    _text_map(item.get("Environment"), f"{path}.Environment")
    return dict(item)


def _variant(variant: Any) -> dict[str, Any]:
    if not isinstance(variant, dict):
        raise InvalidDeployRequest(
            "variant: expected {'ServerlessConfig': {...}} or {'InstanceType': ...,"
            f" 'InitialInstanceCount': n}}, got {_shown(variant)}"
        )
    if ("ServerlessConfig" in variant) == ("InstanceType" in variant):
        raise InvalidDeployRequest("variant: give exactly one of ServerlessConfig or InstanceType")
    for reserved in ("VariantName", "ModelName"):
        if reserved in variant:
            raise InvalidDeployRequest(f"variant.{reserved}: set by the deployer, leave it out")
    if "InstanceType" in variant:
        return {"InitialInstanceCount": 1, **variant}
    return dict(variant)


def _check_serverless_limits(request: DeployRequest) -> None:
    """SageMaker's serverless exclusions, caught before anything is created."""
    if not request.serverless:
        return
    unsupported = {
        "async_config": (request.async_config, "asynchronous inference needs an InstanceType variant"),
        "containers": (len(request.containers) > 1, "serverless endpoints host no inference pipelines"),
        "vpc_config": (request.vpc_config, "serverless endpoints take no VPC configuration"),
        "enable_network_isolation": (request.enable_network_isolation, "serverless has no network isolation"),
        "data_capture_config": (
            request.data_capture_config,
            "serverless endpoints do not support data capture",
        ),
        "scaling": (request.scaling, "mlkit scales instance variants only"),
    }
    for field, (given, reason) in unsupported.items():
        if given:
            raise InvalidDeployRequest(f"{field}: not with variant.ServerlessConfig: {reason}")


def _check_scaling_kind(request: DeployRequest) -> None:
    """Backlog scaling is for async endpoints, invocation scaling for real-time ones."""
    if request.scaling and (request.scaling["kind"] == "async") != bool(request.async_config):
        kind = "async" if request.async_config else "realtime"
        raise InvalidDeployRequest(f"scaling.kind: {request.scaling['kind']!r} on a {kind} endpoint")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
