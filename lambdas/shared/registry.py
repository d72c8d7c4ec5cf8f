"""The router's model registry: the one contract between the stacks that write it and the router.

The API stack ships the registry as a JSON file in a Lambda layer (``/opt/mlkit/registry.json``), so
its size has no practical ceiling; Lambda's 4 KB environment would hold about 20 models. Values that
exist only once CloudFormation runs stay in two small variables: ``ARTIFACTS_BUCKET`` (async inputs
and outputs) and ``GUARDRAILS`` (ids and versions of guardrails the Bedrock stacks create).

The stacks build entries with ``sagemaker_entry``/``bedrock_entry`` and the document with
``registry_document``, which parses it with the router's own parser before anything is deployed.
The router parses it once per cold start; a bad registry is a deploy bug, so ``load_settings``
raises ``ConfigError`` naming the model and the key and the Lambda fails at init.

This module imports nothing from mlkit: the router, the stacks and the tests all use it as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple, NoReturn

# Every source but Bedrock serves from a SageMaker endpoint: the router needs no list of them.
BEDROCK_SOURCE = "bedrock"
HOSTING_TYPES = ("serverless", "realtime", "async")
# Keys a Bedrock entry may set as defaults or as upper bounds for a request's "inference".
TUNABLE_KEYS = ("max_tokens", "temperature", "top_p")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
FORMAT = 1

# Where the registry layer puts the file, and the variables the API stack sets.
LAYER_DIRECTORY = "mlkit"
FILE_NAME = "registry.json"
DEFAULT_FILE = f"/opt/{LAYER_DIRECTORY}/{FILE_NAME}"
FILE_VARIABLE = "MODEL_REGISTRY_FILE"
ARTIFACTS_BUCKET_VARIABLE = "ARTIFACTS_BUCKET"
GUARDRAILS_VARIABLE = "GUARDRAILS"
MAX_BODY_VARIABLE = "MAX_BODY_BYTES"
# A Bedrock entry's guardrail that a stack creates: its id and version come from GUARDRAILS.
CREATED_GUARDRAIL = "created"

# Media types carried as text; every other type travels as bytes (the API's binary media types).
TEXT_MEDIA_TYPES = (
    "text/",
    "application/json",
    "application/jsonlines",
    "application/x-ndjson",
    "application/xml",
)


def is_text_media_type(media_type: str) -> bool:
    """'text/csv', 'application/json', 'application/vnd.x+json' are text; 'image/png' is not."""
    return media_type.startswith(TEXT_MEDIA_TYPES) or media_type.endswith(("+json", "+xml"))


# Matched with fullmatch: the whole value, no trailing newline.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)")
_SOURCE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]*/")


class ConfigError(ValueError):
    """The Lambda's registry or environment is not what the stack should have written."""


# Records are NamedTuples, not dataclasses: defining a frozen dataclass costs ~1 ms of cold start.
class S3Location(NamedTuple):
    bucket: str
    prefix: str  # ends with "/" (or is empty)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class SageMakerModel(NamedTuple):
    name: str
    source: str
    endpoint_name: str
    hosting: str
    content_types: tuple[str, ...]
    input_location: S3Location | None = None  # async only
    output_location: S3Location | None = None  # async only


class Guardrail(NamedTuple):
    identifier: str
    version: str


class BedrockModel(NamedTuple):
    name: str
    model_id: str
    inference: Mapping[str, float]  # request defaults
    limits: Mapping[str, float]  # request upper bounds
    guardrail: Guardrail | None = None
    source: str = BEDROCK_SOURCE
    hosting: str = "bedrock"


Model = SageMakerModel | BedrockModel


class Settings(NamedTuple):
    models: Mapping[str, Model]
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


# --- writing: what the stacks (and the tests) build -------------------------------------------


def sagemaker_entry(
    *, source: str, endpoint_name: str, hosting: str, content_types: list[str], async_prefixes=None
) -> dict[str, Any]:
    """One SageMaker model; ``async_prefixes`` ({"input", "output"} in the artifacts bucket) for async."""
    entry = {
        "source": source,
        "endpoint_name": endpoint_name,
        "hosting": hosting,
        "content_types": list(content_types),
    }
    if async_prefixes:
        entry["input_prefix"] = async_prefixes["input"]
        entry["output_prefix"] = async_prefixes["output"]
    return entry


def bedrock_entry(
    *, model_id: str, inference: Mapping, limits: Mapping, guardrail: Mapping | str | None = None
) -> dict[str, Any]:
    """One Bedrock model; ``guardrail`` is {"identifier", "version"}, CREATED_GUARDRAIL or None."""
    entry = {
        "source": BEDROCK_SOURCE,
        "model_id": model_id,
        "inference": dict(inference),
        "limits": dict(limits),
    }
    if guardrail:
        entry["guardrail"] = guardrail if isinstance(guardrail, str) else dict(guardrail)
    return entry


