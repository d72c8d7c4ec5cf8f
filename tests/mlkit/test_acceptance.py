"""`make acceptance` against the emulator: the very code that runs on an account, so it cannot rot.

One environment in moto's server (tests/mlkit/acceptance_stage.py says what stands in for what), and
the checklist run four times on it, in order: without a terminal and without --yes (refused), declined
at the prompt, confirmed (every row passes), and after breaking one thing per check (each row fails).
The API call goes to the real router handler in-process through the checklist's injectable transport.
"""

import io
import json
import re
import time
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime

import boto3
import pytest

from mlkit import prices
from mlkit.acceptance import checklist, cli, pipelines
from mlkit.acceptance.api import Api
from mlkit.acceptance.executions import ExecutionWatch
from mlkit.cost import Estimate
from mlkit.report import FAILED, OK, SKIPPED, Report, Row, StepFailed
from mlkit.route_proof import converse_stub
from stacks.config import MlKitConfig
from tests.mlkit import acceptance_stage as stage
from tests.mlkit.acceptance_stage import DATASET_MACHINE, ENV, MODELS, PIPELINES, REGION, endpoint, machine
from tests.mlkit.emulated import ACCOUNT, bucket_names, load_router, threaded_emulator

# One worker builds the emulated environment, and runs the checklist four times on it, for every test here.
pytestmark = [
    pytest.mark.xdist_group("acceptance"),
    # The stand-in stage creates what moto's CloudFormation skips (alarms, budgets) through their APIs.
    pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning"),
]
INVOKE, PIPELINE = "invoke through the API", "pipeline run"
# A check that breaks fails within seconds here, not after the command's 10 and 180 minutes.
FAIL_FAST = ("--trigger-minutes", "0.1", "--timeout-minutes", "0.5")
ROWS = [
    ("api", "GET /models lists the config's models"),
    ("dataset churn", "upload sample data"),
    ("dataset churn", "preparation run"),
    *[(label, step) for label in MODELS
      for step in ((PIPELINE,) if label in PIPELINES else ()) + (INVOKE,)
      + (("async answer written",) if label == "summarizer" else ())],
    ("operations", "alarms"),
    ("operations", "alerts topic"),
    ("operations", "dashboards"),
    ("operations", "budget"),
]  # fmt: skip


class Outcome:
    """One run: its exit code, what it printed, and its report."""

    def __init__(self, code: int, stdout: str, stderr: str, report: Report):
        self.code, self.stdout, self.stderr, self.report = code, stdout, stderr, report

    def row(self, scope: str, step: str) -> tuple[str, str]:
        found = [(r.status, r.detail) for r in self.report.rows if (r.scope, r.step) == (scope, step)]
        assert len(found) == 1, f"{len(found)} rows {scope}: {step} in\n{self.stdout}"
        return found[0]

    def statuses(self) -> dict[tuple[str, str], str]:
        return {(r.scope, r.step): r.status for r in self.report.rows}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    directory = tmp_path_factory.mktemp("acceptance")
    config = directory / f"{ENV}.yaml"
    config.write_text(json.dumps(stage.CONFIG))
    with stage.execution_mode(), threaded_emulator(directory) as emulator, ExitStack() as exits:
        stage.deploy(emulator)
        router = load_router(emulator, MlKitConfig.model_validate(stage.CONFIG), directory)
        from shared import aws  # the router's package, on sys.path once it is loaded

        router.activate()  # the router's own clients, which its calls then use
        endpoints = stage.Endpoints()
        aws.client("sagemaker-runtime").meta.events.register(
            "before-send.sagemaker-runtime.InvokeEndpoint", endpoints
        )
        exits.enter_context(converse_stub(router, "Deployed, and answering."))
        session = boto3.Session(region_name=REGION)
        rules = stage.Rules(session)
        stage.budget_subscribers(session)
        transport = stage.RouterTransport(router)
        yield {"emulator": emulator, "session": session, "config": config, "endpoints": endpoints,
               "transport": transport, "router": router}  # fmt: skip
        stage.stop_running(emulator)
    rules.join()


def acceptance(emulated, *flags: str, stdin=None) -> Outcome:
    out, err, report = io.StringIO(), io.StringIO(), Report()
    argv = ["--env", ENV, "--config", str(emulated["config"]), "--poll-seconds", "0.05", *FAIL_FAST, *flags]
    code = cli.main(argv, session=emulated["session"], transport=emulated["transport"],
                    stdin=stdin or io.StringIO(), stdout=out, stderr=err, report=report)  # fmt: skip
    return Outcome(code, out.getvalue(), err.getvalue(), report)


