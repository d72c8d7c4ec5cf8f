"""Config entries of the custom-trained sources: SageMaker training and Autopilot."""

from typing import Any, Literal, NamedTuple

from pydantic import Field, model_validator

from stacks.config.base import MediaType, StrictModel, invalid
from stacks.config.hosting import INSTANCE_TYPE, Hosting, ServerlessHosting

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


class TrainingModel(DatasetSource):
    """Glue-cleaned data trained by a SageMaker training job, gated, registered and deployed."""

    source: Literal["training"]
    features: list[str] | None = Field(default=None, description="Default: inferred from the data.")
    column_types: dict[str, COLUMN_TYPES] = Field(default_factory=dict, description="Default: inferred.")
    algorithm: Literal["xgboost", "script"] = Field(default="xgboost", description="Default xgboost.")
    xgboost_version: str = Field(default="3.0-5", pattern=r"^\d+\.\d+-\d+$", description="Default 3.0-5.")
    hyperparameters: dict[str, str | int | float] = Field(
        default_factory=lambda: dict(DEFAULT_HYPERPARAMETERS)
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

    @model_validator(mode="after")
    def _consistent(self) -> "TrainingModel":
        if self.features and self.target in self.features:
            raise invalid("features", f"the target {self.target!r} cannot also be a feature")
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
