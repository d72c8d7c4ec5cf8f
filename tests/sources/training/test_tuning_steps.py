"""Tuning states: a small stack with tuning_states before the training gate, synthesized under cdk-nag,
its requests checked against botocore's SageMaker model and its state machine walked with recorded
DescribeHyperParameterTuningJob answers (tests/stacks/state_machine_walk.py), since no emulator runs
tuning jobs or Step Functions' .sync integrations.
"""

import json
import re
import tempfile

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from botocore.validate import ParamValidator

from sources.training.config import TrainingModel
from sources.training.training_steps import gate_states, training_job_definition
from sources.training.tuning_config import TuningSettings, check_ranges
from sources.training.tuning_steps import (
    MAX_NAME_LENGTH,
    SYNC_RULE,
    acknowledge_tuning_wildcards,
    parameter_ranges,
    tuning_grants,
    tuning_job_parameters,
    tuning_job_prefix,
    tuning_states,
)
from stacks.cdk_app import mlkit_app
from stacks.constructs.execution_role import ExecutionRole, sagemaker_key_grants
from stacks.constructs.pipeline import PipelineStateMachine
from stacks.nag import add_nag_checks
from tests.stacks.state_machine_walk import TaskFailed, evaluate, render_definition, run
from tests.stacks.synth import CDK_CONTEXT, render_tokens

ACCOUNT, REGION, ENVIRONMENT = "123456789012", "eu-west-1", "tu"
MODELS = {
    # The built-in algorithm, gated on validation:auc (Maximize).
    "churn": (
        {"source": "training", "dataset": "churn", "target": "churned"},
        {
            "max_jobs": 6,
            "max_parallel_jobs": 3,
            "early_stopping": "Auto",
            "ranges": {
                "eta": {"type": "continuous", "min": 0.01, "max": 0.5, "scaling": "Logarithmic"},
                "max_depth": {"type": "integer", "min": 2, "max": 8},
                "num_round": {"type": "categorical", "values": [50, 100]},
            },
        },
    ),
    # Script mode, gated on validation:logloss (Minimize), Hyperband.
    "churn-script": (
        {
            "source": "training",
            "dataset": "churn",
            "target": "churned",
            "algorithm": "script",
            "hyperparameters": {
                "objective": "binary:logistic",
                "num_round": 50,
                "eval_metric": "auc,logloss",
            },
            "metric": "validation:logloss",
            "threshold": 0.5,
        },
        {"strategy": "Hyperband", "ranges": {"subsample": {"type": "categorical", "values": [0.5, 1]}}},
    ),
}
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.0-5"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")


def _model_stack(app: cdk.App, label: str) -> None:
    """One model's tuning and gate in a state machine, with the grants a pipeline would give it."""
    model_data, tuning_data = MODELS[label]
    model, tuning = TrainingModel.model_validate(model_data), TuningSettings.model_validate(tuning_data)
    check_ranges(model.algorithm, tuning)
    stack = cdk.Stack(app, f"Tuning-{label}", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = kms.Key(stack, "DataKey", enable_key_rotation=True)
    role = ExecutionRole(stack, "ExecutionRole", description=f"SageMaker tunes {label}")
    role.allow_key_use(key)
    script = model.algorithm == "script"
    definition = training_job_definition(
        stack,
        model=model,
        image=IMAGE,
        role_arn=role.role.role_arn,
        key_arn=key.key_arn,
        train_url="s3://curated/churn/xgboost/train/",
        validation_url="s3://curated/churn/xgboost/validation/",
        output_url=f"s3://artifacts/models/{label}/",
        source_url="s3://assets/sourcedir.tar.gz" if script else None,
    )
    metric, direction = tuning.resolved_objective(model.metric, model.gate_lower_is_better)
    prefix = tuning_job_prefix(ENVIRONMENT, label)
    parameters = tuning_job_parameters(
        job_prefix=prefix,
        training_job_definition=definition,
        tuning=tuning,
        objective_metric=metric,
        direction=direction,
        key_arn=key.key_arn,
        model_label=label,
    )
    chain = tuning_states(stack, job_prefix=prefix, parameters=parameters)
    chain.next(gate_states(stack, model=model, on_pass=sfn.Succeed(stack, "Tuned")))
    pipeline = PipelineStateMachine(
        stack, "Pipeline", state_machine_name=f"mlkit-tu-{label}", definition=chain
    )
    for statement in [*tuning_grants(stack, prefix), role.pass_to_sagemaker(), sagemaker_key_grants(key)]:
        pipeline.role.add_to_principal_policy(statement)
    acknowledge_tuning_wildcards(pipeline.role.node.find_child("DefaultPolicy"), prefix)


@pytest.fixture(scope="module")
def templates() -> dict[str, dict]:
    app = mlkit_app(outdir=tempfile.mkdtemp(prefix="mlkit-tuning-"), context=CDK_CONTEXT)
    for label in MODELS:
        _model_stack(app, label)
    add_nag_checks(app)  # an unacknowledged finding raises here
    assembly = app.synth()
    return {label: assembly.get_stack_by_name(f"Tuning-{label}").template for label in MODELS}


@pytest.fixture(scope="module")
def definitions(templates) -> dict[str, dict]:
    return {label: render_definition(template) for label, template in templates.items()}


# ---- recorded answers ------------------------------------------------------------------------


def tuning_answer(name: str, status: str, *, best: bool = True, reason: str | None = None) -> dict:
    """DescribeHyperParameterTuningJob's answer, as the .sync task returns it (shapes from the API docs)."""
    answer = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobArn": f"{ARN}:hyper-parameter-tuning-job/{name}",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 3},
        },
        "HyperParameterTuningJobStatus": status,
        "CreationTime": "2025-01-01T10:00:00Z",
        "TrainingJobStatusCounters": {"Completed": 6 if best else 0, "NonRetryableError": 0 if best else 6},
        "ObjectiveStatusCounters": {"Succeeded": 6 if best else 0, "Failed": 0 if best else 6},
    }
    if best:
        answer["BestTrainingJob"] = {
            "TrainingJobName": f"{name}-004-3f2a9c1d",
            "TrainingJobArn": f"{ARN}:training-job/{name}-004-3f2a9c1d",
            "CreationTime": "2025-01-01T10:20:00Z",
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": {"eta": "0.12", "max_depth": "6", "num_round": "100"},
            "FinalHyperParameterTuningJobObjectiveMetric": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
                "Value": 0.86,
            },
            "ObjectiveStatus": "Succeeded",
        }
    if reason:
        answer["FailureReason"] = reason
    return answer


