"""What the hub sources (PyTorch Hub, TensorFlow Hub) share: a packaging job and an isolated endpoint."""

from typing import Literal

from pydantic import Field, model_validator

from stacks.config.base import MediaType, StrictModel, invalid
from stacks.config.hosting import INSTANCE_TYPE, Hosting, RealtimeHosting, VpcSettings, is_gpu_instance

IMAGE_CONTENT_TYPES = ["image/jpeg", "image/png", "application/x-image"]


class PackagingSettings(StrictModel):
    """The Processing job that fetches the hub model once and writes its model.tar.gz."""

    instance_type: str = Field(
        default="ml.m5.xlarge", pattern=INSTANCE_TYPE, description="Default ml.m5.xlarge."
    )
    volume_gb: int = Field(default=30, ge=1, le=16384, description="Default 30.")
    max_runtime: int = Field(default=3600, ge=60, le=432000, description="Seconds. Default 3600.")


class HubModel(StrictModel):
    """A hub model packaged in the user's account, then served with network isolation."""

    task: Literal["image-classification", "object-detection"]
    framework_version: str | None = Field(
        default=None, description="The inference DLC's framework version. Default: the newest in the table."
    )
    content_types: list[MediaType] | None = Field(
        default=None,
        min_length=1,
        description="Request media types. Default JPEG, PNG and application/x-image.",
    )
    hosting: Hosting = Field(
        default_factory=lambda: RealtimeHosting(type="realtime"),
        description="Default realtime, one ml.m5.large. Not serverless: it has no network isolation.",
    )
    vpc: VpcSettings | None = None
    packaging: PackagingSettings = Field(default_factory=PackagingSettings)

    @property
    def resolved_content_types(self) -> list[str]:
        return self.content_types or IMAGE_CONTENT_TYPES

    @property
    def gpu(self) -> bool:
        return self.hosting.type != "serverless" and is_gpu_instance(self.hosting.instance_type)

    @model_validator(mode="after")
    def _isolated_hosting(self) -> "HubModel":
        if self.hosting.type == "serverless":
            raise invalid(
                "hosting.type",
                "serverless endpoints cannot run with network isolation, which every packaged hub model "
                "uses (its weights are in model.tar.gz): use realtime or async",
            )
        return self
