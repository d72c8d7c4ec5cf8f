"""Pre/post-processing for SageMaker's TensorFlow Serving image (shipped as code/inference.py).

TF Serving runs the SavedModel; this file only turns JPEG/PNG bytes into its REST request
(`{"instances": [H x W x 3 floats in [0, 1]]}`, TF Hub's image convention) and its
`{"predictions": ...}` answer into top-k labels. The image's Python has no TensorFlow: stdlib, numpy
and Pillow only. Labels and the input size are in code/serving.json beside this file.
"""

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_TYPES = ("image/jpeg", "image/png", "application/x-image")
JSON_TYPES = ("application/json", "*/*")
TOP_K = 5
CONFIG_PATH = Path(__file__).with_name("serving.json")
_config: dict | None = None


def serving_config() -> dict:
    """code/serving.json, read once per process."""
    global _config
    if _config is None:
        _config = json.loads(CONFIG_PATH.read_text())
    return _config


def input_handler(data, context) -> str:
    """The request body (a stream) as TF Serving's REST JSON for one image."""
    media_type = (context.request_content_type or "").split(";")[0].strip().lower()
    if media_type not in IMAGE_TYPES:
        raise ValueError(
            f"unsupported content type {context.request_content_type!r}: "
            f"send JPEG or PNG bytes as {', '.join(IMAGE_TYPES)}"
        )
    body = data.read() if hasattr(data, "read") else data
    image = decode_image(body)
    return json.dumps({"instances": [model_input(image, serving_config()["image_size"]).tolist()]})


def output_handler(response, context) -> tuple[str, str]:
    """TF Serving's answer (a requests.Response) as top-k labels JSON."""
    if response.status_code != 200:
        raise ValueError(f"TensorFlow Serving answered {response.status_code}: {response.content.decode()}")
    accept = (context.accept_header or "*/*").split(";")[0].strip().lower()
    if accept not in JSON_TYPES:
        raise ValueError(f"unsupported Accept {context.accept_header!r}: answers are application/json")
    scores = first_output(json.loads(response.content)["predictions"][0])
    labels = serving_config()["labels"]
    return json.dumps(
        {"predictions": top_k(np.asarray(scores, dtype=np.float64), labels)}
    ), "application/json"


def decode_image(body: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(body))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ValueError(f"the request body is not a readable JPEG or PNG image ({error})") from error
    return image.convert("RGB")


def model_input(image: Image.Image, size: int) -> np.ndarray:
    """H x W x 3 float32 in [0, 1], resized to the model's input (TF Hub image models' convention)."""
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32) / 255.0


def first_output(prediction):
    """One instance's prediction: a list for single-output signatures, a dict of named outputs otherwise."""
    if isinstance(prediction, dict):
        for name in ("logits", "probabilities", "predictions", "output_0"):
            if name in prediction:
                return prediction[name]
        return prediction[sorted(prediction)[0]]
    return prediction


def top_k(outputs: np.ndarray, labels: list[str], k: int = TOP_K) -> list[dict]:
    """The k best classes; outputs that are not already probabilities go through a softmax."""
    outputs = outputs.ravel()
    looks_like_probabilities = outputs.min() >= 0 and outputs.max() <= 1 and abs(outputs.sum() - 1) < 1e-3
    if not looks_like_probabilities:
        exponentials = np.exp(outputs - outputs.max())
        outputs = exponentials / exponentials.sum()
    best = np.argsort(-outputs, kind="stable")[: min(k, outputs.size)]
    return [{"label": label_name(labels, int(index)), "score": float(outputs[index])} for index in best]


def label_name(labels: list[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else str(index)
