"""Hugging Face hub models on SageMaker endpoints (the HF inference DLC, or TGI for LLMs)."""

from sources.base import SageMakerSource
from sources.huggingface.config import HuggingFaceModel


class HuggingFaceSource(SageMakerSource):
    name = "huggingface"
    config_model = HuggingFaceModel
    description = "Hugging Face model {model.model_id}"

    def image_uri(self, model, region: str) -> str:
        from stacks.images import huggingface_uri, tgi_uri

        if model.resolved_container == "tgi":
            return tgi_uri(region, version=model.tgi_version)
        hosting = model.hosting
        gpu = hosting.type != "serverless" and hosting.instance_type.startswith(("ml.g", "ml.p"))
        return huggingface_uri(
            region,
            transformers_version=model.transformers_version,
            pytorch_version=model.pytorch_version,
            gpu=gpu,
        )


SOURCE = HuggingFaceSource()
