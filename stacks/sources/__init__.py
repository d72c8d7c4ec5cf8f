"""The registered model sources. Adding a source is its module plus one line in ``REGISTERED``.

Each source implements stacks/sources/base.py's ``ModelSource``; the config union, the Stage, the
router's registry and grants, and `make local` all iterate over ``SOURCES``.
"""

from stacks.sources.autopilot import AutopilotSource
from stacks.sources.base import ModelSource
from stacks.sources.bedrock import BedrockSource
from stacks.sources.huggingface import HuggingFaceSource
from stacks.sources.jumpstart import JumpStartSource
from stacks.sources.pytorch_hub import PyTorchHubSource
from stacks.sources.tensorflow_hub import TensorFlowHubSource
from stacks.sources.training import TrainingSource

REGISTERED: tuple[ModelSource, ...] = (
    HuggingFaceSource(),
    BedrockSource(),
    TrainingSource(),
    AutopilotSource(),
    PyTorchHubSource(),
    TensorFlowHubSource(),
    JumpStartSource(),
)
SOURCES: dict[str, ModelSource] = {source.name: source for source in REGISTERED}


def source_of(model) -> ModelSource:
    """The source a config model entry belongs to (its ``source`` key)."""
    return SOURCES[model.source]


def config_models() -> tuple[type, ...]:
    """Every source's config model, for the config's discriminated union of model entries."""
    return tuple(source.config_model for source in REGISTERED)
