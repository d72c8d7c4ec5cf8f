"""`make local`, hub models (PyTorch Hub, TensorFlow Hub): package, deploy and route for real.

The packaging job's code runs here on a tiny local stand-in for the hub (the hub is not reachable
offline), its model.tar.gz goes to the key the deployed stack names for the config, the real deploy
Lambda creates the endpoint, and the router sends an image to it, whose answer is what the packaged
serving code computes for that image. The Processing job itself, on AWS, is not emulated.
"""

import io
import json
import random
import tarfile
import tempfile
from pathlib import Path

from mlkit import deployed_roles
from mlkit.checks import stack_outputs
from mlkit.emulator import ROOT
from mlkit.local_context import Run
from mlkit.pipeline_rows import SCALING_ROW, deploy, hosting, scaling
from mlkit.report import NotEmulated, Report, StepFailed
from mlkit.route_checks import RECORDED, queued_detail
from mlkit.route_proof import prove_inline
from sources import source_of
from stacks import names

TINY_HUB = ROOT / "sample-data" / "tiny-hub"
TINY_SAVED_MODEL = ROOT / "sample-data" / "tiny-savedmodel"
JSON = "application/json"
PNG = "image/png"
PACKAGING_NOT_EMULATED = (
    "the Processing job that fetches the hub model on AWS (moto runs no containers; the hub is not "
    "reachable offline): its code ran above on a local stand-in"
)


def stand_in(source, model) -> tuple[dict, Path, str]:
    """(spec, local directory, what it is) to package in place of the hub model, offline."""
    if source.name == "pytorch_hub":
        spec = {**source.packaging_spec(model), "entrypoint": "tiny_classifier", "args": {}}
        if model.task == "object-detection":
            spec["entrypoint"] = "tiny_detector"
        return spec, TINY_HUB, f"{spec['entrypoint']} from {TINY_HUB.relative_to(ROOT)}"
    return (
        source.packaging_spec(model),
        TINY_SAVED_MODEL,
        f"the SavedModel {TINY_SAVED_MODEL.relative_to(ROOT)}",
    )


def run_locally(report: Report, run: Run, label: str, model) -> dict:
    return run_hub_model(report, run, label, model, source_of(model))


def run_hub_model(report: Report, run: Run, label: str, model, source) -> dict:
    outcome: dict = {}
    _, blocked = report.attempt(
        label,
        "package (packaging job code, local)",
        None,
        lambda row: package(row, run, label, model, source, outcome),
    )
    _, blocked = report.attempt(label, "deploy Lambda", blocked, lambda row: deploy(row, run, label, outcome))
    report.attempt(
        label, "endpoint config matches hosting", blocked, lambda row: hosting(row, run, label, model)
    )
    report.attempt(label, SCALING_ROW, blocked, lambda row: scaling(row, run, label, model, outcome))
    report.attempt(
        label, "served with network isolation", blocked, lambda row: isolated(row, run, label, outcome)
    )
    if model.hosting.type == "async":
        report.attempt(
            label,
            "router queues an image for this endpoint",
            blocked or run.router_blocked,
            lambda row: queued_detail(row, run, label, sample_image(), PNG, JSON),
        )
    else:
        report.attempt(
            label,
            "router sends an image to this endpoint",
            blocked or run.router_blocked,
            lambda row: route_image(row, run, label, outcome, source),
        )
    with report.step(label, "packaging job on AWS"):
        raise NotEmulated(PACKAGING_NOT_EMULATED)
    return outcome


def package(row, run: Run, label: str, model, source, outcome: dict) -> None:
    from jobs.packaging.package import package as package_model
    from jobs.packaging.spec import spec_hash

    spec, directory, what = stand_in(source, model)
    output = run.workdir / "packaged" / label
    manifest = package_model(spec, output, str(directory))
    # The key of the config's own spec: where the deployed pipeline looks for this model.
    key = names.packaged_model_key(label, spec_hash(source.packaging_spec(model)))
    stack_output = stack_outputs(
        run.clients("cloudformation"), names.model_stack_name(run.environment, label)
    )
    model_data_url = f"s3://{run.bucket('artifacts')}/{key}"
    served = stack_output.get("ModelDataUrl")
    if served != model_data_url:
        raise StepFailed(f"the stack serves {served}; the config's spec hashes to {model_data_url}")
    archive = (output / "model.tar.gz").read_bytes()

    # Written as the packaging job's role, as the Processing job on AWS writes it.
    def role() -> str:
        definition = json.loads(deployed_roles.model_pipeline(run, label)["definition"])
        return deployed_roles.job_role(definition, "ProcessingJob")

    run.clients_as(role, f"{label} packaging job")("s3").put_object(
        Bucket=run.bucket("artifacts"), Key=key, Body=archive
    )
    outcome.update(model_data_url=model_data_url, archive=archive, manifest=manifest)
    row.detail = f"jobs/packaging on {what} ({len(archive) // 1024} KiB) → {model_data_url}"


