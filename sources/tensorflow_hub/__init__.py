"""TensorFlow Hub (Kaggle Models) SavedModels, packaged once for TF Serving, served isolated."""

from typing import Literal

from pydantic import Field, field_validator

from jobs.packaging.spec import packaging_spec
from jobs.packaging.tensorflow_hub import download_url
from sources.hub import HubSource
from sources.hub.config import HubModel


class TensorFlowHubModel(HubModel):
    """A SavedModel from tfhub.dev or Kaggle Models, at a version."""

    source: Literal["tensorflow_hub"]
    task: Literal["image-classification"]
    handle: str = Field(
        description="A tfhub.dev or Kaggle Models URL ending in its version, e.g. "
        "https://www.kaggle.com/models/google/mobilenet-v2/tensorFlow2/100-224-classification/2."
    )

    @field_validator("handle")
    @classmethod
    def _versioned(cls, value: str) -> str:
        download_url(value)  # ValueError saying what is allowed
        return value


class TensorFlowHubSource(HubSource):
    name = "tensorflow_hub"
    config_model = TensorFlowHubModel
    framework = "tensorflow"
    description = "TensorFlow Hub model {model.handle}"

    def packaging_spec(self, model) -> dict:
        return packaging_spec(self.name, handle=model.handle, task=model.task)

    def serving_environment(self, model) -> dict[str, str]:
        return {}


SOURCE = TensorFlowHubSource()
