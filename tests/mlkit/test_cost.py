"""The cost estimate of a small synthesized config, checked to the cent against figures worked out here."""

import json
import shutil

import pytest

from mlkit import cost, cost_report, prices
from tests.model_entries import SENTIMENT
from tests.stacks.synth import config_from, synthesize

SMALL = {
    "environment": "cost",
    "region": "us-east-1",
    "models": {
        "sentiment": {
            **SENTIMENT,
            "hosting": {"type": "serverless", "memory_mb": 2048, "provisioned_concurrency": 1},
        },
        "ner": {
            "source": "huggingface",
            "model_id": "dslim/bert-base-NER",
            "task": "token-classification",
            "hosting": {"type": "realtime", "instance_type": "ml.m5.large", "initial_count": 2},
        },
        "chat": {"source": "bedrock", "model_id": "us.anthropic.claude-3-haiku-20240307-v1:0"},
    },
}
CENT = 0.005


@pytest.fixture(scope="module")
def small():
    config = config_from(SMALL)
    return config, synthesize(config)


def price(section: str, key: str) -> float:
    return prices.lookup(prices.load_snapshot(), "us-east-1", section, key)


def count(synthesized, stack: str, kind: str) -> int:
    return sum(r["Type"] == kind for r in synthesized.raw[stack]["Resources"].values())


# Alarms are billed per metric they read. An endpoint's: the error rate (5XX and invocations: 2),
# latency p90 (1), its two rollback alarms (1 each). A Bedrock model's: error rate (2), latency, throttles.
ENDPOINT_ALARM_METRICS = 2 + 1 + 1 + 1
BEDROCK_ALARM_METRICS = 2 + 1 + 1


def request_overhead() -> float:
    """API Gateway and the 512 MB router Lambda for 1,000 requests of 1 s."""
    api = 1000 * 3.5 / 1_000_000
    assert price("apigateway", "rest_million_requests") == 3.5
    router = 1000 * (price("lambda", "request") + 1.0 * 0.5 * price("lambda", "gb_second"))
    return api + router


def test_small_config_to_the_cent(small):
    config, synthesized = small
    estimate = cost_report.as_json(cost.estimate_cost(synthesized.directory, config, prices.load_snapshot()))
    groups = estimate["groups"]
    alarm = price("cloudwatch", "alarm_month")
    assert alarm == 0.10 and price("kms", "key_month") == 1.00

    # Serverless, 2 GB: 1 provisioned instance all month; 1,000 requests of 1 s at 2 GB.
    provisioned = 1 * 2 * 730 * 3600 * price("sagemaker_serverless", "provisioned_gb_second")
    assert provisioned == pytest.approx(25.23, abs=CENT)  # 2 x 730 x 3600 x 0.0000048
    sentiment_alarms = ENDPOINT_ALARM_METRICS * alarm
    assert groups["sentiment"]["idle_month"] == pytest.approx(provisioned + sentiment_alarms, abs=CENT)
    serverless = 1000 * 1.0 * 2 * price("sagemaker_serverless", "gb_second")
    assert groups["sentiment"]["per_1000_requests"] == pytest.approx(
        serverless + request_overhead(), abs=CENT
    )

    # Real-time: 2 x ml.m5.large all month, nothing more per request than the way there.
    instances = 2 * 730 * price("sagemaker_hosting", "ml.m5.large")
    assert instances == pytest.approx(167.90, abs=CENT)
    ner_alarms = ENDPOINT_ALARM_METRICS * alarm
    assert groups["ner"]["idle_month"] == pytest.approx(instances + ner_alarms, abs=CENT)
    assert groups["ner"]["per_1000_requests"] == pytest.approx(request_overhead(), abs=CENT)

    # Bedrock: nothing idle; 500 input and 250 output tokens a request.
    haiku = "anthropic.claude-3-haiku-20240307-v1:0"
    tokens = 1000 * (
        0.5 * price("bedrock", f"{haiku} input_1k_tokens")
        + 0.25 * price("bedrock", f"{haiku} output_1k_tokens")
    )
    assert tokens == pytest.approx(0.4375, abs=CENT)
    chat_alarms = BEDROCK_ALARM_METRICS * alarm  # in the operations stack, still the model's cost
    assert groups["chat"]["idle_month"] == pytest.approx(chat_alarms, abs=CENT)
    assert groups["chat"]["per_1000_requests"] == pytest.approx(tokens + request_overhead(), abs=CENT)

    # Shared: the data key (the alerts topic uses it too) and the dashboard: $1 + $3.
    assert count(synthesized, "mlkit-cost-data", "AWS::KMS::Key") == 1
    assert count(synthesized, "mlkit-cost-operations", "AWS::CloudWatch::Dashboard") == 1
    shared = 1.00 + 3.00
    assert groups["shared"]["idle_month"] == pytest.approx(shared, abs=CENT)

    idle = provisioned + sentiment_alarms + instances + ner_alarms + chat_alarms + shared
    assert estimate["total"]["idle_month"] == pytest.approx(idle, abs=CENT)
    assert estimate["total"]["per_1000_requests"] == pytest.approx(
        serverless + tokens + 3 * request_overhead(), abs=CENT
    )
    assert estimate["total"]["per_run"] == 0
    assert estimate["unpriced"] == []


def test_unknown_type_and_missing_price_are_unpriced_never_zero(small, tmp_path):
    config, synthesized = small
    assembly = tmp_path / "assembly"
    shutil.copytree(synthesized.directory, assembly)
    (template,) = assembly.glob("*ner*.template.json")
    body = json.loads(template.read_text())
    body["Resources"]["Notebook"] = {"Type": "AWS::SageMaker::NotebookInstance", "Properties": {}}
    template.write_text(json.dumps(body))
    snapshot = prices.load_snapshot()
    del snapshot["regions"]["us-east-1"]["sagemaker_hosting"]["prices"]["ml.m5.large"]

    estimate = cost.estimate_cost(assembly, config, snapshot)

    assert "unpriced: Notebook (AWS::SageMaker::NotebookInstance) in mlkit-cost-ner" in estimate.unpriced
    (endpoint,) = [line for line in estimate.unpriced if "AWS::SageMaker::EndpointConfig" in line]
    assert "no sagemaker_hosting price for ml.m5.large in us-east-1" in endpoint
    assert not any("ml.m5.large" in item.name for item in estimate.groups["ner"])
    assert "unpriced: Notebook" in cost_report.render(estimate)


def test_command_prints_tables_and_json(small, capsys):
    config, synthesized = small
    estimate = cost.estimate_cost(synthesized.directory, config, prices.load_snapshot())
    text = cost_report.render(estimate)
    assert "endpoint 2 x ml.m5.large (minimum)" in text and "167.90" in text
    assert "unpriced: none" in text and "request_seconds=1.0" in text
    assert (
        json.loads(json.dumps(cost_report.as_json(estimate)))["snapshot_date"]
        == prices.load_snapshot()["date"]
    )


def test_reads_the_top_level_assembly_too(small):
    config, synthesized = small
    templates = cost.read_assembly(synthesized.outdir, "cost")
    assert set(templates) == set(synthesized.raw)
