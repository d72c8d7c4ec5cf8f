"""PyTorch Hub models (``torch.hub.load(repo, entrypoint, **args)``), packaged once, served isolated."""

import re
from typing import Literal

from pydantic import Field, field_validator

from jobs.packaging.spec import packaging_spec
from sources.hub import HubSource
from sources.hub.config import HubModel

# Refs that move: a branch name is never a pin, whatever the repo.
MOVING_REFS = {"main", "master", "develop", "dev", "trunk", "head", "latest", "nightly", "stable"}
ArgumentValue = str | int | float | bool | None


class PyTorchHubModel(HubModel):
    """A model from a PyTorch Hub repo at a tag or commit."""

    source: Literal["pytorch_hub"]
    repo: str = Field(
        description="owner/name:tag, e.g. pytorch/vision:v0.20.0. A tag or commit, never a branch."
    )
    entrypoint: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="The hubconf function, e.g. resnet50."
    )
    args: dict[str, ArgumentValue] = Field(
        default_factory=dict,
        description="Keyword arguments of the entrypoint, e.g. {weights: IMAGENET1K_V2}.",
    )

    @field_validator("repo")
    @classmethod
    def _pinned(cls, value: str) -> str:
        match = re.fullmatch(r"([\w.-]+)/([\w.-]+):([\w.+-]+)", value)
        if not match:
            raise ValueError(
                f"{value!r} is not owner/name:tag (a tag or commit is required, e.g. pytorch/vision:v0.20.0)"
            )
        ref = match.group(3)
        commit = re.fullmatch(r"[0-9a-f]{7,40}", ref)
        if not commit and (ref.lower() in MOVING_REFS or not any(c.isdigit() for c in ref)):
            raise ValueError(
                f"{ref!r} looks like a branch, which moves: pin a release tag (e.g. v0.20.0) or a commit"
            )
        return value


class PyTorchHubSource(HubSource):
    name = "pytorch_hub"
    config_model = PyTorchHubModel
    framework = "pytorch"
    description = "PyTorch Hub model {model.repo} {model.entrypoint}"

    def packaging_spec(self, model) -> dict:
        return packaging_spec(
            self.name, repo=model.repo, entrypoint=model.entrypoint, args=model.args, task=model.task
        )

    def serving_environment(self, model) -> dict[str, str]:
        # The PyTorch inference toolkit runs code/inference.py from model.tar.gz.
        return {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}


SOURCE = PyTorchHubSource()
