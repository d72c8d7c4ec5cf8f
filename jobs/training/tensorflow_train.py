"""TensorFlow (Keras) sample for `algorithm: tensorflow`: a small dense network on the curated churn channels.

Script mode (SageMaker TensorFlow training container): hyperparameters `--epochs`, `--learning_rate`,
`--hidden_units`, `--batch_size`; channels SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION. It prints
`validation-auc:…`, `validation-accuracy:…` and `train-auc:…` (jobs/training/metrics.py) and the
majority-class baseline in a form no regex reads.

The artifact is a TF SavedModel at SM_MODEL_DIR/1/ — TF Serving (the TensorFlow inference
container) serves /opt/ml/model/<version>. The model holds its own preprocessing: a NaN feature
becomes the training median, then features are standardized, so a request carries the raw encoded
features in schema.json's order. Its serving signature takes float32 [batch, features] and
answers `output_0`, the positive-class probability, [batch, 1]. Without code/, the endpoint takes TF Serving's
REST JSON (`{"instances": [[…], …]}`); with jobs/training/tensorflow_inference.py as
code/inference.py it takes text/csv rows and answers one score per line.
"""

import os
import shutil
from pathlib import Path

import numpy as np

try:  # in the repository and in tests
    from jobs.training import churn_data, metrics
except ModuleNotFoundError:  # in the container, beside this file in the source directory
    import churn_data
    import metrics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's start-up banner would bury the metric lines

HYPERPARAMETERS = {"epochs": 20, "learning_rate": 0.01, "hidden_units": 16, "batch_size": 32}
METRICS = ["train:auc", "validation:auc", "validation:accuracy"]
METRIC_DEFINITIONS = metrics.metric_definitions(METRICS)
MODEL_VERSION = "1"
SEED = 0


def build_model(train_features: np.ndarray, hyperparameters: dict):
    """Impute (training medians) → standardize (adapted on training rows) → dense → sigmoid."""
    import keras

    medians = churn_data.column_medians(train_features).astype("float32")
    filled = np.where(np.isnan(train_features), medians, train_features).astype("float32")
    inputs = keras.Input(shape=(train_features.shape[1],), name="features", dtype="float32")
    imputed = keras.ops.where(keras.ops.isnan(inputs), keras.ops.convert_to_tensor(medians), inputs)
    normalize = keras.layers.Normalization(name="standardize")
    normalize.adapt(filled)
    hidden = keras.layers.Dense(int(hyperparameters["hidden_units"]), activation="relu")(normalize(imputed))
    score = keras.layers.Dense(1, activation="sigmoid", name="score")(hidden)
    model = keras.Model(inputs, score)
    model.compile(
        optimizer=keras.optimizers.Adam(float(hyperparameters["learning_rate"])), loss="binary_crossentropy"
    )
    return model


def predict(model, features: np.ndarray) -> np.ndarray:
    return model.predict(features.astype("float32"), verbose=0).reshape(-1)


def export(model, model_dir: str | Path) -> Path:
    """The SavedModel TF Serving loads, at <model_dir>/1/, and the CSV handlers it runs around it at
    <model_dir>/code/inference.py (the TensorFlow serving container imports them from there)."""
    path = Path(model_dir) / MODEL_VERSION
    path.parent.mkdir(parents=True, exist_ok=True)
    model.export(str(path), format="tf_saved_model", verbose=False)
    code = Path(model_dir) / "code"
    code.mkdir(exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("tensorflow_inference.py"), code / "inference.py")
    return path


def train(
    train_dir: str | Path,
    validation_dir: str | Path,
    model_dir: str | Path | None = None,
    hyperparameters: dict | None = None,
) -> dict[str, float]:
    """Fit on train_dir, score validation_dir; export the SavedModel under model_dir when given."""
    import keras

    values = churn_data.with_defaults(hyperparameters, HYPERPARAMETERS)
    keras.utils.set_random_seed(SEED)
    train_labels, train_features = churn_data.read_channel(train_dir)
    validation_labels, validation_features = churn_data.read_channel(validation_dir)
    model = build_model(train_features, values)
    model.fit(
        train_features.astype("float32"),
        train_labels.astype("float32"),
        epochs=values["epochs"],
        batch_size=values["batch_size"],
        shuffle=True,
        verbose=0,
    )
    results = churn_data.scored_metrics(
        train_labels, predict(model, train_features), validation_labels, predict(model, validation_features)
    )
    if model_dir is not None:
        export(model, model_dir)
    return results


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Script-mode entry point."""
    return churn_data.run_script_mode(train, HYPERPARAMETERS, argv)


if __name__ == "__main__":
    main()
