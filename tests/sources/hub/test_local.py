"""make local's hub models: the offline stand-ins package, and the expected answer is the model's own."""

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from sources import source_of
from sources.hub import local as hub_model_run
from stacks.config import MlKitConfig
from tests.sources.hub.test_stack import MODELS

# Imports TensorFlow: the worker of the TensorFlow tests.
pytestmark = pytest.mark.xdist_group("tensorflow")


def packaged(label: str) -> tuple[bytes, object]:
    config = MlKitConfig.model_validate(
        {"environment": "t", "region": "us-east-1", "models": {label: MODELS[label]}}
    )
    model = config.models[label]
    source = source_of(model)
    spec, directory, _ = hub_model_run.stand_in(source, model)
    from jobs.packaging.package import package

    output = Path(tempfile.mkdtemp())
    package(spec, output, str(directory))
    return (output / "model.tar.gz").read_bytes(), source


def test_tensorflow_answer_is_the_saved_models_own():
    import tensorflow as tf

    archive, source = packaged("mobilenet")
    image = hub_model_run.sample_image()
    answer = json.loads(hub_model_run.served_answer(archive, image, "image/png", source.framework))
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(image)).convert("RGB").resize((224, 224)), np.float32) / 255
    signature = tf.saved_model.load(str(hub_model_run.TINY_SAVED_MODEL)).signatures["serving_default"]
    (logits,) = signature(tf.constant(pixels[None])).values()
    labels = (hub_model_run.TINY_SAVED_MODEL / "assets" / "labels.txt").read_text().split()
    assert answer["predictions"][0]["label"] == labels[int(np.argmax(logits.numpy()[0]))]


def test_pytorch_answer_is_the_hub_models_own():
    import torch

    archive, source = packaged("resnet")
    image = hub_model_run.sample_image()
    answer = json.loads(hub_model_run.served_answer(archive, image, "image/png", source.framework))
    model = torch.hub.load(str(hub_model_run.TINY_HUB), "tiny_classifier", source="local")
    categories = model.weights.meta["categories"]
    assert sorted(p["label"] for p in answer["predictions"]) == sorted(categories)
    assert answer["predictions"][0]["score"] >= answer["predictions"][-1]["score"]
