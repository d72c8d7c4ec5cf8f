"""The typed, validated config of each environment (config/<env>.yaml) and of delivery (delivery.yaml).

Names load on first use: the model sources' config modules (sources/<name>/config.py) import this
package's submodules, and the environment's model union imports the sources. Each source's own config
model lives in its package.
"""

import importlib

_EXPORTS = {
    "AsyncHosting": "hosting",
    "ConfigError": "base",
    "Delivery": "delivery",
    "DeliveryConfig": "delivery",
    "DeliveryEnvironment": "delivery",
    "MlKitConfig": "environment",
    "RealtimeHosting": "hosting",
    "ServerlessHosting": "hosting",
    "load_config": "loader",
    "load_delivery": "loader",
    "select_config_path": "loader",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
