"""`make local`'s path in CI: deploy into the emulator, check, report, and leave nothing running."""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mlkit.emulator import free_port
from mlkit.report import FAILED, NOT_EMULATED, OK, NotEmulated, Report

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_run():
    environment = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    environment.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "mlkit.local_run", "--env", "dev"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def row(output: str, scope: str, step: str) -> str:
    match = re.search(
        rf"^{re.escape(scope)}\s+{re.escape(step)}\s+(ok|not emulated|failed|skipped)\b", output, re.M
    )
    assert match, f"no row {scope}/{step} in:\n{output}"
    return match.group(1)


def test_local_run_deploys_the_data_stack_and_exits_zero(local_run):
    assert local_run.returncode == 0, local_run.stderr[-3000:]
    for step in ("start emulator", "cdk bootstrap", "cdk deploy"):
        assert row(local_run.stdout, "kit", step) == OK
    assert row(local_run.stdout, "data", "resources exist") == OK
    assert "mlkit-dev-data: 12 resources" in local_run.stdout
    assert row(local_run.stdout, "data", "versioning, policies, logging, Glue") == NOT_EMULATED
    assert re.search(r"^total \d+\.\ds, 0 failed$", local_run.stdout, re.M)


def test_local_run_calls_every_model_through_the_deployed_router(local_run):
    assert row(local_run.stdout, "api", "router loads the deployed registry") == OK
    assert "GET /models lists 4 models" in local_run.stdout
    assert row(local_run.stdout, "sentiment", "endpoint InService") == OK
    assert row(local_run.stdout, "sentiment", "route answers") == OK
    assert row(local_run.stdout, "sentiment", "model output") == NOT_EMULATED
    assert row(local_run.stdout, "chat", "route registered") == OK
    # Never "passed" for what moto cannot run.
    assert row(local_run.stdout, "chat", "Converse, guardrail") == NOT_EMULATED


def test_local_run_trains_deploys_and_serves_the_custom_model(local_run):
    for step in ("upload sample data", "Glue transform (local Spark)"):
        assert row(local_run.stdout, "dataset churn", step) == OK
    for step in (
        "train (local XGBoost)",
        "evaluation gate",
        "deploy Lambda",
        "route answers real predictions",
    ):
        assert row(local_run.stdout, "churn", step) == OK
    metric, baseline = re.search(
        r"validation:auc (\d\.\d+) \(baseline (\d\.\d+)\)", local_run.stdout
    ).groups()
    assert float(metric) > float(baseline) + 0.1
    assert row(local_run.stdout, "churn-automl", "AutoML V2 job") == NOT_EMULATED


def test_ctrl_c_stops_the_emulator(tmp_path):
    environment = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    environment.pop("AWS_ENDPOINT_URL", None)
    # Its own process group, as a terminal's foreground job: Ctrl-C reaches the whole group.
    process = subprocess.Popen(
        [sys.executable, "-m", "mlkit.local_run", "--env", "dev"], cwd=ROOT, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "kit: cdk bootstrap" in line:
            break
    os.killpg(process.pid, signal.SIGINT)
    output = "".join(lines) + process.communicate(timeout=60)[0]
    assert process.returncode == 130, output
    assert "interrupted: the emulator was stopped" in output
    port = int(re.search(r"emulator on http://localhost:(\d+)", output).group(1))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the emulator is still listening"


def test_local_run_stops_the_emulator_it_started(local_run):
    port = int(re.search(r"started http://localhost:(\d+)", local_run.stdout).group(1))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the emulator is still listening"


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
    assert "\033[" not in plain and "\033[31mfailed\033[0m" in coloured
    assert plain.splitlines()[-1].endswith("1 failed")
