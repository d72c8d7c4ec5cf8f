"""`make local`, training models beyond XGBoost: the scikit-learn sample trains here for real.

With a `tuning:` section, the run is a bounded local search: ``max_jobs`` candidates drawn from the
configured ranges (seeded, so a rerun draws the same), each one training run of the sample's own
``train()``, the best by the tuning objective (the gated metric). Then the same gate, the real
deploy Lambda, and the router's proof that the endpoint is sent real validation rows, answered with
the packaged model's own scores. The tuning job itself does not run offline (moto has none).
The other frameworks train for real in tests/jobs (TensorFlow and PyTorch load seconds of
libraries each), so make local reports them as not emulated.
"""

import io
import math
import random
import tarfile
import tempfile
from pathlib import Path

from mlkit import local_training
from mlkit.local_context import Run
from mlkit.pipeline_rows import SCALING_ROW, deploy, hosting, scaling
from mlkit.report import NotEmulated, Report
from mlkit.route_checks import RECORDED
from mlkit.route_proof import prove_inline
from sources.training.local import CSV, REQUEST_ROWS, gate_verdict, training_s3

SEARCH_SEED = 7
TUNING_NOT_EMULATED = (
    "CreateHyperParameterTuningJob does not run offline (moto has no tuning jobs): the search above "
    "is local, over the same ranges, one training run per candidate up to max_jobs"
)


def run_script_model(report: Report, run: Run, label: str, model, blocked: str | None) -> dict:
    """The rows of a scikit-learn model; one not-emulated row for the other frameworks."""
    if model.algorithm != "sklearn":
        with report.step(label, f"train ({model.algorithm})"):
            raise NotEmulated(
                "make local trains xgboost and sklearn models here; "
                f"tests/jobs/test_training_{model.algorithm}.py trains this one for real"
            )
        return {}
    outcome: dict = {}
    step = "tune (local search)" if model.tuning else "train (local scikit-learn)"
    trained, blocked = report.attempt(
        label, step, blocked, lambda row: search(row, run, label, model, outcome)
    )
    _, blocked = report.attempt(
        label,
        "evaluation gate",
        blocked,
        lambda row: setattr(row, "detail", gate_verdict(model, trained["metrics"])),
    )
    _, blocked = report.attempt(label, "deploy Lambda", blocked, lambda row: deploy(row, run, label, outcome))
    report.attempt(
        label, "endpoint config matches hosting", blocked, lambda row: hosting(row, run, label, model)
    )
    report.attempt(label, SCALING_ROW, blocked, lambda row: scaling(row, run, label, model, outcome))
    report.attempt(
        label,
        "router sends these rows to this endpoint",
        blocked or run.router_blocked,
        lambda row: route_rows(row, run, label, outcome),
    )
    if model.tuning:
        with report.step(label, "tuning job"):
            raise NotEmulated(TUNING_NOT_EMULATED)
    return outcome


def candidates(model) -> list[dict]:
    """The hyperparameters to train with: the configured ones, or max_jobs draws over the ranges."""
    if not model.tuning:
        return [dict(model.hyperparameters)]
    draw = random.Random(SEARCH_SEED)
    return [
        {
            **model.hyperparameters,
            **{name: sample(draw, tuning_range) for name, tuning_range in model.tuning.ranges.items()},
        }
        for _ in range(model.tuning.max_jobs)
    ]


def sample(draw: random.Random, tuning_range) -> object:
    if tuning_range.type == "categorical":
        return draw.choice(tuning_range.values)
    low, high = tuning_range.minimum, tuning_range.maximum
    if tuning_range.type == "integer":
        return draw.randint(int(low), int(high))
    if tuning_range.scaling == "Logarithmic":
        return math.exp(draw.uniform(math.log(low), math.log(high)))
    return draw.uniform(low, high)


def search(row, run: Run, label: str, model, outcome: dict) -> dict:
    from jobs.training import churn_data, sklearn_train

    s3 = training_s3(run, label)
    channels = local_training.download_channels(
        s3, run.bucket("curated"), model.dataset, run.workdir / "channels" / label
    )
    lower = model.gate_lower_is_better
    tried = []
    for index, hyperparameters in enumerate(candidates(model)):
        model_dir = run.workdir / "models" / label / str(index)
        metrics = sklearn_train.train(channels["train"], channels["validation"], model_dir, hyperparameters)
        tried.append((metrics[model.metric], index, hyperparameters, metrics, model_dir))
    value, index, best, metrics, model_dir = (min if lower else max)(
        tried, key=lambda item: (item[0], -item[1])
    )
    archive = package(model_dir)
    key = local_training.archive_key(label, archive)
    s3.put_object(Bucket=run.bucket("artifacts"), Key=key, Body=archive)
    train_labels, _ = churn_data.read_channel(channels["train"])
    validation_labels, _ = churn_data.read_channel(channels["validation"])
    baseline = churn_data.majority_baseline(train_labels, validation_labels).get(model.metric)
    outcome.update(
        model_data_url=f"s3://{run.bucket('artifacts')}/{key}",
        archive=archive,
        validation_dir=channels["validation"],
    )
    row.metric = f"{model.metric} {value:.2f} (baseline {baseline:.2f})"
    chosen = ", ".join(
        f"{name}={best[name]:.3g}" if isinstance(best[name], float) else f"{name}={best[name]}"
        for name in sorted(best)
    )
    row.detail = f"best of {len(tried)} candidates (#{index}): {chosen} → {outcome['model_data_url']}"
    return {"metrics": metrics}


def package(model_dir: Path) -> bytes:
    """model.tar.gz of the best candidate's model.joblib, as SageMaker packs /opt/ml/model."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(model_dir.iterdir()):
            archive.add(path, arcname=path.name)
    return buffer.getvalue()


def served_scores(archive: bytes, rows: str) -> str:
    """What the scikit-learn container answers: the sample's model_fn/input_fn/predict_fn/output_fn."""
    from jobs.training import sklearn_train

    with tempfile.TemporaryDirectory() as directory:
        with tarfile.open(fileobj=io.BytesIO(archive)) as unpacked:
            unpacked.extractall(directory, filter="data")
        served = sklearn_train.model_fn(directory)
        answer, _ = sklearn_train.output_fn(
            sklearn_train.predict_fn(sklearn_train.input_fn(rows, CSV), served), CSV
        )
        return answer


def route_rows(row, run: Run, label: str, outcome: dict) -> None:
    rows = local_training.feature_rows(outcome["validation_dir"], REQUEST_ROWS, random.Random())
    expected = served_scores(outcome["archive"], rows)
    prove_inline(run, label, rows, CSV, expected, CSV)
    scores = ", ".join(expected.split())
    row.detail = (
        f"{REQUEST_ROWS} validation rows → POST /models/{label}/invoke → 200 with this model's scores "
        f"[{scores}]; {RECORDED} InvokeEndpoint to {run.endpoint_name(label)} with those rows' bytes "
        "(scores from the packaged model.joblib through the sample's serving functions, served by moto: "
        "the container does not run offline)"
    )
