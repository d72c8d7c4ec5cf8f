"""`make local`, custom-trained models: the kit's journey for real, against the emulator.

Per dataset (once, however many models share it): upload the sample data to the raw bucket, run
the real Glue transform on local Spark. Per training model: train with XGBoost as the built-in
container would, package model.tar.gz into the artifacts bucket, apply the evaluation gate,
deploy through the real deploy Lambda with the event the deployed pipeline builds, and call the
model through the real router, whose endpoint answers with this model's own predictions.
Per Autopilot model: what can be checked offline, and that AutoML itself is not emulated.

Without Java the Spark step and every step that needs its output are skipped, with the hint.
"""

import json
import random
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlkit import local_endpoint, local_training
from mlkit.api_event import rest_event
from mlkit.checks import stack_outputs
from mlkit.emulator import ROOT
from mlkit.report import NotEmulated, Report, StepFailed, StepSkipped
from mlkit.route_checks import call, load_router

SAMPLE_DATA = ROOT / "sample-data"
REQUEST_ROWS = 5
AUTOML_NOT_EMULATED = (
    "AutoML V2 does not run offline (moto's job never completes and its BestCandidate is a placeholder): "
    "nothing is trained or deployed for this model here"
)


@dataclass
class Run:
    """What the steps share: the emulator, the data buckets, a work directory, Spark and the router."""

    config: object
    clients: Callable
    emulator: object
    workdir: Path
    exits: ExitStack
    buckets: dict[str, str] = field(default_factory=dict)
    spark: object = None
    router: object = None

    def s3(self):
        return self.clients("s3")

    def session(self):
        if self.spark is None:
            self.spark = self.exits.enter_context(local_training.local_spark())
        return self.spark

    def stack(self, part: str) -> str:
        return f"mlkit-{self.config.environment}-{part}"


def attempt(report: Report, scope: str, name: str, blocked: str | None, action) -> tuple[object, str | None]:
    """One report row: skipped when an earlier step blocks it, else ``action(row)``.

    Answers (the action's result or None, why the steps after it are blocked or None).
    """
    try:
        with report.step(scope, name) as row:
            if blocked:
                raise StepSkipped(blocked)
            return action(row), None
    except Exception:  # recorded as failed by report.step; the next model still runs
        return None, f"needs '{name}', which failed"
    return None, blocked or f"needs '{name}', which was skipped"


def run_custom_models(report: Report, config, clients, emulator) -> dict[str, dict]:
    """Add the custom models' rows to ``report``; answers what each model did (for tests)."""
    datasets: dict[str, list[str]] = {}
    for label, model in config.models.items():
        if model.source in ("training", "autopilot"):
            datasets.setdefault(model.dataset, []).append(label)
    outcomes: dict[str, dict] = {}
    if not datasets:
        return outcomes
    java = local_training.java_problem()
    with ExitStack() as exits:
        workdir = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="mlkit-local-")))
        run = Run(config=config, clients=clients, emulator=emulator, workdir=workdir, exits=exits)
        for dataset, labels in datasets.items():
            first = config.models[labels[0]]
            blocked = prepare_dataset(report, run, dataset, first, java)
            for label in labels:
                model = config.models[label]
                if model.source == "training":
                    outcomes[label] = run_training_model(report, run, label, model, blocked)
                else:
                    outcomes[label] = check_autopilot_model(report, run, label, model, blocked)
    return outcomes


def prepare_dataset(report: Report, run: Run, dataset: str, model, java: str | None) -> str | None:
    """Upload, then the Glue transform; answers why the dataset's later steps cannot run, or None."""
    scope = f"dataset {dataset}"
    _, blocked = attempt(
        report, scope, "upload sample data", None, lambda row: upload_sample(row, run, dataset)
    )
    if blocked is None and java:
        blocked = f"needs the Glue transform's output; {java}"
        with report.step(scope, "Glue transform (local Spark)"):
            raise StepSkipped(java)
        return blocked
    _, blocked = attempt(
        report,
        scope,
        "Glue transform (local Spark)",
        blocked,
        lambda row: transform(row, run, dataset, model),
    )
    return blocked


def upload_sample(row, run: Run, dataset: str) -> None:
    if not run.buckets:
        outputs = stack_outputs(run.clients("cloudformation"), run.stack("data"))
        run.buckets = {kind: outputs[f"{kind.title()}BucketName"] for kind in ("raw", "curated", "artifacts")}
    sample = SAMPLE_DATA / f"{dataset}.csv"
    if not sample.is_file():
        present = local_training.object_keys(run.s3(), run.buckets["raw"], f"{dataset}/")
        if not present:
            raise StepSkipped(
                f"no {sample.relative_to(ROOT)}: put CSV files under s3://{run.buckets['raw']}/{dataset}/"
            )
        row.detail = (
            f"no sample file; using the {len(present)} objects under s3://{run.buckets['raw']}/{dataset}/"
        )
        return
    key = f"{dataset}/{sample.name}"
    run.s3().upload_file(str(sample), run.buckets["raw"], key)
    lines = sum(1 for _ in sample.open()) - 1
    row.detail = f"{sample.relative_to(ROOT)} ({lines} rows) → s3://{run.buckets['raw']}/{key}"


