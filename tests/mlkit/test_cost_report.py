"""The cost change `make diff` and `make deploy` print: against another assembly, the deployed stacks, or
nothing readable (no credentials), and the pull request's table."""

import copy
import json

import boto3
import pytest

from mlkit import cost, cost_report, prices
from tests.mlkit.test_cost import SMALL
from tests.stacks.synth import config_from, synthesize

HOURS = 730


@pytest.fixture(scope="module")
def small():
    config = config_from(SMALL)
    return config, synthesize(config)


@pytest.fixture(scope="module")
def bigger():
    """The small config with a third ml.m5.large on the real-time model."""
    body = copy.deepcopy(SMALL)
    body["models"]["ner"]["hosting"]["initial_count"] = 3
    config = config_from(body)
    return config, synthesize(config)


def m5_large() -> float:
    return prices.lookup(prices.load_snapshot(), "us-east-1", "sagemaker_hosting", "ml.m5.large")


def test_one_more_instance_shows_as_its_hours_against_the_other_assembly(small, bigger, monkeypatch, capsys):
    (_, before), (config, after) = small, bigger
    monkeypatch.setattr("stacks.config.load_config", lambda *_: config)

    arguments = ["--env", "cost", "--assembly", str(after.outdir), "--against", str(before.outdir)]
    assert cost_report.main(arguments) == 0

    printed = capsys.readouterr().out
    # Both assemblies are read with the bigger config: only the real-time endpoint's instance count differs.
    one_instance = HOURS * m5_large()
    assert one_instance == pytest.approx(83.95, abs=0.005)  # 730 h x $0.115
    total = cost.estimate_cost(after.outdir, config, prices.load_snapshot()).totals().idle_month
    assert f"idle/month {total:,.2f} (+{one_instance:,.2f})" in printed
    assert "per 1,000 requests" in printed and "(+0.0000)" in printed
    alarms_and_instances = 3 * one_instance + 5 * 0.10
    assert f"ner idle {alarms_and_instances:,.2f}/month (+{one_instance:,.2f})" in printed


def test_the_deployed_stacks_are_read_back_and_compared(small, aws):
    config, synthesized = small
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    ner = copy.deepcopy(synthesized.raw["mlkit-cost-ner"])
    (config_id,) = [k for k, r in ner["Resources"].items() if r["Type"] == "AWS::SageMaker::EndpointConfig"]
    deployed = {"Resources": {config_id: ner["Resources"][config_id]}}
    properties = deployed["Resources"][config_id]["Properties"]
    properties.pop("KmsKeyId", None)
    properties["ProductionVariants"][0].update(ModelName="mlkit-cost-ner-model", InitialInstanceCount=1)
    boto3.client("sagemaker", region_name="us-east-1").create_model(
        ModelName="mlkit-cost-ner-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/model",
        PrimaryContainer={"Image": "image"},
    )
    cloudformation.create_stack(StackName="mlkit-cost-ner", TemplateBody=json.dumps(deployed))
    cloudformation.create_stack(StackName="mlkit-other-ner", TemplateBody=json.dumps(deployed))

    templates = cost_report.deployed_templates(cloudformation, "cost")

    assert list(templates) == ["mlkit-cost-ner"]  # another environment's stacks are not this one's
    baseline = cost.estimate_templates(templates, config, prices.load_snapshot())
    current = cost.estimate_cost(synthesized.directory, config, prices.load_snapshot())
    text = cost_report.change(current, baseline, "deployed")
    # Deployed: one instance; this change: two, plus everything not deployed yet (alarms, key, dashboard).
    ner_now, ner_deployed = current.totals("ner").idle_month, baseline.totals("ner").idle_month
    assert ner_deployed == pytest.approx(HOURS * m5_large(), abs=0.005)
    assert f"ner idle {ner_now:,.2f}/month (+{ner_now - ner_deployed:,.2f})" in text
    table = cost_report.change(current, baseline, "deployed", markdown=True)
    assert "| idle/month |" in table and f"| {ner_now + 0:,.2f}" not in table.splitlines()[0]


def test_without_credentials_the_change_is_unknown_and_the_command_succeeds(small, monkeypatch, capsys):
    config, synthesized = small
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(
        cost_report,
        "estimate_cost",
        lambda *_: cost.estimate_cost(synthesized.directory, config, prices.load_snapshot()),
    )
    monkeypatch.setattr("stacks.config.load_config", lambda *_: config)

    assert cost_report.main(["--env", "cost", "--against", "deployed"]) == 0

    printed = capsys.readouterr().out
    assert "change against deployed unknown (NoCredentialsError" in printed
