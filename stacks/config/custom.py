"""Config entries of the custom-trained sources: SageMaker training and Autopilot."""

from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import Field, model_validator

from stacks.config.base import MediaType, StrictModel, invalid
from stacks.config.hosting import INSTANCE_TYPE, Hosting, ServerlessHosting
from stacks.config.tuning import TuningSettings, check_ranges

DATASET = r"^[a-z0-9][a-z0-9_-]{0,62}$"
COLUMN_TYPES = Literal["int", "double", "string", "boolean"]
# XGBoost metrics where lower is better; every other metric gates with >=.
LOWER_IS_BETTER = {"rmse", "rmsle", "mae", "mape", "logloss", "mlogloss", "error", "merror", "mphe"}
DEFAULT_HYPERPARAMETERS = {
    "objective": "binary:logistic",
    "num_round": "100",
    "max_depth": "5",
    "eta": "0.2",
    "eval_metric": "auc",
}


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

    @model_validator(mode="after")
    def _hosting_a_pipeline_can_give(self) -> "DatasetSource":
        # The pipeline's deploy Lambda creates these endpoints at run time, after CloudFormation has run,
        # so there is no variant yet for an autoscaling target to register (see the README).
        if getattr(self.hosting, "autoscaling", None) is not None:
            raise invalid(
                "hosting.autoscaling",
                "endpoints that a training or Autopilot pipeline creates are not autoscaled yet: "
                "remove autoscaling and size initial_count instead",
            )
        return self


# Where entry_point and dockerfile paths start: the project (the folder with cdk.json).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
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
        default="ml.m5.xlarge", pattern=INSTANCE_TYPE, description="Default ml.m5.xlarge."
    )
    max_runtime: int = Field(default=3600, ge=60, le=432000, description="Seconds. Default 3600.")
    metric: str = Field(default="validation:auc", pattern=r"^(train|validation):[a-z0-9@_-]+$")
    threshold: float = Field(default=0.75, description="The gate: metric must reach it. Default 0.75.")
    validation_fraction: float = Field(default=0.2, gt=0, lt=1, description="Default 0.2.")

    @property
    def gate_lower_is_better(self) -> bool:
        return self.metric.split(":", 1)[1] in LOWER_IS_BETTER

    @property
    def is_xgboost(self) -> bool:
        return self.algorithm in ("xgboost", "script")

    @model_validator(mode="before")
    @classmethod
    def _default_hyperparameters(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("hyperparameters") is None:
            xgboost = data.get("algorithm", "xgboost") in ("xgboost", "script")
            return {**data, "hyperparameters": dict(DEFAULT_HYPERPARAMETERS) if xgboost else {}}
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


PROBLEM_OBJECTIVES = {
    "BinaryClassification": {"Accuracy", "AUC", "BalancedAccuracy", "F1", "Precision", "Recall", "LogLoss"},
    "MulticlassClassification": {
        "Accuracy",
        "BalancedAccuracy",
        "F1macro",
        "PrecisionMacro",
        "RecallMacro",
        "LogLoss",
    },
    "Regression": {"MAE", "MSE", "R2", "RMSE"},
}
CLASSIFICATION_OUTPUTS = {"predicted_label", "probability", "labels", "probabilities"}
InferenceKey = Literal["predicted_label", "probability", "labels", "probabilities"]


class AutopilotModel(DatasetSource):
    """SageMaker Autopilot (AutoML V2) on the curated dataset; its best candidate is deployed."""

    source: Literal["autopilot"]
    problem_type: Literal["BinaryClassification", "MulticlassClassification", "Regression"] | None = Field(
        default=None, description="Default: Autopilot infers it."
    )
    objective: str | None = Field(default=None, description="Default: Autopilot's for the problem type.")
    # ENSEMBLING by default: its best candidate is one container, which serverless (the default
    # hosting) can serve; AUTO and HYPERPARAMETER_TUNING can yield a 2-3 container pipeline.
    mode: Literal["AUTO", "ENSEMBLING", "HYPERPARAMETER_TUNING"] = Field(
        default="ENSEMBLING", description="Default ENSEMBLING (one container, servable serverless)."
    )
    max_candidates: int = Field(default=10, ge=1, le=250, description="Default 10.")
    max_runtime_per_job: int = Field(default=1800, ge=120, description="Seconds. Default 1800.")
    max_total_runtime: int = Field(default=14400, ge=3600, le=2592000, description="Seconds. Default 14400.")
    inference_output: list[InferenceKey] | None = Field(
        default=None,
        min_length=1,
        description="What the endpoint answers, in order. Default: predicted_label and probability for "
        "classification, predicted_label for Regression or an inferred problem type.",
    )

    @property
    def resolved_inference_output(self) -> list[str]:
        if self.inference_output:
            return list(self.inference_output)
        if self.problem_type in ("BinaryClassification", "MulticlassClassification"):
            return ["predicted_label", "probability"]
        return ["predicted_label"]

    @model_validator(mode="after")
    def _valid_pairs(self) -> "AutopilotModel":
        if self.objective:
            if not self.problem_type:
                raise invalid(
                    "problem_type",
                    "an objective needs a problem_type (BinaryClassification, "
                    "MulticlassClassification or Regression)",
                )
            allowed = PROBLEM_OBJECTIVES[self.problem_type]
            if self.objective not in allowed:
                raise invalid(
                    "objective",
                    f"{self.objective!r} does not fit {self.problem_type}; "
                    f"allowed: {', '.join(sorted(allowed))}",
                )
        if self.max_runtime_per_job > self.max_total_runtime:
            raise invalid(
                "max_runtime_per_job",
                f"{self.max_runtime_per_job} s is longer than max_total_runtime ({self.max_total_runtime} s)",
            )
        outputs = self.inference_output or []
        if len(set(outputs)) != len(outputs):
            raise invalid("inference_output", f"{outputs} names a key twice; list each once")
        if self.problem_type == "Regression" and set(outputs) - {"predicted_label"}:
            raise invalid("inference_output", "a Regression model only outputs predicted_label")
        if self.hosting.type == "serverless" and self.mode != "ENSEMBLING":
            raise invalid(
                "hosting.type",
                f"serverless endpoints cannot host an inference pipeline, and mode {self.mode} can give "
                "a best candidate of 2-3 containers: set mode: ENSEMBLING (one container) or "
                "hosting type realtime or async",
            )
        return self


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
