"""How a SageMaker model is hosted: serverless, real-time with autoscaling, or async; in which VPC.

One hosting model serves every SageMaker source (Hugging Face, training, Autopilot).
"""

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from stacks.config.base import StrictModel, invalid

INSTANCE_TYPE = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
GPU_FAMILIES = ("ml.g", "ml.p")


def is_gpu_instance(instance_type: str) -> bool:
    """True for the GPU instance families (ml.g*, ml.p*) that TGI needs."""
    return instance_type.startswith(GPU_FAMILIES)


class SafeUpdates(StrictModel):
    """Blue/green updates with automatic rollback when the new fleet's alarms fire."""

    rollback_latency_ms: int = Field(
        default=10000, ge=1, description="ModelLatency average that rolls an update back. Default 10000."
    )
    baking_seconds: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="How long the new fleet is watched before the old goes. Default 300.",
    )


class DataCapture(StrictModel):
    """A sample of the endpoint's requests and answers, KMS-encrypted in the artifacts bucket under
    ``captures/<model>/``, with a Glue table over them to query with Athena."""

    sampling_percent: int = Field(default=20, ge=1, le=100, description="Of all requests. Default 20.")
    mode: Literal["input", "output", "both"] = Field(default="both", description="Default both.")


class HostedEndpoint(StrictModel):
    """What every hosting type has: safe updates, and data capture where SageMaker supports it."""

    updates: SafeUpdates = Field(default_factory=SafeUpdates)
    capture: DataCapture | None = Field(default=None, description="Default: none captured.")


class ServerlessHosting(HostedEndpoint):
    """Serverless inference: pay per request, CPU only, at most 6 GB of memory."""

    type: Literal["serverless"] = "serverless"
    memory_mb: int = Field(default=2048, description="1024..6144 in steps of 1024. Default 2048.")
    max_concurrency: int = Field(default=5, ge=1, le=200, description="Default 5.")
    provisioned_concurrency: int | None = Field(
        default=None, ge=1, le=200, description="Warm instances kept ready. Default none."
    )

    @field_validator("memory_mb")
    @classmethod
    def _memory_in_steps(cls, value: int) -> int:
        if value not in range(1024, 6145, 1024):
            raise ValueError(
                f"{value} is not allowed: serverless memory_mb must be one of 1024, 2048, ..., 6144"
            )
        return value

    @model_validator(mode="after")
    def _no_capture(self) -> "ServerlessHosting":
        if self.capture is not None:
            raise invalid(
                "capture",
                "serverless endpoints do not support data capture (SageMaker); host the model "
                "realtime or async to capture, or remove capture",
            )
        return self

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> "ServerlessHosting":
        if self.provisioned_concurrency and self.provisioned_concurrency > self.max_concurrency:
            raise ValueError(
                f"provisioned_concurrency ({self.provisioned_concurrency}) must be <= "
                f"max_concurrency ({self.max_concurrency})"
            )
        return self


class Autoscaling(StrictModel):
    """Target tracking on invocations per instance."""

    min: int = Field(default=1, ge=1, description="Default 1.")
    max: int = Field(default=4, ge=1, description="Default 4.")
    target_invocations_per_instance: int = Field(default=100, ge=1, description="Per minute. Default 100.")
    scale_in_cooldown: int = Field(default=300, ge=0, description="Seconds. Default 300.")
    scale_out_cooldown: int = Field(default=60, ge=0, description="Seconds. Default 60.")


class RealtimeHosting(HostedEndpoint):
    """Real-time endpoint on instances, optionally autoscaled."""

    type: Literal["realtime"]
    instance_type: str = Field(
        default="ml.m5.large", pattern=INSTANCE_TYPE, description="Default ml.m5.large."
    )
    initial_count: int = Field(default=1, ge=1, description="Default 1.")
    autoscaling: Autoscaling | None = Field(default=None, description="Default none (fixed count).")

    @model_validator(mode="after")
    def _counts_in_order(self) -> "RealtimeHosting":
        scaling = self.autoscaling
        if scaling and not scaling.min <= self.initial_count <= scaling.max:
            raise ValueError(
                f"autoscaling needs min <= initial_count <= max, got min={scaling.min}, "
                f"initial_count={self.initial_count}, max={scaling.max}"
            )
        return self


class AsyncHosting(HostedEndpoint):
    """Asynchronous inference: queued requests, results in S3, scales to zero when idle."""

    type: Literal["async"]
    instance_type: str = Field(
        default="ml.m5.large", pattern=INSTANCE_TYPE, description="Default ml.m5.large."
    )
    max: int = Field(default=2, ge=1, description="Most instances. Default 2.")
    max_concurrent_invocations_per_instance: int = Field(default=4, ge=1, le=1000, description="Default 4.")
    target_backlog_per_instance: int = Field(default=5, ge=1, description="Default 5.")


Hosting = Annotated[ServerlessHosting | RealtimeHosting | AsyncHosting, Field(discriminator="type")]


class VpcSettings(StrictModel):
    """Subnets and security groups the endpoint's containers run in."""

    subnet_ids: list[str] = Field(min_length=1)
    security_group_ids: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_look_right(self) -> "VpcSettings":
        for key, prefix, values in (
            ("subnet_ids", "subnet-", self.subnet_ids),
            ("security_group_ids", "sg-", self.security_group_ids),
        ):
            for value in values:
                if not re.fullmatch(rf"{prefix}[0-9a-f]{{8,17}}", value):
                    raise invalid(key, f"{value!r} is not a {prefix}… id")
        return self
