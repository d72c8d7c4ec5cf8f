"""Bedrock's rows of `make local` can fail: give the router another model, settings or guardrail and the
Converse check goes red. The real router runs against moto's server in a thread (tests/mlkit/emulated.py);
Converse is answered by a botocore stub on the router's own client (mlkit/route_proof.py)."""

import pytest

from mlkit.report import FAILED, OK, Report
from sources.bedrock.local import converse_route
from stacks.config import MlKitConfig

ENV = "proof"
CONFIG = MlKitConfig.model_validate(
    {
        "environment": ENV,
        "region": "us-east-1",
        "models": {
            "chat": {
                "source": "bedrock",
                "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
                "inference": {"max_tokens": 256, "temperature": 0.2},
                "guardrail": {"id": "gr-existing", "version": "3"},
            },
            "chat-plain": {"source": "bedrock", "model_id": "amazon.titan-text-lite-v1"},
        },
    }
)


@pytest.fixture(scope="module")
def run(router_run):
    return router_run


def converse_row(run, label: str):
    report = Report()
    model = CONFIG.models[label]
    report.attempt(label, "converse", None, lambda row: converse_route(row, run, label, model))
    return report.rows[0]


@pytest.mark.parametrize("label", ["chat", "chat-plain"])
def test_the_converse_check_sees_the_model_id_settings_and_guardrail(run, label):
    model = CONFIG.models[label]
    row = converse_row(run, label)
    assert row.status == OK, row.detail
    assert f"Converse({model.model_id}, maxTokens {model.inference.max_tokens}" in row.detail
    assert ("guardrail gr-existing version 3" if label == "chat" else "no guardrail") in row.detail


@pytest.mark.parametrize(
    ("label", "fields", "message"),
    [
        ("chat", {"model_id": "anthropic.claude-v2"}, "the router called Converse with"),
        ("chat", {"guardrail": None}, "the router sends guardrail None"),
        ("chat-plain", {"inference": {"max_tokens": 9}}, "the config says"),
    ],
)
def test_a_router_with_another_bedrock_target_fails_the_converse_check(run, retarget, label, fields, message):
    retarget(label, **fields)
    assert (row := converse_row(run, label)).status == FAILED and message in row.detail
