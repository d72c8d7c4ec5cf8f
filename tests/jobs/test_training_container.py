"""The example container's `train` and `serve`, run as SageMaker runs them but without Docker (ML_ROOT)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from jobs.training import churn_data, metrics

CONTAINER = Path(__file__).resolve().parents[2] / "jobs" / "training" / "container"
DEFINITIONS = metrics.metric_definitions(["train:auc", "validation:auc", "validation:accuracy"])


def run_train(root: Path, hyperparameters: dict) -> subprocess.CompletedProcess:
    (root / "input" / "config").mkdir(parents=True, exist_ok=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    return subprocess.run(
        [sys.executable, str(CONTAINER / "train")],
        env={**os.environ, "ML_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def ml_root(tmp_path, curated_churn) -> Path:
    """/opt/ml as SageMaker lays it out for a training job: the channels under input/data/."""
    for channel in ("train", "validation"):
        shutil.copytree(curated_churn[channel], tmp_path / "input" / "data" / channel)
    return tmp_path


def test_train_beats_the_baseline_and_prints_metrics_the_regexes_read(ml_root, churn_baseline):
    done = run_train(ml_root, {"epochs": "300", "learning_rate": "0.1"})  # strings, as SageMaker writes them
    assert done.returncode == 0, done.stderr
    found = metrics.read_metrics(done.stdout, DEFINITIONS)
    assert set(found) == {"train:auc", "validation:auc", "validation:accuracy"}
    assert found["validation:auc"] > churn_baseline["validation:auc"] + 0.2
    assert found["validation:accuracy"] > churn_baseline["validation:accuracy"]
    assert (ml_root / "model" / "model.json").is_file()


def test_a_failing_job_writes_its_reason_where_sagemaker_reads_it(ml_root):
    done = run_train(ml_root, {"num_round": "10"})
    assert done.returncode != 0
    assert "unknown hyperparameters ['num_round']" in (ml_root / "output" / "failure").read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url: str, body: bytes | None = None, content_type: str = "text/csv") -> tuple[int, str]:
    headers = {"Content-Type": content_type} if body is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def served(ml_root):
    """`serve` on a free port, with the model `train` wrote; stopped after the test."""
    assert run_train(ml_root, {}).returncode == 0
    port = free_port()
    environment = {**os.environ, "ML_ROOT": str(ml_root), "SAGEMAKER_BIND_TO_PORT": str(port)}
    server = subprocess.Popen([sys.executable, str(CONTAINER / "serve")], env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if request(url + "/ping")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_answers_ping_and_scores_csv_rows(served, curated_churn):
    assert request(served + "/ping") == (200, "")
    labels, features = churn_data.read_channel(curated_churn["validation"])
    body = "\n".join(",".join("" if np.isnan(v) else str(float(v)) for v in row) for row in features)
    status, answer = request(served + "/invocations", body.encode())
    scores = np.array([float(line) for line in answer.splitlines()])
    assert status == 200 and len(scores) == len(labels)
    assert churn_data.roc_auc(labels, scores) > 0.7


def test_serve_refuses_bad_requests_with_a_reason(served):
    assert request(served + "/invocations", b"1,2", "text/csv")[0] == 400
    assert request(served + "/invocations", b"{}", "application/json")[0] == 415
    assert request(served + "/nothing")[0] == 404
