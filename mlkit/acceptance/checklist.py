"""The checklist's rows, in the order they run: the API's listing, every model called, each pipeline run
once, the models those pipelines deploy called, the async answers awaited, the operations read back.
"""

import json
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from mlkit.acceptance import operations, pipelines, samples
from mlkit.acceptance.api import Api
from mlkit.acceptance.pipelines import Plan
from mlkit.acceptance.waiting import Progress, Waiter, Watch, record
from mlkit.checks import stack_outputs
from mlkit.client import error_line, parsed_json
from mlkit.report import FAILED, OK, SKIPPED, Report, StepFailed, StepSkipped
from sources import source_of
from stacks import names

INVOKE = "invoke through the API"
RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})


@dataclass
class Context:
    """One environment as deployed: its config, the caller's session, the API, the deployed templates."""

    config: object
    session: boto3.Session
    api: Api
    account: str
    templates: dict[str, dict]
    trigger_wait: float = 600.0
    _clients: dict = field(default_factory=dict)
    _data_outputs: dict = field(default_factory=dict)

    @property
    def environment(self) -> str:
        return self.config.environment

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=RETRIES)
        return self._clients[service]

    def data_output(self, key: str) -> str:
        if not self._data_outputs:
            stack = names.data_stack_name(self.environment)
            self._data_outputs.update(stack_outputs(self.client("cloudformation"), stack))
        return self._data_outputs[key]

    def topic_arn(self) -> str:
        return self.data_output("AlertsTopicArn")

    def bucket(self, kind: str) -> str:
        return self.data_output(f"{kind.title()}BucketName")


def check_listing(row, context: Context) -> None:
    """GET /models lists exactly the config's models, each with the hosting and types the config gives it."""
    answer = context.api.call("GET", "/models", None, {"Accept": samples.JSON})
    listing = parsed_json(answer) if answer.status == 200 else None
    if not isinstance(listing, dict):
        raise StepFailed(f"GET /models answered {error_line(answer)}")
    served = {model.get("name"): model for model in listing.get("models", [])}
    config = context.config
    if sorted(served) != sorted(config.models):
        raise StepFailed(
            f"GET /models lists {sorted(served)}; the config has {sorted(config.models)}: deploy it"
        )
    drift = []
    for label, model in config.models.items():
        source = source_of(model)
        entry = source.registry_entry(
            context.environment, label, model, guardrail_created=source.creates_guardrail(model)
        )
        deployed = {key: served[label].get(key) for key in ("hosting", "content_types", "model_id")}
        wanted = {key: entry.get(key, deployed[key]) for key in deployed}
        if deployed != wanted:
            drift.append(f"{label} is served as {deployed}, the config says {wanted}")
    if drift:
        raise StepFailed("; ".join(drift) + ": deploy the config")
    statuses: dict[str, int] = {}
    for model in served.values():
        if "status" in model:
            statuses[model["status"]] = statuses.get(model["status"], 0) + 1
    endpoints = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    row.detail = (
        f"GET {context.api.url}/models, signed for {context.api.region}: the config's {len(served)} models"
        + (f"; endpoints {endpoints}" if endpoints else "")
    )


@dataclass
class AsyncAnswer(Watch):
    """An async request's answer: its output object, or its failure object, in S3."""

    s3: object = None
    output: str = ""
    failure: str = ""

    def check(self) -> Progress:
        found = self.read(self.failure)
        if found is not None:
            raise StepFailed(f"the endpoint wrote a failure to {self.failure}: {found[:200]!r}")
        found = self.read(self.output)
        if found is None:
            return Progress(f"waiting for {self.output}")
        if not found.strip():
            raise StepFailed(f"{self.output} is empty")
        return Progress("answered", OK, f"{self.output}: {len(found)} bytes, {found[:60]!r}")

    def read(self, uri: str) -> bytes | None:
        if not uri:
            return None
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None


def invoke(report: Report, context: Context, label: str, blocked: str | None) -> AsyncAnswer | None:
    """One row: the model's sample request through the API; for async hosting, the watch of its answer."""
    model = context.config.models[label]

    def call(row):
        def rows_of(trained):
            return samples.curated_rows(context.client("s3"), context.bucket("curated"), trained)

        sample = samples.sample_for(model, rows_of)
        answer = context.api.invoke(label, sample.body, sample.content_type, sample.accept)
        shown = samples.check_answer(model, sample, answer)
        row.detail = f"POST /models/{label}/invoke, {sample.what} ({sample.content_type}) → {shown}"
        return answer

    answer, _ = report.attempt(label, INVOKE, blocked, call)
    if answer is None or answer.status != 202:
        return None
    reply = json.loads(answer.body)
    return AsyncAnswer(
        label,
        "async answer written",
        s3=context.client("s3"),
        output=reply["output_location"],
        failure=reply.get("failure_location", ""),
    )


