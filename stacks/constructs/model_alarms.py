"""The alarms that page a person about one model; its rollback alarms notify the same topic."""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config.alerts import AlertThresholds
from stacks.constructs.endpoint_alarms import RollbackAlarms
from stacks.constructs.model_monitoring import PERIOD_SECONDS, Expression, Metric

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
        metrics: dict[str, Metric | Expression],
        thresholds: AlertThresholds,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms = []
        for kind, series in metrics.items():
            setting, text = ALARM_KINDS[kind]
            threshold = getattr(thresholds, setting)
            self.alarms.append(
                cloudwatch.CfnAlarm(
                    self,
                    kind,
                    alarm_name=f"{alarm_prefix}-{kind.replace('_', '-')}",
                    alarm_description=f"{label}: {text.format(threshold)} (alerts.thresholds.{setting})",
                    threshold=threshold,
                    evaluation_periods=2,
                    comparison_operator="GreaterThanThreshold",
                    treat_missing_data="notBreaching",
                    alarm_actions=[topic.topic_arn],
                    **alarm_metric(series),
                )
            )
        action = cloudwatch_actions.SnsAction(topic)
        for rollback in cdk.Stack.of(self).node.find_all():
            if isinstance(rollback, RollbackAlarms):
                rollback.notify(action)


def alarm_metric(series: Metric | Expression) -> dict:
    """An AWS::CloudWatch::Alarm's metric properties for one metric or one metric math expression."""
    if isinstance(series, Metric):
        percentile = series.statistic.startswith("p")
        return {
            "namespace": series.namespace,
            "metric_name": series.name,
            "dimensions": _dimensions(series),
            "period": PERIOD_SECONDS,
            "extended_statistic" if percentile else "statistic": series.statistic,
        }
    queries = [
        cloudwatch.CfnAlarm.MetricDataQueryProperty(
            id="expression", expression=series.expression, label=series.label, return_data=True
        )
    ]
    for identifier, metric in series.metrics.items():
        queries.append(
            cloudwatch.CfnAlarm.MetricDataQueryProperty(
                id=identifier,
                return_data=False,
                metric_stat=cloudwatch.CfnAlarm.MetricStatProperty(
                    metric=cloudwatch.CfnAlarm.MetricProperty(
                        namespace=metric.namespace, metric_name=metric.name, dimensions=_dimensions(metric)
                    ),
                    period=PERIOD_SECONDS,
                    stat=metric.statistic,
                ),
            )
        )
    return {"metrics": queries}


def _dimensions(metric: Metric) -> list:
    return [cloudwatch.CfnAlarm.DimensionProperty(name=n, value=v) for n, v in metric.dimensions.items()]
