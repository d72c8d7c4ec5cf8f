"""The config entry of a custom-trained model (`source: training`): SageMaker training on a dataset."""

from typing import Any, Literal

from pydantic import Field, model_validator

from sources.training.tuning_config import TuningSettings, check_ranges
from stacks.config.base import invalid
from stacks.config.datasets import PROJECT_ROOT, DatasetSource
from stacks.config.hosting import INSTANCE_TYPE

COLUMN_TYPES = Literal["int", "double", "string", "boolean"]
# XGBoost metrics where lower is better; every other metric gates with >=.
LOWER_IS_BETTER = {"rmse", "rmsle", "mae", "mape", "logloss", "mlogloss", "error", "merror", "mphe"}
# Metrics that lie between 0 and 1: a min_improvement of 1 or more could never be met.
UNIT_INTERVAL = {"auc", "aucpr", "accuracy", "f1", "precision", "recall", "error", "merror", "map", "ndcg"}
DEFAULT_HYPERPARAMETERS = {
    "objective": "binary:logistic",
    "num_round": "100",
    "max_depth": "5",
    "eta": "0.2",
    "eval_metric": "auc",
}

# The training instance a model gets without instance_type: one each algorithm's containers accept.
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
GPU_INSTANCE_TYPE = "ml.g5.xlarge"  # one NVIDIA A10G, the smallest current GPU type SageMaker trains on
GPU_ALGORITHMS = ("huggingface",)  # their training containers are GPU builds only
ALGORITHMS = Literal["xgboost", "script", "sklearn", "pytorch", "tensorflow", "huggingface", "container"]
# Algorithms that run a Python script in a framework's container (SageMaker script mode).
SCRIPT_FRAMEWORKS = ("sklearn", "pytorch", "tensorflow", "huggingface")
ECR_IMAGE = (
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$"
)
# Settings that only some algorithms take: (field, the algorithms that take it).
ALGORITHM_FIELDS = {
    "xgboost_version": ("xgboost", "script"),
    "framework_version": SCRIPT_FRAMEWORKS,
    "entry_point": ("sklearn", "pytorch", "tensorflow", "huggingface"),
    "base_model": ("huggingface",),
    "task": ("huggingface",),
    "token_secret": ("huggingface",),
    "image_uri": ("container",),
    "dockerfile": ("container",),
    "metric_definitions": ("container", "sklearn", "pytorch", "tensorflow", "huggingface"),
}


