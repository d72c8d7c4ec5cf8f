"""The app as the CLI runs it: config selection, prod settings, bad configs that synthesize nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import app as app_module
from stacks import stack_limits
from stacks.cdk_app import mlkit_app
from stacks.config import load_config
from stacks.config.loader import CONFIG_DIR
from tests.stacks.synth import synthesize

ROOT = Path(__file__).resolve().parents[2]


def run_app(tmp_path: Path, *context: str) -> subprocess.CompletedProcess:
    """Run app.py the way `cdk synth` does: context in CDK_CONTEXT_JSON, output dir in CDK_OUTDIR."""
    pairs = dict(item.split("=", 1) for item in context)
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path / "out"),
        "CDK_CONTEXT_JSON": json.dumps(pairs),
    }
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def synth_in_process(tmp_path: Path, context: dict) -> str:
    """app.main as `cdk synth` runs it, in this process: the message it exits with."""
    app = mlkit_app(outdir=str(tmp_path / "out"), context=context)
    with pytest.raises(SystemExit) as exit_:
        app_module.main(app)
    return str(exit_.value.code)


def test_prod_config_targets_its_account_and_region():
    prod = synthesize(load_config(CONFIG_DIR / "prod.yaml"))
    assert sorted(prod.templates) == ["mlkit-prod-api", "mlkit-prod-data", "mlkit-prod-operations"]
    manifest = (prod.directory / "manifest.json").read_text()
    assert "aws://222222222222/eu-west-1" in manifest
    for bucket in prod.resources("data", "AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Retain"


BAD_CONFIGS = {
    "top-level-key": ("environment: dev\nregion: us-east-1\nfoo: 1\n", "bad.yaml: foo: unknown key"),
    "model-key": (
        "environment: dev\nregion: us-east-1\nmodels:\n  churn:\n    source: training\n"
        "    dataset: churn\n    target: churned\n    colour: red\n",
        "bad.yaml: models.churn.colour: unknown key",
    ),
    "region": ("environment: dev\nregion: us-east-9\n", "bad.yaml: region: 'us-east-9' is not an AWS region"),
    "removal": (
        "environment: dev\nregion: us-east-1\nremoval: maybe\n",
        "bad.yaml: removal: 'maybe' is not allowed",
    ),
    "account": (
        "environment: dev\nregion: us-east-1\naccount: 1234\n",
        "bad.yaml: account: 1234 is not allowed",
    ),
    "yaml-syntax": (
        "environment: dev\nregion: [us-east-1\n",
        "bad.yaml: line 3, column 1: YAML syntax error",
    ),
}


@pytest.mark.parametrize(("body", "expected"), list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_bad_config_exits_with_one_message_and_writes_nothing(tmp_path, body, expected):
    # In-process: app.main with the context `cdk synth -c config=...` gives it (no new jsii process).
    (tmp_path / "bad.yaml").write_text(body)
    message = synth_in_process(tmp_path, {"config": str(tmp_path / "bad.yaml")}).splitlines()
    assert message[0] == "mlkit: invalid config, nothing synthesized"
    assert len(message) == 2 and expected in message[1]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_cli_prints_a_bad_config_as_one_message_on_stderr(tmp_path):
    # As `cdk synth` runs it: stderr holds the message and nothing else (no traceback, no banner).
    body, expected = BAD_CONFIGS["removal"]
    (tmp_path / "bad.yaml").write_text(body)
    result = run_app(tmp_path, f"config={tmp_path / 'bad.yaml'}")
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()
    assert message[0] == "mlkit: invalid config, nothing synthesized"
    assert len(message) == 2 and expected in message[1]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_file_names_it_and_the_environments(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # paths are shown relative to where `cdk synth` runs
    message = synth_in_process(tmp_path, {"env": "qa"})
    expected = "config/qa.yaml: no such config file (environments in config/: dev, prod, showcase, staging)"
    assert expected in message


def test_mlkit_env_selects_the_file_when_no_context_does(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MLKIT_ENV", "qa")
    assert "config/qa.yaml: no such config file" in synth_in_process(tmp_path, {})


def test_a_config_cloudformation_would_refuse_exits_with_one_line_and_leaves_nothing_to_deploy(
    tmp_path, monkeypatch
):
    # The limit is injected: a real breach needs hundreds of models (benchmarks/stack_limits.py).
    monkeypatch.setattr(stack_limits, "CLOUDFORMATION", stack_limits.StackLimits(template_bytes=15_000))
    chat = "{source: bedrock, model_id: amazon.nova-lite-v1:0}"
    (tmp_path / "small.yaml").write_text(f"environment: lim\nregion: us-east-1\nmodels:\n  chat: {chat}\n")
    message = synth_in_process(tmp_path, {"config": str(tmp_path / "small.yaml")})
    assert "\n" not in message
    assert message.startswith("mlkit: mlkit-lim-")
    assert "KB, CloudFormation's limit is 15 KB: move some models to another environment's config" in message
    out = tmp_path / "out"
    assert not (out / "manifest.json").exists() and not list(out.glob("assembly-*")), list(out.iterdir())
