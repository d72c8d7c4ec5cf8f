"""The optional ``datasets:`` section: how each dataset is prepared before its models train on it.

A dataset is defined by the models that use it (stacks/config/custom.py); this section only says which
job turns its raw prefix into the curated layout. No entry means ``prepare: glue``, as before.

    datasets:
      churn: {prepare: processing, instance_type: ml.m5.xlarge}
      fraud: {prepare: data_wrangler, flow: flows/fraud.flow, output_node: <node_id>}
"""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from stacks.config.base import StrictModel, invalid
from stacks.config.hosting import INSTANCE_TYPE

# Where `flow` paths start: the project (the folder with cdk.json), as for entry_point and dockerfile.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
PREPARE_KINDS = ("glue", "processing", "data_wrangler")
# The instance types a Data Wrangler processing job runs on (SageMaker developer guide, "Instances").
DATA_WRANGLER_INSTANCE_TYPES = (
    "ml.m5.4xlarge",
    "ml.m5.8xlarge",
    "ml.m5.12xlarge",
    "ml.m5.16xlarge",
    "ml.m5.24xlarge",
    "ml.r5.4xlarge",
    "ml.r5.8xlarge",
    "ml.r5.12xlarge",
    "ml.r5.16xlarge",
    "ml.r5.24xlarge",
)
DEFAULT_INSTANCE_TYPES = {"processing": "ml.m5.xlarge", "data_wrangler": "ml.m5.4xlarge"}
# Settings only some ways of preparing take: (field, the kinds that take it).
PREPARE_FIELDS = {
    "workers": ("glue",),
    "instance_type": ("processing", "data_wrangler"),
    "volume_gb": ("processing", "data_wrangler"),
    "max_runtime": ("processing", "data_wrangler"),
    "transform_instance_type": ("data_wrangler",),
    "flow": ("data_wrangler",),
    "output_node": ("data_wrangler",),
}


class DatasetSettings(StrictModel):
    """How one dataset is prepared: a Glue job, a Processing job or a Data Wrangler flow."""

    prepare: Literal["glue", "processing", "data_wrangler"] = Field(
        default="glue",
        description="glue (a Glue 5.0 Flex job, the default); processing (the same PySpark transform as a "
        "SageMaker Processing job on the Spark processing image); data_wrangler (an exported .flow run as a "
        "Processing job on the Data Wrangler image, its output then curated by the same transform).",
    )
    workers: int | None = Field(default=None, ge=2, le=10, description="glue: G.1X workers. Default 2.")
    instance_type: str | None = Field(
        default=None,
        pattern=INSTANCE_TYPE,
        description="processing: default ml.m5.xlarge. data_wrangler: one of "
        f"{', '.join(DATA_WRANGLER_INSTANCE_TYPES)}; default ml.m5.4xlarge.",
    )
    volume_gb: int | None = Field(default=None, ge=1, le=16384, description="Job volume. Default 30.")
    max_runtime: int | None = Field(
        default=None, ge=60, le=432000, description="Seconds before the job is stopped. Default 3600."
    )
    transform_instance_type: str | None = Field(
        default=None,
        pattern=INSTANCE_TYPE,
        description="data_wrangler: the instance of the transform after the flow. Default ml.m5.xlarge.",
    )
    flow: str | None = Field(
        default=None,
        description="data_wrangler: the .flow file, relative to the project root (the folder with "
        "cdk.json), or absolute. Its S3 sources must read s3://<raw bucket>/<dataset>/..., the bucket "
        "written as this environment's raw bucket name or as the placeholder {raw_bucket}.",
    )
    output_node: str | None = Field(
        default=None, min_length=1, description="data_wrangler: the node_id whose default output is kept."
    )

    @model_validator(mode="after")
    def _settings_fit_the_kind(self) -> "DatasetSettings":
        for name, kinds in PREPARE_FIELDS.items():
            if getattr(self, name) is not None and self.prepare not in kinds:
                raise invalid(name, f"{name} applies to prepare: {' or '.join(kinds)}, not {self.prepare}")
        if self.prepare == "data_wrangler":
            for name in ("flow", "output_node"):
                if getattr(self, name) is None:
                    raise invalid(name, "prepare: data_wrangler needs a flow file and its output_node")
            if self.instance_type and self.instance_type not in DATA_WRANGLER_INSTANCE_TYPES:
                raise invalid(
                    "instance_type",
                    f"{self.instance_type!r} is not an instance type Data Wrangler runs on; "
                    f"allowed: {', '.join(DATA_WRANGLER_INSTANCE_TYPES)}",
                )
        return self

    @property
    def resolved_instance_type(self) -> str | None:
        return self.instance_type or DEFAULT_INSTANCE_TYPES.get(self.prepare)

    @property
    def resolved_workers(self) -> int:
        return self.workers or 2

    @property
    def resolved_volume_gb(self) -> int:
        return self.volume_gb or 30

    @property
    def resolved_max_runtime(self) -> int:
        return self.max_runtime or 3600

    @property
    def resolved_transform_instance_type(self) -> str:
        return self.transform_instance_type or DEFAULT_INSTANCE_TYPES["processing"]

    @property
    def flow_path(self) -> Path | None:
        """The flow file's absolute path (relative paths start at the project root)."""
        return None if self.flow is None else PROJECT_ROOT / self.flow


GLUE = DatasetSettings()
