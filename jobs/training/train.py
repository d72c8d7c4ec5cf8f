"""XGBoost training for SageMaker script mode, and the one home of the kit's training logic.

In SageMaker (XGBoost framework container 3.0-5, script mode) this file is the entry point:
channels arrive as SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION, hyperparameters as `--name value`
arguments, and the model goes to SM_MODEL_DIR/xgboost-model. The local run imports `train()`.

Data is the Glue job's xgboost/ output: CSV, label first, no header, empty field = missing.
Hyperparameters are strings, as the built-in algorithm receives them (objective, num_round,
max_depth, eta, eval_metric="auc,logloss", ...), and metrics are named as the built-in names
them: "validation:auc", "train:auc". Logs print them as `validation-auc:0.830000`, so the
metric regex `validation-auc:([0-9.]+)` reads them.

Serving: model_fn / input_fn / predict_fn / output_fn take text/csv rows of features (no label)
in schema.json's feature order, categoricals already encoded, and return one score per row.
"""

import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import xgboost as xgb

MODEL_FILE = "xgboost-model"
# Hyperparameters that drive the boosting loop rather than the booster itself.
LOOP_HYPERPARAMETERS = ("num_round", "early_stopping_rounds")
CSV_CONTENT_TYPE = "text/csv"


def data_files(path: str | Path) -> list[Path]:
    """The data files of a channel, skipping hidden and marker files (.crc, _SUCCESS) as SageMaker does."""
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    return [p for p in files if p.stat().st_size > 0]


def read_label_first_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(labels, features) from a headerless, label-first CSV file or directory; blanks become NaN."""
    files = data_files(path)
    if not files:
        raise ValueError(f"no CSV data files in {path}")
    data = np.vstack([np.genfromtxt(f, delimiter=",", dtype=np.float64, ndmin=2) for f in files])
    if data.shape[1] < 2:
        raise ValueError(
            f"{path} needs a label and at least one feature per row, found {data.shape[1]} column"
        )
    missing_labels = np.flatnonzero(np.isnan(data[:, 0]))
    if missing_labels.size:
        raise ValueError(
            f"{path}: {missing_labels.size} rows have no label (first data row {missing_labels[0]})"
        )
    return data[:, 0], data[:, 1:]


def load_dmatrix(path: str | Path) -> xgb.DMatrix:
    labels, features = read_label_first_csv(path)
    return xgb.DMatrix(features, label=labels, missing=np.nan)


def booster_params(hyperparameters: dict[str, str]) -> dict:
    """XGBoost takes string values itself; only eval_metric's comma list needs splitting."""
    params = {
        name: value
        for name, value in hyperparameters.items()
        if name not in LOOP_HYPERPARAMETERS and not name.startswith(("sagemaker_", "_"))
    }
    if "eval_metric" in params:
        params["eval_metric"] = [m.strip() for m in str(params["eval_metric"]).split(",") if m.strip()]
    return params


def num_rounds(hyperparameters: dict[str, str]) -> int:
    if "num_round" not in hyperparameters:
        raise ValueError("hyperparameter num_round is required, as for the built-in XGBoost algorithm")
    return int(hyperparameters["num_round"])


def final_metrics(history: dict) -> dict[str, float]:
    """The last round's value of every metric, named like the built-in algorithm's ("validation:auc")."""
    return {
        f"{data}:{metric}": values[-1]
        for data, metrics in history.items()
        for metric, values in metrics.items()
    }


def train(
    hyperparameters: dict[str, str],
    train_dir: str | Path,
    validation_dir: str | Path | None = None,
    *,
    verbose: bool = True,
) -> tuple[xgb.Booster, dict[str, float]]:
    """Train on the label-first CSV in train_dir, evaluating on validation_dir when given."""
    dtrain = load_dmatrix(train_dir)
    evals = [(dtrain, "train")]
    if validation_dir is not None:
        evals.append((load_dmatrix(validation_dir), "validation"))
    early_stopping = hyperparameters.get("early_stopping_rounds")
    history: dict = {}
    booster = xgb.train(
        booster_params(hyperparameters),
        dtrain,
        num_boost_round=num_rounds(hyperparameters),
        evals=evals,
        evals_result=history,
        early_stopping_rounds=int(early_stopping) if early_stopping else None,
        verbose_eval=verbose,
    )
    return booster, final_metrics(history)


def parse_eval_line(line: str) -> dict[str, float]:
    """'[0]\\tvalidation-auc:0.5\\t...' (Booster.eval's format) → {'validation:auc': 0.5, ...}."""
    metrics = {}
    for item in line.split("\t")[1:]:
        name, value = item.rsplit(":", 1)
        data, metric = name.split("-", 1)
        metrics[f"{data}:{metric}"] = float(value)
    return metrics


