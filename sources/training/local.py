"""`make local`, custom-trained models: the kit's journey for real, against the emulator.

Per model, after its dataset is prepared (mlkit/dataset_rows.py): train with XGBoost as the built-in
container would, package model.tar.gz into the artifacts bucket, apply the evaluation gate, deploy
through the real deploy Lambda with the event the deployed pipeline builds (mlkit/pipeline_rows.py),
compare with the champion in the emulated registry and register (local_champion.py),
check the endpoint's config against the model's hosting, and prove that the router sends rows to this
model's endpoint (mlkit/route_proof.py), whose answer is this model's own predictions. Then a
challenger that loses to it is kept out, and the champion still serves. Script-mode models take their
own rows (local_script.py).
"""

import json
import random

import numpy as np

from mlkit import deployed_roles, local_training
from mlkit.dataset_rows import prepare_dataset_once
from mlkit.local_context import Run
from mlkit.pipeline_rows import SCALING_ROW, deploy, hosting, scaling
from mlkit.report import Report, StepFailed
from mlkit.route_checks import RECORDED, queued_detail
from mlkit.route_proof import as_bytes, prove_inline, sample_request

REQUEST_ROWS = 5
CSV = "text/csv"


def run_locally(report: Report, run: Run, label: str, model) -> dict:
    from sources.training.local_script import run_script_model

    blocked = prepare_dataset_once(report, run, model.dataset)
    if model.is_xgboost:
        return run_training_model(report, run, label, model, blocked)
    return run_script_model(report, run, label, model, blocked)


def run_training_model(report: Report, run: Run, label: str, model, blocked: str | None) -> dict:
    outcome: dict = {}
    trained, blocked = report.attempt(
        label, "train (local XGBoost)", blocked, lambda row: train(row, run, label, model, outcome)
    )
    _, blocked = report.attempt(
        label, "evaluation gate", blocked, lambda row: gate(row, run, label, model, outcome)
    )
    _, blocked = report.attempt(label, "deploy Lambda", blocked, lambda row: deploy(row, run, label, outcome))
    report.attempt(
        label, "endpoint config matches hosting", blocked, lambda row: hosting(row, run, label, model)
    )
    report.attempt(label, SCALING_ROW, blocked, lambda row: scaling(row, run, label, model, outcome))
    route_blocked = blocked or run.router_blocked
    if model.hosting.type == "async":
        report.attempt(
            label,
            "router queues these rows for this endpoint",
            route_blocked,
            lambda row: outcome.update(queued_rows(row, run, label, model, trained)),
        )
    else:
        report.attempt(
            label,
            "router sends these rows to this endpoint",
            route_blocked,
            lambda row: route_predictions(row, run, label, model, trained, outcome),
        )
    challenger_rows(report, run, label, model, outcome, blocked)
    return outcome


def challenger_rows(report: Report, run: Run, label: str, model, outcome: dict, blocked: str | None) -> None:
    """A second training that loses to the first: kept out with the reason, the champion still serving."""
    from sources.training.local_champion import CHALLENGER_STEP, challenge, still_serving

    _, blocked = report.attempt(
        label, CHALLENGER_STEP, blocked, lambda row: challenge(row, run, label, model, outcome)
    )
    report.attempt(
        label, "champion still serving", blocked, lambda row: still_serving(row, run, label, outcome)
    )


def training_s3(run: Run, label: str):
    """S3 as the training job's role: SageMaker reads the channels and writes model.tar.gz as it."""

    def role() -> str:
        return deployed_roles.job_role(json.loads(deployed_roles.model_pipeline(run, label)["definition"]))

    return run.clients_as(role, f"{label} training job")("s3")


