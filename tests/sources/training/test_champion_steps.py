"""Champion/challenger: the synthesized training pipelines walked (tests/stacks/state_machine_walk.py) with
recorded SageMaker answers, from the training job's metric to the registration and the deploy or the
failure: the first model, a better, a worse and an equal candidate, min_improvement in both directions,
and a champion scored another way. The Python twin (sources/training/champion.py), which `make local`
decides with, is held to the same cases.
"""

import json
from types import SimpleNamespace

import pytest

from mlkit.access.state_machines import PLACEHOLDER, named_values, task_call, task_checks
from sources.training import champion
from sources.training.champion_steps import beats_condition
from sources.training.config import TrainingModel
from tests.sources.training.test_stack import MODELS, as_list, definition, statements, training_config
from tests.stacks.state_machine_walk import run
from tests.stacks.synth import render_tokens, synthesize

ACCOUNT_ARN = "arn:aws:sagemaker:eu-west-1:123456789012"
VALIDATION = "s3://mlkit-tr-curated-<AWS::AccountId>-eu-west-1/{dataset}/xgboost/validation/"
# What every walk visits between the threshold gate and the comparison.
TO_COMPARISON = ["Gate passed?", "Find champion", "Champion in service?", "Describe champion"]
COMPARED = [*TO_COMPARISON, "Champion comparable?", "Read champion", "Beats the champion?"]


@pytest.fixture(scope="module")
def app():
    return synthesize(training_config())


@pytest.fixture(scope="module")
def definitions(app):
    return {label: definition(app, label) for label in MODELS}


def model(label: str) -> TrainingModel:
    return TrainingModel.model_validate(MODELS[label])


def champion_metadata(label: str, value: str, **changes: str) -> dict:
    """The CustomerMetadataProperties the pipeline registered its champion with."""
    found = {
        "training_job": "mlkit-tr-job-0",
        "metric": model(label).metric,
        "metric_value": value,
        "validation_data": VALIDATION.format(dataset=MODELS[label]["dataset"]),
        "min_improvement": "0.0",
        "champion": "none",
        "champion_metric_value": "none",
    }
    return {**found, **changes}


class Registry:
    """Answers the walked tasks: the training job's metric, a group with ``champion`` (metadata) or none,
    CreateModelPackage's new versions, and the deploy Lambda and endpoint once a candidate wins."""

    def __init__(self, label: str, value: float, champion_properties: dict | None):
        self.label, self.value, self.champion = label, value, champion_properties
        self.group = f"mlkit-tr-{label}"
        self.versions = 1 if champion_properties is not None else 0

    def __call__(self, resource: str, params: dict):
        action = resource.rsplit(":", 1)[-1]
        if action == "createTrainingJob.sync":
            metric = {"MetricName": model(self.label).metric, "Value": self.value}
            artifacts = {"S3ModelArtifacts": "s3://artifacts/models/job-1/output/model.tar.gz"}
            return {
                "TrainingJobName": "mlkit-tr-job-1",
                "FinalMetricDataList": [metric],
                "ModelArtifacts": artifacts,
            }
        if action == "listModelPackages":
            return {"ModelPackageSummaryList": [self._summary()] if self.champion is not None else []}
        if action == "describeModelPackage":
            assert render_tokens(params["ModelPackageName"]) == self._arn(1).replace(
                "123456789012", "<AWS::AccountId>"
            )
            described = {"ModelPackageArn": self._arn(1), "ModelApprovalStatus": "Approved"}
            if self.champion:  # SageMaker leaves the field out of a package registered without any
                described["CustomerMetadataProperties"] = self.champion
            return described
        if action == "createModelPackage":
            self.versions += 1
            return {"ModelPackageArn": self._arn(self.versions)}
        if "DeployFunction" in resource:
            return {"action": "created", "endpoint_status": "Creating", "endpoint_config_name": "config-1"}
        if action == "describeEndpoint":
            return {"EndpointStatus": "InService", "EndpointConfigName": "config-1"}
        raise AssertionError(f"unexpected task {resource}")

    def _arn(self, version: int) -> str:
        return f"{ACCOUNT_ARN}:model-package/{self.group}/{version}"

    def _summary(self) -> dict:
        return {
            "ModelPackageGroupName": self.group,
            "ModelPackageVersion": 1,
            "ModelPackageArn": self._arn(1),
        }