def registry_document(entries: Mapping[str, Mapping[str, Any]]) -> str:
    """The registry file's text, checked with the router's parser (placeholders for deploy-time values)."""
    text = json.dumps({"format": FORMAT, "models": dict(entries)}, sort_keys=True, separators=(",", ":"))
    created = [name for name, entry in entries.items() if entry.get("guardrail") == CREATED_GUARDRAIL]
    parse_registry(
        text,
        artifacts_bucket="artifacts-bucket-at-deploy",
        guardrails={name: Guardrail("at-deploy", "1") for name in created},
    )
    return text


def guardrails_variable(guardrails: Mapping[str, Mapping[str, str]]) -> str:
    """GUARDRAILS' value: model name -> [identifier, version], compact (it shares Lambda's 4 KB)."""
    pairs = {name: [value["identifier"], value["version"]] for name, value in guardrails.items()}
    return json.dumps(pairs, sort_keys=True, separators=(",", ":"))


# --- reading: what the router does once per cold start ---------------------------------------


def load_settings(environ: Mapping[str, str]) -> Settings:
    """The registry file (``MODEL_REGISTRY_FILE``, default the layer's) and the variables beside it."""
    path = environ.get(FILE_VARIABLE) or DEFAULT_FILE
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as error:
        raise ConfigError(
            f"model registry {path} cannot be read ({error.strerror}): the API stack's registry layer "
            "must be attached to the router"
        ) from None
    return Settings(
        models=parse_registry(
            text,
            artifacts_bucket=environ.get(ARTIFACTS_BUCKET_VARIABLE) or None,
            guardrails=_parse_guardrails(environ.get(GUARDRAILS_VARIABLE)),
        ),
        max_body_bytes=_max_body_bytes(environ.get(MAX_BODY_VARIABLE)),
    )


def parse_registry(
    text: str, *, artifacts_bucket: str | None = None, guardrails: Mapping[str, Guardrail] | None = None
) -> dict[str, Model]:
    """Parse the registry document into model entries, or raise ConfigError."""
    if not text.strip():
        raise ConfigError("model registry is empty: the API stack must write the registry file")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"model registry is not valid JSON: {error}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("models"), dict):
        raise ConfigError(
            f'model registry must be {{"format": {FORMAT}, "models": {{name: entry}}}}, not {_kind(raw)}'
        )
    if artifacts_bucket is not None and not _BUCKET.fullmatch(artifacts_bucket):
        raise ConfigError(f"{ARTIFACTS_BUCKET_VARIABLE} {artifacts_bucket!r} is not a bucket name")
    context = _Context(artifacts_bucket, guardrails or {})
    return {name: _parse_entry(name, entry, context) for name, entry in raw["models"].items()}


class _Context(NamedTuple):
    artifacts_bucket: str | None
    guardrails: Mapping[str, Guardrail]


def _parse_guardrails(value: str | None) -> dict[str, Guardrail]:
    if not value or not value.strip():
        return {}
    try:
        raw = json.loads(value)
        return {name: Guardrail(str(pair[0]), str(pair[1])) for name, pair in raw.items()}
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        raise ConfigError(
            f"{GUARDRAILS_VARIABLE} must be a JSON object of model name -> [identifier, version]"
        ) from None


