"""Autopilot config entries: defaults, and every bad pair stopped with a message naming the key."""

import pytest
import yaml

from sources.autopilot.config import AutopilotModel
from tests.config.test_config import model, problems

ENTRY = "source: autopilot\ndataset: churn\ntarget: churned\n"


def entry(extra: str = "") -> str:
    return model(ENTRY + extra)


def test_minimal_entry_gets_defaults_that_deploy_serverless():
    config = AutopilotModel.model_validate({"source": "autopilot", "dataset": "churn", "target": "churned"})
    assert (config.mode, config.hosting.type, config.trigger) == ("ENSEMBLING", "serverless", "on_upload")
    assert (config.problem_type, config.objective) == (None, None)
    assert (config.max_candidates, config.max_runtime_per_job, config.max_total_runtime) == (10, 1800, 14400)
    assert config.resolved_inference_output == ["predicted_label"]


@pytest.mark.parametrize(
    ("extra", "outputs"),
    [
        ("problem_type: BinaryClassification\n", ["predicted_label", "probability"]),
        ("problem_type: MulticlassClassification\n", ["predicted_label", "probability"]),
        ("problem_type: Regression\n", ["predicted_label"]),
        ("inference_output: [probabilities, labels]\n", ["probabilities", "labels"]),
    ],
)
def test_inference_output_default_follows_the_problem_type(extra, outputs):
    data = yaml.safe_load(ENTRY + extra)
    assert AutopilotModel.model_validate(data).resolved_inference_output == outputs


@pytest.mark.parametrize(
    "extra",
    [
        "mode: HYPERPARAMETER_TUNING\nhosting: {type: realtime}\n",
        "mode: AUTO\nhosting: {type: async}\n",
        "problem_type: MulticlassClassification\nobjective: F1macro\n",
        "problem_type: Regression\nobjective: MAE\ninference_output: [predicted_label]\n",
        "max_runtime_per_job: 120\nmax_total_runtime: 3600\nmax_candidates: 250\n",
    ],
)
def test_valid_entries_load(extra):
    AutopilotModel.model_validate(yaml.safe_load(ENTRY + extra))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("objective: AUC\n", "models.m.problem_type: an objective needs a problem_type"),
        (
            "problem_type: Regression\nobjective: AUC\n",
            "models.m.objective: 'AUC' does not fit Regression; allowed: MAE, MSE, R2, RMSE",
        ),
        ("problem_type: BinaryClassification\nobjective: RMSE\n", "models.m.objective: 'RMSE' does not fit"),
        ("problem_type: MulticlassClassification\nobjective: F1\n", "models.m.objective: 'F1' does not fit"),
        (
            "max_runtime_per_job: 7200\nmax_total_runtime: 3600\n",
            "models.m.max_runtime_per_job: 7200 s is longer than max_total_runtime (3600 s)",
        ),
        ("max_runtime_per_job: 60\n", "models.m.max_runtime_per_job: 60 is not allowed"),
        ("max_total_runtime: 600\n", "models.m.max_total_runtime: 600 is not allowed"),
        ("max_total_runtime: 2600000\n", "models.m.max_total_runtime: 2600000 is not allowed"),
        ("max_candidates: 0\n", "models.m.max_candidates: 0 is not allowed"),
        ("max_candidates: 251\n", "models.m.max_candidates: 251 is not allowed"),
        (
            "problem_type: Regression\ninference_output: [predicted_label, probability]\n",
            "models.m.inference_output: a Regression model only outputs predicted_label",
        ),
        ("inference_output: [score]\n", "models.m.inference_output.0: 'score' is not allowed"),
        (
            "inference_output: [labels, labels]\n",
            "models.m.inference_output: ['labels', 'labels'] names a key",
        ),
        ("inference_output: []\n", "models.m.inference_output: List should have at least 1 item"),
        ("mode: AUTO\n", "models.m.hosting.type: serverless endpoints cannot host an inference pipeline"),
        (
            "mode: HYPERPARAMETER_TUNING\nhosting: {type: serverless}\n",
            "models.m.hosting.type: serverless endpoints cannot host an inference pipeline, and mode "
            "HYPERPARAMETER_TUNING can give a best candidate of 2-3 containers: set mode: ENSEMBLING",
        ),
        ("mode: FAST\n", "models.m.mode: 'FAST' is not allowed: Input should be 'AUTO', 'ENSEMBLING'"),
        ("problem_type: Ranking\n", "models.m.problem_type: 'Ranking' is not allowed"),
        ("objetive: AUC\n", "models.m.objetive: unknown key (did you mean 'objective'?)"),
        ("hosting: {type: realtime, memory_mb: 2048}\n", "models.m.hosting.memory_mb: unknown key"),
    ],
    ids=[
        "objective-without-problem-type",
        "objective-regression",
        "objective-binary",
        "objective-multiclass",
        "runtime-per-job-above-total",
        "runtime-per-job-too-short",
        "total-runtime-too-short",
        "total-runtime-too-long",
        "no-candidates",
        "too-many-candidates",
        "regression-probability",
        "unknown-output-key",
        "output-key-twice",
        "no-output-key",
        "auto-mode-on-serverless",
        "tuning-mode-on-serverless",
        "unknown-mode",
        "unknown-problem-type",
        "typo",
        "hosting-key-of-another-type",
    ],
)
def test_bad_pairs_name_the_key_and_what_is_allowed(tmp_path, extra, expected):
    lines = problems(tmp_path, entry(extra))
    assert any(line.startswith(expected) for line in lines), lines


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("source: autopilot\ndataset: churn\n", "models.m.target: is required"),
        ("source: autopilot\ntarget: churned\n", "models.m.dataset: is required"),
        (
            "source: autopilot\ndataset: Churn Data\ntarget: t\n",
            "models.m.dataset: 'Churn Data' is not allowed",
        ),
    ],
)
def test_dataset_and_target_are_required(tmp_path, body, expected):
    lines = problems(tmp_path, model(body))
    assert any(line.startswith(expected) for line in lines), lines
