"""What the tabular training samples share: the curated channels, script-mode arguments, scoring.

The Glue job writes each channel as headerless CSV, the label first and then the features in
metadata/schema.json's order, numbers only (categoricals already encoded), an empty field for a
missing value. Requests to the trained models are the same rows without the label.
Stdlib and numpy only: this file runs in the scikit-learn, PyTorch, TensorFlow and Hugging Face
containers, beside the sample that imports it.
"""

import os
import sys
from pathlib import Path

import numpy as np

CSV_CONTENT_TYPE = "text/csv"
# Where SageMaker script mode puts things (the training toolkit sets these variables).
CHANNEL_DEFAULTS = {"train": "/opt/ml/input/data/train", "validation": "/opt/ml/input/data/validation"}


def data_files(path: str | Path) -> list[Path]:
    """A channel's data files, skipping hidden and marker files (.crc, _SUCCESS) and empty parts."""
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    return [p for p in files if p.stat().st_size > 0]


def parse_rows(text: str) -> np.ndarray:
    """CSV rows of numbers (no header) as a 2-D float array; an empty field is NaN (missing).

    A field that is not a number is refused rather than read as missing: a category sent as its
    name instead of its schema.json code would otherwise be scored silently as unknown.
    """
    rows = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        if line.strip():
            try:
                rows.append([float(field) if field.strip() else np.nan for field in line.split(",")])
            except ValueError as error:
                raise ValueError(f"row {number}: features must be numbers ({error})") from error
    if not rows:
        raise ValueError("no rows: send one CSV row of features per line")
    if len({len(row) for row in rows}) != 1:
        raise ValueError("rows must all have the same number of fields")
    return np.asarray(rows, dtype=np.float64)


