"""`make local`'s path in CI: deploy into the emulator, check, report, and leave nothing running.

One deploy for the module, of config/showcase.yaml: one model of every source and hosting type,
each checked in its own way. The checks themselves are proven able to fail, fast and in-process,
by tests/mlkit/test_route_proof.py and tests/sources/training/test_local.py. The run keeps its emulator up (a
state file of the module's own) so that IAM's enforcement can be mutated on what it deployed: one
grant taken from a deployed role must fail exactly the call that needs it. The last test stops it.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mlkit.emulator import Emulator, free_port
from mlkit.report import FAILED, NOT_EMULATED, OK, SKIPPED, NotEmulated, Report
from sources.training.local_champion import CHALLENGER_STEP
from stacks import names
from tests.mlkit.access_mutations import kept_run, without_grant

# The emulator deploy is a module fixture: one xdist worker runs the module, so it runs once.
pytestmark = pytest.mark.xdist_group("local-run")

ROOT = Path(__file__).resolve().parents[2]
ENV = "showcase"
ROUTE = "router calls this endpoint with these bytes"
QUEUE = "router queues these bytes for this endpoint"
CONFIG_CHECK = "endpoint config matches hosting"
SCALING_CHECK = "autoscaling matches hosting"
# An XGBoost model's retrain that must lose to it (sources/training/local_champion.py).
CHAMPION_ROWS = {CHALLENGER_STEP: OK, "champion still serving": OK}
# Each model of config/showcase.yaml and the rows its source and hosting type get.
EXPECTED_ROWS = {
    "sentiment": {CONFIG_CHECK: OK, ROUTE: OK, "model output": NOT_EMULATED},
    "ner": {CONFIG_CHECK: OK, ROUTE: OK, "model output": NOT_EMULATED},
    "summarizer": {CONFIG_CHECK: OK, QUEUE: OK, "model output": NOT_EMULATED},
    "resnet": {
        "package (packaging job code, local)": OK,
        "deploy Lambda": OK,
        CONFIG_CHECK: OK,
        SCALING_CHECK: OK,
        "served with network isolation": OK,
        "router sends an image to this endpoint": OK,
        "packaging job on AWS": NOT_EMULATED,
    },
    "flowers": {
        "package (packaging job code, local)": OK,
        "deploy Lambda": OK,
        CONFIG_CHECK: OK,
        SCALING_CHECK: OK,
        "served with network isolation": OK,
        "router queues an image for this endpoint": OK,
        "packaging job on AWS": NOT_EMULATED,
    },
    "mobilenet": {CONFIG_CHECK: OK, ROUTE: OK, "model output": NOT_EMULATED},
    "chat": {"router calls Converse on this model": OK, "Converse answer, guardrail screening": NOT_EMULATED},
    "chat-plain": {
        "router calls Converse on this model": OK,
        "Converse answer, guardrail screening": NOT_EMULATED,
    },
    "churn": {
        "train (local XGBoost)": OK,
        "evaluation gate": OK,
        "deploy Lambda": OK,
        CONFIG_CHECK: OK,
        SCALING_CHECK: OK,
        "router sends these rows to this endpoint": OK,
        **CHAMPION_ROWS,
    },
    "churn-batch": {
        "train (local XGBoost)": OK,
        "evaluation gate": OK,
        "deploy Lambda": OK,
        CONFIG_CHECK: OK,
        SCALING_CHECK: OK,
        "router queues these rows for this endpoint": OK,
        **CHAMPION_ROWS,
    },
    "churn-sklearn": {
        "tune (local search)": OK,
        "evaluation gate": OK,
        "deploy Lambda": OK,
        CONFIG_CHECK: OK,
        SCALING_CHECK: OK,
        "router sends these rows to this endpoint": OK,
        "tuning job": NOT_EMULATED,
    },
    "churn-automl": {
        "curated CSV with header": OK,
        "state machine deployed": OK,
        "router sends these rows to this endpoint name": OK,
        "AutoML V2 job": NOT_EMULATED,
    },
}


def environment() -> dict[str, str]:
    environment = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    environment.pop("AWS_ENDPOINT_URL", None)
    return environment


@pytest.fixture(scope="module")
def emulator_state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("emulator") / "emulator.json"


@pytest.fixture(scope="module")
def local_run(emulator_state):
    kept = {**environment(), "MLKIT_EMULATOR_STATE": str(emulator_state)}
    arguments = [sys.executable, "-m", "mlkit.local_run"]
    yield subprocess.run(
        [*arguments, "--env", ENV, "--keep"], cwd=ROOT, env=kept, capture_output=True, text=True, timeout=600
    )
    subprocess.run([*arguments, "--down"], cwd=ROOT, env=kept, capture_output=True, timeout=60)


def rows(output: str) -> dict[tuple[str, str], str]:
    """(model, step) -> status, from the report's table."""
    pattern = re.compile(r"^(\S+(?: \S+)?)\s{2,}(.+?)\s{2,}(ok|not emulated|failed|skipped)\s{2,}", re.M)
    return {(match[1], match[2]): match[3] for match in pattern.finditer(output)}


