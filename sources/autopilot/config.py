"""The config entry of an Autopilot model (`source: autopilot`): AutoML V2 on a dataset."""

from typing import Literal

from pydantic import Field, model_validator

from stacks.config.base import invalid
from stacks.config.datasets import DatasetSource

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
