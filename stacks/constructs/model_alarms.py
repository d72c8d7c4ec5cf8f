"""The alarms that page a person about one model; its rollback alarms notify the same topic."""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config.alerts import AlertThresholds
from stacks.constructs.endpoint_alarms import RollbackAlarms

# Alarm kind → (its threshold in alerts.thresholds, what breaching it means).
ALARM_KINDS = {
    "error_rate": ("error_rate_percent", "error rate above {} %"),
    "latency_p90": ("latency_p90_ms", "latency p90 above {} ms"),
    "throttles": ("throttles", "more than {} throttled requests in 5 minutes"),
    "backlog_age": ("async_backlog_age_seconds", "oldest queued request older than {} s"),
}


class ModelAlarms(Construct):
    """An alarm per kind in ``metrics`` (from the model's source), named ``<alarm_prefix>-<kind>``,
    its threshold from ``thresholds``, its action ``topic``. Every RollbackAlarms in the same stack
    gets the topic as its action too. Exposes ``alarms``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm_prefix: str,
        label: str,
        metrics: dict[str, cloudwatch.IMetric],
        thresholds: AlertThresholds,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        action = cloudwatch_actions.SnsAction(topic)
        self.alarms = []
        for kind, metric in metrics.items():
            setting, text = ALARM_KINDS[kind]
            threshold = getattr(thresholds, setting)
            alarm = cloudwatch.Alarm(
                self,
                kind,
                alarm_name=f"{alarm_prefix}-{kind.replace('_', '-')}",
                alarm_description=f"{label}: {text.format(threshold)} (alerts.thresholds.{setting})",
                metric=metric,
                threshold=threshold,
                evaluation_periods=2,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.alarms.append(alarm)
        for rollback in cdk.Stack.of(self).node.find_all():
            if isinstance(rollback, RollbackAlarms):
                rollback.notify(action)