def row(output: str, scope: str, step: str) -> str:
    found = rows(output)
    assert (scope, step) in found, f"no row {scope}/{step} in:\n{output}"
    return found[(scope, step)]


def test_local_run_deploys_the_data_stack_and_exits_zero(local_run):
    assert local_run.returncode == 0, local_run.stdout[-6000:] + local_run.stderr[-3000:]
    for step in ("start emulator", "cdk synth", "cdk bootstrap", "cdk deploy"):
        assert row(local_run.stdout, "kit", step) == OK
    assert row(local_run.stdout, "data", "resources exist") == OK
    assert f"{names.data_stack_name(ENV)}: 15 resources" in local_run.stdout  # with the alerts topic
    assert row(local_run.stdout, "data", "versioning, access block, logging, Glue") == NOT_EMULATED
    assert row(local_run.stdout, "operations", "dashboard, topic, failure rules") == OK
    assert row(local_run.stdout, "operations", "log groups, router concurrency") == OK
    for model in ("ner", "summarizer"):  # CloudFormation's endpoint and an async one
        assert row(local_run.stdout, "operations", f"{model} data capture") == OK
    for step in ("alarms", "budget", "capture tables (Athena)"):
        assert row(local_run.stdout, "operations", step) == NOT_EMULATED
    assert re.search(r"^estimated idle cost of showcase on AWS: \$[\d,]+\.\d\d/month", local_run.stdout, re.M)
    assert re.search(r"^total \d+\.\ds, 0 failed$", local_run.stdout, re.M)


def test_every_model_of_every_source_and_hosting_type_has_its_own_rows(local_run):
    assert row(local_run.stdout, "api", "router loads the deployed registry") == OK
    assert f"GET /models lists {len(EXPECTED_ROWS)} models" in local_run.stdout
    found = rows(local_run.stdout)
    for model, steps in EXPECTED_ROWS.items():
        got = {step: status for (scope, step), status in found.items() if scope == model}
        assert got == steps, model
    # config/delivery.yaml does not deliver showcase: one row says so (tests/mlkit/test_delivery_checks.py
    # runs the delivery checks in-process). Not a test of its own: a test of this module that xdist sends
    # to the other worker makes that worker run the whole local deploy again.
    assert found[("delivery", "GitHub OIDC stack")] == SKIPPED
    assert "config/delivery.yaml does not deliver 'showcase'" in local_run.stdout


def test_the_custom_models_train_on_the_shared_dataset_and_beat_the_baseline(local_run):
    for step in ("upload sample data", "Glue transform (local Spark)"):
        assert row(local_run.stdout, "dataset churn", step) == OK
    scores = re.findall(r"validation:auc (\d\.\d+) \(baseline (\d\.\d+)\)", local_run.stdout)
    assert len(scores) == 3  # two XGBoost models and the tuned scikit-learn one
    assert all(float(metric) > float(baseline) + 0.1 for metric, baseline in scores)


