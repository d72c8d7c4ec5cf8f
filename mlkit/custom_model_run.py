"""`make local`, custom-trained models: the kit's journey for real, against the emulator.

Per dataset (once, however many models share it): upload the sample data to the raw bucket, run
the real Glue transform on local Spark. Per training model: train with XGBoost as the built-in
container would, package model.tar.gz into the artifacts bucket, apply the evaluation gate,
deploy through the real deploy Lambda with the event the deployed pipeline builds, check the
endpoint's config against the model's hosting, and prove that the router sends rows to this
model's endpoint (mlkit/route_proof.py), whose answer is this model's own predictions.
Per Autopilot model: what can be checked offline, and that AutoML itself is not emulated.

Without Java the Spark step and every step that needs its output are skipped, with the hint.
"""

import json
import random
import uuid

import numpy as np

from mlkit import deployed_roles, local_endpoint, local_training
from mlkit.emulator import ROOT
from mlkit.hosting_checks import check_endpoint_config
from mlkit.local_context import Run
from mlkit.report import NotEmulated, Report, StepFailed, StepSkipped
from mlkit.route_checks import RECORDED, queued_detail
from mlkit.route_proof import as_bytes, prove_inline, sample_request
from stacks import names

SAMPLE_DATA = ROOT / "sample-data"
REQUEST_ROWS = 5
CSV = "text/csv"
AUTOML_NOT_EMULATED = (
    "AutoML V2 does not run offline (moto's job never completes and its BestCandidate is a placeholder): "
    "nothing is trained or deployed for this model here"
)


def run_custom_models(report: Report, run: Run) -> dict[str, dict]:
    """Add the custom models' rows to ``report``; answers what each model did (for tests)."""
    from stacks.sources import source_of

    return {
        label: source_of(model).run_locally(report, run, label, model)
        for label, model in run.config.custom_models.items()
    }


def prepare_dataset_once(report: Report, run: Run, dataset: str) -> str | None:
    """The dataset's upload and Glue transform, the first time a model needs them; answers why its
    later steps cannot run, or None."""
    if dataset not in run.prepared_datasets:
        run.prepared_datasets[dataset] = prepare_dataset(report, run, dataset, local_training.java_problem())
    return run.prepared_datasets[dataset]


def prepare_dataset(report: Report, run: Run, dataset: str, java: str | None) -> str | None:
    """Upload, then the Glue transform; answers why the dataset's later steps cannot run, or None."""
    scope = f"dataset {dataset}"
    _, blocked = report.attempt(
        scope, "upload sample data", None, lambda row: upload_sample(row, run, dataset)
    )
    if blocked is None and java:
        with report.step(scope, "Glue transform (local Spark)"):
            raise StepSkipped(java)
        return f"needs the Glue transform's output; {java}"
    _, blocked = report.attempt(
        scope, "Glue transform (local Spark)", blocked, lambda row: transform(row, run, dataset)
    )
    return blocked


def upload_sample(row, run: Run, dataset: str) -> None:
    raw = run.bucket("raw")
    sample = SAMPLE_DATA / f"{dataset}.csv"
    if not sample.is_file():
        present = local_training.object_keys(run.s3(), raw, f"{dataset}/")
        if not present:
            raise StepSkipped(f"no {sample.relative_to(ROOT)}: put CSV files under s3://{raw}/{dataset}/")
        row.detail = f"no sample file; using the {len(present)} objects under s3://{raw}/{dataset}/"
        return
    key = f"{dataset}/{sample.name}"
    run.s3().upload_file(str(sample), raw, key)
    lines = sum(1 for _ in sample.open()) - 1
    row.detail = f"{sample.relative_to(ROOT)} ({lines} rows) → s3://{raw}/{key}"


def transform(row, run: Run, dataset: str) -> dict:
    workdir = run.workdir / "glue" / dataset
    buckets = {kind: run.bucket(kind) for kind in ("raw", "curated")}
    definition = run.config.datasets[dataset]  # what every model on the dataset agrees it is
    # The job's S3 calls are signed as the role the dataset's preparation job runs as.
    s3 = run.clients_as(lambda: deployed_roles.dataset_job_role(run, dataset), f"dataset {dataset} job")("s3")
    metadata = local_training.run_glue_transform(run.session(), s3, buckets, dataset, definition, workdir)
    counts = metadata["row_counts"]
    row.detail = (
        f"jobs/glue/glue_job.run: {counts['read']} rows read, {counts['with_target']} with a target, "
        f"{counts['deduplicated']} unique → train {counts['train']} / validation {counts['validation']}; "
        f"{len(metadata['features'])} features; {len(metadata['uploaded'])} objects → "
        f"s3://{buckets['curated']}/{dataset}/"
    )
    return metadata


def run_training_model(report: Report, run: Run, label: str, model, blocked: str | None) -> dict:
    outcome: dict = {}
    trained, blocked = report.attempt(
        label, "train (local XGBoost)", blocked, lambda row: train(row, run, label, model, outcome)
    )
    _, blocked = report.attempt(label, "evaluation gate", blocked, lambda row: gate(row, model, trained))
    _, blocked = report.attempt(label, "deploy Lambda", blocked, lambda row: deploy(row, run, label, outcome))
    report.attempt(
        label, "endpoint config matches hosting", blocked, lambda row: hosting(row, run, label, model)
    )
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
    return outcome


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


def gate(row, model, trained: local_training.TrainedModel) -> None:
    row.detail = gate_verdict(model, trained.metrics)


def deploy(row, run: Run, label: str, outcome: dict) -> dict:
    definition = local_endpoint.pipeline_definition(
        run.clients, names.model_stack_name(run.environment, label)
    )
    event = local_endpoint.deploy_event(definition, outcome["model_data_url"])
    function = definition["States"][local_endpoint.state_names()[1]].get("Resource", "")
    role = run.role_environment(
        lambda: deployed_roles.function_role(run.clients, function), f"{label} deploy Lambda"
    )
    module = local_endpoint.lambda_module("deploy", {**run.emulator.environment(), **role})
    answer, status = local_endpoint.run_deploy(module, event)
    outcome.update(deploy_event=event, deploy=answer, endpoint_status=status)
    if status != "InService":
        raise StepFailed(
            f"{answer['endpoint_name']} is {status} after the deploy Lambda {answer['action']} it"
        )
    if answer["endpoint_name"] != run.endpoint_name(label):
        raise StepFailed(
            f"the pipeline deploys {answer['endpoint_name']}; the router calls {run.endpoint_name(label)}"
        )
    row.detail = (
        f"{answer['action']}: {answer['endpoint_name']} {status} on {answer['endpoint_config_name']} "
        f"(lambdas/deploy.py; the event of the deployed pipeline's {local_endpoint.state_names()[1]!r} state)"
    )
    return answer


def hosting(row, run: Run, label: str, model) -> None:
    sagemaker = run.clients("sagemaker")
    row.detail = check_endpoint_config(
        sagemaker, run.endpoint_name(label), model, label, run.bucket("artifacts")
    )


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