def walk(definitions, label: str, value: float, champion_properties: dict | None):
    registry = Registry(label, value, champion_properties)
    result = run(definitions[label], {}, registry)
    return result, registry


def from_gate(visited: list[str]) -> list[str]:
    return visited[visited.index("Gate passed?") :]


def test_the_first_model_has_no_champion_and_passes_on_the_threshold_alone(definitions):
    result, _ = walk(definitions, "churn", 0.76, None)
    assert result.outcome == "Succeed"
    assert from_gate(result.visited)[:4] == [
        "Gate passed?",
        "Find champion",
        "Champion in service?",
        "No champion",
    ]
    assert result.called(":describeModelPackage") == []
    (listed,) = result.called(":listModelPackages")
    assert listed == {
        "ModelPackageGroupName": "mlkit-tr-churn",
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 1,
    }
    (package,) = result.called(":createModelPackage")
    assert package["ModelApprovalStatus"] == "Approved"
    properties = package["CustomerMetadataProperties"]
    assert (properties["champion"], properties["champion_metric_value"]) == ("none", "none")
    assert (properties["metric"], properties["metric_value"]) == ("validation:auc", "0.76")
    assert render_tokens(properties["validation_data"]) == VALIDATION.format(dataset="churn")
    assert "Deploy endpoint" in result.visited


def test_a_better_candidate_replaces_the_champion_and_records_it(definitions):
    result, registry = walk(definitions, "churn", 0.86, champion_metadata("churn", "0.83"))
    assert result.outcome == "Succeed"
    assert from_gate(result.visited)[:9] == [*COMPARED, "Register model package", "Model containers"]
    (package,) = result.called(":createModelPackage")
    assert package["ModelApprovalStatus"] == "Approved"
    properties = package["CustomerMetadataProperties"]
    assert properties["champion"] == registry._arn(1)
    assert (properties["champion_metric_value"], properties["metric_value"]) == ("0.83", "0.86")
    assert "Deploy endpoint" in result.visited


@pytest.mark.parametrize(("value", "why"), [(0.81, "worse"), (0.83, "equal")])
def test_a_worse_or_equal_candidate_is_registered_rejected_and_fails_with_the_reason(definitions, value, why):
    result, registry = walk(definitions, "churn", value, champion_metadata("churn", "0.83"))
    assert (result.outcome, result.error) == ("Fail", "ChampionNotBeaten")
    assert from_gate(result.visited) == [*COMPARED, "Register rejected package", "Champion kept"]
    assert result.cause == (
        f"validation:auc {value} does not beat the champion (0.83 +min_improvement 0.0): the champion "
        f"{registry._arn(1)} stays in service; this candidate is registered as Rejected ({registry._arn(2)})."
    )
    (package,) = result.called(":createModelPackage")
    assert package["ModelApprovalStatus"] == "Rejected"
    assert package["ModelPackageDescription"] == (
        f"Kept out by the gate: validation:auc {value} does not beat the champion (0.83 "
        "+min_improvement 0.0); trained by mlkit-tr-job-1"
    )
    assert package["CustomerMetadataProperties"]["champion"] == registry._arn(1)
    assert not any("DeployFunction" in resource for resource, _ in result.calls)
    assert champion.beats(model("churn"), value, 0.83) is False  # make local decides the same


@pytest.mark.parametrize(
    ("label", "value", "champion_value", "wins"),
    [
        ("fraud", 0.849, "0.83", False),  # +0.019 < min_improvement 0.02
        ("fraud", 0.851, "0.83", True),
        ("churn-script", 0.405, "0.41", False),  # lower is better: -0.005 is not -0.01
        ("churn-script", 0.399, "0.41", True),
        ("churn-script", 0.42, "0.41", False),
    ],
)
def test_min_improvement_in_the_metrics_direction(definitions, label, value, champion_value, wins):
    result, _ = walk(definitions, label, value, champion_metadata(label, champion_value))
    (package,) = result.called(":createModelPackage")
    assert package["ModelApprovalStatus"] == ("Approved" if wins else "Rejected")
    assert result.outcome == ("Succeed" if wins else "Fail")
    if not wins:
        sign = "-" if model(label).gate_lower_is_better else "+"
        margin = MODELS[label]["min_improvement"]
        assert f"does not beat the champion ({champion_value} {sign}min_improvement {margin})" in result.cause
    assert champion.beats(model(label), value, float(champion_value)) is wins


