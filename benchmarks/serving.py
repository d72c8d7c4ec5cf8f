"""Hub serving benchmark: the packaged tiny models' serving code against the bare framework models.

Run from the repository root: ``.venv/bin/python benchmarks/serving.py [--samples N]``. Everything is
local: the tiny PyTorch Hub models of sample-data/tiny-hub and a tiny SavedModel built here are packaged
by jobs/packaging, extracted, and served through the tarballs' own code/inference.py. Each figure is the
median of N samples taken alternately with its bare counterpart in the same run, reported as a ratio:

- PyTorch cold load: model_fn (torch.jit.load of model.pt + serving.json) / torch.hub.load of the repo;
- PyTorch per image: input_fn + predict_fn + output_fn on image bytes / the bare model on a ready tensor;
- TensorFlow cold load: loading the packaged model/1 SavedModel / loading the original (TF Serving
  does the loading in the endpoint; this checks the re-layout costs nothing);
- TensorFlow per image: input_handler + serving_default on the JSON instances + output_handler / the
  signature on a ready tensor (TF Serving's own REST parsing is not measured: its binary is not run).
"""

import argparse
import importlib.util
import io
import json
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.report import write_section  # noqa: E402
from jobs.packaging import pytorch_hub, tensorflow_hub  # noqa: E402
from jobs.packaging.spec import packaging_spec  # noqa: E402

TINY_HUB = ROOT / "sample-data" / "tiny-hub"
TF_IMAGE_SIZE = 32


def alternating(serving, bare, samples: int) -> tuple[float, float]:
    """Median seconds of each callable, sampled alternately so drift hits both alike."""
    serving_times, bare_times = [], []
    for _ in range(samples):
        for function, times in ((serving, serving_times), (bare, bare_times)):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    return statistics.median(serving_times), statistics.median(bare_times)


def extracted(tarball: Path, directory: Path) -> Path:
    with tarfile.open(tarball) as archive:
        archive.extractall(directory, filter="data")
    return directory


def handlers(model_dir: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, model_dir / "code" / "inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image(size: tuple[int, int], image_format: str) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format)
    return buffer.getvalue()


def torch_rows(workdir: Path, samples: int) -> list[tuple]:
    cases = [
        ("tiny_classifier", "image-classification", (32, 32)),
        ("tiny_detector", "object-detection", (64, 48)),
    ]
    return [row for case in cases for row in torch_case(workdir, samples, *case)]


def torch_case(workdir: Path, samples: int, entrypoint: str, task: str, size: tuple[int, int]) -> list[tuple]:
    spec = packaging_spec("pytorch_hub", repo="mlkit/tiny-hub:v1", entrypoint=entrypoint, task=task)
    tarball, _ = pytorch_hub.package(spec, workdir / entrypoint, pytorch_hub.local_source(TINY_HUB))
    model_dir = extracted(tarball, workdir / entrypoint / "served")
    inference = handlers(model_dir, f"torch_{entrypoint}")

    def load_bare():
        return torch.hub.load(str(TINY_HUB), entrypoint, source="local")

    cold = alternating(lambda: inference.model_fn(model_dir), load_bare, samples)
    loaded, bare = inference.model_fn(model_dir), load_bare()
    body = image(size, "JPEG")
    tensor = torch.from_numpy(inference.image_array(inference.input_fn(body, "image/jpeg")))

    def serve():
        return inference.output_fn(
            inference.predict_fn(inference.input_fn(body, "image/jpeg"), loaded), "*/*"
        )

    def call_bare():
        with torch.inference_mode():
            return bare([tensor]) if task == "object-detection" else bare(tensor[None])

    per_image = alternating(serve, call_bare, samples * 10)
    return [(f"pytorch {entrypoint}", "cold load", *cold), (f"pytorch {entrypoint}", "per image", *per_image)]


class TinySavedModel(tf.Module):
    """Mean colour through a dense layer: four logits."""

    def __init__(self):
        super().__init__()
        self.kernel = tf.Variable(np.random.default_rng(3).normal(size=(3, 4)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, TF_IMAGE_SIZE, TF_IMAGE_SIZE, 3], tf.float32)])
    def classify(self, images):
        return {"logits": tf.matmul(tf.reduce_mean(images, axis=[1, 2]), self.kernel)}


def tensorflow_rows(workdir: Path, samples: int) -> list[tuple]:
    original = workdir / "savedmodel"
    module = TinySavedModel()
    tf.saved_model.save(module, str(original), signatures={"serving_default": module.classify})
    handle = "https://www.kaggle.com/models/mlkit/tiny/TensorFlow2/classification/1"
    spec = packaging_spec(
        "tensorflow_hub", handle=handle, task="image-classification", image_size=TF_IMAGE_SIZE
    )
    tarball, _ = tensorflow_hub.package(spec, workdir / "tf", fetch=tensorflow_hub.local_fetch(original))
    model_dir = extracted(tarball, workdir / "tf" / "served")
    packaged = model_dir / "model" / "1"
    rows = [
        (
            "tensorflow tiny",
            "cold load",
            *alternating(
                lambda: tf.saved_model.load(str(packaged)),
                lambda: tf.saved_model.load(str(original)),
                max(3, samples // 3),
            ),
        )
    ]
    inference = handlers(model_dir, "tensorflow_inference")
    signature = tf.saved_model.load(str(packaged)).signatures["serving_default"]
    body, context = (
        image((TF_IMAGE_SIZE, TF_IMAGE_SIZE), "JPEG"),
        SimpleNamespace(request_content_type="image/jpeg", accept_header="application/json"),
    )
    ready = tf.constant(
        json.loads(inference.input_handler(io.BytesIO(body), context))["instances"], tf.float32
    )

    def serve():
        request = json.loads(inference.input_handler(io.BytesIO(body), context))
        (values,) = signature(tf.constant(request["instances"], tf.float32)).values()
        response = SimpleNamespace(
            status_code=200, content=json.dumps({"predictions": values.numpy().tolist()})
        )
        return inference.output_handler(response, context)

    rows.append(("tensorflow tiny", "per image", *alternating(serve, lambda: signature(ready), samples * 10)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=21, help="cold-load samples (per-image: 10x)")
    samples = parser.parse_args().samples
    # One thread each: on a shared 2-core machine, idle intra-op threads spin and swamp tiny models' times.
    torch.set_num_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    with tempfile.TemporaryDirectory(prefix="mlkit-bench-serving-") as workdir:
        rows = torch_rows(Path(workdir), samples) + tensorflow_rows(Path(workdir), samples)
    lines = [
        "## Hub serving code",
        "",
        f"`python benchmarks/serving.py --samples {samples}`: the packaged tiny models' serving code against "
        "the bare framework model, medians of alternating samples in the same run, one thread each.",
        "",
        "| model | measure | serving | bare | ratio |",
        "|---|---|---|---|---|",
        *(
            f"| {model} | {measure} | {serving * 1e3:.2f} ms | {bare * 1e3:.2f} ms | {serving / bare:.2f}× |"
            for model, measure, serving, bare in rows
        ),
        "",
        "On models this small the per-image ratios measure what serving adds around the model: decoding the "
        "JPEG or PNG, resizing (to 224x224 for TF Hub), and JSON (TF Serving's REST instances).",
    ]
    write_section("serving", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
