"""SageMaker JumpStart models, from specs resolved once by `make jumpstart` and committed."""

from sources.base import SageMakerSource
from sources.jumpstart import specs
from sources.jumpstart.config import JumpStartModel


class JumpStartSource(SageMakerSource):
    name = "jumpstart"
    config_model = JumpStartModel
    description = "JumpStart model {model.model_id} {model.version}"

    def image_uri(self, model, region: str) -> str:
        return specs.image_uri(model.spec, region, model.hosting.instance_type)


SOURCE = JumpStartSource()