@pytest.mark.parametrize(
    "changes",
    [
        {"metric": "validation:logloss"},
        {"validation_data": "s3://other/churn/xgboost/validation/"},
        {"metric_value": None},
        {"metric": None},
    ],
    ids=["other-metric", "other-data", "no-value", "no-metric"],
)
def test_a_champion_scored_another_way_is_never_compared_and_nothing_is_registered(definitions, changes):
    properties = {k: v for k, v in champion_metadata("churn", "0.83", **changes).items() if v is not None}
    result, registry = walk(definitions, "churn", 0.99, properties)
    assert (result.outcome, result.error) == ("Fail", "ChampionNotComparable")
    assert from_gate(result.visited) == [*TO_COMPARISON, "Champion comparable?", "Champion not comparable"]
    assert result.called(":createModelPackage") == []
    assert registry._arn(1) in result.cause and "validation:auc on s3://" in result.cause
    assert champion.comparable(model("churn"), properties, VALIDATION.format(dataset="churn")) is False


def test_a_champion_registered_without_metadata_is_not_comparable(definitions):
    result, _ = walk(definitions, "churn", 0.99, {})  # DescribeModelPackage then has no such field
    assert (result.outcome, result.error) == ("Fail", "ChampionNotComparable")
    assert result.called(":createModelPackage") == []


def test_a_failing_threshold_never_reads_the_registry(definitions):
    result, _ = walk(definitions, "churn", 0.7, champion_metadata("churn", "0.5"))
    assert (result.outcome, result.error) == ("Fail", "GateFailed")
    assert result.called(":listModelPackages") == [] and result.called(":createModelPackage") == []


def test_an_unreadable_champion_value_is_a_query_error_not_a_pass(definitions):
    result, _ = walk(definitions, "churn", 0.99, champion_metadata("churn", "n/a"))
    assert (result.outcome, result.error) == ("Fail", "States.QueryEvaluationError")
    assert result.called(":createModelPackage") == []


def test_the_condition_is_the_python_rule_for_each_direction():
    assert beats_condition(model("churn")) == (
        "{% $states.input.gate.value > $number($states.input.comparison.champion_metric_value) + 0.0 %}"
    )
    assert beats_condition(model("churn-script")) == (
        "{% $states.input.gate.value < $number($states.input.comparison.champion_metric_value) - 0.01 %}"
    )


def test_the_state_machine_may_read_only_its_own_groups_packages(app):
    granted = {}
    for statement in statements(app, "churn"):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, []).extend(render_tokens(r) for r in as_list(statement["Resource"]))
    group = "arn:aws:sagemaker:eu-west-1:<AWS::AccountId>:model-package/mlkit-tr-churn/*"
    assert granted["sagemaker:DescribeModelPackage"] == [group]
    assert granted["sagemaker:CreateModelPackage"] == [group]  # Approved and Rejected alike
    assert granted["sagemaker:ListModelPackages"] == ["*"]


def test_make_local_decides_the_registry_tasks_as_the_state_machines_role(definitions):
    """mlkit/access replays each task (make local's "<model> pipeline tasks" row): none left undecided."""
    concrete = json.dumps(definitions["churn"]).replace("<AWS::Partition>", "aws")
    definition = json.loads(concrete.replace("<AWS::AccountId>", "123456789012"))
    env = SimpleNamespace(region="eu-west-1", account="123456789012", partition="aws")
    decided = {}
    for name in ("Find champion", "Describe champion", "Register rejected package"):
        call = task_call(name, definition["States"][name], named_values(definition))
        decided[name] = [(check.action, check.resource) for check in task_checks(call, env)]
    group = f"{ACCOUNT_ARN}:model-package/mlkit-tr-churn"
    assert decided == {
        "Find champion": [("sagemaker:ListModelPackages", "*")],
        "Describe champion": [("sagemaker:DescribeModelPackage", f"{group}/{PLACEHOLDER}")],
        "Register rejected package": [("sagemaker:CreateModelPackage", f"{group}/1")],
    }