def train(row, run: Run, label: str, model, outcome: dict) -> local_training.TrainedModel:
    s3 = training_s3(run, label)
    channels = local_training.download_channels(
        s3, run.bucket("curated"), model.dataset, run.workdir / "channels" / label
    )
    trained = local_training.train_model(model, channels)
    key = local_training.archive_key(label, trained.archive)
    s3.put_object(Bucket=run.bucket("artifacts"), Key=key, Body=trained.archive)
    outcome.update(
        trained=trained,
        channels=channels,
        model_data_url=f"s3://{run.bucket('artifacts')}/{key}",
        metric=trained.metrics.get(model.metric),
        baseline=trained.baseline.get(model.metric),
    )
    baseline = "n/a" if outcome["baseline"] is None else f"{outcome['baseline']:.2f}"
    value = "not reported" if outcome["metric"] is None else f"{outcome['metric']:.2f}"
    row.metric = f"{model.metric} {value} (baseline {baseline})"
    row.detail = (
        f"{trained.hyperparameters['num_round']} rounds on {trained.train_rows} rows, hyperparameters as "
        f"the built-in container gets them (+ nthread=1) → {outcome['model_data_url']}"
    )
    return trained


def gate_verdict(model, metrics: dict[str, float]) -> str:
    """The pipeline's gate: metric >= threshold (<= for error-like metrics), else StepFailed."""
    value = metrics.get(model.metric)
    if value is None:
        raise StepFailed(
            f"training reported no {model.metric} (it reported {', '.join(sorted(metrics))}): "
            "check hyperparameters.eval_metric"
        )
    lower = model.gate_lower_is_better
    if (value <= model.threshold) if lower else (value >= model.threshold):
        return f"{model.metric} {value:.4f} {'<=' if lower else '>='} threshold {model.threshold}: deploy"
    side = "above" if lower else "below"
    raise StepFailed(
        f"{model.metric} {value:.4f} is {side} the threshold {model.threshold}: the model is not deployed"
    )


def gate(row, run: Run, label: str, model, outcome: dict) -> None:
    """The threshold, then the champion (local_champion.py): registered Approved, or kept out."""
    from sources.training.local_champion import compare_and_register

    metrics = outcome["trained"].metrics
    verdict = gate_verdict(model, metrics)
    decision, arn = compare_and_register(
        run, label, model, metrics[model.metric], outcome["model_data_url"], f"{label}-local"
    )
    if not decision.approved:
        raise StepFailed(f"{decision.reason}: registered {arn} as Rejected; the model is not deployed")
    outcome["champion_arn"] = arn
    row.detail = f"{verdict.removesuffix(': deploy')}; {decision.reason} → {arn} Approved: deploy"


def request_rows(model, trained) -> tuple[str | bytes, str]:
    """Validation rows as CSV (random each run: moto replays its kept answer for a request it has seen),
    sent as text/csv unless the model's route declares other types."""
    rows = local_training.feature_rows(trained.validation_dir, REQUEST_ROWS, random.Random())
    return sample_request(model.resolved_content_types, CSV, rows)


def route_predictions(row, run: Run, label: str, model, trained, outcome: dict) -> None:
    request, content_type = request_rows(model, trained)
    rows = as_bytes(request).decode()
    expected = local_training.predict_csv(local_training.load_archive(trained.archive), rows)
    check_same_model(trained, rows, expected)
    answer = prove_inline(run, label, request, content_type, expected, CSV)
    outcome.update(request=request, expected=expected, answer=answer.body.decode(), status=answer.status)
    scores = ", ".join(expected.splitlines())
    row.detail = (
        f"{len(expected.splitlines())} validation rows → POST /models/{label}/invoke → 200 with this model's "
        f"scores [{scores}]; {RECORDED} InvokeEndpoint to {run.endpoint_name(label)} with those rows' bytes "
        "(the scores are computed locally from model.tar.gz and served by moto: the XGBoost container does "
        "not run offline)"
    )


def queued_rows(row, run: Run, label: str, model, trained) -> dict:
    request, content_type = request_rows(model, trained)
    proof = queued_detail(row, run, label, request, content_type, CSV)
    return {"request": request, "queued": proof}


def check_same_model(trained, request: str, expected: str) -> None:
    """The packaged model answers what the trained booster predicts (the archive is the model)."""
    import xgboost as xgb

    features = np.genfromtxt(request.splitlines(), delimiter=",", dtype=np.float64, ndmin=2)
    direct = trained.booster.predict(xgb.DMatrix(features, missing=np.nan))
    served = np.array([float(line) for line in expected.splitlines()])
    if not np.allclose(direct, served, rtol=1e-5, atol=1e-6):
        raise StepFailed(f"model.tar.gz predicts {served.tolist()}, the trained booster {direct.tolist()}")
