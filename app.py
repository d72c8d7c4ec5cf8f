#!/usr/bin/env python3
"""mlkit: one config file per environment in, one Stage per environment out.

With `-c delivery=config/delivery.yaml`: the delivery app instead (the pipeline and the GitHub OIDC stacks).
"""

import sys
from pathlib import Path

from stacks.bytecode import keep_bytecode

keep_bytecode()  # before aws_cdk, or each synth compiles it where PYTHONDONTWRITEBYTECODE is set

import aws_cdk as cdk  # noqa: E402

from stacks.cdk_app import mlkit_app  # noqa: E402
from stacks.config import ConfigError, load_config, load_delivery, select_config_path  # noqa: E402
from stacks.nag import add_nag_checks  # noqa: E402
from stacks.stack_limits import CDK_RESOURCE_LIMIT_CONTEXT, refusal  # noqa: E402


def main(app: cdk.App) -> None:
    """Synthesize what ``app``'s context selects: the delivery app, or one environment's Stage."""
    emulated = app.node.try_get_context("emulated") == "true"
    for key, value in CDK_RESOURCE_LIMIT_CONTEXT.items():  # refused below, with the other limits
        app.node.set_context(key, value)
    try:
        if delivery_file := app.node.try_get_context("delivery"):
            from stacks.delivery.app import build_delivery  # CDK Pipelines is imported only when used

            build_delivery(app, load_delivery(Path(delivery_file)), emulated=emulated)
        else:
            from stacks.stage import MlKitStage

            context = app.node.try_get_context
            config = load_config(select_config_path(config=context("config"), env=context("env")))
            MlKitStage(app, config.environment, config=config, emulated=emulated)
    except ConfigError as error:
        sys.exit(f"mlkit: invalid config, nothing synthesized\n{error}")
    add_nag_checks(app)
    try:
        assembly = app.synth()
    except RuntimeError as error:  # a cdk-nag finding: show the report, not a jsii traceback
        sys.exit(f"mlkit: {error}")
    if problem := refusal(Path(assembly.directory)):  # CloudFormation would refuse it: nothing to deploy
        sys.exit(f"mlkit: {problem}")


if __name__ == "__main__":
    main(mlkit_app())