def majority_class_baseline(
    hyperparameters: dict[str, str], train_dir: str | Path, validation_dir: str | Path
) -> dict[str, float]:
    """The same metrics for a model with no trees, scoring every row with the training mean.

    For a binary target that score is the positive rate, so its class is the majority class:
    AUC 0.5, error = the validation minority share. A trained model has to beat this.
    """
    train_labels, _ = read_label_first_csv(train_dir)
    prior = float(np.clip(train_labels.mean(), 1e-6, 1 - 1e-6))
    params = {**booster_params(hyperparameters), "base_score": prior}
    params.setdefault("objective", "binary:logistic")
    booster = xgb.train(params, load_dmatrix(train_dir), num_boost_round=0)
    return parse_eval_line(booster.eval(load_dmatrix(validation_dir), "validation"))


def parse_hyperparameter_args(argv: list[str]) -> dict[str, str]:
    """Script mode passes hyperparameters as `--name value` (also accepted: `--name=value`)."""
    hyperparameters, index = {}, 0
    while index < len(argv):
        arg = argv[index]
        if not arg.startswith("--"):
            raise ValueError(f"expected --name value pairs, got {arg!r}")
        if "=" in arg:
            name, value = arg[2:].split("=", 1)
            index += 1
        elif index + 1 < len(argv):
            name, value = arg[2:], argv[index + 1]
            index += 2
        else:
            raise ValueError(f"hyperparameter {arg} has no value")
        hyperparameters[name] = value
    return hyperparameters


def metric_lines(metrics: dict[str, float]) -> list[str]:
    """'validation:auc' → 'validation-auc:0.830000', the form the metric regexes read."""
    return [f"{name.replace(':', '-')}:{value:.6f}" for name, value in metrics.items()]


def baseline_lines(metrics: dict[str, float]) -> list[str]:
    """'majority_baseline_validation_auc=0.500000': no metric regex for the model can match it."""
    return [f"majority_baseline_{name.replace(':', '_')}={value:.6f}" for name, value in metrics.items()]


def save_model(booster: xgb.Booster, model_dir: str | Path) -> Path:
    """xgboost-model in UBJSON, the built-in container's file name; written as bytes to pick the format."""
    path = Path(model_dir) / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    return path


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Script-mode entry point: SM_* environment variables, hyperparameters on the command line."""
    hyperparameters = parse_hyperparameter_args(sys.argv[1:] if argv is None else argv)
    train_dir = os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    validation_dir = os.environ.get("SM_CHANNEL_VALIDATION")
    booster, metrics = train(hyperparameters, train_dir, validation_dir)
    report = {"metrics": metrics}
    print("\n".join(metric_lines(metrics)))
    if validation_dir is not None:
        report["baseline"] = majority_class_baseline(hyperparameters, train_dir, validation_dir)
        print("\n".join(baseline_lines(report["baseline"])))
    save_model(booster, os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    output_dir = os.environ.get("SM_OUTPUT_DATA_DIR")
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        (Path(output_dir) / "metrics.json").write_text(json.dumps(report, indent=2))
    return metrics


def model_fn(model_dir: str) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(str(Path(model_dir) / MODEL_FILE))
    return booster


def input_fn(request_body: str | bytes, request_content_type: str) -> xgb.DMatrix:
    """text/csv rows of features (no label, no header); an empty field is a missing value."""
    if request_content_type.split(";")[0].strip().lower() != CSV_CONTENT_TYPE:
        raise ValueError(f"unsupported content type {request_content_type!r}; send {CSV_CONTENT_TYPE}")
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    rows = np.genfromtxt(io.StringIO(text.strip()), delimiter=",", dtype=np.float64, ndmin=2)
    return xgb.DMatrix(rows, missing=np.nan)


def predict_fn(input_data: xgb.DMatrix, model: xgb.Booster) -> np.ndarray:
    expected = model.num_features()
    if input_data.num_col() != expected:
        raise ValueError(
            f"each row needs {expected} features in schema.json's order, got {input_data.num_col()}"
        )
    return model.predict(input_data)


def output_fn(prediction: np.ndarray, accept: str = CSV_CONTENT_TYPE) -> str:
    """One score per line as CSV (a row of scores for multi-class), or a JSON list for application/json."""
    if accept.split(";")[0].strip().lower() == "application/json":
        return json.dumps(prediction.tolist())
    rows = prediction.reshape(len(prediction), -1)
    return "\n".join(",".join(f"{value:.6g}" for value in row) for row in rows)


if __name__ == "__main__":
    main()
