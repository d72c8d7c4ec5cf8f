"""Autopilot models: AutoML V2 on a curated dataset, its best candidate deployed."""

from stacks.config.custom import AutopilotModel
from stacks.sources.training import DatasetPipelineSource


class AutopilotSource(DatasetPipelineSource):
    name = "autopilot"
    config_model = AutopilotModel

    def describe(self, model) -> str:
        return f"Autopilot model on dataset {model.dataset}"

    def stack_class(self, model) -> type:
        from stacks.autopilot_stack import AutopilotModelStack

        return AutopilotModelStack

    def run_locally(self, report, run, label: str, model) -> dict | None:
        from mlkit.custom_model_run import check_autopilot_model, prepare_dataset_once

        blocked = prepare_dataset_once(report, run, model.dataset)
        return check_autopilot_model(report, run, label, model, blocked)
