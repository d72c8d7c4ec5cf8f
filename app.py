#!/usr/bin/env python3
"""mlkit: one config file per environment in, one Stage per environment out."""

import sys

import aws_cdk as cdk

from stacks.cdk_app import mlkit_app
from stacks.config import ConfigError, load_config, select_config_path
from stacks.nag import add_nag_checks
from stacks.stage import MlKitStage


def main(app: cdk.App) -> None:
    """Synthesize the Stage of the config that ``app``'s context (or MLKIT_ENV) selects."""
    path = select_config_path(config=app.node.try_get_context("config"), env=app.node.try_get_context("env"))
    try:
        config = load_config(path)
    except ConfigError as error:
        sys.exit(f"mlkit: invalid config, nothing synthesized\n{error}")
    MlKitStage(
        app, config.environment, config=config, emulated=app.node.try_get_context("emulated") == "true"
    )
    add_nag_checks(app)
    try:
        app.synth()
    except RuntimeError as error:  # a cdk-nag finding: show the report, not a jsii traceback
        sys.exit(f"mlkit: {error}")


if __name__ == "__main__":
    main(mlkit_app())
