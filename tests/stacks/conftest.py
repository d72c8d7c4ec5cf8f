import pytest

from stacks.config import load_config
from stacks.config.loader import CONFIG_DIR
from tests.stacks.synth import synthesize


@pytest.fixture(scope="session")
def dev_config():
    return load_config(CONFIG_DIR / "dev.yaml")


@pytest.fixture(scope="session")
def dev_app(dev_config):
    """The default (dev) config, synthesized once for the whole session."""
    return synthesize(dev_config)
