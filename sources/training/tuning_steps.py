"""Hyperparameter tuning in the training pipeline: a SageMaker tuning job (.sync), then its best training job.

CDK has no task for CreateHyperParameterTuningJob, so "Tune model" is raw ASL on Step Functions'
SageMaker integration. Its result names the best training job but not its artifact or metrics, so
"Describe best training job" puts DescribeTrainingJob's answer at ``$.training``, where the training
pipeline's gate, registration and containers read a single training job's: they work unchanged.
"""

import hashlib
import json
import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sources.training.tuning_config import TuningSettings
from stacks import names
from stacks.constructs.pipeline import job_failure_states, unique_name
from stacks.nag import acknowledge_wildcard

TUNE_STATE = "Tune model"
DESCRIBE_BEST_STATE = "Describe best training job"
# SageMaker's limit on tuning job names; unique_name adds "-" and 12 hex digits to the prefix.
MAX_NAME_LENGTH = 32
UNIQUE_SUFFIX_LENGTH = 13
PREFIX_LENGTH = 12
PREFIX_PATTERN = re.compile(r"^[a-z0-9]+$")
# Step Functions waits on tuning jobs through this rule, which it creates and manages itself.
SYNC_RULE = "StepFunctionsGetEventsForSageMakerTuningJobsRule"
RETRYABLE_SAGEMAKER_ERRORS = ["SageMaker.AmazonSageMakerException", "SageMaker.ThrottlingException"]
NO_REASON = "SageMaker gave no FailureReason"


def tuning_job_prefix(environment_name: str, model_label: str) -> str:
    """Twelve lowercase letters and digits naming this model's tuning jobs: its label's start and a hash.

    ``mlkit-<env>-<model>`` can be 43 characters, far over SageMaker's 32 for a tuning job name; the
    hash keeps prefixes of different models (and environments) apart, so IAM can scope by prefix.
    """
    endpoint = names.endpoint_name(environment_name, model_label)
    digest = hashlib.sha256(f"tuning:{endpoint}".encode()).hexdigest()
    return (model_label.replace("-", "")[:5] + digest)[:PREFIX_LENGTH]


def _check_prefix(job_prefix: str) -> None:
    if not PREFIX_PATTERN.match(job_prefix) or len(job_prefix) + UNIQUE_SUFFIX_LENGTH > MAX_NAME_LENGTH:
        raise ValueError(
            f"tuning job prefix {job_prefix!r} must be lowercase letters and digits, at most "
            f"{MAX_NAME_LENGTH - UNIQUE_SUFFIX_LENGTH} characters (see tuning_job_prefix)"
        )


def _number(value: float, kind: str) -> str:
    return str(int(value)) if kind == "integer" else repr(float(value))


def parameter_ranges(tuning: TuningSettings, *, json_encoded: bool) -> dict[str, list[dict]]:
    """HyperParameterTuningJobConfig.ParameterRanges. Script mode JSON-encodes categorical values,
    as the sagemaker SDK does for framework estimators; numbers arrive as plain strings either way."""
    ranges: dict[str, list[dict]] = {}
    for name, tuning_range in tuning.ranges.items():
        if tuning_range.type == "categorical":
            values = [json.dumps(v) if json_encoded else str(v) for v in tuning_range.values or []]
            ranges.setdefault("CategoricalParameterRanges", []).append({"Name": name, "Values": values})
            continue
        group = "IntegerParameterRanges" if tuning_range.type == "integer" else "ContinuousParameterRanges"
        ranges.setdefault(group, []).append(
            {
                "Name": name,
                "MinValue": _number(tuning_range.minimum, tuning_range.type),
                "MaxValue": _number(tuning_range.maximum, tuning_range.type),
                "ScalingType": tuning_range.scaling,
            }
        )
    return ranges


def tuning_job_definition(training_job_definition: dict, *, tuning: TuningSettings, key_arn: str) -> dict:
    """The tuning job's TrainingJobDefinition: the training job's, its tuned hyperparameters no longer static.

    Every training job the tuning job starts writes its model and volume encrypted with ``key_arn``.
    """
    definition = {key: value for key, value in training_job_definition.items() if key != "HyperParameters"}
    static = training_job_definition.get("HyperParameters", {})
    definition["StaticHyperParameters"] = {k: v for k, v in static.items() if k not in tuning.ranges}
    definition["OutputDataConfig"] = {**definition["OutputDataConfig"], "KmsKeyId": key_arn}
    definition["ResourceConfig"] = {**definition["ResourceConfig"], "VolumeKmsKeyId": key_arn}
    return definition