def test_the_main_job_prints_only_its_progress_and_report(local_run):
    noise = [
        line for line in local_run.stderr.splitlines() if line.strip() and not line.startswith(("… ", "    "))
    ]
    assert noise == [], "\n".join(noise)


def test_ctrl_c_stops_the_emulator(tmp_path):
    # Its own process group, as a terminal's foreground job: Ctrl-C reaches the whole group. SIGINT at
    # its default, as in a terminal: a test run started in the background inherits it ignored.
    process = subprocess.Popen(
        [sys.executable, "-m", "mlkit.local_run", "--env", "dev"], cwd=ROOT, env=environment(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "kit: cdk synth" in line:
            break
    os.killpg(process.pid, signal.SIGINT)
    output = "".join(lines) + process.communicate(timeout=60)[0]
    assert process.returncode == 130, output
    assert "interrupted: the emulator was stopped" in output
    port = int(re.search(r"emulator on http://localhost:(\d+)", output).group(1))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the emulator is still listening"


def test_every_role_the_run_assumed_made_calls_and_none_was_denied(local_run):
    """Widen nothing: with IAM decided on every component's call, every step passes."""
    iam_rows = {step: status for (scope, step), status in rows(local_run.stdout).items() if scope == "iam"}
    for component in ("router", "churn deploy Lambda", "churn training job", "dataset churn job"):
        assert iam_rows[f"{component} calls"] == OK, component
    for pipeline in ("churn", "churn-automl", "resnet", "dataset churn"):
        assert iam_rows[f"{pipeline} pipeline tasks"] == OK, pipeline
    assert iam_rows["what the emulator does not decide"] == NOT_EMULATED
    counts = re.findall(r"(\d+) calls?, (\d+) denied", local_run.stdout)
    assert len(counts) >= 10 and all(int(calls) > 0 and denied == "0" for calls, denied in counts), counts


def test_local_run_leaves_no_cloud_assembly_behind(local_run):
    port = re.search(r"started http://localhost:(\d+)", local_run.stdout).group(1)
    assert not list((ROOT / ".cache").glob(f"cdk.out-{port}-*"))


def test_an_emulator_that_never_started_leaves_a_cost_line_and_nothing_to_remove():
    from mlkit.local_run import idle_cost_line, remove_assemblies
    from stacks.config import load_config

    emulator = Emulator(region="us-east-1")  # start() failed: no endpoint, no port

    remove_assemblies(emulator)
    assert idle_cost_line(load_config(ROOT / "config" / "dev.yaml"), emulator) == (
        "estimated idle cost: no assembly (the emulator did not start)"
    )


def test_a_port_in_use_picks_another():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert free_port(busy) != busy
    assert free_port(busy) == busy


def test_report_rows_and_failures_are_recorded():
    report = Report()
    with report.step("m", "ok step"):
        pass
    with report.step("m", "offline"):
        raise NotEmulated("moto has no Converse")
    with pytest.raises(RuntimeError), report.step("m", "broken"):
        raise RuntimeError("boom")
    assert [(r.step, r.status, r.detail) for r in report.rows] == [
        ("ok step", OK, ""),
        ("offline", NOT_EMULATED, "moto has no Converse"),
        ("broken", FAILED, "boom"),
    ]
    plain, coloured = report.render(colour=False), report.render(colour=True)
    assert [row.status for row in rows_after_attempts()] == [FAILED, SKIPPED, OK]
    assert "\033[" not in plain and "\033[31mfailed\033[0m" in coloured
    assert plain.splitlines()[-1].endswith("1 failed")


def rows_after_attempts():
    """A failed step skips only the steps that need it; the next model's step still runs."""
    report = Report()

    def broken(row):
        raise RuntimeError("boom")

    _, blocked = report.attempt("a", "first", None, broken)
    report.attempt("a", "needs first", blocked, lambda row: None)
    report.attempt("b", "other model", None, lambda row: None)
    assert blocked == "needs 'first', which failed"
    return report.rows


# ---- IAM on what the run deployed: mutations (the emulator the run kept) ------------------------


@pytest.fixture(scope="module")
def kept(local_run, emulator_state, tmp_path_factory):
    from stacks.config import load_config

    assert local_run.returncode == 0, local_run.stdout[-3000:]
    endpoint = json.loads(emulator_state.read_text())["endpoint"]
    config = load_config(ROOT / "config" / f"{ENV}.yaml")
    with kept_run(endpoint, config, tmp_path_factory.mktemp("kept")) as run:
        yield run


def test_a_model_whose_invoke_grant_is_dropped_fails_its_route_with_an_access_denial(kept):
    from mlkit.route_checks import check_pretrained_endpoint

    sentiment = (
        f"arn:aws:sagemaker:{kept.config.region}:123456789012:endpoint/{kept.endpoint_name('sentiment')}"
    )
    router_role = next(p.role_arn for p in kept.access.principals.values() if p.label == "router")
    report = Report()
    with without_grant(kept, router_role, "sagemaker:InvokeEndpoint", sentiment):
        for label in ("sentiment", "ner"):
            check_pretrained_endpoint(report, kept, label, kept.config.models[label], "not emulated")
    found = {(r.scope, r.step): r for r in report.rows}
    denied = found[("sentiment", "router calls this endpoint with these bytes")]
    assert denied.status == FAILED
    assert "AccessDeniedException" in denied.detail
    assert f"not authorized to perform: sagemaker:InvokeEndpoint on resource: {sentiment}" in denied.detail
    # Every other grant is intact: the next model's route still passes.
    assert found[("ner", "router calls this endpoint with these bytes")].status == OK
    assert [d.resource for d in kept.access.ledgers["router"].denials] == [sentiment]


def test_a_deploy_lambda_without_create_endpoint_config_fails_its_deploy_and_passes_once_it_is_back(kept):
    from mlkit.deployed_roles import function_role
    from mlkit.local_endpoint import pipeline_definition, state_names
    from sources.training.local import deploy

    definition = pipeline_definition(kept.clients, names.model_stack_name(ENV, "churn"))
    role = function_role(kept.clients, definition["States"][state_names()[1]]["Resource"])
    # A new artifact, so the deploy creates a model and an endpoint config rather than finding them; and
    # no endpoint, so it creates one (moto has no UpdateEndpoint).
    artifact = {
        "model_data_url": f"s3://{kept.bucket('artifacts')}/models/churn/mutation/output/model.tar.gz"
    }
    kept.clients("sagemaker").delete_endpoint(EndpointName=kept.endpoint_name("churn"))
    report = Report()
    with without_grant(kept, role, "sagemaker:CreateEndpointConfig"):
        report.attempt(
            "churn", "deploy without the grant", None, lambda row: deploy(row, kept, "churn", dict(artifact))
        )
    report.attempt("churn", "deploy with it", None, lambda row: deploy(row, kept, "churn", dict(artifact)))
    without_it, with_it = report.rows
    assert without_it.status == FAILED
    assert "not authorized to perform: sagemaker:CreateEndpointConfig on resource: " in without_it.detail
    assert with_it.status == OK and with_it.detail.startswith("created: mlkit-showcase-churn InService")


def test_local_run_stops_the_emulator_it_started_unless_kept(local_run, emulator_state):
    """Last: --keep left it up for the mutation tests (tests/mlkit/access_mutations.py); --down stops it."""
    port = int(re.search(r"started http://localhost:(\d+)", local_run.stdout).group(1))
    assert json.loads(emulator_state.read_text())["endpoint"] == f"http://localhost:{port}"
    down = {**environment(), "MLKIT_EMULATOR_STATE": str(emulator_state)}
    stopped = subprocess.run(
        [sys.executable, "-m", "mlkit.local_run", "--down"],
        cwd=ROOT,
        env=down,
        capture_output=True,
        text=True,
    )
    assert stopped.stdout.strip() == f"stopped the emulator on http://localhost:{port}"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the emulator is still listening"