def training_answer(name: str, auc: float = 0.86) -> dict:
    """DescribeTrainingJob's answer for the best training job."""
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"{ARN}:training-job/{name}",
        "TuningJobArn": f"{ARN}:hyper-parameter-tuning-job/{name[:25]}",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://artifacts/models/churn/{name}/output/model.tar.gz"},
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": "2025-01-01T10:20:00Z",
        "FinalMetricDataList": [
            {"MetricName": "train:auc", "Value": 0.91, "Timestamp": "2025-01-01T10:30:00Z"},
            {"MetricName": "validation:auc", "Value": auc, "Timestamp": "2025-01-01T10:30:00Z"},
        ],
    }


class Recorded:
    """The .sync task: the tuning job's final answer, or TaskFailed with it as JSON if it did not complete."""

    def __init__(self, status: str, *, best: bool = True, reason: str | None = None, auc: float = 0.86):
        self.status, self.best, self.reason, self.auc = status, best, reason, auc
        self.answers: dict[str, dict] = {}

    def __call__(self, resource: str, params: dict):
        action = resource.rsplit(":", 1)[-1]
        if action == "createHyperParameterTuningJob.sync":
            name = params["HyperParameterTuningJobName"]
            answer = tuning_answer(name, self.status, best=self.best, reason=self.reason)
            self.answers["tuning"] = answer
            if self.status != "Completed":
                raise TaskFailed("States.TaskFailed", json.dumps(answer))
            return answer
        if action == "describeTrainingJob":
            self.answers["training"] = training_answer(params["TrainingJobName"], self.auc)
            return self.answers["training"]
        raise AssertionError(f"unexpected task {resource}")


def walk(definitions, label: str = "churn", **recorded):
    answers = Recorded(**recorded)
    return run(definitions[label], {}, answers), answers


def assert_valid(params: dict, shape) -> None:
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


# ---- the request -------------------------------------------------------------------------------


@pytest.mark.parametrize("label", list(MODELS))
def test_walked_requests_are_valid_for_the_sagemaker_api(definitions, label):
    result, answers = walk(definitions, label, status="Completed")
    (create,) = result.called(":createHyperParameterTuningJob.sync")
    assert_valid(create, SAGEMAKER.operation_model("CreateHyperParameterTuningJob").input_shape)
    (describe,) = result.called(":describeTrainingJob")
    assert_valid(describe, SAGEMAKER.operation_model("DescribeTrainingJob").input_shape)
    # The recordings have the API's shape too.
    assert_valid(
        answers.answers["tuning"], SAGEMAKER.operation_model("DescribeHyperParameterTuningJob").output_shape
    )
    assert_valid(answers.answers["training"], SAGEMAKER.operation_model("DescribeTrainingJob").output_shape)