def started_nothing(emulated) -> bool:
    sfn, s3 = emulated["emulator"].clients("stepfunctions"), emulated["emulator"].clients("s3")
    runs = [
        sfn.list_executions(stateMachineArn=machine(name))["executions"]
        for name in (DATASET_MACHINE, *PIPELINES)
    ]
    return not any(runs) and "Contents" not in s3.list_objects_v2(Bucket=bucket_names(ENV)["raw"])


def break_one_thing_per_check(emulated) -> None:
    """A model error, a wrong type, a wrong shape, a failed and an endless pipeline, an async failure,
    a deleted alarm."""
    answers, emulator = emulated["endpoints"].answers, emulated["emulator"]
    answers[endpoint("sentiment")] = lambda body: (424, b"the model raised ValueError", "application/json")
    answers[endpoint("vision")] = lambda body: (200, b"tabby", "text/plain")
    answers[endpoint("churn")] = lambda body: (200, b"0.1\n0.2\n0.3\n", "text/csv")
    sfn = emulator.clients("stepfunctions")
    failing = stage.definition(
        "Package model", "Fail", Error="PackagingFailed", Cause="no resnet18x in the hub"
    )
    sfn.update_state_machine(stateMachineArn=machine("resnet"), definition=failing)
    endless = stage.definition("AutoML job", "Wait", Seconds=3600)
    sfn.update_state_machine(stateMachineArn=machine("churn-automl"), definition=endless)
    failure = json.dumps({"results": [{"is_failure": True, "data": "CUDA out of memory"}]}).encode()
    url = f"{emulator.endpoint}/moto-api/static/sagemaker/async-endpoint-results"
    urllib.request.urlopen(urllib.request.Request(url, data=failure, method="POST"), timeout=5).close()
    emulator.clients("cloudwatch").delete_alarms(AlarmNames=[f"{endpoint('sentiment')}-5xx"])


@pytest.fixture(scope="module")
def runs(emulated):
    outcomes = {"refused": acceptance(emulated)}
    outcomes["refused started nothing"] = started_nothing(emulated)
    outcomes["declined"] = acceptance(emulated, stdin=Terminal("n\n"))
    outcomes["declined started nothing"] = started_nothing(emulated)
    outcomes["passed"] = acceptance(emulated, "--yes")
    outcomes["received"] = dict(emulated["endpoints"].received)
    break_one_thing_per_check(emulated)
    outcomes["broken"] = acceptance(emulated, "--yes", "--timeout-minutes", str(2 / 60))
    return outcomes


def test_without_a_terminal_or_yes_it_refuses_paid_work_and_says_how_to_confirm(runs):
    refused = runs["refused"]
    assert refused.code == cli.EXIT_NOT_CONFIRMED and refused.stdout == ""
    assert (
        "no pipeline run was started: confirm with `make acceptance ENV=acc YES=1` (--yes)" in refused.stderr
    )
    assert runs["refused started nothing"]


def test_it_prints_each_runs_bound_from_the_cost_estimate_first(runs):
    snapshot = prices.load_snapshot()

    def price(section: str, key: str) -> float:
        return prices.lookup(snapshot, REGION, section, key)

    glue = 2 * 1 * price("glue", "flex_dpu_hour")  # 2 G.1X workers for the job's 60-minute timeout
    churn = MODELS["churn"]
    training = churn.max_runtime / 3600 * price("sagemaker_training", churn.instance_type)
    packaging = (
        MODELS["resnet"].packaging.max_runtime
        / 3600
        * price("sagemaker_processing", MODELS["resnet"].packaging.instance_type)
    )
    bound = runs["refused"].stderr
    assert "acc: 4 pipeline runs to start, upper bounds in USD" in bound
    assert (
        f"dataset churn: upload sample-data/churn.csv, its preparation: at most {glue:,.2f} per run\n"
        in bound
    )
    assert f"churn: training pipeline: at most {training:,.2f} per run;" in bound
    assert f"resnet: pytorch_hub pipeline: at most {packaging:,.2f} per run;" in bound
    assert "churn-automl: autopilot pipeline: at most 0.00 per run, plus what is unpriced" in bound
    assert "unpriced: model churn-automl (autopilot): Autopilot picks its training instances" in bound


