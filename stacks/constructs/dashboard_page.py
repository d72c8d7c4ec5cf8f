"""One page of an environment's dashboard: the API, the datasets' failed preparations (first page), a row per
model from its source's own metrics, the router's and its pipeline's."""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from sources import source_of
from stacks import names
from stacks.constructs.dashboard_body import DashboardBody
from stacks.constructs.model_monitoring import api_graphs, failed_runs_graph, router_graph


def dashboard_page(
    scope: Construct,
    *,
    environment_name: str,
    number: int,
    labels: list[str],
    models: dict,
    datasets: list[str],
) -> cloudwatch.CfnDashboard:
    """The dashboard ``mlkit-<env>`` (page 1) or ``mlkit-<env>-<number>`` in ``scope``, with a row for each of
    ``labels`` (models of ``models``) and, given ``datasets``, a row of their failed preparations.

    Its logical id stays ``Dashboard<number>`` as before the pages had stacks of their own: a new id would
    create the same-named dashboard again and then delete it with the old resource.
    """
    body = DashboardBody(cdk.Stack.of(scope).region)
    body.text("## The invoke API")
    body.graphs(api_graphs(names.rest_api_name(environment_name)), width=12)
    if datasets:
        body.text(
            "## Datasets"
        )  # failed runs of each preparation (its Glue, Processing or Data Wrangler job)
        body.graphs(
            [
                failed_runs_graph(
                    f"dataset {dataset}: failed preparations",
                    state_machine_arn(scope, names.dataset_state_machine_name(environment_name, dataset)),
                )
                for dataset in datasets
            ]
        )
    for label in labels:
        _model_row(scope, body, environment_name, label, models[label])
    return cloudwatch.CfnDashboard(
        scope,
        f"Dashboard{number}",
        dashboard_name=names.dashboard_name(environment_name, number),
        dashboard_body=body.render(),
    )


def _model_row(scope: Construct, body: DashboardBody, environment_name: str, label: str, model) -> None:
    source = source_of(model)
    graphs = [*source.dashboard_graphs(environment_name, label, model)]
    graphs.append(router_graph(environment_name, label))
    if source.has_pipeline:
        machine = names.endpoint_name(environment_name, label)
        graphs.append(failed_runs_graph(f"{label}: failed pipeline runs", state_machine_arn(scope, machine)))
    body.text(names.dashboard_row_title(label, source.name))
    body.graphs(graphs)


def state_machine_arn(scope: Construct, name: str) -> str:
    """The ARN of the state machine ``name`` (or a prefix of names) in ``scope``'s account and region."""
    return cdk.Stack.of(scope).format_arn(
        service="states",
        resource="stateMachine",
        resource_name=name,
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
