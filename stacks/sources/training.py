"""Custom-trained models: SageMaker training on a curated dataset, a metric gate, an endpoint."""

from stacks.config.custom import TrainingModel
from stacks.sources.base import SageMakerSource, StageResources


class DatasetPipelineSource(SageMakerSource):
    """A model whose pipeline starts from one of the config's datasets (its dataset stack)."""

    has_pipeline = True
    trains_on_dataset = True

    def stack_arguments(self, model, resources: StageResources) -> dict:
        dataset = resources.datasets[model.dataset]
        return {
            "bucket_names": resources.data.bucket_names,
            # Only a Glue dataset can be prepared inside a model's pipeline ({"prepare": true}).
            "glue_job_name": dataset.glue_job_name if dataset.prepare == "glue" else None,
            "curated_prefixes": dataset.curated_prefixes,
            "deployer": resources.deployer,
        }


class TrainingSource(DatasetPipelineSource):
    name = "training"
    config_model = TrainingModel

    def describe(self, model) -> str:
        return f"model trained on dataset {model.dataset}"

    def stack_class(self, model) -> type:
        from stacks.training_stack import TrainingModelStack

        return TrainingModelStack

    def image_uri(self, model, region: str) -> str | None:
        """The training image; the serving image is checked too, so a version that trains but cannot
        serve is a config error."""
        from stacks.training_algorithms import serving_image, training_image

        image = training_image(model, region)
        serving_image(model, region)
        return image

    def run_locally(self, report, run, label: str, model) -> dict | None:
        from mlkit.custom_model_run import prepare_dataset_once, run_training_model
        from mlkit.script_model_run import run_script_model

        blocked = prepare_dataset_once(report, run, model.dataset)
        if model.is_xgboost:
            return run_training_model(report, run, label, model, blocked)
        return run_script_model(report, run, label, model, blocked)
