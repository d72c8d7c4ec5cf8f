"""scikit-learn sample for `algorithm: sklearn`: gradient boosting on the curated churn channels.

Script mode (SageMaker scikit-learn container): hyperparameters arrive as `--name value`, channels
as SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION, and the fitted pipeline (median imputation, then
GradientBoostingClassifier) is saved with joblib as SM_MODEL_DIR/model.joblib. It prints
`validation-auc:…` and `validation-accuracy:…` (and train-…) for the metric definitions of
jobs/training/metrics.py, then the majority-class baseline in a form no regex reads.

Serving (the same container, this file as the entry point): model_fn / input_fn / predict_fn /
output_fn take text/csv rows of encoded features (no label, no header, empty = missing) in
schema.json's order and answer text/csv, one positive-class probability per line.

`train()` is also what the local run calls, several times for a tuning search: ~0.1 s on churn.
"""

from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

try:  # in the repository and in tests
    from jobs.training import churn_data, metrics
except ModuleNotFoundError:  # in the container, beside this file in the source directory
    import churn_data
    import metrics

MODEL_FILE = "model.joblib"
HYPERPARAMETERS = {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1, "subsample": 1.0}
METRICS = ["train:auc", "validation:auc", "validation:accuracy"]
METRIC_DEFINITIONS = metrics.metric_definitions(METRICS)
SEED = 0


def build_model(hyperparameters: dict) -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            (
                "boost",
                GradientBoostingClassifier(
                    n_estimators=int(hyperparameters["n_estimators"]),
                    max_depth=int(hyperparameters["max_depth"]),
                    learning_rate=float(hyperparameters["learning_rate"]),
                    subsample=float(hyperparameters["subsample"]),
                    random_state=SEED,
                ),
            ),
        ]
    )


def positive_scores(model: Pipeline, features: np.ndarray) -> np.ndarray:
    """The probability of label 1 (the positive class of the Glue job's target encoding)."""
    return model.predict_proba(features)[:, list(model.classes_).index(1)]


def train(
    train_dir: str | Path,
    validation_dir: str | Path,
    model_dir: str | Path | None = None,
    hyperparameters: dict | None = None,
) -> dict[str, float]:
    """Fit on train_dir, score validation_dir; save model.joblib in model_dir when given."""
    values = churn_data.with_defaults(hyperparameters, HYPERPARAMETERS)
    train_labels, train_features = churn_data.read_channel(train_dir)
    validation_labels, validation_features = churn_data.read_channel(validation_dir)
    model = build_model(values).fit(train_features, train_labels.astype(int))
    results = churn_data.scored_metrics(
        train_labels,
        positive_scores(model, train_features),
        validation_labels,
        positive_scores(model, validation_features),
    )
    if model_dir is not None:
        Path(model_dir).mkdir(parents=True, exist_ok=True)
        joblib.dump(model, Path(model_dir) / MODEL_FILE)
    return results


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Script-mode entry point."""
    return churn_data.run_script_mode(train, HYPERPARAMETERS, argv)


# ---- serving: the SageMaker scikit-learn container's handler functions ----------------------


def model_fn(model_dir: str) -> Pipeline:
    return joblib.load(Path(model_dir) / MODEL_FILE)


def input_fn(request_body: str | bytes, request_content_type: str) -> np.ndarray:
    return churn_data.request_features(request_body, request_content_type)


def predict_fn(input_data: np.ndarray, model: Pipeline) -> np.ndarray:
    churn_data.check_feature_count(input_data, model.n_features_in_)
    return positive_scores(model, input_data)


def output_fn(prediction: np.ndarray, accept: str = churn_data.CSV_CONTENT_TYPE) -> tuple[str, str]:
    return churn_data.csv_answer(prediction, accept)


if __name__ == "__main__":
    main()
