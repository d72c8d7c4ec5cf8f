"""Shared pieces of the config model: strict models and readable errors."""

import difflib
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from lambdas.shared.registry import MEDIA_TYPE

# A request media type a model's route accepts, e.g. text/csv or image/*; the router uses the same pattern.
MediaType = Annotated[str, StringConstraints(pattern=f"^{MEDIA_TYPE.pattern}$", to_lower=True)]


class ConfigError(Exception):
    """A config file that cannot be used. The message names the file and key path."""


class StrictModel(BaseModel):
    """A config section: unknown keys are errors that list the allowed ones."""

    # Dumped by alias (tuning ranges' min/max, the datasets section), so a dump reads back as config.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = {name: field.alias or name for name, field in cls.model_fields.items()}
            known = set(allowed.values())
            for key in data:
                if key not in known:
                    hint = difflib.get_close_matches(str(key), known, n=1)
                    did_you_mean = f" (did you mean '{hint[0]}'?)" if hint else ""
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key{did_you_mean}; allowed keys: {allowed}",
                        {"key": str(key), "did_you_mean": did_you_mean, "allowed": ", ".join(sorted(known))},
                    )
        return data


def invalid(key: str, message: str) -> PydanticCustomError:
    """An error about ``key`` (a dotted path below the model being validated)."""
    return PydanticCustomError("invalid_setting", message, {"key": key})


# Tags of the hosting union: pydantic puts them in error paths, users never write them.
_HOSTING_TAGS = {"serverless", "realtime", "async"}


def _union_tags() -> set[str]:
    """The hosting tags and every registered source's name (the model union's tags)."""
    from sources import SOURCES

    return _HOSTING_TAGS | set(SOURCES)


def key_path(location: tuple[Any, ...]) -> str:
    """A dotted key path as the user wrote it: models.churn.hosting.memory_mb."""
    parts: list[str] = []
    tags = _union_tags()
    for item in location:
        after_union = len(parts) >= 2 and parts[-2] == "models" or parts[-1:] == ["hosting"]
        if after_union and item in tags and len(parts) >= 1:
            continue
        if item == "[key]" or isinstance(item, str) and item.startswith("function-"):
            continue  # pydantic's name for a validator, not a key
        parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return "is required"
    if error["type"] in {"value_error", "invalid_setting"} or "input" not in error:
        return message
    value = error["input"]
    if isinstance(value, dict | list):
        return message
    return f"{value!r} is not allowed: {message}"


def format_validation_error(source: str, error: ValidationError) -> str:
    """One message for a bad file: each problem on a line naming file, key, value and what is allowed."""
    lines = []
    for item in error.errors():
        location = item["loc"]
        if item["type"] in {"unknown_key", "invalid_setting"} and item["ctx"]["key"]:
            location = (*location, *item["ctx"]["key"].split("."))
        elif item["type"] == "union_tag_invalid":
            context = item["ctx"]
            location = (*location, context["discriminator"].strip("'"))
            item = {**item, "input": context["tag"], "msg": f"allowed: {context['expected_tags']}"}
        lines.append(f"{source}: {key_path(location)}: {_describe(item)}")
    return "\n".join(lines)
