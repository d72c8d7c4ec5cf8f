"""The router's model registry: parsed and validated once, at cold start.

The API stack writes the registry into the ``MODEL_REGISTRY`` environment variable as a
JSON object (model name -> entry). A bad registry is a deploy bug, so ``load_settings``
raises ``ConfigError`` naming the model and the key, and the Lambda fails at init
instead of answering requests with a half-understood configuration.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple, NoReturn

SAGEMAKER_SOURCES = ("huggingface", "training", "autopilot")
SOURCES = (*SAGEMAKER_SOURCES, "bedrock")
HOSTING_TYPES = ("serverless", "realtime", "async")
# Keys a Bedrock entry may set as defaults or as upper bounds for a request's "inference".
TUNABLE_KEYS = ("max_tokens", "temperature", "top_p")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# Matched with fullmatch: the whole value, no trailing newline.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_S3_URI = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.*)")


class ConfigError(ValueError):
    """The Lambda's environment is not what the stack should have written."""


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
    source: str = "bedrock"
    hosting: str = "bedrock"


Model = SageMakerModel | BedrockModel


class Settings(NamedTuple):
    models: Mapping[str, Model]
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read ``MODEL_REGISTRY`` and ``MAX_BODY_BYTES`` from the environment."""
    return Settings(
        models=parse_registry(environ.get("MODEL_REGISTRY", "")),
        max_body_bytes=_max_body_bytes(environ.get("MAX_BODY_BYTES")),
    )


def parse_registry(text: str) -> dict[str, Model]:
    """Parse the registry JSON into model entries, or raise ConfigError."""
    if not text.strip():
        raise ConfigError("MODEL_REGISTRY is not set: the API stack must pass the model registry")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"MODEL_REGISTRY is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"MODEL_REGISTRY must be a JSON object of model name -> entry, not {_kind(raw)}")
    return {name: _parse_entry(name, entry) for name, entry in raw.items()}


def _max_body_bytes(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_MAX_BODY_BYTES
    if not value.strip().isdigit() or int(value) <= 0:
        raise ConfigError(f"MAX_BODY_BYTES must be a positive whole number of bytes, got {value!r}")
    return int(value)


def _parse_entry(name: str, raw: Any) -> Model:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"MODEL_REGISTRY: model name {name!r} must be 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    entry = _Entry(name, raw)
    source = entry.choice("source", SOURCES)
    if source == "bedrock":
        return _parse_bedrock(entry)
    return _parse_sagemaker(entry, source)


def _parse_sagemaker(entry: _Entry, source: str) -> SageMakerModel:
    entry.allow_only(
        "source", "endpoint_name", "hosting", "content_types", "input_location", "output_location"
    )
    hosting = entry.choice("hosting", HOSTING_TYPES)
    is_async = hosting == "async"
    return SageMakerModel(
        name=entry.name,
        source=source,
        endpoint_name=entry.text("endpoint_name"),
        hosting=hosting,
        content_types=entry.media_types("content_types"),
        input_location=entry.s3_prefix("input_location", required=is_async),
        output_location=entry.s3_prefix("output_location", required=is_async),
    )


def _parse_bedrock(entry: _Entry) -> BedrockModel:
    entry.allow_only("source", "model_id", "inference", "limits", "guardrail")
    inference = entry.numbers("inference")
    limits = entry.numbers("limits")
    for key, bound in limits.items():
        if key in inference and inference[key] > bound:
            entry.fail(f"inference.{key} default {inference[key]} is over limits.{key} {bound}")
    guardrail = entry.mapping("guardrail")
    return BedrockModel(
        name=entry.name,
        model_id=entry.text("model_id"),
        inference=inference,
        limits=limits,
        guardrail=_parse_guardrail(entry, guardrail) if guardrail is not None else None,
    )


def _parse_guardrail(entry: _Entry, raw: dict) -> Guardrail:
    guardrail = _Entry(entry.name, raw, prefix="guardrail.")
    guardrail.allow_only("identifier", "version")
    return Guardrail(identifier=guardrail.text("identifier"), version=guardrail.text("version"))


class _Entry:
    """Typed reads of one registry entry; every failure names the model and the key."""

    def __init__(self, name: str, raw: Any, prefix: str = ""):
        if not isinstance(raw, dict):
            raise ConfigError(f"MODEL_REGISTRY: model {name!r}: {prefix or 'entry '}must be an object")
        self.name, self.raw, self.prefix = name, raw, prefix

    def fail(self, problem: str) -> NoReturn:
        raise ConfigError(f"MODEL_REGISTRY: model {self.name!r}: {problem}")

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
        bad = [item for item in types if not isinstance(item, str) or not _MEDIA_TYPE.fullmatch(item)]
        if bad:
            self.fail(f"{key} holds invalid media type(s) {bad!r}; expected e.g. 'text/csv'")
        return types

    def s3_prefix(self, key: str, required: bool) -> S3Location | None:
        value = self.get(key, required=required)
        if value is None:
            return None
        if not required:
            self.fail(f"{key} is only for hosting 'async'")
        match = _S3_URI.fullmatch(value) if isinstance(value, str) else None
        if not match:
            self.fail(f"{key} must be an s3://bucket/prefix/ URI (got {value!r})")
        prefix = match.group(2)
        return S3Location(match.group(1), prefix if not prefix or prefix.endswith("/") else prefix + "/")

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