def _max_body_bytes(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_MAX_BODY_BYTES
    if not value.strip().isdigit() or int(value) <= 0:
        raise ConfigError(f"{MAX_BODY_VARIABLE} must be a positive whole number of bytes, got {value!r}")
    return int(value)


def _parse_entry(name: str, raw: Any, context: _Context) -> Model:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"model registry: model name {name!r} must be 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    entry = _Entry(name, raw)
    source = entry.source()
    if source == BEDROCK_SOURCE:
        return _parse_bedrock(entry, context)
    return _parse_sagemaker(entry, source, context)


def _parse_sagemaker(entry: _Entry, source: str, context: _Context) -> SageMakerModel:
    entry.allow_only("source", "endpoint_name", "hosting", "content_types", "input_prefix", "output_prefix")
    hosting = entry.choice("hosting", HOSTING_TYPES)
    is_async = hosting == "async"
    if is_async and context.artifacts_bucket is None:
        entry.fail(f"hosting 'async' needs {ARTIFACTS_BUCKET_VARIABLE}, which is not set")
    return SageMakerModel(
        name=entry.name,
        source=source,
        endpoint_name=entry.text("endpoint_name"),
        hosting=hosting,
        content_types=entry.media_types("content_types"),
        input_location=entry.s3_prefix("input_prefix", context.artifacts_bucket, required=is_async),
        output_location=entry.s3_prefix("output_prefix", context.artifacts_bucket, required=is_async),
    )


def _parse_bedrock(entry: _Entry, context: _Context) -> BedrockModel:
    entry.allow_only("source", "model_id", "inference", "limits", "guardrail")
    inference = entry.numbers("inference")
    limits = entry.numbers("limits")
    for key, bound in limits.items():
        if key in inference and inference[key] > bound:
            entry.fail(f"inference.{key} default {inference[key]} is over limits.{key} {bound}")
    return BedrockModel(
        name=entry.name,
        model_id=entry.text("model_id"),
        inference=inference,
        limits=limits,
        guardrail=_parse_guardrail(entry, context),
    )


def _parse_guardrail(entry: _Entry, context: _Context) -> Guardrail | None:
    raw = entry.get("guardrail", required=False)
    if raw is None:
        return None
    if raw == CREATED_GUARDRAIL:
        if entry.name not in context.guardrails:
            entry.fail(f"its guardrail is created by its stack, but {GUARDRAILS_VARIABLE} does not name it")
        return context.guardrails[entry.name]
    if not isinstance(raw, dict):
        entry.fail(f"guardrail must be an object or {CREATED_GUARDRAIL!r}")
    guardrail = _Entry(entry.name, raw, prefix="guardrail.")
    guardrail.allow_only("identifier", "version")
    return Guardrail(identifier=guardrail.text("identifier"), version=guardrail.text("version"))


class _Entry:
    """Typed reads of one registry entry; every failure names the model and the key."""

    def __init__(self, name: str, raw: Any, prefix: str = ""):
        if not isinstance(raw, dict):
            raise ConfigError(f"model registry: model {name!r}: {prefix or 'entry '}must be an object")
        self.name, self.raw, self.prefix = name, raw, prefix

    def fail(self, problem: str) -> NoReturn:
        raise ConfigError(f"model registry: model {self.name!r}: {problem}")

    def get(self, key: str, required: bool = True) -> Any:
        value = self.raw.get(key)
        if value is None and required:
            self.fail(f"{self.prefix}{key} is required")
        return value

    def allow_only(self, *keys: str) -> None:
        unknown = sorted(set(self.raw) - set(keys))
        if unknown:
            self.fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(keys)}")

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{self.prefix}{key} must be a non-empty string")
        return value

    def source(self) -> str:
        value = self.get("source")
        if not isinstance(value, str) or not _SOURCE.fullmatch(value):
            self.fail(f"source must be a source name such as 'huggingface' or 'bedrock' (got {value!r})")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.get(key)
        if value not in allowed:
            self.fail(f"{self.prefix}{key} must be one of {', '.join(allowed)} (got {value!r})")
        return value

    def media_types(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if not isinstance(value, list) or not value:
            self.fail(f"{key} must be a non-empty list of media types such as 'application/json'")
        types = tuple(item.strip().lower() if isinstance(item, str) else item for item in value)
        bad = [item for item in types if not isinstance(item, str) or not MEDIA_TYPE.fullmatch(item)]
        if bad:
            self.fail(f"{key} holds invalid media type(s) {bad!r}; expected e.g. 'text/csv'")
        return types

    def s3_prefix(self, key: str, bucket: str | None, required: bool) -> S3Location | None:
        value = self.get(key, required=required)
        if value is None:
            return None
        if not required:
            self.fail(f"{key} is only for hosting 'async'")
        if not isinstance(value, str) or not _PREFIX.fullmatch(value):
            self.fail(f"{key} must be a key prefix in the artifacts bucket ending in '/' (got {value!r})")
        return S3Location(bucket, value)

    def mapping(self, key: str) -> dict | None:
        value = self.get(key, required=False)
        if value is not None and not isinstance(value, dict):
            self.fail(f"{key} must be an object")
        return value

    def numbers(self, key: str) -> dict[str, float]:
        raw = self.mapping(key) or {}
        unknown = sorted(set(raw) - set(TUNABLE_KEYS))
        if unknown:
            self.fail(f"{key} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(TUNABLE_KEYS)}")
        for name, value in raw.items():
            problem = number_problem(name, value)
            if problem:
                self.fail(f"{key}.{name} {problem}")
        return dict(raw)


def number_problem(key: str, value: Any) -> str | None:
    """Why ``value`` is not a valid inference setting ``key``, or None (requests use it too)."""
    if key == "max_tokens":
        valid = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        return None if valid else "must be a whole number of at least 1"
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        return "must be a number of at least 0"
    if key == "top_p" and value > 1:
        return "must be between 0 and 1"
    return None


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string"}.get(type(value), type(value).__name__)