def isolated(row, run: Run, label: str, outcome: dict) -> None:
    sagemaker = run.clients("sagemaker")
    config_name = sagemaker.describe_endpoint(EndpointName=run.endpoint_name(label))["EndpointConfigName"]
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
    described = sagemaker.describe_model(ModelName=variants[0]["ModelName"])
    isolation = described.get("EnableNetworkIsolation")
    if isolation is not True:
        raise StepFailed(f"{variants[0]['ModelName']} has EnableNetworkIsolation {isolation!r}")
    data_url = described["PrimaryContainer"].get("ModelDataUrl")
    if data_url != outcome["model_data_url"]:
        raise StepFailed(
            f"{variants[0]['ModelName']} serves {data_url}, not the packaged {outcome['model_data_url']}"
        )
    row.detail = f"{variants[0]['ModelName']}: EnableNetworkIsolation true, ModelDataUrl {data_url}"


def sample_image() -> bytes:
    """A new PNG each run (moto replays its kept answer for a request it has seen before)."""
    from PIL import Image

    colours = random.Random()
    image = Image.new("RGB", (64, 48), tuple(colours.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def served_answer(archive: bytes, body: bytes, content_type: str, framework: str) -> str:
    """What the packaged serving code answers for ``body``, model.tar.gz unpacked and called as the
    framework's container does: the PyTorch toolkit's model_fn, input_fn, predict_fn, output_fn, or
    TF Serving's input_handler, the SavedModel's serving_default, output_handler."""
    import importlib.util

    with tempfile.TemporaryDirectory() as directory:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(directory, filter="data")
        path = Path(directory) / "code" / "inference.py"
        spec = importlib.util.spec_from_file_location("packaged_inference", path)
        handler = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(handler)
        if framework == "tensorflow":
            return tensorflow_serving_answer(handler, Path(directory), body, content_type)
        loaded = handler.model_fn(directory)
        return handler.output_fn(handler.predict_fn(handler.input_fn(body, content_type), loaded), JSON)


def tensorflow_serving_answer(handler, directory: Path, body: bytes, content_type: str) -> str:
    """TF Serving's REST predict, done here by the SavedModel itself (the TF Serving binary is not run)."""
    from types import SimpleNamespace

    import tensorflow as tf

    context = SimpleNamespace(request_content_type=content_type, accept_header=JSON)
    request = json.loads(handler.input_handler(io.BytesIO(body), context))
    signature = tf.saved_model.load(str(directory / "model" / "1")).signatures["serving_default"]
    (outputs,) = signature(tf.constant(request["instances"], tf.float32)).values()
    predictions = json.dumps({"predictions": outputs.numpy().tolist()})
    answer, _ = handler.output_handler(SimpleNamespace(status_code=200, content=predictions), context)
    return answer


def route_image(row, run: Run, label: str, outcome: dict, source) -> None:
    image = sample_image()
    expected = served_answer(outcome["archive"], image, PNG, source.framework)
    prove_inline(run, label, image, PNG, expected, JSON)
    top = json.loads(expected).get("predictions", [{}])[0]
    row.detail = (
        f"a {len(image)}-byte PNG → POST /models/{label}/invoke → 200 with the packaged model's answer "
        f"(top: {top.get('label')} {top.get('score', 0):.3f}); {RECORDED} InvokeEndpoint to "
        f"{run.endpoint_name(label)} with the image's bytes (the answer is computed locally from "
        "model.tar.gz's code/inference.py and served by moto: the framework's container does not run offline)"
    )