def read_channel(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(labels, features) of a label-first channel (a file or a directory of files)."""
    files = data_files(path)
    if not files:
        raise ValueError(f"no CSV data files in {path}")
    data = np.vstack([parse_rows(f.read_text()) for f in files])
    if data.shape[1] < 2:
        raise ValueError(f"{path}: each row needs a label and at least one feature")
    if np.isnan(data[:, 0]).any():
        raise ValueError(f"{path}: {int(np.isnan(data[:, 0]).sum())} rows have no label")
    return data[:, 0], data[:, 1:]


def request_features(body: str | bytes, content_type: str, feature_count: int | None = None) -> np.ndarray:
    """A text/csv request body (feature rows, no label, no header) as a float array."""
    if (content_type or "").split(";")[0].strip().lower() != CSV_CONTENT_TYPE:
        raise ValueError(f"unsupported content type {content_type!r}; send {CSV_CONTENT_TYPE} rows")
    rows = parse_rows(body.decode("utf-8") if isinstance(body, bytes) else body)
    if feature_count is not None:
        check_feature_count(rows, feature_count)
    return rows


def scores_csv(scores) -> str:
    """One positive-class probability per line."""
    return "\n".join(f"{float(score):.6g}" for score in np.asarray(scores, dtype=np.float64).reshape(-1))


def column_medians(features: np.ndarray) -> np.ndarray:
    """Per-column medians ignoring NaN (0 for an all-missing column): what missing values become."""
    medians = np.zeros(features.shape[1])
    for column in range(features.shape[1]):
        present = features[:, column][~np.isnan(features[:, column])]
        medians[column] = np.median(present) if present.size else 0.0
    return medians


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied scores averaged); 0.5 with one class only."""
    labels, scores = np.asarray(labels) > 0.5, np.asarray(scores, dtype=np.float64)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    return float(np.mean((np.asarray(scores) >= threshold) == (np.asarray(labels) > 0.5)))


def evaluate(channel: str, labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """{'validation:auc': ..., 'validation:accuracy': ...}, named as the built-in algorithms name them."""
    return {f"{channel}:auc": roc_auc(labels, scores), f"{channel}:accuracy": accuracy(labels, scores)}


def majority_baseline(train_labels: np.ndarray, validation_labels: np.ndarray) -> dict[str, float]:
    """The validation metrics of a model that scores every row with the training positive rate.

    Its AUC is 0.5 (every score ties) and its accuracy is the validation share of the training
    majority class: a trained sample has to beat both.
    """
    prior = float(np.mean(np.asarray(train_labels) > 0.5))
    return evaluate("validation", validation_labels, np.full(len(validation_labels), prior))


def parse_hyperparameters(argv: list[str], defaults: dict) -> dict:
    """Script mode's `--name value` (or `--name=value`) arguments, typed like the defaults.

    An unknown name is an error rather than silently ignored: a typo would otherwise train with a default.
    """
    values, index = dict(defaults), 0
    while index < len(argv):
        argument = argv[index]
        if not argument.startswith("--"):
            raise ValueError(f"expected --name value pairs, got {argument!r}")
        if "=" in argument:
            name, value = argument[2:].split("=", 1)
            index += 1
        elif index + 1 < len(argv):
            name, value = argument[2:], argv[index + 1]
            index += 2
        else:
            raise ValueError(f"hyperparameter {argument} has no value")
        if name not in defaults:
            raise ValueError(f"unknown hyperparameter {name!r}; this script takes {sorted(defaults)}")
        values[name] = typed(name, value, defaults[name])
    return values


def with_defaults(hyperparameters: dict | None, defaults: dict) -> dict:
    """``train()``'s hyperparameters over the script's defaults, each typed like its default."""
    values = {**defaults, **(hyperparameters or {})}
    return {name: typed(name, value, defaults[name]) for name, value in values.items()}


def typed(name: str, value, default):
    """A hyperparameter value (a string from the command line, or a number) as the default's type."""
    try:
        if isinstance(default, bool):
            return str(value).strip().lower() in ("1", "true", "yes")
        return type(default)(value) if default is not None else value
    except (TypeError, ValueError) as error:
        raise ValueError(f"hyperparameter {name}={value!r} is not a {type(default).__name__}") from error


def script_mode_paths() -> dict[str, str | None]:
    """The channels and output directories SageMaker script mode passes through the environment."""
    return {
        "train": os.environ.get("SM_CHANNEL_TRAIN", CHANNEL_DEFAULTS["train"]),
        "validation": os.environ.get("SM_CHANNEL_VALIDATION", CHANNEL_DEFAULTS["validation"]),
        "model": os.environ.get("SM_MODEL_DIR", "/opt/ml/model"),
    }


def scored_metrics(train_labels, train_scores, validation_labels, validation_scores) -> dict[str, float]:
    """What every sample reports: train AUC, then validation AUC and accuracy."""
    return {
        "train:auc": roc_auc(train_labels, train_scores),
        **evaluate("validation", validation_labels, validation_scores),
    }


def check_feature_count(features: np.ndarray, expected: int) -> None:
    """A served request's rows must have the trained model's feature count (schema.json's order)."""
    if features.shape[1] != expected:
        raise ValueError(
            f"each row needs {expected} features in schema.json's order, got {features.shape[1]}"
        )


def csv_answer(scores, accept: str) -> tuple[str, str]:
    """The serving containers' output_fn: text/csv, one score per line (also for */*)."""
    media_type = (accept or "*/*").split(";")[0].strip().lower()
    if media_type not in (CSV_CONTENT_TYPE, "*/*"):
        raise ValueError(f"unsupported Accept {accept!r}; answers are {CSV_CONTENT_TYPE}")
    return scores_csv(scores), CSV_CONTENT_TYPE


def run_script_mode(train, defaults: dict, argv: list[str] | None) -> dict[str, float]:
    """A sample's script-mode entry point: parse its hyperparameters, train on the channels, print the
    metric lines SageMaker reads and the majority baseline (in a form no metric regex matches)."""
    try:  # in the repository and in tests
        from jobs.training import metrics
    except ModuleNotFoundError:  # in the container, beside this file in the source directory
        import metrics

    hyperparameters = parse_hyperparameters(sys.argv[1:] if argv is None else argv, defaults)
    paths = script_mode_paths()
    results = train(paths["train"], paths["validation"], paths["model"], hyperparameters)
    metrics.report_all(results)
    train_labels, _ = read_channel(paths["train"])
    validation_labels, _ = read_channel(paths["validation"])
    for name, value in majority_baseline(train_labels, validation_labels).items():
        print(metrics.baseline_line(name, value))
    return results
