"""Each kind of model's CloudWatch metrics, once: the dashboard's widgets and the alarms that page.

SageMaker publishes per endpoint and variant; what it publishes depends on the hosting type
(serverless: ModelSetupTime, no CPU; async: no Invocations or OverheadLatency, a backlog instead).
Bedrock publishes per ModelId. The router publishes per model in the ``mlkit`` namespace.
Latencies from SageMaker are microseconds: widgets and alarms show milliseconds.
"""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from lambdas.shared import router_metrics as router
from stacks import names
from stacks.constructs.hosting_settings import VARIANT_NAME

SAGEMAKER = "AWS/SageMaker"
BEDROCK = "AWS/Bedrock"
PERIOD = cdk.Duration.minutes(5)


def _metric(namespace: str, name: str, dimensions: dict, statistic: str = "Sum", label: str | None = None):
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=PERIOD,
        label=label or name,
    )


def _milliseconds(metric: cloudwatch.Metric, label: str) -> cloudwatch.MathExpression:
    # One id per metric name: graphs put two of these side by side, and ids must differ in a graph.
    identifier = metric.metric_name.lower()
    return cloudwatch.MathExpression(
        expression=f"{identifier} / 1000", using_metrics={identifier: metric}, label=label, period=PERIOD
    )


def _error_rate(errors: cloudwatch.Metric, invocations: cloudwatch.Metric, label: str):
    """Errors per invocation in %; 0 when idle, so a quiet model is not missing data."""
    return cloudwatch.MathExpression(
        expression="IF(invocations > 0, 100 * errors / invocations, 0)",
        using_metrics={"errors": errors, "invocations": invocations},
        label=label,
        period=PERIOD,
    )


def router_metrics(environment: str, label: str) -> dict[str, cloudwatch.Metric]:
    dimensions = {"service": names.router_service_name(environment), router.MODEL_DIMENSION: label}
    return {
        name: _metric(
            router.NAMESPACE, name, dimensions, "p90" if name == router.LATENCY else "Sum", f"router {name}"
        )
        for name in (router.LATENCY, router.ERRORS, router.CLIENT_ERRORS, router.THROTTLES)
    }


def sagemaker_widgets(endpoint: str, hosting_type: str) -> list[cloudwatch.IWidget]:
    """The endpoint's row: traffic and errors, latency in ms, and what its hosting type publishes."""
    dimensions = {"EndpointName": endpoint, "VariantName": VARIANT_NAME}
    if hosting_type == "async":
        backlog = {"EndpointName": endpoint}
        return [
            _graph(
                f"{endpoint}: backlog", [_metric(SAGEMAKER, "ApproximateBacklogSize", backlog, "Average")]
            ),
            _graph(
                f"{endpoint}: oldest request (s)",
                [_metric(SAGEMAKER, "ApproximateAgeOfOldestRequest", backlog, "Maximum")],
            ),
            _graph(
                f"{endpoint}: model latency (ms)",
                [_milliseconds(_metric(SAGEMAKER, "ModelLatency", dimensions, "p90"), "ModelLatency p90")],
            ),
        ]
    traffic = [
        _metric(SAGEMAKER, name, dimensions)
        for name in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")
    ]
    latency = [
        _milliseconds(_metric(SAGEMAKER, name, dimensions, "p90"), f"{name} p90")
        for name in ("ModelLatency", "OverheadLatency")
    ]
    widgets = [_graph(f"{endpoint}: invocations", traffic), _graph(f"{endpoint}: latency (ms)", latency)]
    if hosting_type == "serverless":
        setup = _milliseconds(_metric(SAGEMAKER, "ModelSetupTime", dimensions, "Average"), "ModelSetupTime")
        memory = _metric("/aws/sagemaker/Endpoints", "MemoryUtilization", dimensions, "Average")
        return [*widgets, _graph(f"{endpoint}: cold starts (ms), memory %", [setup, memory])]
    utilisation = [
        _metric("/aws/sagemaker/Endpoints", name, dimensions, "Average")
        for name in ("CPUUtilization", "MemoryUtilization")
    ]
    return [*widgets, _graph(f"{endpoint}: instances %", utilisation)]


def sagemaker_alarm_metrics(endpoint: str, hosting_type: str) -> dict[str, cloudwatch.IMetric]:
    """error rate (%), latency p90 (ms) and, for async, the oldest request's age (s)."""
    dimensions = {"EndpointName": endpoint, "VariantName": VARIANT_NAME}
    latency = _milliseconds(_metric(SAGEMAKER, "ModelLatency", dimensions, "p90"), "ModelLatency p90 (ms)")
    if hosting_type == "async":
        age = _metric(SAGEMAKER, "ApproximateAgeOfOldestRequest", {"EndpointName": endpoint}, "Maximum")
        return {"latency_p90": latency, "backlog_age": age}
    rate = _error_rate(
        _metric(SAGEMAKER, "Invocation5XXErrors", dimensions),
        _metric(SAGEMAKER, "Invocations", dimensions),
        "5XX error rate (%)",
    )
    return {"error_rate": rate, "latency_p90": latency}


def bedrock_widgets(model_id: str) -> list[cloudwatch.IWidget]:
    dimensions = {"ModelId": model_id}
    return [
        _graph(
            f"{model_id}: invocations",
            [
                _metric(BEDROCK, name, dimensions)
                for name in (
                    "Invocations",
                    "InvocationClientErrors",
                    "InvocationServerErrors",
                    "InvocationThrottles",
                )
            ],
        ),
        _graph(f"{model_id}: latency (ms)", [_metric(BEDROCK, "InvocationLatency", dimensions, "p90")]),
        _graph(
            f"{model_id}: tokens",
            [_metric(BEDROCK, name, dimensions) for name in ("InputTokenCount", "OutputTokenCount")],
        ),
    ]


def bedrock_alarm_metrics(model_id: str) -> dict[str, cloudwatch.IMetric]:
    dimensions = {"ModelId": model_id}
    rate = _error_rate(
        _metric(BEDROCK, "InvocationServerErrors", dimensions),
        _metric(BEDROCK, "Invocations", dimensions),
        "server error rate (%)",
    )
    return {
        "error_rate": rate,
        "latency_p90": _metric(BEDROCK, "InvocationLatency", dimensions, "p90"),
        "throttles": _metric(BEDROCK, "InvocationThrottles", dimensions),
    }


def _graph(title: str, metrics: list) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=metrics, width=6, height=5)
