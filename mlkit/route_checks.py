"""`make local`, the router: load it as deployed, call it in-process, check the endpoints it calls.

The router reads the registry the API stack deployed, so what is checked is what was deployed.
Lambda invoke needs Docker, so the handler runs here instead. Each hosting type is checked in its
own way (mlkit/route_proof.py says what each proof rests on); each source's rows (sources/<name>/
local.py) use these, and report what the emulator cannot run as not emulated.
"""

import json
import uuid

from lambdas.shared.registry import FILE_VARIABLE
from mlkit.deployed_registry import registry_file
from mlkit.hosting_checks import check_endpoint_config
from mlkit.local_endpoint import lambda_module
from mlkit.report import NotEmulated, Report, StepFailed
from mlkit.route_proof import as_bytes, call, prove_inline, prove_queued, sample_request
from stacks import names

JSON = "application/json"
RECORDED = "the emulator recorded one"


def load_router(clients, api_stack: str, emulator_environment: dict[str, str], credentials=None):
    """lambdas/router.py with the deployed function's environment, pointed at the emulator.

    ``credentials(role_arn)`` (default: none) gives the environment variables of the function's role,
    which then sign the router's calls, as the Lambda runtime's do."""
    resources = clients("cloudformation").describe_stack_resources(StackName=api_stack)["StackResources"]
    function = next(r for r in resources if r.get("ResourceType") == "AWS::Lambda::Function")
    deployed = clients("lambda").get_function_configuration(FunctionName=function["PhysicalResourceId"])
    region = emulator_environment["AWS_REGION"]
    # The registry file the attached layer holds, at the path the Lambda runtime would give it.
    account = deployed["FunctionArn"].split(":")[4]
    registry = {FILE_VARIABLE: registry_file(clients, api_stack, deployed, account, region)}
    # The emulator's endpoint, region and fake credentials win over the deployed values; the role's
    # credentials over the fake ones.
    role = credentials(deployed["Role"]) if credentials else {}
    variables = {**deployed["Environment"]["Variables"], **registry, **emulator_environment, **role}
    return lambda_module("router", variables)


def load_router_step(report: Report, run) -> None:
    """One row: the router loads the deployed registry and lists exactly the config's models."""

    def load(row):
        emulator_environment = run.emulator.environment()
        api_stack = names.api_stack_name(run.environment)
        credentials = lambda role: run.role_environment(lambda: role, "router")  # noqa: E731
        run.router = load_router(run.clients, api_stack, emulator_environment, credentials)
        answer = call(run.router, "GET", "/models")
        listed = sorted(model["name"] for model in json.loads(answer.body).get("models", []))
        if answer.status != 200 or listed != sorted(run.config.models):
            raise StepFailed(
                f"GET /models answered {answer.status} with {listed}; expected {sorted(run.config.models)}"
            )
        row.detail = f"GET /models lists {len(listed)} models"

    _, run.router_blocked = report.attempt("api", "router loads the deployed registry", None, load)


def check_pretrained_endpoint(report: Report, run, label: str, model, not_emulated: str) -> None:
    """A CloudFormation-managed endpoint (Hugging Face, JumpStart): its config, and the router's call;
    ``not_emulated`` says why the model's own answer is not."""

    def hosting(row):
        emulated = run.cloudformation_endpoint_name(label)
        summary = check_endpoint_config(
            run.clients("sagemaker"), emulated, model, label, run.bucket("artifacts")
        )
        row.detail = f"{summary} (the template names it {run.endpoint_name(label)}; moto, {emulated})"

    report.attempt(label, "endpoint config matches hosting", None, hosting)
    # A new request each run: moto replays its kept answer for a request it has seen before.
    text = json.dumps({"inputs": f"great kit {uuid.uuid4().hex[:8]}"})
    request, content_type = sample_request(model.resolved_content_types, JSON, text)
    if model.hosting.type == "async":
        report.attempt(
            label,
            "router queues these bytes for this endpoint",
            run.router_blocked,
            lambda row: queued_detail(row, run, label, request, content_type, JSON),
        )
    else:
        report.attempt(
            label,
            "router calls this endpoint with these bytes",
            run.router_blocked,
            lambda row: inline_endpoint(row, run, label, request, content_type),
        )
    with report.step(label, "model output"):
        raise NotEmulated(not_emulated)


def inline_endpoint(row, run, label: str, request: str | bytes, content_type: str) -> None:
    answer = json.dumps({"label": "POSITIVE", "score": 0.99, "nonce": uuid.uuid4().hex})
    prove_inline(run, label, request, content_type, answer, JSON)
    row.detail = (
        f"POST /models/{label}/invoke ({content_type}) → 200 with the endpoint's answer; {RECORDED} "
        f"InvokeEndpoint to {run.endpoint_name(label)} with the request's {len(as_bytes(request))} bytes, "
        "type and Accept"
    )


def queued_detail(row, run, label: str, request, content_type: str, accept: str | None = None) -> dict:
    proof = prove_queued(run, label, request, content_type, accept or content_type)
    output = names.async_prefixes(label)["output"]
    row.detail = (
        f"POST /models/{label}/invoke → 202; {proof['location']} holds the request's "
        f"{len(as_bytes(request))} bytes ({content_type}); {RECORDED} InvokeEndpointAsync of that object to "
        f"{run.endpoint_name(label)}; the router reports the output location the endpoint answered (moto "
        f"answers in a bucket of its own; on AWS, under s3://{run.bucket('artifacts')}/{output}, as the "
        "endpoint config says)"
    )
    return proof
