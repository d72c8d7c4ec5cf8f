"""The Keras sample trains for real on the churn data, beats the baseline and exports a servable SavedModel.

TF Serving itself does not run here: the SavedModel's serving_default signature stands in for it,
behind the sample's input_handler/output_handler (code/inference.py on the TF Serving image).
"""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from jobs.training import churn_data, metrics
from jobs.training import tensorflow_inference as inference
from jobs.training import tensorflow_train as sample

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.xdist_group("tensorflow")


@pytest.fixture(scope="module")
def trained(curated_churn, tmp_path_factory):
    """One script-mode run for the module (TensorFlow's import and fit cost seconds)."""
    import os
    from contextlib import redirect_stdout
    from io import StringIO

    model_dir = tmp_path_factory.mktemp("tensorflow-model")
    environment = {
        "SM_CHANNEL_TRAIN": str(curated_churn["train"]),
        "SM_CHANNEL_VALIDATION": str(curated_churn["validation"]),
        "SM_MODEL_DIR": str(model_dir),
    }
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        with redirect_stdout(StringIO()) as log:
            results = sample.main(["--epochs", "20", "--hidden_units", "16"])
    finally:
        for name, value in previous.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    return results, log.getvalue(), model_dir


def test_script_mode_beats_the_majority_baseline_and_logs_readable_metrics(trained, churn_baseline):
    results, log, _ = trained
    assert results["validation:auc"] > churn_baseline["validation:auc"] + 0.2
    assert results["validation:accuracy"] > churn_baseline["validation:accuracy"]
    assert metrics.read_metrics(log, sample.METRIC_DEFINITIONS) == pytest.approx(results, abs=1e-6)


def serve(model_dir, body: str) -> str:
    """input_handler → the SavedModel's serving_default (as TF Serving runs it) → output_handler."""
    import tensorflow as tf

    context = SimpleNamespace(request_content_type="text/csv", accept_header="text/csv")
    request = json.loads(inference.input_handler(body.encode(), context))
    signature = tf.saved_model.load(str(model_dir / sample.MODEL_VERSION)).signatures["serving_default"]
    [output] = signature(features=tf.constant(request["instances"], dtype=tf.float32)).values()
    response = SimpleNamespace(status_code=200, content=json.dumps({"predictions": output.numpy().tolist()}))
    answer, content_type = inference.output_handler(response, context)
    assert content_type == "text/csv"
    return answer


def test_the_saved_model_serves_csv_rows_with_missing_values(trained, curated_churn):
    _, _, model_dir = trained
    labels, features = churn_data.read_channel(curated_churn["validation"])
    assert np.isnan(features).any()  # the rows sent include missing values
    body = "\n".join(",".join("" if np.isnan(v) else str(float(v)) for v in row) for row in features)
    scores = np.array([float(line) for line in serve(model_dir, body).splitlines()])
    assert len(scores) == len(labels) and np.isfinite(scores).all()
    assert churn_data.roc_auc(labels, scores) > 0.7


def test_the_handlers_refuse_other_content_types_and_ragged_rows():
    with pytest.raises(ValueError, match="text/csv"):
        inference.input_handler(b"1,2", SimpleNamespace(request_content_type="application/json"))
    with pytest.raises(ValueError, match="same number"):
        inference.input_handler(b"1,2\n3", SimpleNamespace(request_content_type="text/csv"))


def test_the_artifact_carries_its_serving_handlers(trained):
    """TF Serving's container imports code/inference.py from the model: the sample's own handlers."""
    _, _, model_dir = trained
    handlers = (model_dir / "code" / "inference.py").read_text()
    assert handlers == (ROOT / "jobs" / "training" / "tensorflow_inference.py").read_text()
    assert (model_dir / "1" / "saved_model.pb").is_file()
