"""A deployed state machine's tasks, as the calls Step Functions makes for them with the machine's role.

moto cannot run the kit's pipelines (its `.sync` SageMaker tasks fail, and training runs locally), so the
local run replays each Task state's authorization instead: the service call its Resource names, with
its Parameters (static values as written; a job name built by States.Format from its template with a
placeholder for the execution's unique part), plus what the Run a Job (.sync) pattern adds to watch the
job (Step Functions' documented policies for its optimized integrations). A parameter read from the
execution's state (a JSONPath) cannot be known before a run: a task that needs one for its resource is
reported as not decided, never as allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlkit.access import operations
from mlkit.access.checks import Check, arn

INTEGRATION = re.compile(
    r"arn:[^:]+:states:::(?:aws-sdk:)?(?P<service>[a-z0-9-]+):(?P<operation>[A-Za-z0-9]+)"
    r"(?P<pattern>\.sync(?::2)?|\.waitForTaskToken)?"
)
FUNCTION = re.compile(r"arn:[^:]+:lambda:[^:]+:[0-9]+:function:.+")
# Step Functions' service names where botocore's differ, and its optimized names for operations.
SERVICES = {"sfn": "stepfunctions", "states": "stepfunctions"}
OPERATIONS = {("lambda", "invoke"): "Invoke"}
FORMAT = re.compile(r"States\.Format\('(?P<template>[^']*)'")
PLACEHOLDER = "0a1b2c3d"  # what a UUID part of an execution's job name looks like
# .sync on a SageMaker job: Step Functions describes and, on a stop or timeout, stops the job, and
# listens for its end through a managed EventBridge rule (docs: step-functions/latest/dg/sagemaker-iam).
SYNC_RULES = {
    "TrainingJob": "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "ProcessingJob": "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    "HyperParameterTuningJob": "StepFunctionsGetEventsForSageMakerTuningJobsRule",
    "TransformJob": "StepFunctionsGetEventsForSageMakerTransformJobsRule",
}
# .sync on a Glue job run (docs: step-functions/latest/dg/glue-iam).
GLUE_SYNC = ("glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun")


@dataclass(frozen=True)
class TaskCall:
    state: str
    service: str
    operation: str
    params: dict
    pattern: str | None
    unresolved: tuple[str, ...]  # parameters whose values only an execution gives


def named_values(definition: dict) -> dict[str, str]:
    """Paths a Pass state sets to a name before any task reads it ("Name the job": $.job.name)."""
    known = {}
    for state in definition.get("States", {}).values():
        result = state.get("ResultPath")
        if state.get("Type") == "Pass" and isinstance(result, str) and result.startswith("$."):
            for key, value in static_parameters(state.get("Parameters", {}), []).items():
                if isinstance(value, str):
                    known[f"{result}.{key}"] = value
    return known


def static_parameters(template, unresolved: list[str], path: str = "", known: dict | None = None):
    """Parameters as written; a name a Pass state or States.Format builds, with a placeholder for the
    execution's unique part; other `.$` values left out (and listed in ``unresolved``)."""
    known = known or {}
    if isinstance(template, list):
        return [static_parameters(item, unresolved, path, known) for item in template]
    if not isinstance(template, dict):
        return template
    found = {}
    for key, value in template.items():
        name = key.removesuffix(".$")
        if not key.endswith(".$"):
            found[key] = static_parameters(value, unresolved, f"{path}{key}.", known)
        elif isinstance(value, str) and (match := FORMAT.match(value)):
            found[name] = match["template"].replace("{}", PLACEHOLDER, 1).replace("{}", "")
        elif value in known:
            found[name] = known[value]
        else:
            unresolved.append(f"{path}{name}")
    return found


def task_call(state_name: str, state: dict, known: dict | None = None) -> TaskCall | None:
    """The service call a Task state makes, or None for a Resource this replay does not know.
    ``known``: the names Pass states set (``named_values``)."""
    resource = state.get("Resource", "")
    unresolved: list[str] = []
    params = static_parameters(state.get("Parameters", {}), unresolved, known=known)
    if FUNCTION.fullmatch(resource):
        return TaskCall(state_name, "lambda", "Invoke", {"FunctionName": resource}, None, ())
    match = INTEGRATION.fullmatch(resource)
    if not match:
        return None
    service = SERVICES.get(match["service"], match["service"])
    operation = OPERATIONS.get(
        (service, match["operation"]), match["operation"][0].upper() + match["operation"][1:]
    )
    return TaskCall(state_name, service, operation, params, match["pattern"], tuple(unresolved))


def sync_checks(call: TaskCall, checks: list[Check], env) -> list[Check]:
    """What the Run a Job (.sync) pattern adds to a job's creation."""
    if not call.pattern or not call.pattern.startswith(".sync"):
        return []
    job = checks[0].resource
    if call.service == "glue":
        return [Check(action, job) for action in GLUE_SYNC]
    kind = call.operation.removeprefix("Create")
    if call.service != "sagemaker" or kind not in SYNC_RULES:
        raise KeyError(f"the {call.pattern} pattern of {call.service}:{call.operation}")
    rule = arn(env, "events", f"rule/{SYNC_RULES[kind]}")
    watch = [Check(f"sagemaker:{verb}{kind}", job) for verb in ("Describe", "Stop")]
    return watch + [
        Check(action, rule) for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
    ]


def task_checks(call: TaskCall, env) -> list[Check]:
    """Every authorization the task needs; raises KeyError naming what the replay cannot know."""
    checks = operations.checks_for(call.service, call.operation, call.params, env)
    if checks is None:
        raise KeyError(f"no row for {call.service}:{call.operation} in mlkit/access/operations.py")
    return checks + sync_checks(call, checks, env)
