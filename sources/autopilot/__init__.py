"""Autopilot models: AutoML V2 on a curated dataset, its best candidate deployed."""

from sources.autopilot.config import AutopilotModel
from sources.base import DatasetPipelineSource


class AutopilotSource(DatasetPipelineSource):
    name = "autopilot"
    config_model = AutopilotModel
    description = "Autopilot model on dataset {model.dataset}"


SOURCE = AutopilotSource()
