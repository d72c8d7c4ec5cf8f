"""The samples' shared pieces: metric lines and their regexes, channel reading, scoring, arguments."""

import re

import numpy as np
import pytest

from jobs.training import churn_data, metrics


def test_a_printed_metric_is_read_back_by_its_definition(capsys):
    line = metrics.report("validation", "auc", 0.8312)
    assert capsys.readouterr().out == "validation-auc:0.831200\n" and line == "validation-auc:0.831200"
    [definition] = metrics.metric_definitions(["validation:auc"])
    assert definition == {"Name": "validation:auc", "Regex": "validation-auc:([-+0-9.eE]+)"}
    assert metrics.read_metrics(line, [definition]) == {"validation:auc": pytest.approx(0.8312)}


def test_the_regex_is_the_one_the_existing_xgboost_steps_use():
    # sources/training/training_steps.py writes f"{channel}-{name}:([-+0-9.eE]+)" for script mode.
    assert metrics.metric_regex("train", "logloss") == "train-logloss:([-+0-9.eE]+)"


def test_a_bare_name_gets_every_channel_and_duplicates_are_dropped():
    names = [d["Name"] for d in metrics.metric_definitions(["auc", "validation:auc", "validation:accuracy"])]
    assert names == ["train:auc", "validation:auc", "validation:accuracy"]


def test_no_definition_reads_the_baseline_lines_and_the_last_value_wins():
    definitions = metrics.metric_definitions(["auc", "accuracy"])
    log = "\n".join(
        [
            metrics.metric_line("validation", "auc", 0.6),
            metrics.baseline_line("validation:auc", 0.5),
            metrics.baseline_line("validation:accuracy", 0.68),
            metrics.metric_line("validation", "auc", 0.8),
        ]
    )
    assert metrics.read_metrics(log, definitions) == {"validation:auc": pytest.approx(0.8)}


def test_values_in_every_float_form_are_matched_whole():
    regex = metrics.metric_regex("train", "loss")
    for value in (1e-05, -2.5, 3.0):
        assert float(re.search(regex, f"train-loss:{value!r}").group(1)) == value


def test_a_malformed_metric_name_is_refused():
    with pytest.raises(ValueError, match="validation:auc"):
        metrics.report_all({"auc": 0.5})


def test_auc_matches_its_definition_with_ties():
    labels = np.array([0, 0, 1, 1, 0, 1])
    scores = np.array([0.1, 0.4, 0.4, 0.8, 0.3, 0.9])
    pairs = [(p, n) for p in scores[labels == 1] for n in scores[labels == 0]]
    expected = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert churn_data.roc_auc(labels, scores) == pytest.approx(expected)
    assert churn_data.roc_auc(labels, np.full(6, 0.3)) == 0.5


def test_a_channel_reads_blanks_as_missing_and_skips_marker_files(tmp_path):
    (tmp_path / "part-0.csv").write_text("1,2.5,\n0,,3\n")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".part-0.csv.crc").write_text("x")
    labels, features = churn_data.read_channel(tmp_path)
    assert labels.tolist() == [1, 0] and np.isnan(features[0, 1]) and np.isnan(features[1, 0])


def test_a_channel_without_labels_or_data_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no CSV data files"):
        churn_data.read_channel(tmp_path)
    (tmp_path / "part-0.csv").write_text(",1,2\n")
    with pytest.raises(ValueError, match="no label"):
        churn_data.read_channel(tmp_path)


def test_the_baseline_predicts_the_training_majority():
    baseline = churn_data.majority_baseline(np.array([0, 0, 0, 1]), np.array([0, 1, 0, 0, 1]))
    assert baseline == {"validation:auc": 0.5, "validation:accuracy": pytest.approx(0.6)}


def test_script_mode_arguments_are_typed_like_the_defaults():
    defaults = {"epochs": 3, "learning_rate": 0.1, "task": "text-classification"}
    parsed = churn_data.parse_hyperparameters(["--epochs", "7", "--learning_rate=0.5"], defaults)
    assert parsed == {"epochs": 7, "learning_rate": 0.5, "task": "text-classification"}
    with pytest.raises(ValueError, match="unknown hyperparameter 'epoch'"):
        churn_data.parse_hyperparameters(["--epoch", "7"], defaults)
    with pytest.raises(ValueError, match="not a int"):
        churn_data.parse_hyperparameters(["--epochs", "many"], defaults)


def test_requests_need_csv_and_the_right_width():
    assert churn_data.request_features(b"1,,3\n4,5,6", "text/csv; charset=utf-8", 3).shape == (2, 3)
    with pytest.raises(ValueError, match="text/csv"):
        churn_data.request_features("1,2,3", "application/json")
    with pytest.raises(ValueError, match="needs 4 features"):
        churn_data.request_features("1,2,3", "text/csv", 4)


def test_a_field_that_is_not_a_number_is_refused_not_read_as_missing():
    with pytest.raises(ValueError, match="row 2: features must be numbers"):
        churn_data.parse_rows("1,2\nmonth-to-month,3")