def test_tuning_config_comes_from_the_settings_and_the_gate_metric(definitions):
    state = definitions["churn"]["States"]["Tune model"]
    assert state["Resource"] == "arn:<AWS::Partition>:states:::sagemaker:createHyperParameterTuningJob.sync"
    config = state["Parameters"]["HyperParameterTuningJobConfig"]
    assert config == {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 3},
        "ParameterRanges": {
            "ContinuousParameterRanges": [
                {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
            ],
            "IntegerParameterRanges": [
                {"Name": "max_depth", "MinValue": "2", "MaxValue": "8", "ScalingType": "Auto"}
            ],
            "CategoricalParameterRanges": [{"Name": "num_round", "Values": ["50", "100"]}],
        },
        "TrainingJobEarlyStoppingType": "Auto",
    }
    script = definitions["churn-script"]["States"]["Tune model"]["Parameters"][
        "HyperParameterTuningJobConfig"
    ]
    assert script["Strategy"] == "Hyperband" and script["TrainingJobEarlyStoppingType"] == "Off"
    assert script["HyperParameterTuningJobObjective"] == {
        "Type": "Minimize",
        "MetricName": "validation:logloss",
    }
    # Script mode reads JSON-encoded values, as the sagemaker SDK sends a framework's categorical values.
    assert script["ParameterRanges"] == {
        "CategoricalParameterRanges": [{"Name": "subsample", "Values": ["0.5", "1"]}]
    }


def test_tuned_hyperparameters_leave_the_static_ones_and_jobs_stay_encrypted(definitions):
    params = definitions["churn"]["States"]["Tune model"]["Parameters"]
    job = params["TrainingJobDefinition"]
    assert job["StaticHyperParameters"] == {"objective": "binary:logistic", "eval_metric": "auc"}
    assert "HyperParameters" not in job and job["EnableNetworkIsolation"] is True
    key = job["OutputDataConfig"]["KmsKeyId"]
    assert key.startswith("<DataKey") and job["ResourceConfig"]["VolumeKmsKeyId"] == key
    assert (
        job["RoleArn"].startswith("<ExecutionRole")
        and job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    )
    assert params["Tags"] == [{"Key": "project", "Value": "mlkit"}, {"Key": "model", "Value": "churn"}]
    script = definitions["churn-script"]["States"]["Tune model"]["Parameters"]["TrainingJobDefinition"]
    assert "subsample" not in script["StaticHyperParameters"]
    assert script["StaticHyperParameters"]["sagemaker_program"] == '"train.py"'
    assert script["StaticHyperParameters"]["num_round"] == "50"
    assert {d["Name"] for d in script["AlgorithmSpecification"]["MetricDefinitions"]} >= {
        "validation:logloss"
    }


# ---- the name ------------------------------------------------------------------------------------

NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")  # SageMaker's pattern for a tuning job name


def churn_parameters(prefix: str, label: str) -> dict:
    return tuning_job_parameters(
        job_prefix=prefix,
        training_job_definition={"OutputDataConfig": {}, "ResourceConfig": {}, "HyperParameters": {}},
        tuning=TuningSettings.model_validate(MODELS["churn"][1]),
        objective_metric="validation:auc",
        direction="Maximize",
        key_arn="key",
        model_label=label,
    )


@pytest.mark.parametrize(
    ("environment", "label"),
    [("e" * 12, "m" * 24), ("e" * 12, "a-" * 11 + "bc"), ("dev", "a"), ("tu", "churn")],
    ids=["longest", "longest-with-dashes", "shortest", "this-test"],
)
def test_tuning_job_names_fit_sagemaker_for_any_model_name(environment, label):
    prefix = tuning_job_prefix(environment, label)
    assert len(prefix) == 12
    parameters = churn_parameters(prefix, label)
    names = {evaluate(parameters["HyperParameterTuningJobName.$"], {}, {}) for _ in range(3)}
    assert len(names) == 3
    for name in names:
        assert len(name) <= MAX_NAME_LENGTH and NAME.fullmatch(name) and name.startswith(f"{prefix}-"), name


def test_prefixes_differ_between_models_and_environments_and_a_long_prefix_is_refused():
    prefixes = {
        tuning_job_prefix(env, label) for env in ("dev", "prod") for label in ("churn", "churn-script")
    }
    assert len(prefixes) == 4
    with pytest.raises(ValueError, match="at most 19 characters"):
        churn_parameters("mlkit-dev-churn-script", "churn-script")


# ---- walks --------------------------------------------------------------------------------------


