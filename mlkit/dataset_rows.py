"""`make local`, datasets: the sample data uploaded to the raw bucket and the real Glue transform run on
local Spark, once per dataset however many models (training, Autopilot) share it.

Without Java the Spark step and every step that needs its output are skipped, with the hint.
"""

from mlkit import deployed_roles, local_training
from mlkit.emulator import ROOT
from mlkit.local_context import Run
from mlkit.report import Report, StepSkipped

SAMPLE_DATA = ROOT / "sample-data"


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