def transform(row, run: Run, dataset: str, model) -> dict:
    workdir = run.workdir / "glue" / dataset
    metadata = local_training.run_glue_transform(
        run.session(), run.s3(), run.buckets, dataset, model, workdir
    )
    counts = metadata["row_counts"]
    row.detail = (
        f"jobs/glue/glue_job.run: {counts['read']} rows read, {counts['with_target']} with a target, "
        f"{counts['deduplicated']} unique → train {counts['train']} / validation {counts['validation']}; "
        f"{len(metadata['features'])} features; {len(metadata['uploaded'])} objects → "
        f"s3://{run.buckets['curated']}/{dataset}/"
    )
    return metadata


def run_training_model(report: Report, run: Run, label: str, model, blocked: str | None) -> dict:
    outcome: dict = {}
    trained, blocked = attempt(
        report, label, "train (local XGBoost)", blocked, lambda row: train(row, run, label, model, outcome)
    )
    _, blocked = attempt(report, label, "evaluation gate", blocked, lambda row: gate(row, model, trained))
    _, blocked = attempt(
        report, label, "deploy Lambda", blocked, lambda row: deploy(row, run, label, outcome)
    )
    attempt(
        report,
        label,
        "route answers real predictions",
        blocked,
        lambda row: route_answers(row, run, label, model, trained, outcome),
    )
    return outcome


def train(row, run: Run, label: str, model, outcome: dict) -> local_training.TrainedModel:
    channels = local_training.download_channels(
        run.s3(), run.buckets["curated"], model.dataset, run.workdir / "channels" / label
    )
    trained = local_training.train_model(model, channels)
    key = local_training.archive_key(label, trained.archive)
    run.s3().put_object(Bucket=run.buckets["artifacts"], Key=key, Body=trained.archive)
    outcome.update(
        trained=trained,
        model_data_url=f"s3://{run.buckets['artifacts']}/{key}",
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
    definition = local_endpoint.pipeline_definition(run.clients, run.stack(label))
    event = local_endpoint.deploy_event(definition, outcome["model_data_url"])
    module = local_endpoint.lambda_module("deploy", run.emulator.environment())
    answer, status = local_endpoint.run_deploy(module, event)
    outcome.update(deploy_event=event, deploy=answer, endpoint_status=status)
    if status != "InService":
        raise StepFailed(
            f"{answer['endpoint_name']} is {status} after the deploy Lambda {answer['action']} it"
        )
    row.detail = (
        f"{answer['action']}: {answer['endpoint_name']} {status} on {answer['endpoint_config_name']} "
        f"(lambdas/deploy.py; the event of the deployed pipeline's {local_endpoint.DEPLOY_STATE!r} state)"
    )
    return answer


def route_answers(row, run: Run, label: str, model, trained, outcome: dict) -> None:
    if model.hosting.type == "async":
        raise StepSkipped("async hosting answers through S3; the local run checks inline answers only")
    request = local_training.feature_rows(trained.validation_dir, REQUEST_ROWS, random.Random())
    served = local_training.load_archive(trained.archive)
    expected = local_training.predict_csv(served, request)
    check_same_model(trained, request, expected)
    local_endpoint.drain_endpoint_results(run.clients("sagemaker-runtime"))
    local_endpoint.seed_endpoint_body(run.emulator.endpoint, expected, "text/csv")
    if run.router is None:
        run.router = load_router(run.clients, run.stack("api"), run.emulator.environment())
    event = rest_event("POST", f"/models/{label}/invoke", request, {"Content-Type": "text/csv"})
    status, body = call(run.router, event)
    outcome.update(request=request, expected=expected, answer=body, status=status)
    if status != 200 or body != expected:
        raise StepFailed(f"router answered {status}: {body[:120]!r}; this model predicts {expected[:120]!r}")
    scores = ", ".join(body.splitlines())
    row.detail = (
        f"{len(body.splitlines())} validation rows → POST /models/{label}/invoke → InvokeEndpoint → 200 with "
        f"this model's scores [{scores}] (computed locally from model.tar.gz and served by moto: "
        "the XGBoost container does not run offline)"
    )


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
    attempt(report, label, "curated CSV with header", blocked, lambda row: autopilot_input(row, run, model))
    attempt(report, label, "state machine deployed", None, lambda row: autopilot_pipeline(row, run, label))
    with report.step(label, "AutoML V2 job"):
        raise NotEmulated(AUTOML_NOT_EMULATED)
    return outcome


def autopilot_input(row, run: Run, model) -> None:
    """Autopilot reads curated/<dataset>/autopilot/ by column name: a header naming the target."""
    s3, bucket, prefix = run.s3(), run.buckets["curated"], f"{model.dataset}/autopilot/"
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
    described = local_endpoint.pipeline(run.clients, run.stack(label))
    if described.get("status", "ACTIVE") != "ACTIVE":
        raise StepFailed(f"{described['name']} is {described['status']}")
    states = json.loads(described["definition"]).get("States", {})
    row.detail = (
        f"{described['name']} ACTIVE with {len(states)} states (deploys through the same deploy Lambda)"
    )
