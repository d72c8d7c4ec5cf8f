"""Each pipeline once on the sample data: what will run, what it may cost, and the watches that follow it.

A dataset is prepared by uploading sample-data/<dataset>.csv under its raw prefix: the upload starts the
dataset's state machine, whose "Dataset Prepared" event starts every on_upload model of the dataset. A
manual model is started here once its dataset is prepared, with {"prepare": false} (the upload prepared
it; mlkit/train.py's {"prepare": true} would run the Glue job a second time). A hub model's packaging
pipeline is started here, or followed if `cdk deploy` started it and it still runs.
"""

from dataclasses import dataclass, field
from pathlib import Path

from mlkit import train
from mlkit.acceptance.executions import ExecutionWatch
from mlkit.cost import Estimate
from mlkit.dataset_rows import SAMPLE_DATA
from mlkit.emulator import ROOT
from mlkit.report import StepFailed, StepSkipped
from sources import source_of
from stacks import names

PREPARATION, PIPELINE_RUN = "preparation run", "pipeline run"
DATASET_EVENT = "the dataset's Dataset Prepared rule"
UPLOAD_RULE = "the dataset stack's OnUpload rule"


@dataclass
class Plan:
    """The pipeline runs to start: each dataset's sample file (None: it has none), each pipeline model."""

    datasets: dict[str, Path | None] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(path is not None for path in self.datasets.values()) + len(self.models)


def plan(config) -> Plan:
    datasets = {}
    for dataset in config.datasets:
        sample = SAMPLE_DATA / f"{dataset}.csv"
        datasets[dataset] = sample if sample.is_file() else None
    models = [label for label, model in config.models.items() if source_of(model).has_pipeline]
    return Plan(datasets, models)


def cost_bound(estimate: Estimate, config, pipelines: Plan) -> tuple[list[str], float]:
    """Lines naming each run's bound (mlkit/cost.py's per-run figures) and the requests; the total."""
    lines, total = [], 0.0
    groups = [
        (f"dataset {d}", f"upload {path.relative_to(ROOT)}, its preparation")
        for d, path in pipelines.datasets.items()
        if path
    ]
    groups += [(label, f"{config.models[label].source} pipeline") for label in pipelines.models]
    for group, what in groups:
        figures = estimate.totals(group)
        total += figures.per_run
        idle = f"; then idle {figures.idle_month:,.2f}/month while deployed" if figures.idle_month else ""
        missing = unpriced(estimate, config, group)
        plus = ", plus what is unpriced" if missing else ""
        lines.append(f"  {group}: {what}: at most {figures.per_run:,.2f} per run{plus}{idle}")
        lines += [f"    {line}" for line in missing]
    requests = sum(estimate.totals(label).per_1000_requests / 1000 for label in config.models)
    total += requests
    lines.append(f"  one request to each of {len(config.models)} models: {requests:,.4f}")
    return lines, total


def unpriced(estimate: Estimate, config, group: str) -> list[str]:
    """The estimate's unpriced entries of one group (model entries name it; template ones its stack)."""
    if group.startswith("dataset "):
        dataset = group.removeprefix("dataset ")
        entry, stack = f"dataset {dataset} (", names.dataset_stack_name(config.environment, dataset)
    else:
        entry, stack = f"model {group} (", names.model_stack_name(config.environment, group)
    # "unpriced: <logical id> (<type>) in <stack>[: <why>]": the stack's name ends there, or at a colon.
    return [
        line
        for line in estimate.unpriced
        if entry in line or line.endswith(f" in {stack}") or f" in {stack}: " in line
    ]


def machine_arn(cloudformation, stack: str) -> str:
    try:
        return train.state_machine_arn(cloudformation, stack)
    except train.TrainError as error:
        raise StepFailed(str(error)) from None


def upload_sample(row, s3, raw_bucket: str, dataset: str, sample: Path | None) -> dict:
    """sample-data/<dataset>.csv under the raw prefix; answers its key and S3's LastModified for it."""
    if sample is None:
        raise StepSkipped(
            f"no sample-data/{dataset}.csv: upload your CSV under s3://{raw_bucket}/{dataset}/ to prepare it"
        )
    key = f"{dataset}/{sample.name}"
    s3.put_object(Bucket=raw_bucket, Key=key, Body=sample.read_bytes(), ContentType="text/csv")
    modified = s3.head_object(Bucket=raw_bucket, Key=key)["LastModified"]
    row.detail = f"{sample.relative_to(ROOT)} → s3://{raw_bucket}/{key}"
    return {"key": key, "modified": modified}


def dataset_watch(
    context, dataset: str, arn: str, upload: dict | None, running: str | None
) -> ExecutionWatch:
    """The preparation the upload started (matched by its input's key), or the one already ``running``."""
    sfn = context.client("stepfunctions")
    watch = ExecutionWatch(f"dataset {dataset}", PREPARATION, stepfunctions=sfn, machine_arn=arn)
    if running:
        watch.execution_arn, watch.note = running, "; followed the run already going (nothing uploaded)"
    else:
        watch.started_after, watch.trigger = upload["modified"], UPLOAD_RULE
        watch.input_matches = lambda given: given.get("upload") == upload["key"]
        watch.trigger_wait = context.trigger_wait
    return watch


def running_execution(stepfunctions, arn: str) -> str | None:
    running = stepfunctions.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=10)
    newest = max(running["executions"], key=lambda e: e["startDate"], default=None)
    return newest and newest["executionArn"]


def model_watch(context, label: str, model, dataset: ExecutionWatch | None) -> ExecutionWatch:
    """A model's pipeline run: triggered by its dataset, started after it (manual), or started now (hub)."""
    watch = ExecutionWatch(label, PIPELINE_RUN, stepfunctions=context.client("stepfunctions"))
    stack = names.model_stack_name(context.environment, label)
    watch.machine_arn = machine_arn(context.client("cloudformation"), stack)
    if not source_of(model).trains_on_dataset:
        watch.start_input = {}  # a hub pipeline reads nothing from its input
        return watch
    watch.after = dataset
    if model.trigger == "manual":
        watch.start_input = {"prepare": False}
    else:
        watch.started_after, watch.trigger = (lambda: dataset.started), DATASET_EVENT
        watch.trigger_wait = context.trigger_wait
    return watch
