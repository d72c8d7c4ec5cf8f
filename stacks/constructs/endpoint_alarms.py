"""The alarms that roll a blue/green endpoint update back: invocation 5xx errors and model latency."""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.constructs.hosting_settings import VARIANT_NAME


def endpoint_metric(metric_name: str, dimensions: dict[str, str], statistic: str) -> cloudwatch.Metric:
    """A SageMaker endpoint metric at one-minute resolution (what alarms and scaling act on)."""
    return cloudwatch.Metric(
        namespace="AWS/SageMaker",
        metric_name=metric_name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=cdk.Duration.minutes(1),
    )


class RollbackAlarms(Construct):
    """Two alarms on the endpoint's variant, with literal names (the endpoint config lists them)."""

    def __init__(self, scope: Construct, construct_id: str, *, endpoint_name: str, latency_ms: int) -> None:
        super().__init__(scope, construct_id)
        self.alarm_names = [f"{endpoint_name}-5xx", f"{endpoint_name}-latency"]
        dimensions = {"EndpointName": endpoint_name, "VariantName": VARIANT_NAME}
        errors = endpoint_metric("Invocation5XXErrors", dimensions, "Sum")
        latency = endpoint_metric("ModelLatency", dimensions, "Average")
        self.errors = errors.create_alarm(
            self,
            "Errors",
            alarm_name=self.alarm_names[0],
            threshold=1,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{endpoint_name}: model 5xx errors; rolls a deployment back",
        )
        self.latency = latency.create_alarm(
            self,
            "Latency",
            alarm_name=self.alarm_names[1],
            threshold=latency_ms * 1000,  # microseconds
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            alarm_description=f"{endpoint_name}: latency above {latency_ms} ms; rolls a deployment back",
        )

    def notify(self, action: cloudwatch.IAlarmAction) -> None:
        """A rollback is news too: both alarms also take ``action`` (the alerts topic)."""
        for alarm in (self.errors, self.latency):
            alarm.add_alarm_action(action)
