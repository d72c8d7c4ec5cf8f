"""The scikit-learn sample trains for real on the churn data, beats the baseline and serves its artifact."""

import numpy as np
import pytest

from jobs.training import churn_data, metrics


@pytest.fixture(scope="module")
def sample():
    # Imported by the worker that runs these tests, not by every worker at collection (scikit-learn, ~1.4 s).
    from jobs.training import sklearn_train

    return sklearn_train


def test_script_mode_beats_the_majority_baseline_and_logs_readable_metrics(
    sample, run_script_mode, churn_baseline
):
    results, log, model_dir = run_script_mode(sample, ["--n_estimators", "100", "--max_depth", "3"])
    assert results["validation:auc"] > churn_baseline["validation:auc"] + 0.2
    assert results["validation:accuracy"] > churn_baseline["validation:accuracy"]
    assert metrics.read_metrics(log, sample.METRIC_DEFINITIONS) == pytest.approx(results, abs=1e-6)
    assert "majority_baseline_validation_accuracy=" in log
    assert (model_dir / sample.MODEL_FILE).is_file()


def test_the_artifact_serves_csv_rows_through_the_container_handlers(sample, run_script_mode, curated_churn):
    _, _, model_dir = run_script_mode(sample)
    labels, features = churn_data.read_channel(curated_churn["validation"])
    body = "\n".join(",".join("" if np.isnan(v) else str(float(v)) for v in row) for row in features)
    model = sample.model_fn(str(model_dir))
    answer, content_type = sample.output_fn(
        sample.predict_fn(sample.input_fn(body.encode(), "text/csv"), model), "text/csv"
    )
    scores = np.array([float(line) for line in answer.splitlines()])
    assert content_type == "text/csv" and len(scores) == len(labels)
    assert churn_data.roc_auc(labels, scores) > 0.7  # the served model is the trained one
    with pytest.raises(ValueError, match="needs 8 features"):
        sample.predict_fn(sample.input_fn("1,2,3", "text/csv"), model)


def test_the_hyperparameters_reach_the_model(sample, curated_churn):
    # How long a local tuning search takes is make local's to report (its "tune (local search)" row), not a
    # timed assertion here: this machine's speed drifts by more than a fifth between runs.
    results = sample.train(
        curated_churn["train"],
        curated_churn["validation"],
        hyperparameters={"n_estimators": "100", "max_depth": "3", "learning_rate": "0.1"},
    )
    other = sample.train(
        curated_churn["train"], curated_churn["validation"], hyperparameters={"n_estimators": 20}
    )
    assert other != results


def test_an_unknown_hyperparameter_stops_the_job(sample, run_script_mode):
    with pytest.raises(ValueError, match="unknown hyperparameter 'num_round'"):
        run_script_mode(sample, ["--num_round", "10"])
