"""One environment's operations, in one or more parts: dashboard pages, failure notifications, budget."""

import aws_cdk as cdk
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks import names
from stacks.config import MlKitConfig
from stacks.config.alerts import BudgetSettings
from stacks.constructs.dashboard_page import dashboard_page, state_machine_arn
from stacks.operations_parts import OperationsPart

FAILED_EXECUTION = ["FAILED", "TIMED_OUT", "ABORTED"]
FAILED_GLUE_RUN = ["FAILED", "TIMEOUT", "ERROR"]
# The detail fields of each failure event a message names: what, which run, its status, why.
PIPELINE_FIELDS = ("stateMachineArn", "name", "status", "cause")
GLUE_FIELDS = ("jobName", "jobRunId", "state", "message")
# The tag the Stage puts on every resource; activated as a cost allocation tag, the budget filters on it.
ENVIRONMENT_TAG = "environment"


class OperationsStack(cdk.Stack):
    """One part of the environment's operations (stacks/operations_parts.py): its dashboard page, if it has
    one, and (added by the Stage) the alarms of its share of the models without a stack of their own.

    Part 1, ``mlkit-<env>-operations``, always has the dashboard ``mlkit-<env>`` (the API, the datasets'
    failed preparations, then a row per model from its source's own metrics, the router's and its
    pipeline's; further pages ``mlkit-<env>-2``, ... in parts ``mlkit-<env>-operations-2``, ...), the
    EventBridge rules that send every failed pipeline execution and Glue run of the environment to
    ``topic`` with its reason, and the configured monthly budget, if any.
    Exposes ``dashboards`` (none or one) and ``part``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: MlKitConfig,
        topic: sns.ITopic,
        part: OperationsPart,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.environment_name = environment = config.environment
        self.topic, self.part = topic, part
        first = part.number == 1
        self.dashboards = []
        if first or part.page:
            page = dashboard_page(
                self,
                environment_name=environment,
                number=part.number,
                labels=part.page,
                models=config.models,
                datasets=list(config.datasets) if first else [],
            )
            self.dashboards.append(page)
        if first:
            self._failure_rules()
            if config.budget:
                self._budget(config.budget)

    def _failure_rules(self) -> None:
        """Failed pipeline executions and Glue runs of this environment, with the reason, to the topic."""
        prefix = f"{names.prefix(self.environment_name)}-"
        machines = state_machine_arn(self, prefix)  # a prefix of every one of the environment's
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
