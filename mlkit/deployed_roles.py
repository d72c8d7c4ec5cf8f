"""Which role each component runs as, read from what the stacks deployed into the emulator.

The local run signs each component's calls with that role's credentials (mlkit/access): the router and
the deploy Lambdas as their functions' roles, the job code as the role its Glue job, training job or
Processing job is given, a pipeline's tasks as its state machine's role.
"""

import json
import re

from mlkit.local_endpoint import pipeline
from mlkit.report import StepFailed
from stacks import names

# SageMaker jobs a pipeline starts, whose RoleArn is the role their code runs as.
JOB_TASK = re.compile(r"sagemaker:create(TrainingJob|HyperParameterTuningJob|ProcessingJob)")


def function_role(clients, function: str) -> str:
    """The execution role of a deployed Lambda function (name or ARN)."""
    return clients("lambda").get_function_configuration(FunctionName=function)["Role"]


def task_states(definition: dict) -> dict[str, dict]:
    """Every Task state of a definition, also inside Map and Parallel states, by name."""
    found = {}
    for name, state in definition.get("States", {}).items():
        if state.get("Type") == "Task":
            found[name] = state
        for branch in [state.get("ItemProcessor") or state.get("Iterator"), *state.get("Branches", [])]:
            if branch:
                found.update(task_states(branch))
    return found


def job_role(definition: dict, kind: str | None = None) -> str:
    """The RoleArn of the SageMaker job a pipeline starts (``kind``: TrainingJob, ProcessingJob, ...)."""
    for name, state in task_states(definition).items():
        match = JOB_TASK.search(state.get("Resource", ""))
        if match and kind in (None, match[1]):
            parameters = state.get("Parameters", {})
            role = parameters.get("RoleArn") or parameters.get("TrainingJobDefinition", {}).get("RoleArn")
            if role:
                return role
            raise StepFailed(f"the pipeline's {name!r} state passes no literal RoleArn")
    raise StepFailed(f"the pipeline starts no SageMaker {kind or 'job'}")


def model_pipeline(run, label: str) -> dict:
    """DescribeStateMachine of the model's deployed pipeline."""
    return pipeline(run.clients, names.model_stack_name(run.environment, label))


def dataset_job_role(run, dataset: str) -> str:
    """The role the dataset's preparation runs as: its Glue job's, or its Processing job's."""
    stack = names.dataset_stack_name(run.environment, dataset)
    cloudformation = run.clients("cloudformation")
    template = cloudformation.get_template(StackName=stack)["TemplateBody"]
    template = json.loads(template) if isinstance(template, str) else template
    jobs = [r for r in template["Resources"].values() if r["Type"] == "AWS::Glue::Job"]
    if not jobs:
        described = pipeline(run.clients, stack)
        return job_role(json.loads(described["definition"]), "ProcessingJob")
    role = jobs[0]["Properties"]["Role"]
    logical_id = role["Fn::GetAtt"][0] if isinstance(role, dict) else None
    if logical_id is None:
        return role
    resources = cloudformation.describe_stack_resources(StackName=stack, LogicalResourceId=logical_id)
    role_name = resources["StackResources"][0]["PhysicalResourceId"]
    return run.clients("iam").get_role(RoleName=role_name)["Role"]["Arn"]
