"""`make local`, pipelines: the real deploy Lambda run with the event the deployed pipeline builds, and
the endpoint it made checked against the model's hosting (training and hub sources share these rows).
"""

from mlkit import deployed_roles, local_endpoint
from mlkit.hosting_checks import check_endpoint_config
from mlkit.local_context import Run
from mlkit.report import StepFailed
from stacks import names


def deploy(row, run: Run, label: str, outcome: dict) -> dict:
    definition = local_endpoint.pipeline_definition(
        run.clients, names.model_stack_name(run.environment, label)
    )
    event = local_endpoint.deploy_event(definition, outcome["model_data_url"])
    function = definition["States"][local_endpoint.state_names()[1]].get("Resource", "")
    role = run.role_environment(
        lambda: deployed_roles.function_role(run.clients, function), f"{label} deploy Lambda"
    )
    module = local_endpoint.lambda_module("deploy", {**run.emulator.environment(), **role})
    answer, status = local_endpoint.run_deploy(module, event)
    outcome.update(deploy_event=event, deploy=answer, endpoint_status=status)
    if status != "InService":
        raise StepFailed(
            f"{answer['endpoint_name']} is {status} after the deploy Lambda {answer['action']} it"
        )
    if answer["endpoint_name"] != run.endpoint_name(label):
        raise StepFailed(
            f"the pipeline deploys {answer['endpoint_name']}; the router calls {run.endpoint_name(label)}"
        )
    row.detail = (
        f"{answer['action']}: {answer['endpoint_name']} {status} on {answer['endpoint_config_name']} "
        f"(lambdas/deploy.py; the event of the deployed pipeline's {local_endpoint.state_names()[1]!r} state)"
    )
    return answer


def hosting(row, run: Run, label: str, model) -> None:
    sagemaker = run.clients("sagemaker")
    row.detail = check_endpoint_config(
        sagemaker, run.endpoint_name(label), model, label, run.bucket("artifacts")
    )
