"""The PyTorch sample trains for real on the churn data, beats the baseline and serves its artifact."""

import numpy as np
import pytest

from jobs.training import churn_data, metrics

pytestmark = pytest.mark.xdist_group("torch")


@pytest.fixture(scope="module")
def sample():
    # Imported by the worker that runs these tests, not by every worker at collection (torch, ~1.7 s each).
    from jobs.training import pytorch_train

    return pytorch_train


def test_script_mode_beats_the_baseline_and_the_artifact_serves_csv(
    sample, run_script_mode, churn_baseline, curated_churn
):
    results, log, model_dir = run_script_mode(sample, ["--epochs", "40", "--learning_rate", "0.01"])
    assert results["validation:auc"] > churn_baseline["validation:auc"] + 0.2
    assert results["validation:accuracy"] > churn_baseline["validation:accuracy"]
    assert metrics.read_metrics(log, sample.METRIC_DEFINITIONS) == pytest.approx(results, abs=1e-6)
    assert sorted(p.name for p in model_dir.iterdir()) == [sample.SHAPE_FILE, sample.MODEL_FILE]

    labels, features = churn_data.read_channel(curated_churn["validation"])
    body = "\n".join(",".join("" if np.isnan(v) else str(float(v)) for v in row) for row in features)
    model = sample.model_fn(str(model_dir))
    answer, content_type = sample.output_fn(
        sample.predict_fn(sample.input_fn(body, "text/csv"), model), "*/*"
    )
    scores = np.array([float(line) for line in answer.splitlines()])
    assert content_type == "text/csv" and len(scores) == len(labels) and np.isfinite(scores).all()
    assert churn_data.roc_auc(labels, scores) == pytest.approx(results["validation:auc"], abs=1e-3)


def test_the_handlers_refuse_json_and_rows_of_the_wrong_width(sample, run_script_mode):
    with pytest.raises(ValueError, match="text/csv"):
        sample.input_fn('{"instances": []}', "application/json")
    model = sample.ChurnNetwork(feature_count=8, hidden_units=4)
    with pytest.raises(ValueError, match="needs 8 features"):
        sample.predict_fn(sample.input_fn("1,2", "text/csv"), model)
    with pytest.raises(ValueError, match="Accept"):
        sample.output_fn(np.array([0.5]), "application/json")
