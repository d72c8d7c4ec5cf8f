"""`make local`: call every model through the real router handler, in-process, against the emulator.

The router reads its registry from the deployed Lambda's environment, so what is checked is what
the API stack deployed. Lambda invoke needs Docker, so the handler runs here instead.
"""

import json
import uuid

from mlkit.api_event import LambdaContext, rest_event
from mlkit.local_endpoint import drain_endpoint_results, lambda_module, seed_endpoint_body
from mlkit.report import NotEmulated, Report, StepFailed

SEEDED_ANSWER = {"label": "POSITIVE", "score": 0.99, "from": "mlkit local run"}


def load_router(clients, api_stack: str, emulator_environment: dict[str, str]):
    """lambdas/router.py with the deployed function's environment, pointed at the emulator."""
    resources = clients("cloudformation").describe_stack_resources(StackName=api_stack)["StackResources"]
    function = next(r for r in resources if r.get("ResourceType") == "AWS::Lambda::Function")
    variables = clients("lambda").get_function_configuration(FunctionName=function["PhysicalResourceId"])
    # The emulator's endpoint, region and fake credentials win over the deployed values.
    return lambda_module("router", {**variables["Environment"]["Variables"], **emulator_environment})


def call(router, event: dict) -> tuple[int, str]:
    answer = router.handler(event, LambdaContext())
    return answer["statusCode"], answer["body"]


def check_hugging_face(report: Report, router, clients, label: str, endpoint_name: str, emulator: str):
    with report.step(label, "endpoint InService") as row:
        # moto ignores EndpointName and names the endpoint after the stack; read the name it chose.
        resources = clients("cloudformation").describe_stack_resources(StackName=endpoint_name)[
            "StackResources"
        ]
        arn = next(
            r["PhysicalResourceId"] for r in resources if r.get("ResourceType") == "AWS::SageMaker::Endpoint"
        )
        emulated_name = arn.rsplit("/", 1)[1]
        status = clients("sagemaker").describe_endpoint(EndpointName=emulated_name)["EndpointStatus"]
        if status != "InService":
            raise StepFailed(f"{emulated_name} is {status}")
        row.detail = (
            f"{emulated_name} InService (AWS names it {endpoint_name}; the template tests assert that)"
        )
    with report.step(label, "route answers") as row:
        drain_endpoint_results(clients("sagemaker-runtime"))  # nothing left over from an earlier run
        seed_endpoint_body(emulator, json.dumps(SEEDED_ANSWER), "application/json")
        # A new body each run: moto replays its cached answer for a request it has seen before.
        body = json.dumps({"inputs": f"great kit {uuid.uuid4().hex[:8]}"})
        request = rest_event("POST", f"/models/{label}/invoke", body, {"Content-Type": "application/json"})
        status, body = call(router, request)
        if status != 200 or json.loads(body) != SEEDED_ANSWER:
            raise StepFailed(f"router answered {status}: {body[:200]}")
        row.detail = "POST /models/{name}/invoke → InvokeEndpoint → 200 with the endpoint's body"
    with report.step(label, "model output"):
        raise NotEmulated("the answer is moto's seeded one: no Hugging Face container runs offline")


def check_bedrock(report: Report, router, label: str) -> None:
    with report.step(label, "route registered") as row:
        status, body = call(router, rest_event("GET", f"/models/{label}"))
        if status != 200 or json.loads(body).get("source") != "bedrock":
            raise StepFailed(f"GET /models/{label} answered {status}: {body[:200]}")
        row.detail = "GET /models/{name} lists it as bedrock"
    with report.step(label, "Converse, guardrail"):
        raise NotEmulated(
            "moto has no Bedrock Converse or guardrails: tests/lambdas/test_router_bedrock.py "
            "covers the router's Converse path with botocore's Stubber"
        )


def check_routes(report: Report, config, clients, emulator) -> None:
    with report.step("api", "router loads the deployed registry") as row:
        router = load_router(clients, f"mlkit-{config.environment}-api", emulator.environment())
        status, body = call(router, rest_event("GET", "/models"))
        listed = sorted(model["name"] for model in json.loads(body)["models"])
        if status != 200 or listed != sorted(config.models):
            raise StepFailed(f"GET /models answered {status} with {listed}; expected {sorted(config.models)}")
        row.detail = f"GET /models lists {len(listed)} models"
    for label, model in config.models.items():
        if model.source == "huggingface":
            endpoint_name = f"mlkit-{config.environment}-{label}"
            check_hugging_face(report, router, clients, label, endpoint_name, emulator.endpoint)
        elif model.source == "bedrock":
            check_bedrock(report, router, label)