def test_completed_describes_the_best_training_job_and_the_gate_reads_its_metric(definitions):
    result, answers = walk(definitions, status="Completed")
    assert result.outcome == "Succeed"
    assert result.visited == [
        "Tune model",
        "Training job completed?",
        "Describe best training job",
        "Read metric",
        "Metric reported?",
        "Pick metric",
        "Gate passed?",
        "Tuned",
    ]
    best = answers.answers["tuning"]["BestTrainingJob"]["TrainingJobName"]
    assert result.called(":describeTrainingJob") == [{"TrainingJobName": best}]
    assert result.output["training"] == answers.answers["training"]
    assert result.output["tuning"] == answers.answers["tuning"]
    assert result.output["gate"] == {"metric": "validation:auc", "threshold": 0.75, "value": 0.86}


def test_a_best_job_below_the_threshold_fails_the_gate(definitions):
    result, _ = walk(definitions, status="Completed", auc=0.6)
    assert (result.outcome, result.error) == ("Fail", "GateFailed")


def test_failed_tuning_fails_with_sagemakers_reason(definitions):
    reason = "All training jobs failed. Please check the training job failure reasons."
    result, answers = walk(definitions, status="Failed", best=False, reason=reason)
    name = answers.answers["tuning"]["HyperParameterTuningJobName"]
    assert (result.outcome, result.error) == ("Fail", "TuningFailed")
    assert result.cause == f"Tuning job {name} is Failed: {reason}"
    assert result.called(":describeTrainingJob") == []


def test_stopped_tuning_without_a_reason_still_fails_with_a_cause(definitions):
    result, answers = walk(definitions, "churn-script", status="Stopped")
    name = answers.answers["tuning"]["HyperParameterTuningJobName"]
    assert (result.outcome, result.error) == ("Fail", "TuningFailed")
    assert result.cause == f"Tuning job {name} is Stopped: SageMaker gave no FailureReason"
    assert "No tuning reason given" in result.visited


def test_no_completed_training_job_fails_before_describing(definitions):
    result, answers = walk(definitions, status="Completed", best=False)
    assert (result.outcome, result.error) == ("Fail", "NoTrainingJobCompleted")
    assert answers.answers["tuning"]["HyperParameterTuningJobName"] in result.cause
    assert "validation:auc" in result.cause and result.called(":describeTrainingJob") == []


def test_a_failure_without_a_described_job_keeps_its_cause_and_request_errors_are_not_caught(definitions):
    def undescribed(resource, params):
        raise TaskFailed("States.TaskFailed", "Task timed out")

    result = run(definitions["churn"], {}, undescribed)
    assert (result.visited[-1], result.error, result.cause) == (
        "Tuning task failed",
        "TuningFailed",
        "Task timed out",
    )

    def refused(resource, params):
        raise TaskFailed("SageMaker.ValidationException", "The objective metric is not valid")

    result = run(definitions["churn"], {}, refused)
    assert (result.visited, result.error) == (["Tune model"], "SageMaker.ValidationException")


def test_throttling_is_retried(definitions):
    state = definitions["churn"]["States"]["Tune model"]
    (retry,) = state["Retry"]
    assert set(retry["ErrorEquals"]) == {
        "SageMaker.AmazonSageMakerException",
        "SageMaker.ThrottlingException",
    }
    assert [catch["ErrorEquals"] for catch in state["Catch"]] == [["States.TaskFailed"]]


# ---- IAM -------------------------------------------------------------------------------------


def granted(template: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for action in actions:
                found.setdefault(action, []).extend(render_tokens(r) for r in resources)
    return found


def test_state_machine_may_touch_only_this_models_tuning_and_training_jobs(templates):
    prefix = tuning_job_prefix(ENVIRONMENT, "churn")
    actions = granted(templates["churn"])
    tuning_jobs = f"{ARN}:hyper-parameter-tuning-job/{prefix}-*"
    for action in ("Create", "Describe", "Stop"):
        assert actions[f"sagemaker:{action}HyperParameterTuningJob"] == [tuning_jobs]
    assert actions["sagemaker:AddTags"] == [tuning_jobs]
    training_jobs = f"{ARN}:training-job/{prefix}-*"
    assert set(actions["sagemaker:DescribeTrainingJob"]) == {training_jobs}
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{SYNC_RULE}"
    assert actions["events:PutRule"] == [rule]
    assert not [action for action in actions if action.endswith(":*")]
    other = tuning_job_prefix(ENVIRONMENT, "churn-script")
    assert other not in json.dumps(templates["churn"])


def test_script_mode_json_encodes_categorical_values_as_the_sagemaker_sdk_does():
    tuning = TuningSettings.model_validate(
        {"ranges": {"booster": {"type": "categorical", "values": ["gbtree", 2]}}}
    )
    assert parameter_ranges(tuning, json_encoded=True) == {
        "CategoricalParameterRanges": [{"Name": "booster", "Values": ['"gbtree"', "2"]}]
    }
    assert parameter_ranges(tuning, json_encoded=False)["CategoricalParameterRanges"][0]["Values"] == [
        "gbtree",
        "2",
    ]