class TrainingModel(DatasetSource):
    """Glue-cleaned data trained by a SageMaker training job, gated, registered and deployed."""

    source: Literal["training"]
    features: list[str] | None = Field(default=None, description="Default: inferred from the data.")
    column_types: dict[str, COLUMN_TYPES] = Field(default_factory=dict, description="Default: inferred.")
    algorithm: ALGORITHMS = Field(
        default="xgboost",
        description="xgboost (built-in, the default), script (XGBoost script mode), sklearn, pytorch or "
        "tensorflow (a script in that framework's container), huggingface (fine-tune a hub model), "
        "container (your own training and serving image).",
    )
    xgboost_version: str = Field(default="3.0-5", pattern=r"^\d+\.\d+-\d+$", description="Default 3.0-5.")
    framework_version: str | None = Field(
        default=None,
        description="sklearn, pytorch, tensorflow: the container's version; huggingface: transformers'. "
        "Default: the newest in the image table.",
    )
    entry_point: str | None = Field(
        default=None,
        description="Your training script, relative to the project root. Default: the kit's sample for "
        "the framework in jobs/training/. Its folder's .py files ship with it.",
    )
    base_model: str | None = Field(
        default=None, pattern=r"^[\w.-]+(/[\w.-]+)?$", description="huggingface: the hub checkpoint."
    )
    task: Literal["text-classification", "image-classification"] | None = Field(
        default=None, description="huggingface: what the fine-tuned model does."
    )
    token_secret: str | None = Field(
        default=None, description="huggingface: Secrets Manager secret holding HF_TOKEN, for gated models."
    )
    image_uri: str | None = Field(
        default=None, pattern=ECR_IMAGE, description="container: your ECR image (training and serving)."
    )
    dockerfile: str | None = Field(
        default=None,
        description="container: a folder with a Dockerfile, relative to the project root; CDK builds it "
        "at deploy (Docker needed then, not at synth).",
    )
    metric_definitions: dict[str, str] | None = Field(
        default=None,
        description="Metric name -> regex over the job's logs. Default: the kit's samples' lines "
        "(validation-auc:0.83). Required for container.",
    )
    hyperparameters: dict[str, str | int | float] | None = Field(
        default=None, description="Default: xgboost's defaults for xgboost and script, none otherwise."
    )
    tuning: TuningSettings | None = Field(
        default=None, description="A hyperparameter tuning job instead of one training job. Default none."
    )
    instance_type: str = Field(
        default=DEFAULT_INSTANCE_TYPE,
        pattern=INSTANCE_TYPE,
        description=f"Default {DEFAULT_INSTANCE_TYPE}; {GPU_INSTANCE_TYPE} for huggingface, whose training "
        "containers need a GPU.",
    )
    max_runtime: int = Field(default=3600, ge=60, le=432000, description="Seconds. Default 3600.")
    metric: str = Field(default="validation:auc", pattern=r"^(train|validation):[a-z0-9@_-]+$")
    threshold: float = Field(default=0.75, description="The gate: metric must reach it. Default 0.75.")
    min_improvement: float = Field(
        default=0.0,
        allow_inf_nan=False,
        description="How much the candidate's metric must beat the champion's (the model in service) by, "
        "in the metric's units. Default 0: any improvement; a tie keeps the champion.",
    )
    validation_fraction: float = Field(default=0.2, gt=0, lt=1, description="Default 0.2.")

    @property
    def gate_lower_is_better(self) -> bool:
        return self.metric.split(":", 1)[1] in LOWER_IS_BETTER

    @property
    def is_xgboost(self) -> bool:
        return self.algorithm in ("xgboost", "script")

    @model_validator(mode="before")
    @classmethod
    def _defaults_of_the_algorithm(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        algorithm = data.get("algorithm", "xgboost")
        if data.get("hyperparameters") is None:
            xgboost = algorithm in ("xgboost", "script")
            data = {**data, "hyperparameters": dict(DEFAULT_HYPERPARAMETERS) if xgboost else {}}
        if data.get("instance_type") is None and algorithm in GPU_ALGORITHMS:
            data = {**data, "instance_type": GPU_INSTANCE_TYPE}
        return data

    @model_validator(mode="after")
    def _settings_fit_the_algorithm(self) -> "TrainingModel":
        for name, algorithms in ALGORITHM_FIELDS.items():
            value = getattr(self, name)
            given = value is not None and value != type(self).model_fields[name].default
            if given and self.algorithm not in algorithms:
                raise invalid(
                    name, f"{name} is for algorithm {' or '.join(algorithms)}, not {self.algorithm}"
                )
        if self.algorithm == "container":
            if bool(self.image_uri) == bool(self.dockerfile):
                raise invalid(
                    "image_uri",
                    "a container model needs exactly one of image_uri (an ECR image) or dockerfile "
                    "(a folder with a Dockerfile that CDK builds)",
                )
            if not self.metric_definitions or self.metric not in self.metric_definitions:
                raise invalid(
                    "metric_definitions",
                    f"a container model must say how its logs report {self.metric!r}: "
                    f"metric_definitions: {{{self.metric!r}: '<regex with one group>'}}",
                )
        if self.algorithm == "huggingface" and not (self.base_model and self.task):
            raise invalid("base_model", "algorithm huggingface needs base_model (a hub checkpoint) and task")
        if self.entry_point and not (PROJECT_ROOT / self.entry_point).is_file():
            raise invalid("entry_point", f"no file {self.entry_point} under the project root {PROJECT_ROOT}")
        if self.tuning:
            self._check_tuning()
        if self.dockerfile and not (PROJECT_ROOT / self.dockerfile / "Dockerfile").is_file():
            raise invalid(
                "dockerfile", f"no Dockerfile in {self.dockerfile} under the project root {PROJECT_ROOT}"
            )
        return self

    def _check_tuning(self) -> None:
        """The gate reads the best job's own metric: the objective must be the gated metric."""
        check_ranges(self.algorithm, self.tuning)
        direction = "Minimize" if self.gate_lower_is_better else "Maximize"
        objective = self.tuning.objective
        if objective and (objective.metric, objective.direction) != (self.metric, direction):
            raise invalid(
                "tuning.objective",
                f"the gate reads the best job's {self.metric}, so the objective must be "
                f"{{metric: {self.metric}, direction: {direction}}} (or left out)",
            )

    @property
    def resolved_content_types(self) -> list[str]:
        # A fine-tuned text model takes the HF inference container's JSON ({"inputs": ...}).
        if self.algorithm == "huggingface" and "content_types" not in self.model_fields_set:
            return ["application/json"] if self.task == "text-classification" else ["image/jpeg", "image/png"]
        return self.content_types

    @model_validator(mode="after")
    def _improvement_can_be_met(self) -> "TrainingModel":
        metric_name = self.metric.split(":", 1)[1]
        if self.min_improvement < 0:
            raise invalid(
                "min_improvement",
                f"min_improvement {self.min_improvement} would let a candidate worse than the champion "
                "replace it: use 0 (any improvement, the default) or more, e.g. 0.005",
            )
        if metric_name in UNIT_INTERVAL and self.min_improvement >= 1:
            raise invalid(
                "min_improvement",
                f"min_improvement {self.min_improvement} can never be met: {self.metric} lies between 0 "
                "and 1, so no candidate could replace the champion; use a small margin such as 0.005",
            )
        return self

    @model_validator(mode="after")
    def _consistent(self) -> "TrainingModel":
        if self.features and self.target in self.features:
            raise invalid("features", f"the target {self.target!r} cannot also be a feature")
        if not self.is_xgboost:
            return self
        metric_name = self.metric.split(":", 1)[1]
        eval_metrics = str(self.hyperparameters.get("eval_metric", "")).split(",")
        if metric_name not in eval_metrics:
            raise invalid(
                "metric",
                f"{self.metric!r} is never computed: add {metric_name!r} to "
                f"hyperparameters.eval_metric (now {','.join(eval_metrics)!r})",
            )
        return self
