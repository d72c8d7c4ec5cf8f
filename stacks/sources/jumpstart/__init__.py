"""SageMaker JumpStart models, from specs resolved once by `make jumpstart` and committed."""

from stacks.sources.base import SageMakerSource, StageResources
from stacks.sources.jumpstart import specs
from stacks.sources.jumpstart.config import JumpStartModel

NOT_EMULATED = "the answer is the emulator's seeded one: no JumpStart container runs offline"


class JumpStartSource(SageMakerSource):
    name = "jumpstart"
    config_model = JumpStartModel

    def describe(self, model) -> str:
        return f"JumpStart model {model.model_id} {model.version}"

    def stack_class(self, model) -> type:
        from stacks.sources.jumpstart.stack import JumpStartModelStack

        return JumpStartModelStack

    def stack_arguments(self, model, resources: StageResources) -> dict:
        return {"artifacts_bucket_name": resources.data.bucket_names["artifacts"]}

    def image_uri(self, model, region: str) -> str:
        return specs.image_uri(model.spec, region, model.hosting.instance_type)

    def run_locally(self, report, run, label: str, model) -> None:
        from mlkit.route_checks import check_pretrained_endpoint

        check_pretrained_endpoint(report, run, label, model, NOT_EMULATED)
