"""SageMaker container image URIs, from a table generated from the sagemaker SDK's image_uris.

See generate.py for why the table is committed rather than the SDK imported at synth.
"""

import functools
import json
from pathlib import Path

TABLE_PATH = Path(__file__).resolve().parent / "table.json"


class ImageNotFound(ValueError):
    """No image for that version or region. ``key`` is the config key at fault; the message lists options."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@functools.cache
def _images() -> dict[str, dict]:
    return json.loads(TABLE_PATH.read_text())["images"]


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.replace("-", ".").split(".") if part.isdigit())


def versions(prefix: str) -> list[str]:
    """Known versions under ``prefix`` (e.g. "xgboost/"), oldest first."""
    found = {key.removeprefix(prefix).split("/")[0] for key in _images() if key.startswith(prefix)}
    return sorted(found, key=_version_key)


def _uri(key: str, region: str, what: str) -> str:
    image = _images()[key]
    registry = image["registries"].get(region)
    if registry is None:
        raise ImageNotFound(
            "region", f"{what} has no image in {region}; regions: {', '.join(image['registries'])}"
        )
    return f"{registry}/{image['image']}"


def _pick(prefix: str, wanted: str | None, key: str, what: str = "") -> str:
    known = versions(prefix)
    if wanted is None:
        return known[-1]
    if wanted not in known:
        raise ImageNotFound(
            key, f"{wanted!r} is not known to the sagemaker SDK{what}; known: {', '.join(known)}"
        )
    return wanted


def huggingface_uri(
    region: str, *, transformers_version: str | None, pytorch_version: str | None, gpu: bool
) -> str:
    """The HF inference DLC; defaults to the newest transformers and its newest PyTorch."""
    transformers = _pick("huggingface/", transformers_version, "transformers_version")
    prefix = f"huggingface/{transformers}/pytorch"
    pytorch = _pick(prefix, pytorch_version, "pytorch_version", f" for transformers {transformers}")
    processor = "gpu" if gpu else "cpu"
    return _uri(f"{prefix}{pytorch}/{processor}", region, f"transformers {transformers}")


def tgi_uri(region: str, *, version: str | None) -> str:
    """The Hugging Face TGI (LLM) container; defaults to the newest."""
    chosen = _pick("huggingface-llm/", version, "tgi_version")
    return _uri(f"huggingface-llm/{chosen}", region, f"TGI {chosen}")


def xgboost_uri(region: str, *, version: str) -> str:
    """The SageMaker XGBoost container (built-in algorithm and script mode)."""
    chosen = _pick("xgboost/", version, "xgboost_version")
    return _uri(f"xgboost/{chosen}", region, f"XGBoost {chosen}")


def repository_arn(image_uri: str, partition: str = "aws") -> str:
    """The ECR repository ARN of an image URI, for a pull grant scoped to it."""
    registry, path = image_uri.split("/", 1)
    account, _, _, region = registry.split(".")[:4]
    return f"arn:{partition}:ecr:{region}:{account}:repository/{path.split(':')[0]}"


def framework_inference_uri(framework: str, region: str, *, version: str | None, gpu: bool) -> str:
    """A framework's inference DLC ("pytorch", "tensorflow"); defaults to the newest version."""
    chosen = _pick(f"{framework}/", version, "framework_version", f" for {framework}")
    processor = "gpu" if gpu else "cpu"
    return _uri(f"{framework}/{chosen}/{processor}", region, f"{framework} {chosen}")


def framework_training_uri(framework: str, region: str, *, version: str | None, gpu: bool) -> str:
    """A framework's training DLC ("pytorch", "tensorflow"); defaults to the newest version."""
    chosen = _pick(f"{framework}-training/", version, "framework_version", f" for {framework} training")
    processor = "gpu" if gpu else "cpu"
    return _uri(f"{framework}-training/{chosen}/{processor}", region, f"{framework} training {chosen}")


def sklearn_uri(region: str, *, version: str | None, scope: str) -> str:
    """The SageMaker scikit-learn container for ``scope`` ("training" or "inference"); newest by default."""
    chosen = _pick(f"sklearn-{scope}/", version, "framework_version", f" for scikit-learn {scope}")
    return _uri(f"sklearn-{scope}/{chosen}", region, f"scikit-learn {chosen}")


def huggingface_training_uri(
    region: str, *, transformers_version: str | None, pytorch_version: str | None
) -> str:
    """The Hugging Face training DLC (GPU); defaults to the newest transformers and its PyTorch."""
    transformers = _pick(
        "huggingface-training/", transformers_version, "transformers_version", " for training"
    )
    prefix = f"huggingface-training/{transformers}/pytorch"
    pytorch = _pick(prefix, pytorch_version, "pytorch_version", f" for transformers {transformers} training")
    return _uri(f"{prefix}{pytorch}/gpu", region, f"transformers {transformers} training")


def processing_uri(kind: str, region: str, *, version: str | None = None) -> str:
    """A processing container: "spark" (SageMaker Spark processing) or "data-wrangler"; newest by default."""
    chosen = _pick(f"{kind}/", version, "version", f" for {kind} processing")
    return _uri(f"{kind}/{chosen}", region, f"{kind} {chosen}")
