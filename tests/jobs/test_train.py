"""XGBoost training on the transform's output of the sample data, script mode and serving."""

import json

import numpy as np
import pytest

# Spark: one JVM per test process, so every Spark test runs in the same xdist worker.
pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def tr():
    # Imported by the worker that runs these tests, not by every worker at collection (XGBoost, ~1.2 s each).
    from jobs.training import train

    return train


# nthread 1: OpenMP threads spin-waiting on a busy 2-core machine turn 0.1 s of training into 10 s.
HYPERPARAMETERS = {
    "nthread": "1",
    "objective": "binary:logistic",
    "num_round": "60",
    "max_depth": "3",
    "eta": "0.1",
    "subsample": "0.8",
    "min_child_weight": "2",
    "eval_metric": "auc,error",
    "seed": "1",
}


def channel(outputs: dict, split: str) -> str:
    return outputs["paths"][f"xgboost_{split}"]


def test_hyperparameters_arrive_as_name_value_pairs(tr):
    argv = ["--num_round", "10", "--eta=0.3", "--eval_metric", "auc,logloss"]
    assert tr.parse_hyperparameter_args(argv) == {
        "num_round": "10",
        "eta": "0.3",
        "eval_metric": "auc,logloss",
    }
    with pytest.raises(ValueError, match="hyperparameter --eta has no value"):
        tr.parse_hyperparameter_args(["--eta"])
    with pytest.raises(ValueError, match="expected --name value pairs, got '10'"):
        tr.parse_hyperparameter_args(["10"])


def test_booster_params_keep_strings_and_split_the_metric_list(tr):
    params = tr.booster_params(
        {"num_round": "5", "eta": "0.2", "eval_metric": "auc, error", "sagemaker_program": "x"}
    )
    assert params == {"eta": "0.2", "eval_metric": ["auc", "error"]}
    with pytest.raises(ValueError, match="num_round is required"):
        tr.num_rounds({"eta": "0.2"})


def test_label_first_csv_skips_marker_files_and_reads_blanks_as_missing(tr, tmp_path):
    (tmp_path / "part-0.csv").write_text("1,2.5,\n0,,3\n")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".part-0.csv.crc").write_bytes(b"\x00crc")
    labels, features = tr.read_label_first_csv(tmp_path)
    assert labels.tolist() == [1.0, 0.0]
    assert np.isnan(features).tolist() == [[False, True], [True, False]]
    (tmp_path / "part-1.csv").write_text(",1,2\n")
    with pytest.raises(ValueError, match="1 rows have no label"):
        tr.read_label_first_csv(tmp_path)
    with pytest.raises(ValueError, match="no CSV data files"):
        tr.read_label_first_csv(tmp_path / "missing")


def test_eval_lines_become_built_in_metric_names(tr):
    line = "[0]\tvalidation-auc:0.5\tvalidation-error@0.7:0.25"
    assert tr.parse_eval_line(line) == {"validation:auc": 0.5, "validation:error@0.7": 0.25}
    assert tr.metric_lines({"validation:auc": 0.8312}) == ["validation-auc:0.831200"]


def test_training_on_the_sample_data_beats_the_majority_class(tr, sample_outputs):
    train_dir, validation_dir = channel(sample_outputs, "train"), channel(sample_outputs, "validation")
    booster, metrics = tr.train(HYPERPARAMETERS, train_dir, validation_dir, verbose=False)
    baseline = tr.majority_class_baseline(HYPERPARAMETERS, train_dir, validation_dir)
    assert set(metrics) == {"train:auc", "train:error", "validation:auc", "validation:error"}
    assert baseline["validation:auc"] == pytest.approx(0.5)
    validation_labels, _ = tr.read_label_first_csv(validation_dir)
    # The baseline predicts the majority class (no churn), so its error is the churn share.
    assert baseline["validation:error"] == pytest.approx(validation_labels.mean())
    assert metrics["validation:auc"] > baseline["validation:auc"] + 0.2
    assert metrics["validation:auc"] > 0.72
    assert metrics["validation:error"] < baseline["validation:error"]
    assert booster.num_boosted_rounds() == 60


def test_script_mode_main_saves_a_servable_model(tr, sample_outputs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SM_CHANNEL_TRAIN", channel(sample_outputs, "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", channel(sample_outputs, "validation"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(tmp_path / "output"))
    argv = [item for name, value in HYPERPARAMETERS.items() for item in (f"--{name}", value)]
    metrics = tr.main(argv)

    printed = capsys.readouterr().out.splitlines()
    assert f"validation-auc:{metrics['validation:auc']:.6f}" in printed
    assert "majority_baseline_validation_auc=0.500000" in printed
    # The baseline must never match the model's metric regex.
    assert [line for line in printed if "validation-auc:" in line and "[" not in line] == [
        f"validation-auc:{metrics['validation:auc']:.6f}"
    ]
    report = json.loads((tmp_path / "output" / "metrics.json").read_text())
    assert report["metrics"] == metrics and report["baseline"]["validation:auc"] == pytest.approx(0.5)

    model = tr.model_fn(str(tmp_path / "model"))
    labels, features = tr.read_label_first_csv(channel(sample_outputs, "validation"))
    body = "\n".join(",".join("" if np.isnan(v) else repr(v) for v in row) for row in features[:5]).encode()
    scores = tr.predict_fn(tr.input_fn(body, "text/csv; charset=utf-8"), model)
    assert scores.shape == (5,) and ((scores > 0) & (scores < 1)).all()
    assert len(tr.output_fn(scores, "text/csv").splitlines()) == 5
    assert json.loads(tr.output_fn(scores, "application/json")) == pytest.approx(scores.tolist())


def test_serving_rejects_other_content_types_and_wrong_feature_counts(tr, sample_outputs, tmp_path):
    booster, _ = tr.train({"num_round": "2", "nthread": "1"}, channel(sample_outputs, "train"), verbose=False)
    tr.save_model(booster, tmp_path)
    model = tr.model_fn(str(tmp_path))
    with pytest.raises(ValueError, match="unsupported content type 'application/json'"):
        tr.input_fn("[1, 2]", "application/json")
    with pytest.raises(ValueError, match="each row needs 8 features"):
        tr.predict_fn(tr.input_fn("1,2,3", "text/csv"), model)
