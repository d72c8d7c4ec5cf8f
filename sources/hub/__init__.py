"""What the hub sources (pytorch_hub, tensorflow_hub) share: their stack (stack.py), its arguments,
and their rows of `make local` (local.py). Each hub source's own package holds its config model and
its ModelSource, a HubSource."""

from sources.base import SageMakerSource, StageResources


class HubSource(SageMakerSource):
    """A hub model packaged by a Processing job on ``framework``'s inference DLC, served isolated."""

    has_pipeline = True
    # The hub sources share this package's stack and local rows.
    package = "sources.hub"

    framework: str

    def packaging_spec(self, model) -> dict:
        """What the packaging job fetches and how it serves (jobs/packaging/spec.py)."""
        raise NotImplementedError

    def serving_environment(self, model) -> dict[str, str]:
        """The serving container's variables."""
        raise NotImplementedError

    def stack_arguments(self, model, resources: StageResources) -> dict:
        return {
            **super().stack_arguments(model, resources),
            "framework": self.framework,
            "spec": self.packaging_spec(model),
            "serving_environment": self.serving_environment(model),
            "deployer": resources.deployer,
        }

    def image_uri(self, model, region: str) -> str:
        from stacks.images import framework_inference_uri

        return framework_inference_uri(self.framework, region, version=model.framework_version, gpu=model.gpu)
