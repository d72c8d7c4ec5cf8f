"""One environment's operations: its dashboard, failure notifications and budget."""

import aws_cdk as cdk
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks import names
from stacks.config import MlKitConfig
from stacks.config.alerts import BudgetSettings
from stacks.constructs.dashboard_body import DashboardBody
from stacks.constructs.model_monitoring import api_graphs, failed_runs_graph, router_graph
from stacks.sources import source_of

# A CloudWatch dashboard holds at most 500 widgets; a model's row has up to 7 (its title included).
MODELS_PER_DASHBOARD = 60
FAILED_EXECUTION = ["FAILED", "TIMED_OUT", "ABORTED"]
FAILED_GLUE_RUN = ["FAILED", "TIMEOUT", "ERROR"]
# The detail fields of each failure event a message names: what, which run, its status, why.
PIPELINE_FIELDS = ("stateMachineArn", "name", "status", "cause")
GLUE_FIELDS = ("jobName", "jobRunId", "state", "message")
# The tag the Stage puts on every resource; activated as a cost allocation tag, the budget filters on it.
ENVIRONMENT_TAG = "environment"


class OperationsStack(cdk.Stack):
    """``mlkit-<env>-operations``: the dashboard ``mlkit-<env>`` (the API, the datasets' failed
    preparations, then a row per model from its source's own metrics, the router's and its pipeline's;
    past ``MODELS_PER_DASHBOARD`` models, further pages ``mlkit-<env>-2``, ...), EventBridge rules that
    send every failed pipeline execution and Glue run of the environment to ``topic`` with its reason, and
    the configured monthly budget, if any.
    Exposes ``dashboards``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: MlKitConfig, topic: sns.ITopic, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.environment_name = environment = config.environment
        self.topic = topic
        labels = list(config.models)
        pages = [
            labels[start : start + MODELS_PER_DASHBOARD]
            for start in range(0, len(labels), MODELS_PER_DASHBOARD)
        ]
        self.dashboards = []
        for number, page in enumerate(pages or [[]], start=1):
            body = DashboardBody(self.region)
            body.text("## The invoke API")
            body.graphs(api_graphs(names.rest_api_name(environment)), width=12)
            if number == 1 and config.datasets:
                self._dataset_row(body, list(config.datasets))
            for label in page:
                self._model_row(body, label, config.models[label])
            name = names.prefix(environment) + ("" if number == 1 else f"-{number}")
            self.dashboards.append(
                cloudwatch.CfnDashboard(
                    self, f"Dashboard{number}", dashboard_name=name, dashboard_body=body.render()
                )
            )
        self._failure_rules()
        if config.budget:
            self._budget(config.budget)

    def _model_row(self, body: DashboardBody, label: str, model) -> None:
        source = source_of(model)
        graphs = [*source.dashboard_graphs(self.environment_name, label, model)]
        graphs.append(router_graph(self.environment_name, label))
        if source.has_pipeline:
            machine = names.endpoint_name(self.environment_name, label)
            graphs.append(
                failed_runs_graph(f"{label}: failed pipeline runs", self._state_machine_arn(machine))
            )
        body.text(f"## {label} ({source.name})")
        body.graphs(graphs)

    def _dataset_row(self, body: DashboardBody, datasets: list[str]) -> None:
        """Failed runs of each dataset's preparation (its Glue, Processing or Data Wrangler job inside)."""
        body.text("## Datasets")
        body.graphs(
            [
                failed_runs_graph(
                    f"dataset {dataset}: failed preparations",
                    self._state_machine_arn(names.dataset_state_machine_name(self.environment_name, dataset)),
                )
                for dataset in datasets
            ]
        )

    def _state_machine_arn(self, name: str) -> str:
        return self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def _failure_rules(self) -> None:
        """Failed pipeline executions and Glue runs of this environment, with the reason, to the topic."""
        prefix = f"{names.prefix(self.environment_name)}-"
        machines = self._state_machine_arn(prefix)  # a prefix of every one of the environment's
        events.Rule(
            self,
            "PipelineFailed",
            description=f"Failed, timed out or aborted runs of {prefix}* state machines",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"status": FAILED_EXECUTION, "stateMachineArn": [{"prefix": machines}]},
            ),
            targets=[targets.SnsTopic(self.topic, message=self._message("pipeline", PIPELINE_FIELDS))],
        )
        events.Rule(
            self,
            "GlueJobFailed",
            description=f"Failed runs of {prefix}* Glue jobs",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"state": FAILED_GLUE_RUN, "jobName": [{"prefix": prefix}]},
            ),
            targets=[targets.SnsTopic(self.topic, message=self._message("Glue job", GLUE_FIELDS))],
        )

    def _message(self, what: str, fields: tuple[str, str, str, str]) -> events.RuleTargetInput:
        """'mlkit <env>: <what> <name> run <id> is <status>: <reason>', from the event's detail."""
        name, run, status, reason = (events.EventField.from_path(f"$.detail.{field}") for field in fields)
        return events.RuleTargetInput.from_text(
            f"mlkit {self.environment_name}: {what} {name} run {run} is {status}: {reason}"
        )

    def _budget(self, settings: BudgetSettings) -> None:
        """Monthly cost of resources tagged environment=<env>, notifying the topic at each threshold.

        The filter is ``TagKeyValue: user:environment$<env>``: until the ``environment`` tag is
        activated as a cost allocation tag (Billing console), the budget sees $0.
        """
        budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=names.prefix(self.environment_name),
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=settings.monthly_usd, unit="USD"),
                cost_filters={"TagKeyValue": [budget_tag_filter(self.environment_name)]},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type="ACTUAL",
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[
                        budgets.CfnBudget.SubscriberProperty(
                            subscription_type="SNS", address=self.topic.topic_arn
                        )
                    ],
                )
                for percent in settings.alert_percent
            ],
        )


def budget_tag_filter(environment: str) -> str:
    """AWS Budgets' filter value for a user tag: ``user:<key>$<value>``."""
    return f"user:{ENVIRONMENT_TAG}${environment}"
