"""Hugging Face hub models on SageMaker endpoints (the HF inference DLC, or TGI for LLMs)."""

from stacks.config.pretrained import HuggingFaceModel
from stacks.sources.base import SageMakerSource, StageResources

NOT_EMULATED = "the answer is the emulator's seeded one: no Hugging Face container runs offline"


class HuggingFaceSource(SageMakerSource):
    name = "huggingface"
    config_model = HuggingFaceModel

    def describe(self, model) -> str:
        return f"Hugging Face model {model.model_id}"

    def stack_class(self, model) -> type:
        from stacks.huggingface_stack import HuggingFaceModelStack

        return HuggingFaceModelStack

    def stack_arguments(self, model, resources: StageResources) -> dict:
        return {"artifacts_bucket_name": resources.data.bucket_names["artifacts"]}

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

    def run_locally(self, report, run, label: str, model) -> dict | None:
        from mlkit.route_checks import check_pretrained_endpoint

        check_pretrained_endpoint(report, run, label, model, NOT_EMULATED)
