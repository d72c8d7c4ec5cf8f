"""SageMaker PyTorch inference handlers for a packaged hub model (shipped as code/inference.py).

model.tar.gz holds model.pt (TorchScript) and code/serving.json (task, labels, preprocessing). Requests
are JPEG or PNG bytes; answers are JSON: top-k labels for classifiers, boxes for detectors. Nothing
here downloads: the endpoint runs with network isolation. Stdlib, torch, numpy and Pillow only.
"""

import contextlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

IMAGE_TYPES = ("image/jpeg", "image/png", "application/x-image")
JSON_TYPES = ("application/json", "*/*")
TOP_K = 5

try:  # the DLC's toolkit answers with the status a BaseInferenceToolkitError carries (else 500)
    from sagemaker_inference.errors import BaseInferenceToolkitError

    _ERROR_BASES: tuple = (BaseInferenceToolkitError, ValueError)
except ImportError:  # outside the container (tests, benchmarks)
    _ERROR_BASES = (ValueError,)


class RequestError(*_ERROR_BASES):
    """A client error: the toolkit answers it with its status code and message instead of a 500."""

    def __init__(self, message: str, status_code: int = 400, phrase: str = "Bad Request"):
        ValueError.__init__(self, message)
        self.message, self.status_code, self.phrase = message, status_code, phrase


def model_fn(model_dir: str) -> dict:
    """Load the scripted model and its serving config; runs once per worker."""
    # torchvision's detectors call its registered ops (nms, roi_align); the DLC ships it.
    with contextlib.suppress(ImportError):
        import torchvision  # noqa: F401
    model_dir = Path(model_dir)
    config = json.loads((model_dir / "code" / "serving.json").read_text())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with warnings.catch_warnings():
        # torch.jit is deprecated for torch.export, which cannot export torchvision's detectors.
        warnings.simplefilter("ignore", DeprecationWarning)
        model = torch.jit.load(str(model_dir / "model.pt"), map_location=device).eval()
    return {"model": model, "config": config, "device": device}


def input_fn(body: bytes, content_type: str) -> Image.Image:
    """Decode the request's JPEG or PNG bytes to an RGB image."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in IMAGE_TYPES:
        raise RequestError(
            f"unsupported content type {content_type!r}: send JPEG or PNG bytes as {', '.join(IMAGE_TYPES)}",
            status_code=415,
            phrase="Unsupported Media Type",
        )
    return decode_image(body)


def decode_image(body: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(body))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise RequestError(f"the request body is not a readable JPEG or PNG image ({error})") from error
    return image.convert("RGB")


def predict_fn(image: Image.Image, loaded: dict) -> dict:
    """Run the model on one image; returns the task's answer as plain Python values."""
    config, model = loaded["config"], loaded["model"]
    with torch.inference_mode():
        if config["task"] == "object-detection":
            tensor = torch.from_numpy(image_array(image)).to(loaded["device"])
            return {"detections": detections(model([tensor]), config["labels"])}
        tensor = torch.from_numpy(classifier_input(image, config)).to(loaded["device"])
        return {"predictions": top_k(model(tensor)[0].cpu().numpy(), config["labels"])}


def output_fn(prediction: dict, accept: str) -> str:
    media_type = (accept or "*/*").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise RequestError(
            f"unsupported Accept {accept!r}: answers are application/json", 406, "Not Acceptable"
        )
    return json.dumps(prediction)


def image_array(image: Image.Image) -> np.ndarray:
    """CHW float32 in [0, 1], what torchvision's transforms.functional.to_tensor gives."""
    return np.ascontiguousarray(np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0)


def classifier_input(image: Image.Image, config: dict) -> np.ndarray:
    """torchvision's ImageClassification preset: resize the short side, center crop, normalize; NCHW."""
    if config["resize_size"]:
        short, long = sorted(image.size)
        resized = (config["resize_size"], int(config["resize_size"] * long / short))  # torchvision's sizes
        size = resized if image.width <= image.height else resized[::-1]
        if size != image.size:
            image = image.resize(size, Image.Resampling.BILINEAR)
    if config["crop_size"]:
        crop = config["crop_size"]
        left, top = round((image.width - crop) / 2), round((image.height - crop) / 2)
        image = image.crop((left, top, left + crop, top + crop))
    array = image_array(image)
    if config["mean"]:
        mean = np.asarray(config["mean"], dtype=np.float32)[:, None, None]
        std = np.asarray(config["std"], dtype=np.float32)[:, None, None]
        array = (array - mean) / std
    return array[None]


def top_k(outputs: np.ndarray, labels: list[str], k: int = TOP_K) -> list[dict]:
    """The k best classes; outputs that are not already probabilities go through a softmax."""
    outputs = outputs.astype(np.float64)
    looks_like_probabilities = outputs.min() >= 0 and outputs.max() <= 1 and abs(outputs.sum() - 1) < 1e-3
    if not looks_like_probabilities:
        exponentials = np.exp(outputs - outputs.max())
        outputs = exponentials / exponentials.sum()
    best = np.argsort(-outputs, kind="stable")[: min(k, outputs.size)]
    return [{"label": label_name(labels, int(index)), "score": float(outputs[index])} for index in best]


def detections(outputs, labels: list[str]) -> list[dict]:
    """torchvision's [{"boxes", "labels", "scores"}] for one image (scripted detectors also return losses)."""
    if isinstance(outputs, tuple):
        outputs = outputs[1]  # scripted torchvision detectors return (losses, detections)
    result = outputs[0]
    return [
        {
            "box": [float(value) for value in box],
            "label": label_name(labels, int(label)),
            "score": float(score),
        }
        for box, label, score in zip(
            result["boxes"].cpu().tolist(),
            result["labels"].cpu().tolist(),
            result["scores"].cpu().tolist(),
            strict=True,
        )
    ]


def label_name(labels: list[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else str(index)
