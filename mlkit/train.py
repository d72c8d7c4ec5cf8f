"""`make train MODEL=name`: start a training model's pipeline by hand, Glue job first.

Usage: python -m mlkit.train MODEL [--env dev]

Finds the state machine from the model stack's `StateMachineArn` output and starts it with
{"prepare": true}, so the dataset's Glue job runs before training. Credentials and region come
from the environment (AWS_PROFILE, AWS_ENDPOINT_URL for the emulator, ...); the region defaults
to the config's.
"""

import json
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mlkit import environment_file
from stacks import names

PIPELINE_SOURCES = ("training", "autopilot")


class TrainError(Exception):
    """Why the pipeline could not be started; the message says what to do."""


def state_machine_arn(cloudformation, stack_name: str) -> str:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise TrainError(
            f"{stack_name}: {error.response['Error']['Message']} (deploy it first: make deploy)"
        ) from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if "StateMachineArn" not in outputs:
        raise TrainError(f"{stack_name} has no StateMachineArn output: is it a training model's stack?")
    return outputs["StateMachineArn"]


def start(model: str, config, session=None) -> dict:
    """Start the model's pipeline with {"prepare": true}; answers the execution ARN and start date."""
    entry = config.models.get(model)
    if entry is None:
        raise TrainError(
            f"no model {model!r} in the {config.environment} config; models: {', '.join(config.models)}"
        )
    if entry.source not in PIPELINE_SOURCES:
        raise TrainError(
            f"{model} is a {entry.source} model: only {', '.join(PIPELINE_SOURCES)} models are trained"
        )
    session = session or boto3.Session(region_name=config.region)
    arn = state_machine_arn(
        session.client("cloudformation"), names.model_stack_name(config.environment, model)
    )
    execution = session.client("stepfunctions").start_execution(
        stateMachineArn=arn, input=json.dumps({"prepare": True})
    )
    return {"executionArn": execution["executionArn"], "startDate": str(execution["startDate"])}


def main(argv: list[str] | None = None) -> int:
    parser = environment_file.argument_parser(__doc__)
    parser.add_argument("model", help="a training model's name in the config")
    args = parser.parse_args(argv)
    config = environment_file.load(args)
    if config is None:
        return 2
    try:
        print(json.dumps(start(args.model, config), indent=2))
    except TrainError as error:
        print(f"mlkit train: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"mlkit train: AWS refused: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
