"""Each kind of model's CloudWatch metrics, once: the dashboard's graphs and the alarms that page.

SageMaker publishes per endpoint and variant; what it publishes depends on the hosting type
(serverless: ModelSetupTime, no CPU; async: no Invocations or OverheadLatency, a backlog instead).
Bedrock publishes per ModelId. The router publishes per model (lambdas/shared/router_metrics.py).
Latencies from SageMaker are microseconds: graphs and alarms show milliseconds.

Plain data, not CDK objects: stacks/constructs/dashboard_body.py writes the dashboards' JSON and
stacks/constructs/model_alarms.py the alarms from it, without a jsii call per metric.
"""

from typing import NamedTuple

from lambdas.shared import router_metrics as router
from stacks import names
from stacks.constructs.hosting_settings import VARIANT_NAME

SAGEMAKER = "AWS/SageMaker"
SAGEMAKER_INSTANCES = "/aws/sagemaker/Endpoints"
BEDROCK = "AWS/Bedrock"
PERIOD_SECONDS = 300


class Metric(NamedTuple):
    namespace: str
    name: str
    dimensions: dict[str, str]
    statistic: str = "Sum"  # or Average, Maximum, p90, ...
    label: str | None = None


class Expression(NamedTuple):
    """Metric math over ``metrics`` (id → Metric); ids must differ within one graph."""

    expression: str
    metrics: dict[str, Metric]
    label: str


class Graph(NamedTuple):
    title: str
    left: list  # of Metric and Expression
    right: list = []


def milliseconds(metric: Metric, label: str) -> Expression:
    identifier = metric.name.lower()
    return Expression(f"{identifier} / 1000", {identifier: metric}, label)


def error_rate(errors: Metric, invocations: Metric, label: str) -> Expression:
    """Errors per invocation in %; 0 when idle, so a quiet model is not missing data."""
    return Expression(
        "IF(invocations > 0, 100 * errors / invocations, 0)",
        {"errors": errors, "invocations": invocations},
        label,
    )


def router_graph(environment: str, label: str) -> Graph:
    """The router's own view of one model: errors, client errors and throttles, with its latency p90."""
    dimensions = {"service": names.router_service_name(environment), router.MODEL_DIMENSION: label}
    counts = [
        Metric(router.NAMESPACE, name, dimensions, label=f"router {name}")
        for name in (router.ERRORS, router.CLIENT_ERRORS, router.THROTTLES)
    ]
    latency = Metric(router.NAMESPACE, router.LATENCY, dimensions, "p90", f"router {router.LATENCY} p90 (ms)")
    return Graph(f"{label}: router", counts, [latency])


def sagemaker_graphs(endpoint: str, hosting_type: str) -> list[Graph]:
    """The endpoint's row: traffic and errors, latency in ms, and what its hosting type publishes."""
    dimensions = {"EndpointName": endpoint, "VariantName": VARIANT_NAME}
    model_latency = milliseconds(Metric(SAGEMAKER, "ModelLatency", dimensions, "p90"), "ModelLatency p90")
    if hosting_type == "async":
        backlog = {"EndpointName": endpoint}
        return [
            Graph(f"{endpoint}: backlog", [Metric(SAGEMAKER, "ApproximateBacklogSize", backlog, "Average")]),
            Graph(
                f"{endpoint}: oldest request (s)",
                [Metric(SAGEMAKER, "ApproximateAgeOfOldestRequest", backlog, "Maximum")],
            ),
            Graph(
                f"{endpoint}: processing time p90 (ms)",
                [
                    Metric(SAGEMAKER, name, backlog, "p90")
                    for name in ("TotalProcessingTime", "TimeInBacklog")
                ],
            ),
            Graph(f"{endpoint}: model latency (ms)", [model_latency]),
        ]
    traffic = [
        Metric(SAGEMAKER, name, dimensions)
        for name in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")
    ]
    overhead = milliseconds(Metric(SAGEMAKER, "OverheadLatency", dimensions, "p90"), "OverheadLatency p90")
    graphs = [
        Graph(f"{endpoint}: invocations", traffic),
        Graph(f"{endpoint}: latency (ms)", [model_latency, overhead]),
    ]
    if hosting_type == "serverless":
        setup = milliseconds(Metric(SAGEMAKER, "ModelSetupTime", dimensions, "Average"), "ModelSetupTime")
        memory = Metric(SAGEMAKER_INSTANCES, "MemoryUtilization", dimensions, "Average")
        return [*graphs, Graph(f"{endpoint}: cold starts (ms), memory %", [setup, memory])]
    utilisation = [
        Metric(SAGEMAKER_INSTANCES, name, dimensions, "Average")
        for name in ("CPUUtilization", "MemoryUtilization")
    ]
    return [*graphs, Graph(f"{endpoint}: instances %", utilisation)]


def sagemaker_alarm_metrics(endpoint: str, hosting_type: str) -> dict[str, Metric | Expression]:
    """error rate (%), latency p90 (ms) and, for async, the oldest request's age (s)."""
    dimensions = {"EndpointName": endpoint, "VariantName": VARIANT_NAME}
    latency = milliseconds(Metric(SAGEMAKER, "ModelLatency", dimensions, "p90"), "ModelLatency p90 (ms)")
    if hosting_type == "async":
        age = Metric(SAGEMAKER, "ApproximateAgeOfOldestRequest", {"EndpointName": endpoint}, "Maximum")
        return {"latency_p90": latency, "backlog_age": age}
    rate = error_rate(
        Metric(SAGEMAKER, "Invocation5XXErrors", dimensions),
        Metric(SAGEMAKER, "Invocations", dimensions),
        "5XX error rate (%)",
    )
    return {"error_rate": rate, "latency_p90": latency}


def bedrock_graphs(model_id: str) -> list[Graph]:
    dimensions = {"ModelId": model_id}
    calls = ("Invocations", "InvocationClientErrors", "InvocationServerErrors", "InvocationThrottles")
    return [
        Graph(f"{model_id}: invocations", [Metric(BEDROCK, name, dimensions) for name in calls]),
        Graph(f"{model_id}: latency (ms)", [Metric(BEDROCK, "InvocationLatency", dimensions, "p90")]),
        Graph(
            f"{model_id}: tokens",
            [Metric(BEDROCK, name, dimensions) for name in ("InputTokenCount", "OutputTokenCount")],
        ),
    ]


def bedrock_alarm_metrics(model_id: str) -> dict[str, Metric | Expression]:
    dimensions = {"ModelId": model_id}
    rate = error_rate(
        Metric(BEDROCK, "InvocationServerErrors", dimensions),
        Metric(BEDROCK, "Invocations", dimensions),
        "server error rate (%)",
    )
    return {
        "error_rate": rate,
        "latency_p90": Metric(BEDROCK, "InvocationLatency", dimensions, "p90"),
        "throttles": Metric(BEDROCK, "InvocationThrottles", dimensions),
    }


def failed_runs_graph(title: str, state_machine_arn: str) -> Graph:
    return Graph(title, [Metric("AWS/States", "ExecutionsFailed", {"StateMachineArn": state_machine_arn})])


def api_graphs(api_name: str) -> list[Graph]:
    api = {"ApiName": api_name}
    counts = [Metric("AWS/ApiGateway", name, api) for name in ("Count", "4XXError", "5XXError")]
    return [
        Graph("API requests and errors", counts),
        Graph("API latency p90 (ms)", [Metric("AWS/ApiGateway", "Latency", api, "p90")]),
    ]
