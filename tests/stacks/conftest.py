import pytest

from stacks.config import load_config
from stacks.config.loader import CONFIG_DIR, DELIVERY_PATH
from tests.stacks.synth import synthesize, synthesize_delivery


@pytest.fixture(scope="session")
def dev_config():
    return load_config(CONFIG_DIR / "dev.yaml")


@pytest.fixture(scope="session")
def dev_app(dev_config):
    """The default (dev) config, synthesized once for the whole session."""
    return synthesize(dev_config)


@pytest.fixture(scope="session")
def delivery_app():
    """config/delivery.yaml's app (the pipeline over dev, staging and prod, and their OIDC stacks), once."""
    return synthesize_delivery(DELIVERY_PATH)
