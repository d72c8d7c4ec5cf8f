"""`make local`, Autopilot models: what can be checked offline (the curated CSV's header, the deployed
state machine, the router's call to the endpoint name), and that AutoML itself is not emulated."""

import json
import uuid

from mlkit import local_endpoint, local_training
from mlkit.dataset_rows import prepare_dataset_once
from mlkit.local_context import Run
from mlkit.report import NotEmulated, Report, StepFailed
from mlkit.route_checks import RECORDED, queued_detail
from mlkit.route_proof import prove_inline, sample_request
from stacks import names

CSV = "text/csv"
AUTOML_NOT_EMULATED = (
    "AutoML V2 does not run offline (moto's job never completes and its BestCandidate is a placeholder): "
    "nothing is trained or deployed for this model here"
)


def run_locally(report: Report, run: Run, label: str, model) -> dict:
    blocked = prepare_dataset_once(report, run, model.dataset)
    return check_autopilot_model(report, run, label, model, blocked)


def check_autopilot_model(report: Report, run: Run, label: str, model, blocked: str | None) -> dict:
    outcome: dict = {}
    report.attempt(label, "curated CSV with header", blocked, lambda row: autopilot_input(row, run, model))
    report.attempt(label, "state machine deployed", None, lambda row: autopilot_pipeline(row, run, label))
    # No endpoint exists offline, but the router's registry names one: prove the route to that name.
    request, content_type = sample_request(
        model.resolved_content_types, CSV, f"{uuid.uuid4().int % 1000},0.5,1"
    )
    if model.hosting.type == "async":
        step, action = "router queues these rows for this endpoint name", queued_detail
    else:
        step, action = "router sends these rows to this endpoint name", autopilot_route
    report.attempt(
        label, step, run.router_blocked, lambda row: action(row, run, label, request, content_type)
    )
    with report.step(label, "AutoML V2 job"):
        raise NotEmulated(AUTOML_NOT_EMULATED)
    return outcome


def autopilot_route(row, run: Run, label: str, request, content_type: str) -> None:
    answer = "1,0.5"  # Autopilot's predicted_label,probability shape; the container does not run here
    prove_inline(run, label, request, content_type, answer, CSV)
    row.detail = (
        f"POST /models/{label}/invoke → 200 with the endpoint's answer; {RECORDED} InvokeEndpoint to "
        f"{run.endpoint_name(label)} with the request's bytes (no endpoint runs here: the AutoML pipeline "
        "that deploys it does not run offline)"
    )


def autopilot_input(row, run: Run, model) -> None:
    """Autopilot reads curated/<dataset>/autopilot/ by column name: a header naming the target."""
    s3, bucket, prefix = run.s3(), run.bucket("curated"), f"{model.dataset}/autopilot/"
    keys = [key for key in local_training.object_keys(s3, bucket, prefix) if key.endswith(".csv")]
    if not keys:
        raise StepFailed(f"no CSV under s3://{bucket}/{prefix}")
    first_line = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read().split(b"\n", 1)[0].decode()
    columns = [column.strip('"') for column in first_line.split(",")]
    if model.target not in columns:
        raise StepFailed(f"s3://{bucket}/{keys[0]} has no {model.target!r} column in its header: {columns}")
    row.detail = (
        f"s3://{bucket}/{keys[0]}: header of {len(columns)} columns, target {model.target!r} included"
    )


def autopilot_pipeline(row, run: Run, label: str) -> None:
    described = local_endpoint.pipeline(run.clients, names.model_stack_name(run.environment, label))
    if described.get("status", "ACTIVE") != "ACTIVE":
        raise StepFailed(f"{described['name']} is {described['status']}")
    states = json.loads(described["definition"]).get("States", {})
    row.detail = (
        f"{described['name']} ACTIVE with {len(states)} states (deploys through the same deploy Lambda)"
    )
