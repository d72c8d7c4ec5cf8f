"""A trained model's endpoint in the emulator: the real deploy Lambda, and moto's canned answers.

The deploy event is read from the deployed pipeline itself: the state machine's containers and
deploy states (named by the stacks, see `state_names`), with their JSONPaths filled in as Step
Functions would, from a training result whose artifact is the locally packaged model.

moto answers InvokeEndpoint from a queue seeded through its own API; an answer, once given, is
kept for the same request, whatever the endpoint name (so mlkit/route_proof.py reads moto's recorder).
`drain_endpoint_results` empties the queue of answers seeded by earlier runs and never taken
(a kept emulator), so the next answer is the one this run seeds.
"""

import importlib
import json
import os
import sys
import time
import urllib.request
import uuid
from typing import Any

from mlkit.checks import stack_outputs
from mlkit.emulator import ROOT
from mlkit.report import StepFailed

DRAIN_ENDPOINT = "mlkit-local-run-drain"
MOTO_DEFAULT_BODY = b"body"  # what moto answers once its queue is empty
MAX_DRAIN = 100


def read_path(state: Any, path: str) -> Any:
    """A plain reference path ($.a.b.c), as Step Functions resolves it in Parameters."""
    if not path.startswith("$."):
        raise StepFailed(f"the pipeline uses {path!r}, which this local run cannot resolve")
    node = state
    for part in path[2:].split("."):
        if not isinstance(node, dict) or part not in node:
            raise StepFailed(f"the pipeline reads {path}, which the local run's state lacks")
        node = node[part]
    return node


def resolve(template: Any, state: Any) -> Any:
    """Step Functions' Parameters: every "key.$" becomes "key" with the value at its path."""
    if isinstance(template, dict):
        return {
            key[:-2] if key.endswith(".$") else key: read_path(state, value)
            if key.endswith(".$")
            else resolve(value, state)
            for key, value in template.items()
        }
    if isinstance(template, list):
        return [resolve(item, state) for item in template]
    return template


def pipeline(clients, stack_name: str) -> dict:
    """DescribeStateMachine of the model stack's pipeline (its StateMachineArn output)."""
    outputs = stack_outputs(clients("cloudformation"), stack_name)
    if "StateMachineArn" not in outputs:
        raise StepFailed(f"{stack_name} has no StateMachineArn output")
    return clients("stepfunctions").describe_state_machine(stateMachineArn=outputs["StateMachineArn"])


def pipeline_definition(clients, stack_name: str) -> dict:
    return json.loads(pipeline(clients, stack_name)["definition"])


def state_names() -> tuple[str, str]:
    """(containers state, deploy state), as the stacks name them; imported late, since they load the CDK."""
    from sources.training.stack import CONTAINERS_STATE
    from stacks.constructs.deploy_steps import DEPLOY_STATE

    return CONTAINERS_STATE, DEPLOY_STATE


def deploy_event(definition: dict, model_data_url: str) -> dict:
    """The deploy Lambda's event as the pipeline builds it after a training job wrote model_data_url."""
    containers_state, deploy_state = state_names()
    states = definition.get("States", {})
    missing = [name for name in (containers_state, deploy_state) if name not in states]
    if missing:
        raise StepFailed(f"the deployed pipeline has no state {missing[0]!r}")
    state: dict[str, Any] = {"training": {"ModelArtifacts": {"S3ModelArtifacts": model_data_url}}}
    containers = states[containers_state]
    result_path = containers.get("ResultPath", "$")
    if not result_path.startswith("$.") or "." in result_path[2:]:
        raise StepFailed(f"{containers_state!r} writes to {result_path}, which this local run cannot follow")
    state[result_path[2:]] = resolve(containers["Parameters"], state)
    return resolve(states[deploy_state]["Parameters"], state)


class LambdaHandler:
    """A handler module of lambdas/ as one function runs it: its own environment (its role's
    credentials among them), which ``activate`` restores whenever another function ran in between.

    Lambda runs each function in a process of its own; the local run runs them all in this one, so
    the shared clients are made again when the process switches function. Attributes are the module's.
    """

    def __init__(self, name: str, environment: dict[str, str]) -> None:
        self.name, self.environment = name, dict(environment)
        self.module = self._import()

    def __getattr__(self, attribute: str):
        return getattr(self.module, attribute)

    def activate(self) -> None:
        """Make this function's environment and credentials the process's (a no-op if they are)."""
        if any(os.environ.get(key) != value for key, value in self.environment.items()):
            os.environ.update(self.environment)
            from shared.aws import reset_clients

            reset_clients()

    def handler(self, event, context):
        self.activate()
        return self.module.handler(event, context)

    def _import(self):
        self.activate()
        from shared.aws import reset_clients

        reset_clients()  # a cold start: no client of an earlier import or emulator survives
        # The handlers' own logs and metrics would interleave with the report: keep warnings only.
        os.environ.update({"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"})
        if self.name in sys.modules:
            return importlib.reload(sys.modules[self.name])
        return importlib.import_module(self.name)


def lambda_module(name: str, environment: dict[str, str]) -> LambdaHandler:
    """A handler module of lambdas/ (``router``, ``deploy``), imported afresh under ``environment``.

    Re-imported on every call, as a cold start would: the router reads its registry at import.
    """
    if str(ROOT / "lambdas") not in sys.path:
        sys.path.insert(0, str(ROOT / "lambdas"))
    return LambdaHandler(name, environment)


def run_deploy(deploy, event: dict, polls: int = 20, interval: float = 0.5) -> tuple[dict, str]:
    """Call the handler, then poll its status action until the endpoint settles, as the pipeline waits."""
    answer = deploy.handler(event, None)
    status = answer["endpoint_status"]
    for _ in range(polls):
        if status not in ("Creating", "Updating", "SystemUpdating"):
            break
        time.sleep(interval)
        status = deploy.handler({"action": "status", "endpoint_name": event["endpoint_name"]}, None)[
            "endpoint_status"
        ]
    return answer, status


def seed_endpoint_body(endpoint: str, body: str, content_type: str) -> None:
    """Queue one InvokeEndpoint answer in moto (its /moto-api/static/sagemaker/endpoint-results)."""
    payload = json.dumps({"results": [{"Body": body, "ContentType": content_type}]}).encode()
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/sagemaker/endpoint-results",
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        if answer.status != 201:
            raise StepFailed(f"moto refused the seeded endpoint answer ({answer.status})")


def drain_endpoint_results(runtime) -> int:
    """Take every queued answer (unique requests to a scratch endpoint); answers how many there were."""
    for taken in range(MAX_DRAIN):
        answer = runtime.invoke_endpoint(
            EndpointName=DRAIN_ENDPOINT, Body=uuid.uuid4().hex.encode(), ContentType="text/csv"
        )
        if answer["Body"].read() == MOTO_DEFAULT_BODY:
            return taken
    raise StepFailed(f"moto's InvokeEndpoint queue still holds answers after {MAX_DRAIN} were taken")
