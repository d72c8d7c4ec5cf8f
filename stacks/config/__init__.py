"""The typed, validated config of each environment (config/<env>.yaml) and of delivery (delivery.yaml)."""

from stacks.config.base import ConfigError
from stacks.config.custom import AutopilotModel, TrainingModel
from stacks.config.delivery import Delivery, DeliveryConfig, DeliveryEnvironment
from stacks.config.environment import MlKitConfig
from stacks.config.hosting import AsyncHosting, RealtimeHosting, ServerlessHosting
from stacks.config.loader import load_config, load_delivery, select_config_path
from stacks.config.pretrained import BedrockModel, HuggingFaceModel

__all__ = [
    "AsyncHosting",
    "AutopilotModel",
    "BedrockModel",
    "ConfigError",
    "Delivery",
    "DeliveryConfig",
    "DeliveryEnvironment",
    "HuggingFaceModel",
    "MlKitConfig",
    "RealtimeHosting",
    "ServerlessHosting",
    "TrainingModel",
    "load_config",
    "load_delivery",
    "select_config_path",
]
