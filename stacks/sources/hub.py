"""What the hub sources share: their stack (stacks/hub_model_stack.py) and its arguments."""

from stacks.sources.base import SageMakerSource, StageResources


class HubSource(SageMakerSource):
    """A hub model packaged by a Processing job on ``framework``'s inference DLC, served isolated."""

    has_pipeline = True

    framework: str

    def packaging_spec(self, model) -> dict:
        """What the packaging job fetches and how it serves (jobs/packaging/spec.py)."""
        raise NotImplementedError

    def serving_environment(self, model) -> dict[str, str]:
        """The serving container's variables."""
        raise NotImplementedError

    def stack_class(self, model) -> type:
        from stacks.hub_model_stack import HubModelStack

        return HubModelStack

    def stack_arguments(self, model, resources: StageResources) -> dict:
        return {
            "artifacts_bucket_name": resources.data.bucket_names["artifacts"],
            "framework": self.framework,
            "spec": self.packaging_spec(model),
            "serving_environment": self.serving_environment(model),
            "deployer": resources.deployer,
        }

    def image_uri(self, model, region: str) -> str:
        from stacks.images import framework_inference_uri

        return framework_inference_uri(self.framework, region, version=model.framework_version, gpu=model.gpu)

    def run_locally(self, report, run, label: str, model) -> dict | None:
        from mlkit.hub_model_run import run_hub_model

        return run_hub_model(report, run, label, model, self)
