"""The optional ``datasets:`` section: how each dataset is prepared before its models train on it.

A dataset is defined by the models that use it (DatasetSource below, and dataset_definitions merges
what they say); this section only says which job turns its raw prefix into the curated layout. No
entry means ``prepare: glue``.

    datasets:
      churn: {prepare: processing, instance_type: ml.m5.xlarge}
      fraud: {prepare: data_wrangler, flow: flows/fraud.flow, output_node: <node_id>}
"""

from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import Field, model_validator

from stacks.config.base import MediaType, StrictModel, invalid
from stacks.config.hosting import INSTANCE_TYPE, Hosting, ServerlessHosting

# Where `flow`, entry_point and dockerfile paths start: the project (the folder with cdk.json).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATASET = r"^[a-z0-9][a-z0-9_-]{0,62}$"
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


class DatasetSource(StrictModel):
    """What the custom sources share: a dataset under the raw bucket, a target, hosting, a trigger."""

    dataset: str = Field(pattern=DATASET, description="Raw data lives under <raw bucket>/<dataset>/.")
    target: str = Field(min_length=1, description="The column to predict.")
    hosting: Hosting = Field(default_factory=ServerlessHosting, description="Default serverless.")
    trigger: Literal["on_upload", "manual"] = Field(default="on_upload", description="Default on_upload.")
    content_types: list[MediaType] = Field(
        default_factory=lambda: ["text/csv"],
        min_length=1,
        description="Request media types the route accepts. Default text/csv (rows without a header).",
    )

    @property
    def resolved_content_types(self) -> list[str]:
        return self.content_types


class DatasetDefinition(NamedTuple):
    """What a dataset is, for its one Glue job: every model on the dataset agrees on it."""

    target: str
    features: list[str] | None = None
    column_types: dict[str, str] | None = None
    validation_fraction: float | None = None


# The fields that say what a dataset is; a model defines those it has (Autopilot only the target).
DEFINITION_FIELDS = DatasetDefinition._fields


def defined_fields(model: DatasetSource) -> dict[str, Any]:
    return {name: getattr(model, name) for name in DEFINITION_FIELDS if hasattr(model, name)}


def dataset_definitions(models: dict[str, DatasetSource]) -> dict[str, DatasetDefinition]:
    """Each dataset's definition, merged from the models using it; the first disagreement is an error."""
    merged: dict[str, dict[str, tuple[str, Any]]] = {}
    for label, model in models.items():
        fields = merged.setdefault(model.dataset, {})
        for name, value in defined_fields(model).items():
            if name not in fields:
                fields[name] = (label, value)
                continue
            first, agreed = fields[name]
            if value != agreed:
                raise invalid(
                    f"models.{label}.{name}",
                    f"models {first!r} and {label!r} share dataset {model.dataset!r} but not its {name} "
                    f"({agreed!r} vs {value!r}): models on one dataset must agree on what it is "
                    "(target, features, column_types, validation_fraction); use another dataset name",
                )
    return {
        dataset: DatasetDefinition(**{name: value for name, (_label, value) in fields.items()})
        for dataset, fields in merged.items()
    }
