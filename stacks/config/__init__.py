"""The typed, validated config of one environment (config/<env>.yaml)."""

from stacks.config.base import ConfigError
from stacks.config.custom import AutopilotModel, TrainingModel
from stacks.config.environment import MlKitConfig
from stacks.config.hosting import AsyncHosting, RealtimeHosting, ServerlessHosting
from stacks.config.loader import load_config, select_config_path
from stacks.config.pretrained import BedrockModel, HuggingFaceModel

__all__ = [
    "AsyncHosting",
    "AutopilotModel",
    "BedrockModel",
    "ConfigError",
    "HuggingFaceModel",
    "MlKitConfig",
    "RealtimeHosting",
    "ServerlessHosting",
    "TrainingModel",
    "load_config",
    "select_config_path",
]