def tuning_job_parameters(
    *,
    job_prefix: str,
    training_job_definition: dict,
    tuning: TuningSettings,
    objective_metric: str,
    direction: str,
    key_arn: str,
    model_label: str,
) -> dict:
    """CreateHyperParameterTuningJob's request; the name is new on every run (``<prefix>-<12 hex>``)."""
    _check_prefix(job_prefix)
    definition = tuning_job_definition(training_job_definition, tuning=tuning, key_arn=key_arn)
    script_mode = "sagemaker_program" in definition["StaticHyperParameters"]
    return {
        "HyperParameterTuningJobName.$": unique_name(job_prefix),
        "HyperParameterTuningJobConfig": {
            "Strategy": tuning.strategy,
            "HyperParameterTuningJobObjective": {"Type": direction, "MetricName": objective_metric},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": tuning.max_jobs,
                "MaxParallelTrainingJobs": tuning.max_parallel_jobs,
            },
            "ParameterRanges": parameter_ranges(tuning, json_encoded=script_mode),
            "TrainingJobEarlyStoppingType": tuning.early_stopping,
        },
        "TrainingJobDefinition": definition,
        "Tags": names.job_tags(model_label),
    }


def tuning_states(scope: Construct, *, job_prefix: str, parameters: dict) -> sfn.Chain:
    """Tune model (``$.tuning``) → Training job completed? → Describe best training job (``$.training``).

    ``parameters`` is the request ``tuning_job_parameters`` builds for ``job_prefix``. A failed or
    stopped tuning job ends in Fail "Tuning failed" with SageMaker's reason; a completed one without a
    best training job in Fail "No training job completed". The chain ends at "Describe best training
    job"; IAM is ``tuning_grants`` (the state is raw ASL).
    """
    objective = parameters["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    tune = sfn.CustomState(
        scope,
        TUNE_STATE,
        state_json={
            "Type": "Task",
            "Resource": f"arn:{cdk.Aws.PARTITION}:states:::sagemaker:createHyperParameterTuningJob.sync",
            "Parameters": parameters,
            "ResultPath": "$.tuning",
        },
    )
    tune.add_retry(errors=RETRYABLE_SAGEMAKER_ERRORS, interval=cdk.Duration.seconds(30), max_attempts=3)
    # .sync fails the task with States.TaskFailed when the job ends Failed or Stopped.
    tune.add_catch(_failure_states(scope), errors=["States.TaskFailed"], result_path="$.tuning_error")
    completed, describe = _best_job_states(
        scope, job_prefix=job_prefix, objective_metric=objective["MetricName"]
    )
    tune.next(completed)
    return sfn.Chain.custom(tune, [describe], describe)


def _best_job_states(
    scope: Construct, *, job_prefix: str, objective_metric: str
) -> tuple[sfn.Choice, sfn.State]:
    """Training job completed? → Describe best training job (``$.training``), else a Fail."""
    describe = tasks.CallAwsService(
        scope,
        DESCRIBE_BEST_STATE,
        service="sagemaker",
        action="describeTrainingJob",
        iam_action="sagemaker:DescribeTrainingJob",
        iam_resources=[tuned_training_jobs_arn(cdk.Stack.of(scope), job_prefix)],
        parameters={"TrainingJobName.$": "$.tuning.BestTrainingJob.TrainingJobName"},
        result_path="$.training",
    )
    describe.add_retry(errors=RETRYABLE_SAGEMAKER_ERRORS, interval=cdk.Duration.seconds(10), max_attempts=3)
    none_completed = sfn.Fail(
        scope,
        "No training job completed",
        error="NoTrainingJobCompleted",
        cause_path=sfn.JsonPath.format(
            f"Tuning job {{}} ended without a best training job: none completed and reported "
            f"{objective_metric}. See the FailureReason of its training jobs.",
            sfn.JsonPath.string_at("$.tuning.HyperParameterTuningJobName"),
        ),
    )
    completed = (
        sfn.Choice(scope, "Training job completed?")
        .when(sfn.Condition.is_present("$.tuning.BestTrainingJob.TrainingJobName"), describe)
        .otherwise(none_completed)
    )
    return completed, describe


