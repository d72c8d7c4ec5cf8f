"""The delivery file for mlkit's command lines: one `--delivery` option, one way to report a bad file."""

import argparse
import sys
from pathlib import Path


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delivery", default=None, help="default config/delivery.yaml")


def load(value: str | None):
    """The delivery file ``value`` names (default config/delivery.yaml), or None once it printed why the
    file is invalid (the command then exits 2)."""
    from stacks.config import ConfigError, load_delivery
    from stacks.config.loader import DELIVERY_PATH

    try:
        return load_delivery(Path(value) if value else DELIVERY_PATH)
    except ConfigError as error:
        print(f"mlkit: invalid config\n{error}", file=sys.stderr)
        return None
