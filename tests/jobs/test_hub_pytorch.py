"""PyTorch Hub: package the tiny local hub models for real, then serve the tarball's own handlers."""

import io
import json
import socket
import subprocess
import sys
import tarfile
import textwrap

import numpy as np
import pytest
from PIL import Image

from jobs.packaging import package as entrypoint
from jobs.packaging.spec import packaging_spec, spec_hash
from tests.python_files import load_file, run_python

# torch: one import per worker process for every torch test.
pytestmark = pytest.mark.xdist_group("torch")

ROOT = entrypoint.Path(__file__).resolve().parents[2]
TINY_HUB = ROOT / "sample-data" / "tiny-hub"
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def spec_for(entrypoint_name: str, task: str) -> dict:
    return packaging_spec(
        "pytorch_hub",
        repo="mlkit/tiny-hub:v1",
        entrypoint=entrypoint_name,
        args={"num_classes": 3},
        task=task,
    )


def packaged(tmp_path_factory, entrypoint_name: str, task: str) -> dict:
    """Package through the job's entrypoint from the local repo, and extract the tarball."""
    output = tmp_path_factory.mktemp(entrypoint_name)
    spec = spec_for(entrypoint_name, task)
    entrypoint.main(["--spec", json.dumps(spec), "--output", str(output / "out"), "--local", str(TINY_HUB)])
    with tarfile.open(output / "out" / "model.tar.gz") as archive:
        members = archive.getnames()
        archive.extractall(output / "model", filter="data")
    manifest = json.loads((output / "out" / "manifest.json").read_text())
    return {"dir": output / "model", "members": members, "manifest": manifest, "spec": spec}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return packaged(tmp_path_factory, "tiny_classifier", "image-classification")


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    return packaged(tmp_path_factory, "tiny_detector", "object-detection")


@pytest.fixture(scope="module")
def torch():
    # Imported by the worker that runs these tests, not by every worker at collection (~1.8 s each).
    import torch

    return torch


@pytest.fixture
def no_hub(monkeypatch, tmp_path, torch):
    """Serving must not reach the hub: torch.hub.load and any network connection raise."""

    def refuse(*args, **kwargs):
        raise AssertionError("serving touched the hub or the network")

    monkeypatch.setattr(torch.hub, "load", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-hub"))
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if "tiny-hub" not in entry])


def handlers(model_dir):
    """The tarball's own code/inference.py (what the PyTorch container imports), not jobs/serving."""
    return load_file(model_dir / "code" / "inference.py")


def image_bytes(image_format: str, size=(32, 32), seed: int = 7) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format)
    return buffer.getvalue()


def serve(model_dir, body: bytes, content_type: str, accept: str = "application/json") -> dict:
    inference = handlers(model_dir)
    loaded = inference.model_fn(str(model_dir))
    return json.loads(
        inference.output_fn(inference.predict_fn(inference.input_fn(body, content_type), loaded), accept)
    )


@pytest.fixture(scope="module")
def bare(torch):
    """The hub models themselves, loaded straight from the repo (before any hub is refused)."""
    return {
        name: torch.hub.load(str(TINY_HUB), name, source="local", num_classes=3)
        for name in ("tiny_classifier", "tiny_detector")
    }


def decoded(body: bytes):
    """The image as the bare model takes it: CHW floats in [0, 1], decoded here independently."""
    import torch

    array = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1)


def test_tarball_holds_torchscript_serving_code_and_labels(classifier, torch):
    assert sorted(classifier["members"]) == ["code", "code/inference.py", "code/serving.json", "model.pt"]
    config = json.loads((classifier["dir"] / "code" / "serving.json").read_text())
    assert config["labels"] == ["cat", "dog", "bird"] and config["crop_size"] == 32
    manifest = classifier["manifest"]
    assert manifest["spec_hash"] == spec_hash(classifier["spec"])
    assert (
        manifest["serialization"] == "torchscript-script" and manifest["torch_version"] == torch.__version__
    )
    assert manifest["entrypoint"] == "tiny_classifier" and manifest["args"] == {"num_classes": 3}
    assert len(manifest["hub"]["tree_sha256"]) == 64 and len(manifest["model_tar_gz_sha256"]) == 64