def _failure_states(scope: Construct) -> sfn.IChainable:
    """Tuning failure described? → Read tuning failure → Tuning failure reason given? → Fail "Tuning failed".

    The .sync cause is DescribeHyperParameterTuningJob's answer as JSON text; any other cause is shown as is.
    """
    job = "$.tuning_failure.job"
    failed, no_reason = job_failure_states(
        scope,
        fail_id="Tuning failed",
        error="TuningFailed",
        job="Tuning job",
        name_path=f"{job}.HyperParameterTuningJobName",
        status_path=f"{job}.HyperParameterTuningJobStatus",
        reason_path=f"{job}.FailureReason",
        no_reason_id="No tuning reason given",
        no_reason=NO_REASON,
    )
    read = sfn.Pass(
        scope,
        "Read tuning failure",
        parameters={"job.$": "States.StringToJson($.tuning_error.Cause)"},
        result_path="$.tuning_failure",
    ).next(
        sfn.Choice(scope, "Tuning failure reason given?")
        .when(sfn.Condition.is_present(f"{job}.FailureReason"), failed)
        .otherwise(no_reason)
    )
    undescribed = sfn.Fail(
        scope, "Tuning task failed", error="TuningFailed", cause_path="$.tuning_error.Cause"
    )
    return (
        sfn.Choice(scope, "Tuning failure described?")
        .when(sfn.Condition.string_matches("$.tuning_error.Cause", "{*"), read)
        .otherwise(undescribed)
    )


def tuning_jobs_arn(stack: cdk.Stack, job_prefix: str) -> str:
    return stack.format_arn(
        service="sagemaker", resource="hyper-parameter-tuning-job", resource_name=f"{job_prefix}-*"
    )


def tuned_training_jobs_arn(stack: cdk.Stack, job_prefix: str) -> str:
    """SageMaker names a tuning job's training jobs ``<tuning job name>-<NNN>-<hash>``."""
    return stack.format_arn(service="sagemaker", resource="training-job", resource_name=f"{job_prefix}-*")


def tuning_grants(stack: cdk.Stack, job_prefix: str) -> list[iam.PolicyStatement]:
    """What "Tune model" (raw ASL, so no grant of its own) and its .sync wait need: this model's jobs only.

    PassRole for the training role and kms:CreateGrant for its volume key are the caller's, as for
    "Train model" (ModelPipeline.add_state_machine's ``job_role`` and ``job_volume_key``).
    """
    sync_rule = stack.format_arn(service="events", resource="rule", resource_name=SYNC_RULE)
    return [
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateHyperParameterTuningJob",
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:StopHyperParameterTuningJob",
                "sagemaker:AddTags",  # the Tags of the request
                "sagemaker:ListTags",
            ],
            resources=[tuning_jobs_arn(stack, job_prefix)],
        ),
        iam.PolicyStatement(
            actions=["sagemaker:DescribeTrainingJob"], resources=[tuned_training_jobs_arn(stack, job_prefix)]
        ),
        iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[sync_rule]
        ),
    ]


def tuning_wildcard_reasons(stack: cdk.Stack, job_prefix: str) -> dict[str, str]:
    """Each wildcard resource of ``tuning_grants``, with why cdk-nag's IAM5 finding on it is acceptable."""
    return {
        tuning_jobs_arn(stack, job_prefix): "Each run names its tuning job <prefix>-<random>; the grant "
        "covers this model's tuning jobs only (the prefix is a hash of the environment and model).",
        tuned_training_jobs_arn(stack, job_prefix): "SageMaker names a tuning job's training jobs "
        "<tuning job name>-<number>-<hash>; the grant covers the training jobs of this model's "
        "tuning jobs only.",
    }


def acknowledge_tuning_wildcards(policy: Construct, job_prefix: str) -> None:
    """Acknowledge the IAM5 findings ``tuning_grants`` raises on ``policy`` (the state machine role's)."""
    for resource, reason in tuning_wildcard_reasons(cdk.Stack.of(policy), job_prefix).items():
        acknowledge_wildcard(policy, resource, reason)
