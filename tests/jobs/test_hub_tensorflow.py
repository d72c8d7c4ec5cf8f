"""TensorFlow Hub: package a tiny SavedModel through the local fetch, then serve it through the tarball's
own handlers around the SavedModel's serving_default signature."""

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from jobs.packaging import package as entrypoint
from jobs.packaging import tensorflow_hub
from jobs.packaging.spec import packaging_spec, spec_hash
from tests.python_files import load_file

# tensorflow: one import per worker process for every TF test.
pytestmark = pytest.mark.xdist_group("tensorflow")

HANDLE = "https://www.kaggle.com/models/mlkit/tiny/TensorFlow2/classification/1"
LABELS = ["red", "green", "blue", "gray"]
IMAGE_SIZE = 8
TINY_SAVEDMODEL = Path(__file__).resolve().parents[2] / "sample-data" / "tiny_savedmodel.py"


@pytest.fixture(scope="module")
def tf():
    # Imported by the worker that runs these tests, not by every worker at collection (~4.4 s each).
    import tensorflow

    return tensorflow


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """sample-data/tiny_savedmodel.py's classifier as a TF Hub archive holds it, its signature fixed at
    IMAGE_SIZE square (sample-data/ is not a package: the script is loaded by path)."""
    sample = load_file(TINY_SAVEDMODEL, "tiny_savedmodel")
    path = tmp_path_factory.mktemp("hub") / "tiny"
    sample.write(path, image_size=IMAGE_SIZE)
    return path


@pytest.fixture(scope="module")
def packaged(saved_model, tmp_path_factory):
    """Package through the job's entrypoint with --local, and extract the tarball."""
    output = tmp_path_factory.mktemp("packaged")
    spec = packaging_spec("tensorflow_hub", handle=HANDLE, task="image-classification", image_size=IMAGE_SIZE)
    entrypoint.main(
        ["--spec", json.dumps(spec), "--output", str(output / "out"), "--local", str(saved_model)]
    )
    with tarfile.open(output / "out" / "model.tar.gz") as archive:
        members = archive.getnames()
        archive.extractall(output / "model", filter="data")
    manifest = json.loads((output / "out" / "manifest.json").read_text())
    return {"dir": output / "model", "members": members, "manifest": manifest, "spec": spec}


def handlers(model_dir):
    """The tarball's own code/inference.py, which the TF Serving image imports."""
    return load_file(model_dir / "code" / "inference.py")


def image_bytes(image_format: str, size: int = IMAGE_SIZE, seed: int = 5) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format)
    return buffer.getvalue()


def context(content_type="image/jpeg", accept="application/json"):
    return SimpleNamespace(request_content_type=content_type, accept_header=accept)


def tf_serving(model_dir, request_json: str):
    """What TF Serving does with the request: run serving_default on the instances and answer in REST's
    row format (one output: predictions are its values). The TF Serving binary itself is not run here."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(model_dir / "model" / "1"))
    instances = tf.constant(json.loads(request_json)["instances"], tf.float32)
    outputs = loaded.signatures["serving_default"](images=instances)
    (values,) = outputs.values()
    return SimpleNamespace(
        status_code=200, content=json.dumps({"predictions": values.numpy().tolist()}).encode()
    )


def test_tarball_has_tf_servings_layout_and_the_handlers(packaged):
    members = set(packaged["members"])
    assert {
        "model/1/saved_model.pb",
        "model/1/variables/variables.index",
        "model/1/assets/labels.txt",
        "code/inference.py",
        "code/serving.json",
    } <= members
    assert not any(name.startswith("model/1/model") or name == "saved_model.pb" for name in members)
    config = json.loads((packaged["dir"] / "code" / "serving.json").read_text())
    assert config == {"task": "image-classification", "image_size": IMAGE_SIZE, "labels": LABELS}
    manifest = packaged["manifest"]
    assert manifest["spec_hash"] == spec_hash(packaged["spec"])
    assert manifest["download_url"] == HANDLE + "?tf-hub-format=compressed"
    assert manifest["layout"] == "model/1/saved_model.pb" and len(manifest["saved_model_sha256"]) == 64


@pytest.mark.parametrize(("image_format", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_served_labels_equal_the_models_own_answer(packaged, saved_model, image_format, content_type, tf):
    inference = handlers(packaged["dir"])
    body = image_bytes(image_format)
    request_json = inference.input_handler(io.BytesIO(body), context(content_type))
    answer, answer_type = inference.output_handler(tf_serving(packaged["dir"], request_json), context())
    # The original SavedModel, called directly on the image decoded here.
    pixels = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"), dtype=np.float32)[None] / 255.0
    logits = tf.saved_model.load(str(saved_model)).signatures["serving_default"](images=tf.constant(pixels))
    expected = tf.nn.softmax(logits["logits"][0]).numpy()
    order = np.argsort(-expected)
    predictions = json.loads(answer)["predictions"]
    assert answer_type == "application/json"
    assert [p["label"] for p in predictions] == [LABELS[i] for i in order]
    assert [p["score"] for p in predictions] == pytest.approx(expected[order].tolist(), abs=1e-5)


def test_input_handler_resizes_to_the_models_input(packaged):
    inference = handlers(packaged["dir"])
    request = json.loads(
        inference.input_handler(io.BytesIO(image_bytes("PNG", size=30)), context("image/png"))
    )
    assert np.asarray(request["instances"]).shape == (1, IMAGE_SIZE, IMAGE_SIZE, 3)
    assert np.min(request["instances"]) >= 0.0 and np.max(request["instances"]) <= 1.0


def test_output_handler_reads_named_outputs_and_probabilities(packaged):
    inference = handlers(packaged["dir"])
    response = SimpleNamespace(
        status_code=200,
        content=json.dumps({"predictions": [{"probabilities": [0.1, 0.2, 0.6, 0.1]}]}).encode(),
    )
    predictions = json.loads(inference.output_handler(response, context())[0])["predictions"]
    assert [(p["label"], p["score"]) for p in predictions][:2] == [("blue", 0.6), ("green", 0.2)]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (image_bytes("PNG"), "application/json", "unsupported content type 'application/json'"),
        (b"\x00\x01 not an image", "image/png", "not a readable JPEG or PNG"),
    ],
    ids=["content-type", "not-an-image"],
)
def test_bad_requests_raise_clear_errors(packaged, body, content_type, message):
    with pytest.raises(ValueError, match=message):
        handlers(packaged["dir"]).input_handler(io.BytesIO(body), context(content_type))


def test_a_tf_serving_error_is_passed_on(packaged):
    failed = SimpleNamespace(status_code=400, content=b'{"error": "input size does not match signature"}')
    with pytest.raises(ValueError, match="answered 400: .*input size"):
        handlers(packaged["dir"]).output_handler(failed, context())


def test_an_archive_without_a_savedmodel_is_refused(tmp_path):
    def fetch_nothing(handle, destination):
        (destination / "README.md").write_text("not a model")

    spec = packaging_spec("tensorflow_hub", handle=HANDLE, task="image-classification")
    with pytest.raises(ValueError, match="no saved_model.pb"):
        tensorflow_hub.package(spec, tmp_path, fetch=fetch_nothing)
