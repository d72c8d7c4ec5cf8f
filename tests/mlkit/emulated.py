"""The local run's checks against an emulator in this process: moto's server in a thread, the real router.

Resources are created through boto3 (or a small CloudFormation stack) with the shapes `cdk deploy`
gives them; the router reads a registry built from the config by the stacks' own code
(stacks/registry.py), written to a file as the API stack's layer ships it.
"""

import importlib
import json
import os
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from mlkit.emulator import Emulator, free_port
from mlkit.local_context import BUCKET_KINDS, Run
from mlkit.local_endpoint import lambda_module
from stacks.registry import registry_document

REGION = "us-east-1"
ACCOUNT = "123456789012"


def bucket_names(environment: str) -> dict[str, str]:
    from stacks import names

    return {kind: names.bucket_name(environment, kind, ACCOUNT, REGION) for kind in BUCKET_KINDS}


@contextmanager
def threaded_emulator(directory: Path):
    """A moto server thread, recording into ``directory`` when asked (mlkit/route_proof.py); the
    process's environment, the handler modules and moto's recorder restored after."""
    from moto.moto_api import recorder

    saved_environment, saved_recording = dict(os.environ), recorder._location
    recorder._location = str(directory / "moto-recording.jsonl")
    saved_modules = {name: sys.modules.get(name) for name in ("router", "deploy")}
    port = free_port(0)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    emulator = Emulator(region=REGION)  # the run's interface (endpoint, environment), not its process
    emulator.endpoint = f"http://localhost:{port}"
    session = boto3.Session(region_name=REGION)
    emulator.clients = lambda service: session.client(service, endpoint_url=emulator.endpoint)
    try:
        yield emulator
    finally:
        server.stop()
        recorder.stop_recording()
        recorder._location = saved_recording
        os.environ.clear()
        os.environ.update(saved_environment)
        restore_modules(saved_modules)


def restore_modules(saved: dict) -> None:
    """Modules loaded with the emulator's environment go; ones that were there are re-read."""
    from shared.aws import reset_clients

    reset_clients()
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = importlib.reload(module)


def load_router(emulator, config, directory: Path, guardrails: dict[str, dict] | None = None):
    """lambdas/router.py with the registry the API stack would deploy for ``config``."""
    from shared import registry as contract

    guardrails = guardrails or {}
    path = directory / "registry.json"
    path.write_text(registry_document(config.environment, config.models, created_guardrails=set(guardrails)))
    variables = {
        contract.FILE_VARIABLE: str(path),
        contract.ARTIFACTS_BUCKET_VARIABLE: bucket_names(config.environment)["artifacts"],
        contract.GUARDRAILS_VARIABLE: contract.guardrails_variable(guardrails),
    }
    return lambda_module("router", {**variables, **emulator.environment()})


def make_run(emulator, config, workdir: Path, exits: ExitStack, router=None) -> Run:
    run = Run(config, emulator.clients, emulator, workdir=workdir, exits=exits)
    run.buckets = bucket_names(config.environment)
    run.router, run.router_blocked = router, None if router else "no router in this test"
    return run


def create_buckets(emulator, environment: str) -> None:
    s3 = emulator.clients("s3")
    for name in bucket_names(environment).values():
        s3.create_bucket(Bucket=name)


def json_body(answer) -> dict:
    return json.loads(answer.body)


@contextmanager
def emulated_run(workdir: Path, config, environment: str):
    """A Run on a moto server thread with the environment's buckets and the router for ``config``."""
    with threaded_emulator(workdir) as emulator, ExitStack() as exits:
        create_buckets(emulator, environment)
        yield make_run(emulator, config, workdir, exits, load_router(emulator, config, workdir))


def retargeting(run, monkeypatch):
    """A function that changes one registered model of the run's router, for the calling test only."""

    def change(label: str, **fields):
        models = run.router.SETTINGS.models
        monkeypatch.setitem(models, label, models[label]._replace(**fields))

    return change
