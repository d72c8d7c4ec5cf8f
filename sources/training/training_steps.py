"""The training pipeline's own states: train (SageMaker, .sync), gate on a metric, register."""

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sources.training.algorithms import TRAIN_SCRIPT, hyperparameters, metric_definitions, network_isolation
from sources.training.config import TrainingModel
from stacks import names
from stacks.constructs.pipeline import unique_name

__all__ = ["CSV", "TRAIN_SCRIPT", "gate_states", "training_job_definition", "training_job_state"]

CSV = "text/csv"


def training_job_definition(
    scope: Construct,
    *,
    model: TrainingModel,
    image: str,
    role_arn: str,
    key_arn: str,
    train_url: str,
    validation_url: str,
    output_url: str,
    source_url: str | None,
    environment: dict[str, str] | None = None,
) -> dict:
    """What a training job runs, in CreateTrainingJob's shape without its name and tags: "Train model"
    sends it as is, a tuning job as its TrainingJobDefinition (see tuning_steps).

    ``validation_url`` None gives one channel (a Hugging Face text model holds out its own);
    ``environment`` (default none) is the job's variables."""
    algorithm = {"TrainingImage": image, "TrainingInputMode": "File"}
    if model.algorithm != "xgboost":  # the built-in algorithm defines its own metrics
        algorithm["MetricDefinitions"] = metric_definitions(model)
    channels = [
        {
            "ChannelName": name,
            "ContentType": CSV,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": url,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
        for name, url in (("train", train_url), ("validation", validation_url))
        if url is not None
    ]
    definition = {
        "RoleArn": role_arn,
        "AlgorithmSpecification": algorithm,
        "HyperParameters": hyperparameters(model, source_url, cdk.Stack.of(scope).region),
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": output_url, "KmsKeyId": key_arn},
        "ResourceConfig": {
            "InstanceType": model.instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": key_arn,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": model.max_runtime},
        "EnableNetworkIsolation": network_isolation(model),
    }
    if environment:
        definition["Environment"] = environment
    return definition


def training_job_state(
    scope: Construct, *, job_prefix: str, model_label: str, definition: dict
) -> sfn.CustomState:
    """CreateTrainingJob (.sync) of ``definition`` (training_job_definition) as raw ASL, so its IAM is
    this stack's own prefix-scoped policy rather than the task construct's grant on every training job
    in the account."""
    parameters = {
        "TrainingJobName.$": unique_name(job_prefix),
        **definition,
        "Tags": names.job_tags(model_label),
    }
    state = sfn.CustomState(
        scope,
        "Train model",
        state_json={
            "Type": "Task",
            "Resource": f"arn:{cdk.Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync",
            "Parameters": parameters,
            "ResultPath": "$.training",
        },
    )
    state.add_retry(
        errors=["SageMaker.AmazonSageMakerException"], interval=cdk.Duration.seconds(30), max_attempts=3
    )
    return state


def gate_states(scope: Construct, *, model: TrainingModel, on_pass: sfn.IChainable) -> sfn.IChainable:
    """Read the metric from FinalMetricDataList and compare it with the threshold.

    A missing metric or a value on the wrong side of the threshold ends in a Fail state with the
    reason; only a pass continues to ``on_pass``.
    """
    metric, threshold = model.metric, model.threshold
    read = sfn.Pass(
        scope,
        "Read metric",
        parameters={"values.$": f"$.training.FinalMetricDataList[?(@.MetricName == '{metric}')].Value"},
        result_path="$.gate",
    )
    pick = sfn.Pass(
        scope,
        "Pick metric",
        parameters={
            "metric": metric,
            "threshold": threshold,
            "value.$": "States.ArrayGetItem($.gate.values, 0)",
        },
        result_path="$.gate",
    )
    missing = sfn.Fail(
        scope,
        "Metric missing",
        error="MetricMissing",
        cause=f"The training job reported no {metric}: check hyperparameters.eval_metric and the job's logs.",
    )
    side = "above" if model.gate_lower_is_better else "below"
    failed = sfn.Fail(
        scope,
        "Gate failed",
        error="GateFailed",
        cause_path=sfn.JsonPath.format(
            f"{metric} = {{}} is {side} the threshold {threshold}: the model is not registered or deployed.",
            sfn.JsonPath.string_at("$.gate.value"),
        ),
    )
    compare = (
        sfn.Condition.number_less_than_equals
        if model.gate_lower_is_better
        else (sfn.Condition.number_greater_than_equals)
    )
    gate = (
        sfn.Choice(scope, "Gate passed?").when(compare("$.gate.value", threshold), on_pass).otherwise(failed)
    )
    reported = (
        sfn.Choice(scope, "Metric reported?")
        .when(sfn.Condition.is_present("$.gate.values[0]"), pick.next(gate))
        .otherwise(missing)
    )
    return read.next(reported)
