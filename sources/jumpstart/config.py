"""The config entry of a JumpStart model (`source: jumpstart`), checked against its committed spec."""

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from sources.jumpstart import specs
from sources.jumpstart.specs import JumpStartSpec, SpecNotFound
from stacks.config.base import MediaType, StrictModel, invalid
from stacks.config.hosting import Hosting, RealtimeHosting, VpcSettings, is_gpu_instance


class JumpStartModel(StrictModel):
    """A JumpStart model on a SageMaker endpoint, from the spec `make jumpstart` committed."""

    source: Literal["jumpstart"]
    model_id: str = Field(
        pattern=specs.MODEL_ID.pattern, description="JumpStart model id, e.g. pytorch-ic-mobilenet-v2."
    )
    version: str = Field(
        pattern=specs.EXACT_VERSION.pattern,
        description="Exact model version, e.g. 3.0.25: digits and dots, no * or ranges.",
    )
    accept_eula: bool = Field(
        default=False, description="Accept the model's end-user license agreement. Default false."
    )
    hosting: Hosting = Field(
        default_factory=lambda: RealtimeHosting(type="realtime"),
        description="Default: realtime on the spec's default instance type; a realtime or async "
        "hosting without instance_type also gets the spec's default.",
    )
    vpc: VpcSettings | None = None
    environment: dict[str, str] = Field(
        default_factory=dict, description="Extra container variables, over the spec's."
    )
    content_types: list[MediaType] | None = Field(
        default=None,
        min_length=1,
        description="Request media types the route accepts. Default: the spec's, else application/json.",
    )

    @property
    def spec(self) -> JumpStartSpec:
        return specs.load_spec(self.model_id, self.version)

    @property
    def resolved_content_types(self) -> list[str]:
        return self.content_types or list(self.spec.content_types or ["application/json"])

    @property
    def network_isolation(self) -> bool:
        return specs.network_isolation(self.spec)

    @model_validator(mode="before")
    @classmethod
    def _spec_default_instance_type(cls, data: Any) -> Any:
        """Fill the spec's default instance type in, where the entry names none."""
        if not isinstance(data, dict):
            return data
        try:
            default = specs.load_spec(
                str(data.get("model_id")), str(data.get("version"))
            ).default_instance_type
        except SpecNotFound:
            return data  # the after-validator reports it, once the keys themselves are valid
        hosting = _with_instance_type(data.get("hosting"), default)
        return data if hosting is None else {**data, "hosting": hosting}

    @model_validator(mode="after")
    def _matches_spec(self) -> "JumpStartModel":
        try:
            spec = self.spec
        except SpecNotFound as error:
            raise invalid(error.key, str(error)) from None
        if spec.eula and not self.accept_eula:
            raise invalid(
                "accept_eula",
                f"{self.model_id} has an end-user license agreement: read {spec.eula.url} "
                "and set accept_eula: true to accept it",
            )
        if self.hosting.type == "serverless":
            raise invalid("hosting.type", _serverless_refusal(spec))
        if self.hosting.instance_type not in spec.instance_types:
            raise invalid(
                "hosting.instance_type",
                f"{self.hosting.instance_type!r} is not supported by {self.model_id} {self.version}; "
                f"supported: {', '.join(spec.instance_types)}",
            )
        return self


def _with_instance_type(hosting: Any, default: str) -> Any:
    """``hosting`` with the spec's default instance type where it names none; None when unchanged."""
    if hosting is None:
        return {"type": "realtime", "instance_type": default}
    if isinstance(hosting, dict) and hosting.get("type") != "serverless" and "instance_type" not in hosting:
        return {**hosting, "instance_type": default}
    if (
        isinstance(hosting, BaseModel)
        and hosting.type != "serverless"
        and "instance_type" not in hosting.model_fields_set
    ):
        return hosting.model_copy(update={"instance_type": default})
    return None


def _serverless_refusal(spec: JumpStartSpec) -> str:
    """Why serverless cannot host this model, from the spec's facts."""
    choose = f"use hosting.type realtime or async (default instance type {spec.default_instance_type})"
    if all(is_gpu_instance(instance_type) for instance_type in spec.instance_types):
        return f"serverless has no GPU and {spec.model_id} supports only GPU instance types: {choose}"
    if spec.network_isolation:
        return (
            f"serverless endpoints cannot run with network isolation, which {spec.model_id} runs with "
            f"(it needs no network at serving): {choose}"
        )
    return (
        f"JumpStart validates {spec.model_id} on instance types only, and serverless memory (6 GB at "
        f"most) is not one of them: {choose}"
    )
