"""Generate stacks/images/table.json from the sagemaker SDK's image_uris (`make images`).

Why a committed table: importing sagemaker-core costs 1.2-2.3 s and ~230 MB, which every synth
would pay, including those with no SageMaker model; the table is read in milliseconds.
tests/stacks/test_images.py fails when the table drifts from the installed SDK.
"""

import functools
import json
from importlib.metadata import version
from pathlib import Path

from sagemaker.core import common_utils, image_uris

TABLE_PATH = Path(__file__).resolve().parent / "table.json"
NEWEST = 6  # versions kept per family: enough to pin a recent one, small enough to review

# retrieve() re-reads the SDK's and botocore's JSON on every call; reading each once makes generation fast.
image_uris.config_for_framework = functools.cache(image_uris.config_for_framework)
common_utils._botocore_resolver = functools.cache(common_utils._botocore_resolver)


def _newest(versions: list[str], count: int = NEWEST) -> list[str]:
    def key(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.replace("-", ".").split(".") if part.isdigit())

    concrete = [v for v in versions if v.count(".") >= 1 and not v.endswith(".x")]
    return sorted(set(concrete), key=key)[-count:]


def _by_region(retrieve, regions) -> dict:
    uris = {region: retrieve(region) for region in regions}
    repository = {uri.split("/", 1)[1] for uri in uris.values()}
    assert len(repository) == 1, repository
    return {
        "image": repository.pop(),
        "registries": {r: uri.split("/", 1)[0] for r, uri in sorted(uris.items())},
    }


def huggingface_images() -> dict:
    config = image_uris.config_for_framework("huggingface")["inference"]
    images = {}
    for transformers in _newest(list(config["versions"])):
        entry = config["versions"][transformers]
        for base, details in entry.items():
            if not base.startswith("pytorch"):
                continue
            pytorch, py_version = base.removeprefix("pytorch"), details["py_versions"][-1]
            for processor, instance in (("cpu", "ml.m5.xlarge"), ("gpu", "ml.g5.xlarge")):
                images[f"huggingface/{transformers}/pytorch{pytorch}/{processor}"] = _by_region(
                    lambda region, t=transformers, b=base, p=py_version, i=instance: image_uris.retrieve(
                        "huggingface",
                        region,
                        version=t,
                        base_framework_version=b,
                        py_version=p,
                        instance_type=i,
                        image_scope="inference",
                    ),
                    details["registries"],
                )
    return images


def _versions(framework: str, scope: str) -> dict:
    config = image_uris.config_for_framework(framework)
    return config.get(scope, config)["versions"]


def simple_images(framework: str, scope: str, versions: list[str]) -> dict:
    images = {}
    for image_version in versions:
        registries = _versions(framework, scope)[image_version]["registries"]
        images[f"{framework}/{image_version}"] = _by_region(
            lambda region, v=image_version: image_uris.retrieve(
                framework, region, version=v, image_scope=scope
            ),
            registries,
        )
    return images


def framework_images(framework: str, scope: str = "inference", key: str | None = None) -> dict:
    """A framework's DLC (PyTorch, TensorFlow) for ``scope``, CPU and GPU, newest versions, under
    ``<key>/<version>/<processor>`` (key default: the framework's name)."""
    config = _versions(framework, scope)
    images = {}
    for image_version in _newest(list(config)):
        details = config[image_version]
        py_version = details.get("py_versions", [None])[-1]
        for processor, instance in (("cpu", "ml.m5.xlarge"), ("gpu", "ml.g5.xlarge")):
            images[f"{key or framework}/{image_version}/{processor}"] = _by_region(
                lambda region, v=image_version, p=py_version, i=instance: image_uris.retrieve(
                    framework, region, version=v, py_version=p, instance_type=i, image_scope=scope
                ),
                details["registries"],
            )
    return images


def huggingface_training_images() -> dict:
    """The HF training DLC (GPU: the HF training images are built for CUDA), newest transformers."""
    config = image_uris.config_for_framework("huggingface")["training"]
    images = {}
    for transformers in _newest(list(config["versions"]), count=3):
        for base, details in config["versions"][transformers].items():
            if not base.startswith("pytorch"):
                continue
            images[f"huggingface-training/{transformers}/{base}/gpu"] = _by_region(
                lambda region, t=transformers, b=base, p=details["py_versions"][-1]: image_uris.retrieve(
                    "huggingface",
                    region,
                    version=t,
                    base_framework_version=b,
                    py_version=p,
                    instance_type="ml.g5.xlarge",
                    image_scope="training",
                ),
                details["registries"],
            )
    return images


def sklearn_images() -> dict:
    """The SageMaker scikit-learn container, for training and for serving, its plain x.y-z versions."""
    images = {}
    for scope in ("training", "inference"):
        versions = [v for v in _versions("sklearn", scope) if v.count("-") == 1 and v[0] != "0"]
        for image_version in versions:
            images[f"sklearn-{scope}/{image_version}"] = _by_region(
                lambda region, v=image_version, s=scope: image_uris.retrieve(
                    "sklearn", region, version=v, image_scope=s, instance_type="ml.m5.xlarge"
                ),
                _versions("sklearn", scope)[image_version]["registries"],
            )
    return images


def processing_images(framework: str, versions: list[str]) -> dict:
    """Processing containers (Spark, Data Wrangler) under ``<framework>/<version>``."""
    images = {}
    for image_version in versions:
        images[f"{framework}/{image_version}"] = _by_region(
            lambda region, v=image_version: image_uris.retrieve(
                framework, region, version=v, image_scope="processing", instance_type="ml.m5.xlarge"
            ),
            _versions(framework, "processing")[image_version]["registries"],
        )
    return images


def build_table() -> dict:
    xgboost = [v for v in _newest(list(_versions("xgboost", "inference"))) if v >= "1.7"]
    tgi = _newest(list(_versions("huggingface-llm", "inference")))
    images = {
        **huggingface_images(),
        **simple_images("huggingface-llm", "inference", tgi),
        **simple_images("xgboost", "inference", xgboost),
        **framework_images("pytorch"),
        **framework_images("tensorflow"),
        **framework_images("pytorch", "training", "pytorch-training"),
        **framework_images("tensorflow", "training", "tensorflow-training"),
        **huggingface_training_images(),
        **sklearn_images(),
        **processing_images("spark", ["3.3", "3.5"]),
        **processing_images("data-wrangler", ["3.x"]),
    }
    return {
        "generated_from": f"sagemaker-core {version('sagemaker-core')}",
        "images": dict(sorted(images.items())),
    }


def render() -> str:
    return json.dumps(build_table(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    TABLE_PATH.write_text(render())
    print(f"wrote {TABLE_PATH}")
