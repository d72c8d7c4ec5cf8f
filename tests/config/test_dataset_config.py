"""Models that share a dataset agree on what it is; its one Glue job is built from that definition."""

from stacks.config.datasets import DatasetDefinition
from tests.config.test_config import BASE, problems
from tests.stacks.synth import config_from

CHURNED = {"source": "training", "dataset": "churn", "target": "churned"}


def shared(first: str, second: str) -> str:
    return f"{BASE}models:\n  churn:\n{first}\n  charges:\n{second}\n"


def test_two_targets_on_one_dataset_fail_with_one_line_naming_both_models(tmp_path):
    lines = problems(
        tmp_path,
        shared(
            "    {source: training, dataset: churn, target: churned}",
            "    {source: training, dataset: churn, target: monthly_charges}",
        ),
    )
    assert len(lines) == 1
    assert lines[0].startswith("models.charges.target: models 'churn' and 'charges' share dataset 'churn'")
    assert "('churned' vs 'monthly_charges')" in lines[0]


def test_features_and_split_must_agree_too(tmp_path):
    (line,) = problems(
        tmp_path,
        shared(
            "    {source: training, dataset: churn, target: churned, validation_fraction: 0.2}",
            "    {source: training, dataset: churn, target: churned, validation_fraction: 0.3}",
        ),
    )
    assert line.startswith("models.charges.validation_fraction: models 'churn' and 'charges' share")


def test_an_autopilot_model_agrees_on_the_target_and_takes_the_training_models_features():
    config = config_from(
        {
            "environment": "x",
            "region": "us-east-1",
            "models": {
                "automl": {"source": "autopilot", "dataset": "churn", "target": "churned"},
                "churn": {**CHURNED, "features": ["tenure", "plan"], "column_types": {"tenure": "int"}},
            },
        }
    )
    assert config.datasets == {
        "churn": DatasetDefinition(
            target="churned",
            features=["tenure", "plan"],
            column_types={"tenure": "int"},
            validation_fraction=0.2,
        )
    }
