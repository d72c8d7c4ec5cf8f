"""Custom-trained models: SageMaker training on a curated dataset, a metric gate, an endpoint."""

from sources.base import DatasetPipelineSource
from sources.training.config import TrainingModel


class TrainingSource(DatasetPipelineSource):
    name = "training"
    config_model = TrainingModel
    description = "model trained on dataset {model.dataset}"

    def image_uri(self, model, region: str) -> str | None:
        """The training image; the serving image is checked too, so a version that trains but cannot
        serve is a config error."""
        from sources.training.algorithms import serving_image, training_image

        image = training_image(model, region)
        serving_image(model, region)
        return image


SOURCE = TrainingSource()
