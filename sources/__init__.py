"""The registered model sources. Adding a source is its package plus one line in ``REGISTERED``.

Each source is a package ``sources/<name>/`` whose ``SOURCE`` implements sources/base.py's
``ModelSource``; the config union, the Stage, the router's registry and grants, the dashboard and
`make local` all iterate over ``SOURCES``.
"""

from sources import autopilot, bedrock, huggingface, jumpstart, pytorch_hub, tensorflow_hub, training
from sources.base import ModelSource

REGISTERED: tuple[ModelSource, ...] = (
    huggingface.SOURCE,
    bedrock.SOURCE,
    training.SOURCE,
    autopilot.SOURCE,
    pytorch_hub.SOURCE,
    tensorflow_hub.SOURCE,
    jumpstart.SOURCE,
)
SOURCES: dict[str, ModelSource] = {source.name: source for source in REGISTERED}


def source_of(model) -> ModelSource:
    """The source a config model entry belongs to (its ``source`` key)."""
    return SOURCES[model.source]


def config_models() -> tuple[type, ...]:
    """Every source's config model, for the config's discriminated union of model entries."""
    return tuple(source.config_model for source in REGISTERED)
