"""`make local`, Bedrock models: the router's Converse call, answered in-process by a botocore stub.

moto has no Bedrock runtime or guardrails, so the answer and the screening are reported as not emulated;
what is checked is that the router calls this model with the config's settings and guardrail.
"""

import json

from mlkit.checks import stack_outputs
from mlkit.report import NotEmulated, Report, StepFailed
from mlkit.route_proof import call, converse_stub
from stacks import names

JSON = "application/json"
CONVERSE_TEXT = "mlkit local run"
# The emulated variant deploys no guardrail (moto has no Bedrock): its stack says so in this output.
GUARDRAIL_NOT_EMULATED = "not-emulated"


def run_locally(report: Report, run, label: str, model) -> None:
    report.attempt(
        label,
        "router calls Converse on this model",
        run.router_blocked,
        lambda row: converse_route(row, run, label, model),
    )
    with report.step(label, "Converse answer, guardrail screening"):
        raise NotEmulated(
            "moto has no Bedrock runtime or guardrails: tests/lambdas/test_router_bedrock.py covers the "
            "router's Converse path and the template tests the guardrail"
        )


def converse_route(row, run, label: str, model) -> None:
    with converse_stub(run.router, CONVERSE_TEXT) as calls:
        answer = call(
            run.router,
            "POST",
            f"/models/{label}/invoke",
            json.dumps({"prompt": "hello"}),
            {"Content-Type": JSON},
        )
    if answer.status != 200 or json.loads(answer.body).get("text") != CONVERSE_TEXT:
        raise StepFailed(f"router answered {answer.status}: {answer.text()}")
    if len(calls) != 1:
        raise StepFailed(f"the router made {len(calls)} Converse calls for one request")
    params, inference = calls[0], model.inference
    sent = {
        "modelId": params.get("modelId"),
        "maxTokens": params.get("inferenceConfig", {}).get("maxTokens"),
        "temperature": params.get("inferenceConfig", {}).get("temperature"),
    }
    wanted = {
        "modelId": model.model_id,
        "maxTokens": inference.max_tokens,
        "temperature": inference.temperature,
    }
    if sent != wanted:
        raise StepFailed(f"the router called Converse with {sent}; the config says {wanted}")
    guardrail = check_guardrail(run, label, model, params.get("guardrailConfig"))
    row.detail = (
        f"POST /models/{label}/invoke → Converse({model.model_id}, maxTokens {inference.max_tokens}, "
        f"temperature {inference.temperature}, {guardrail}) → 200 with the answer's text "
        "(Converse answered in-process by a botocore stub on the router's own client)"
    )


def check_guardrail(run, label: str, model, sent: dict | None) -> str:
    """The guardrail the router passes is the model's: none, the configured id, or the one deployed."""
    settings = model.guardrail
    if settings is None:
        if sent:
            raise StepFailed(f"the config sets no guardrail, but the router sends {sent}")
        return "no guardrail"
    if settings.creates_guardrail:
        stack = names.model_stack_name(run.environment, label)
        deployed = stack_outputs(run.clients("cloudformation"), stack).get("GuardrailId")
        if deployed in (None, GUARDRAIL_NOT_EMULATED):
            return "guardrail created on AWS only (the emulated variant deploys none)"
        wanted = {"guardrailIdentifier": deployed}
    else:
        wanted = {"guardrailIdentifier": settings.id, "guardrailVersion": settings.version or "DRAFT"}
    if not sent or any(sent.get(key) != value for key, value in wanted.items()):
        raise StepFailed(f"the router sends guardrail {sent}; the deployed model's is {wanted}")
    return f"guardrail {sent['guardrailIdentifier']} version {sent.get('guardrailVersion')}"