def failed(scope: str, step: str, error: Exception) -> Watch:
    return Watch(scope, step, progress=Progress("failed", FAILED, str(error)))


def prepare_dataset(report: Report, context: Context, dataset: str, sample) -> Watch | None:
    """Upload the dataset's sample (or follow its running preparation): the watch of its preparation."""
    scope = f"dataset {dataset}"
    try:
        stack = names.dataset_stack_name(context.environment, dataset)
        arn = pipelines.machine_arn(context.client("cloudformation"), stack)
        running = pipelines.running_execution(context.client("stepfunctions"), arn) if sample else None
    except (StepFailed, ClientError) as error:
        return failed(scope, pipelines.PREPARATION, error)
    if running:
        return pipelines.dataset_watch(context, dataset, arn, None, running)
    s3, raw = context.client("s3"), context.bucket("raw")
    upload, _ = report.attempt(
        scope, "upload sample data", None, lambda row: pipelines.upload_sample(row, s3, raw, dataset, sample)
    )
    return upload and pipelines.dataset_watch(context, dataset, arn, upload, None)


def start_pipelines(report: Report, context: Context, plan: Plan) -> dict[str, Watch]:
    """A watch per pipeline run, by scope: the datasets' preparations, then the models' pipelines."""
    watches: dict[str, Watch] = {}
    for dataset, sample in plan.datasets.items():
        watch = prepare_dataset(report, context, dataset, sample)
        if watch:
            watches[watch.scope] = watch
    for label in plan.models:
        model = context.config.models[label]
        dataset = getattr(model, "dataset", None)
        try:
            watches[label] = pipelines.model_watch(context, label, model, watches.get(f"dataset {dataset}"))
        except (StepFailed, ClientError) as error:
            watches[label] = failed(label, pipelines.PIPELINE_RUN, error)
        if dataset and f"dataset {dataset}" not in watches:
            reason = f"needs dataset {dataset} prepared, which was not"
            watches[label].progress = Progress("skipped", SKIPPED, reason)
    return watches


OPERATIONS = (
    ("alarms", operations.check_alarms),
    ("alerts topic", operations.check_topic),
    ("dashboards", operations.check_dashboards),
    ("budget", operations.check_budget),
)


def run(report: Report, context: Context, plan: Plan | None, waiter: Waiter, declined: str = "") -> None:
    """Every row of the checklist into ``report``; ``plan`` None: no pipeline runs (``declined`` says why)."""
    config = context.config
    report.attempt(
        "api", "GET /models lists the config's models", None, lambda row: check_listing(row, context)
    )
    deployed_later = [label for label, model in config.models.items() if source_of(model).has_pipeline]
    answers = [invoke(report, context, label, None) for label in config.models if label not in deployed_later]
    runs = start_pipelines(report, context, plan) if plan else {}
    for label in [] if plan else deployed_later:
        with report.step(label, pipelines.PIPELINE_RUN):
            raise StepSkipped(declined)
    waiter.wait([*runs.values(), *filter(None, answers)])
    for watch in runs.values():
        record(report, watch)
    later = [invoke(report, context, label, blocked_by_run(runs.get(label))) for label in deployed_later]
    waiter.wait(list(filter(None, later)))
    for watch in filter(None, [*answers, *later]):
        record(report, watch)
    for step, check in OPERATIONS:
        report.attempt("operations", step, None, lambda row, check=check: check(row, context))
    order = ["api", *(f"dataset {d}" for d in config.datasets), *config.models, "operations"]
    report.rows.sort(key=lambda row: order.index(row.scope) if row.scope in order else len(order))


def blocked_by_run(watch: Watch | None) -> str | None:
    """A pipeline that failed deployed nothing: its model's call is skipped. One that did not run left
    the endpoint as it was, which is then called."""
    if watch is None or watch.progress.outcome != FAILED:
        return None
    return f"needs {watch.scope}: {watch.step}, which failed"