@pytest.mark.parametrize(("image_format", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_classifier_serves_the_bare_models_top_labels(
    classifier, bare, no_hub, image_format, content_type, torch
):
    body = image_bytes(image_format)
    answer = serve(classifier["dir"], body, content_type)
    with torch.no_grad():
        mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
        expected = torch.softmax(bare["tiny_classifier"](((decoded(body) - mean) / std)[None])[0], dim=0)
    order = torch.argsort(expected, descending=True).tolist()
    assert [p["label"] for p in answer["predictions"]] == [["cat", "dog", "bird"][i] for i in order]
    assert [p["score"] for p in answer["predictions"]] == pytest.approx(expected[order].tolist(), abs=1e-5)


def test_detector_serves_the_bare_models_boxes(detector, bare, no_hub, torch):
    body = image_bytes("PNG", size=(48, 40))
    answer = serve(detector["dir"], body, "application/x-image")
    with torch.no_grad():
        expected = bare["tiny_detector"]([decoded(body)])[0]
    boxes = [detection["box"] for detection in answer["detections"]]
    assert np.asarray(boxes).shape == (4, 4)
    np.testing.assert_allclose(boxes, expected["boxes"].numpy(), atol=1e-4)
    assert max(box[2] for box in boxes) == 48 and max(box[3] for box in boxes) == 40  # the image's own pixels
    assert [d["label"] for d in answer["detections"]] == [
        ["cat", "dog", "bird"][i] for i in expected["labels"]
    ]
    assert [d["score"] for d in answer["detections"]] == pytest.approx(expected["scores"].tolist(), abs=1e-5)


def test_classifier_input_resizes_the_short_side_and_crops_the_center(classifier):
    inference = handlers(classifier["dir"])
    image = Image.new("RGB", (96, 64), (0, 0, 255))
    image.paste((255, 0, 0), (40, 24, 56, 40))  # a red square at the center
    config = {**inference_config(classifier), "mean": None}
    array = inference.classifier_input(image, config)
    assert array.shape == (1, 3, 32, 32)
    assert array[0, 0, 16, 16] == pytest.approx(1.0) and array[0, 2, 0, 0] == pytest.approx(1.0)


def inference_config(packaged_model) -> dict:
    return json.loads((packaged_model["dir"] / "code" / "serving.json").read_text())


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        (image_bytes("PNG"), "text/csv", "application/json", 415, "unsupported content type 'text/csv'"),
        (b"not an image", "image/jpeg", "application/json", 400, "not a readable JPEG or PNG"),
        (image_bytes("JPEG")[:200], "image/jpeg", "application/json", 400, "not a readable JPEG or PNG"),
        (image_bytes("PNG"), "image/png", "text/csv", 406, "unsupported Accept 'text/csv'"),
    ],
    ids=["content-type", "not-an-image", "truncated-jpeg", "accept"],
)
def test_bad_requests_raise_clear_client_errors(classifier, body, content_type, accept, status, message):
    with pytest.raises(ValueError, match=message) as raised:
        serve(classifier["dir"], body, content_type, accept)
    assert raised.value.status_code == status


def test_the_artifact_serves_in_a_fresh_process_with_no_hub_and_no_network(classifier, tmp_path):
    """No hub repo on the path, an empty hub cache and sockets that refuse: only the tarball is there."""
    body = image_bytes("JPEG")
    (tmp_path / "image.jpg").write_bytes(body)
    script = textwrap.dedent(
        f"""
        import importlib.util, json, socket, sys
        socket.socket.connect = lambda *a, **k: sys.exit("serving opened a connection")
        import torch
        torch.hub.load = lambda *a, **k: sys.exit("serving called torch.hub.load")
        spec = importlib.util.spec_from_file_location("inference", "{classifier["dir"]}/code/inference.py")
        inference = importlib.util.module_from_spec(spec); spec.loader.exec_module(inference)
        loaded = inference.model_fn("{classifier["dir"]}")
        body = open("{tmp_path}/image.jpg", "rb").read()
        request = inference.input_fn(body, "image/jpeg")
        print(inference.output_fn(inference.predict_fn(request, loaded), "*/*"))
        assert "hubconf" not in sys.modules and not any("tiny-hub" in p for p in sys.path)
        """
    )
    environment = {"TORCH_HOME": str(tmp_path / "torch-home"), "PATH": "/usr/bin:/bin"}
    result = run_python(script, cwd=tmp_path, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == serve(classifier["dir"], body, "image/jpeg")


def test_labels_fall_back_to_class_indices_without_weights_meta(torch):
    from jobs.packaging import pytorch_hub

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(4))
    config = pytorch_hub.serving_config(model, spec_for("anything", "image-classification"))
    assert config["labels"] == ["0", "1", "2", "3"] and config["crop_size"] == 224


def test_the_jobs_code_archive_packages_as_the_processing_job_runs_it(tmp_path):
    """The zipapp the stack uploads (sources/hub/packaging_job.py), run as its entrypoint runs it."""
    from sources.hub.packaging_job import packaging_code_archive

    spec = packaging_spec(
        "pytorch_hub", repo="mlkit/tiny-hub:v1", entrypoint="tiny_classifier", task="image-classification"
    )
    arguments = ["--spec", json.dumps(spec), "--output", str(tmp_path / "out"), "--local", str(TINY_HUB)]
    finished = subprocess.run(
        [sys.executable, str(packaging_code_archive()), *arguments],
        cwd=tmp_path,  # not the checkout: the archive must carry every module it imports
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["spec_hash"] == spec_hash(spec)
    with tarfile.open(tmp_path / "out" / "model.tar.gz") as archive:
        assert {"model.pt", "code/inference.py", "code/serving.json"} <= set(archive.getnames())
