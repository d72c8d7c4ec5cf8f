"""`make local`, pipelines: the real deploy Lambda run with the event the deployed pipeline builds, and
the endpoint it made checked against the model's hosting and autoscaling (training and hub sources share
these rows).
"""

from mlkit import deployed_roles, local_endpoint
from mlkit.hosting_checks import check_endpoint_config
from mlkit.local_context import Run
from mlkit.report import StepFailed
from mlkit.scaling_checks import check_scaling
from stacks import names

SCALING_ROW = "autoscaling matches hosting"


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
    outcome.update(deploy_lambda=module, pipeline_definition=definition)
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


def scaling(row, run: Run, label: str, model, outcome: dict) -> None:
    """The deployed pipeline's scale state run through the same deploy Lambda, as once the endpoint is
    InService, then the scalable target, its policies and the wake alarm read back and compared."""
    from stacks.constructs.deploy_steps import SCALE_STATE

    states = outcome["pipeline_definition"].get("States", {})
    if SCALE_STATE not in states:
        raise StepFailed(f"the deployed pipeline has no state {SCALE_STATE!r}")
    event = local_endpoint.resolve(states[SCALE_STATE]["Parameters"], {})
    answer = outcome["deploy_lambda"].handler(event, None)
    if answer.get("action") != "scale":
        raise StepFailed(f"the scale action answered {answer}")
    row.detail = f"{answer['scaling']}: " + check_scaling(
        run.clients, run.endpoint_name(label), model.hosting
    )