def test_declined_at_the_prompt_it_starts_nothing_and_still_calls_the_models(runs):
    declined = runs["declined"]
    assert "Start these pipeline runs? [y/N]" in declined.stderr and runs["declined started nothing"]
    assert declined.row("churn", PIPELINE) == (SKIPPED, "not confirmed at the prompt")
    assert declined.row("sentiment", INVOKE)[0] == OK
    assert ("dataset churn", "upload sample data") not in declined.statuses()


def test_confirmed_every_row_passes_and_it_exits_zero(runs):
    passed = runs["passed"]
    assert passed.code == cli.EXIT_OK, passed.stdout + passed.stderr
    assert passed.statuses() == dict.fromkeys(ROWS, OK)
    assert list(passed.statuses()) == ROWS  # grouped: the API, the dataset, each model, the operations
    assert passed.stdout.splitlines()[-1].endswith(", 0 failed")


def test_each_answer_is_checked_for_status_type_and_shape(runs):
    passed = runs["passed"]
    assert (
        '(application/json) → 200 application/json: [{"label": "POSITIVE"'
        in passed.row("sentiment", INVOKE)[1]
    )
    assert "5 curated rows (text/csv) → 200 text/csv: 5 lines for 5 rows" in passed.row("churn", INVOKE)[1]
    assert 'PNG (image/png) → 200 application/json: {"predictions"' in passed.row("resnet", INVOKE)[1]
    assert "→ 202 application/json: inference " in passed.row("summarizer", INVOKE)[1]
    assert '23 bytes, b\'{"default": "response"}\'' in passed.row("summarizer", "async answer written")[1]
    assert (
        "a prompt (application/json) → 200 application/json: 24 characters of text"
        in passed.row("chat", INVOKE)[1]
    )


def test_the_models_get_real_samples_features_only(runs):
    received = runs["received"]
    rows = received[endpoint("churn")]["body"].decode().splitlines()
    assert len(rows) == 5 and all(len(row.split(",")) == 5 for row in rows)  # label dropped
    automl = [row.split(",") for row in received[endpoint("churn-automl")]["body"].decode().splitlines()]
    assert len(automl) == 5 and all(
        len(row) == 3 and row[1] == "basic" for row in automl
    )  # header, target dropped
    assert received[endpoint("vision")]["body"][:8] == b"\x89PNG\r\n\x1a\n"
    assert (received[endpoint("vision")]["content-type"], received[endpoint("churn")]["accept"]) == (
        "image/png",
        "text/csv",
    )


def test_every_call_is_signed_for_execute_api_in_the_urls_region(emulated, runs):
    signatures = emulated["transport"].signatures
    assert len(signatures) > 20
    assert all(s.startswith("AWS4-HMAC-SHA256 Credential=testing/") for s in signatures)
    assert all("/us-east-1/execute-api/aws4_request" in s for s in signatures)


def test_it_follows_each_run_the_upload_and_the_rules_start_and_starts_the_others(emulated, runs):
    passed, broken = runs["passed"], runs["broken"]
    assert passed.row("dataset churn", "preparation run")[1].endswith(
        "started by the dataset stack's OnUpload rule"
    )
    assert passed.row("churn", PIPELINE)[1].endswith("started by the dataset's Dataset Prepared rule")
    assert passed.row("churn-automl", PIPELINE)[1].endswith('started with {"prepare": false}')
    assert passed.row("resnet", PIPELINE)[1].endswith("started with {}")
    assert "] dataset churn: preparation run: SUCCEEDED" in passed.stderr
    assert "] churn-automl: pipeline run: RUNNING at 'AutoML job'" in broken.stderr
    assert "] churn-automl: pipeline run: timed out: still RUNNING at 'AutoML job'" in broken.stderr


def test_it_reads_back_the_alarms_topic_dashboard_and_budget(runs):
    passed = runs["passed"]
    alarms = "13 alarms declared, all present, each notifying the alerts topic (13 OK)"
    assert passed.row("operations", "alarms")[1] == alarms
    assert (
        passed.row("operations", "alerts topic")[1]
        == "mlkit-acc-alerts: 1 subscriptions, 1 configured emails confirmed"
    )
    assert passed.row("operations", "dashboards")[1] == "mlkit-acc: a row for each of 7 models"
    assert passed.row("operations", "budget")[1].startswith(
        "mlkit-acc: 150 USD a month, alerts at 80%, 100% to the topic"
    )


BROKEN = {
    (
        "sentiment",
        INVOKE,
    ): "answered error 502 model_error: Model sentiment failed: the model raised ValueError",
    ("vision", INVOKE): "answered text/plain, not application/json",
    ("summarizer", "async answer written"): "the endpoint wrote a failure to s3://",
    ("churn", INVOKE): "answered 3 CSV lines for 5 rows",
    ("churn-automl", PIPELINE): "still RUNNING at 'AutoML job' after 2 s; it goes on in AWS",
    ("resnet", PIPELINE): "FAILED at 'Package model' in 0m00s: PackagingFailed: no resnet18x in the hub",
    ("operations", "alarms"): f"1 declared alarms missing: {endpoint('sentiment')}-5xx",
}


@pytest.mark.parametrize(("row", "reason"), BROKEN.items(), ids=[f"{s}-{t}" for s, t in BROKEN])
def test_each_fault_fails_its_row_with_the_reason(runs, row, reason):
    status, detail = runs["broken"].row(*row)
    assert status == FAILED and reason in detail, detail


def test_a_broken_deployment_exits_non_zero_naming_every_failure(runs):
    broken = runs["broken"]
    assert broken.code == cli.EXIT_FAILED
    named = "; ".join(f"{scope}: {step}" for scope, step in ROWS if (scope, step) in BROKEN)
    assert broken.stderr.splitlines()[-1] == f"mlkit acceptance: 7 failed: {named}"
    assert broken.row("resnet", INVOKE) == (SKIPPED, "needs resnet: pipeline run, which failed")
    skipped = {("resnet", INVOKE): SKIPPED, ("churn-automl", INVOKE): SKIPPED}
    assert broken.statuses() == {**dict.fromkeys(ROWS, OK), **dict.fromkeys(BROKEN, FAILED), **skipped}


def test_a_run_no_trigger_starts_fails_naming_the_trigger(emulated):
    watch = ExecutionWatch(
        "dataset churn",
        "preparation run",
        stepfunctions=emulated["emulator"].clients("stepfunctions"),
        machine_arn=machine(DATASET_MACHINE),
        started_after=datetime(2999, 1, 1, tzinfo=UTC),
        trigger="the dataset stack's OnUpload rule",
        trigger_wait=0,
    )
    assert watch.poll().outcome is None  # the first poll starts the trigger's clock
    time.sleep(0.01)
    assert watch.poll().detail == (
        f"no execution of {DATASET_MACHINE} started within 0 s: "
        "is the dataset stack's OnUpload rule in place and enabled?"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda models: models.pop("chat"), "GET /models lists ['churn', "),
        (
            lambda models: models.update(sentiment=models["sentiment"]._replace(hosting="realtime")),
            "sentiment is served as {'hosting': 'realtime', ",
        ),
    ],
    ids=["a model missing", "another hosting"],
)
def test_an_api_that_does_not_serve_the_config_fails_the_listing(emulated, monkeypatch, change, message):
    router = emulated["router"]
    models = dict(router.SETTINGS.models)
    change(models)
    monkeypatch.setattr(router.module, "SETTINGS", router.SETTINGS._replace(models=models))
    session = emulated["session"]
    api = Api(stage.API_URL.rstrip("/"), REGION, session, emulated["transport"])
    context = checklist.Context(MlKitConfig.model_validate(stage.CONFIG), session, api, ACCOUNT, {})
    with pytest.raises(StepFailed, match=re.escape(message)):
        checklist.check_listing(Row("api", "listing", OK, 0.0), context)


def test_a_runs_unpriced_entries_are_its_own_not_a_longer_named_models():
    stack = f"mlkit-{ENV}-churn"
    estimate = Estimate(ENV, REGION, "today")
    estimate.unpriced = [
        f"unpriced: Machine (AWS::StepFunctions::StateMachine) in {stack}-automl",
        f"unpriced: Job (AWS::Glue::Job) in {stack}: no glue price for dpu_hour in {REGION}",
        "unpriced: model churn-automl (autopilot): Autopilot picks its training instances",
    ]
    config = MlKitConfig.model_validate(stage.CONFIG)
    assert pipelines.unpriced(estimate, config, "churn") == [estimate.unpriced[1]]
    assert pipelines.unpriced(estimate, config, "churn-automl") == [
        estimate.unpriced[0],
        estimate.unpriced[2],
    ]
