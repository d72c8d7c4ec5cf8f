"""`make local`, champion/challenger: the pipeline's registry steps against the emulator's registry.

As the deployed state machine's role (mlkit/access decides each call): find the champion (the group's
newest Approved package) and its registered score, decide with sources/training/champion.py, register
the candidate Approved or Rejected with the metadata the deployed "Register model package" state
writes. Then a challenger, the same model trained for one round, must be kept out with the reason,
and the endpoint must still serve the champion's artifact.
"""

import json
from dataclasses import dataclass

from mlkit import deployed_roles, local_training
from mlkit.local_context import Run
from mlkit.report import StepFailed
from sources.training import champion

REGISTER_STATE = "Register model package"
CHALLENGER_STEP = "challenger (1 round) kept out by the champion"
# The challenger: the champion's own hyperparameters, one boosting round instead of num_round.
CHALLENGER_CHANGES = {"num_round": "1"}


@dataclass(frozen=True)
class Decision:
    approved: bool
    reason: str
    champion: str  # the champion's package ARN, or champion.NO_CHAMPION
    champion_value: str


def registry(run: Run, label: str):
    """SageMaker as the model's state machine role, which runs the registry steps."""
    return run.clients_as(lambda: deployed_roles.model_pipeline(run, label)["roleArn"], f"{label} pipeline")(
        "sagemaker"
    )


def register_parameters(run: Run, label: str) -> dict:
    """The deployed "Register model package" state's Parameters."""
    definition = json.loads(deployed_roles.model_pipeline(run, label)["definition"])
    return definition["States"][REGISTER_STATE]["Parameters"]


def static(template: dict) -> dict:
    """A Parameters template less its ``.$`` fields (what only an execution fills in)."""
    return {key: value for key, value in template.items() if not key.endswith(".$")}


def ensure_group(run: Run, group: str) -> None:
    """The stack's AWS::SageMaker::ModelPackageGroup, which moto's CloudFormation skips: created as
    CloudFormation would, with the run's own credentials, when the emulator lacks it."""
    sagemaker = run.clients("sagemaker")
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except sagemaker.exceptions.ClientError:
        sagemaker.create_model_package_group(
            ModelPackageGroupName=group, ModelPackageGroupDescription="created by make local for its stack"
        )


def find_champion(sagemaker, group: str) -> dict | None:
    """The group's newest Approved package, described; None for the first model."""
    listed = sagemaker.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )["ModelPackageSummaryList"]
    if not listed:
        return None
    return sagemaker.describe_model_package(ModelPackageName=listed[0]["ModelPackageArn"])


def served_url(described: dict) -> str | None:
    containers = described.get("InferenceSpecification", {}).get("Containers", [])
    return containers[0].get("ModelDataUrl") if containers else None


def decide(model, value: float, described: dict | None, validation_data: str) -> Decision:
    if described is None:
        return Decision(True, "no champion: the first model", champion.NO_CHAMPION, champion.NO_CHAMPION)
    metadata, arn = described.get("CustomerMetadataProperties", {}), described["ModelPackageArn"]
    if not champion.comparable(model, metadata, validation_data):
        raise StepFailed(
            f"the champion {arn} was not scored as this candidate is ({model.metric} on {validation_data}): "
            "nothing is compared or registered"
        )
    champion_value = metadata[champion.METRIC_VALUE]
    if champion.beats(model, value, float(champion_value)):
        return Decision(
            True, f"beats the champion {arn} ({champion_value} {champion.margin(model)})", arn, champion_value
        )
    return Decision(
        False, champion.kept_out_template(model).format(value, champion_value), arn, champion_value
    )


def register(
    sagemaker, parameters: dict, *, value: float, decision: Decision, model_data_url: str, job: str
) -> str:
    """CreateModelPackage as the deployed state writes it, Approved or Rejected by ``decision``."""
    specification = dict(parameters["InferenceSpecification"])
    specification["Containers"] = [
        {**static(container), "ModelDataUrl": model_data_url} for container in specification["Containers"]
    ]
    metadata = {
        **static(parameters["CustomerMetadataProperties"]),
        "training_job": job,
        champion.METRIC_VALUE: json.dumps(value),  # States.Format('{}', number) writes the number's JSON
        champion.CHAMPION: decision.champion,
        champion.CHAMPION_METRIC_VALUE: decision.champion_value,
    }
    return sagemaker.create_model_package(
        ModelPackageGroupName=parameters["ModelPackageGroupName"],
        ModelApprovalStatus="Approved" if decision.approved else "Rejected",
        ModelPackageDescription=f"{'Trained' if decision.approved else 'Kept out by the gate'}: "
        f"{decision.reason}; trained by {job}",
        InferenceSpecification=specification,
        CustomerMetadataProperties=metadata,
    )["ModelPackageArn"]


def compare_and_register(run: Run, label: str, model, value: float, model_data_url: str, job: str) -> tuple:
    """(Decision, the new package's ARN) for a candidate past the threshold."""
    sagemaker, parameters = registry(run, label), register_parameters(run, label)
    ensure_group(run, parameters["ModelPackageGroupName"])
    validation_data = parameters["CustomerMetadataProperties"][champion.VALIDATION_DATA]
    described = find_champion(sagemaker, parameters["ModelPackageGroupName"])
    if described and served_url(described) == model_data_url:  # a rerun: the same model.tar.gz
        reason = f"already the champion {described['ModelPackageArn']} (the same model.tar.gz)"
        return Decision(True, reason, champion.NO_CHAMPION, champion.NO_CHAMPION), described[
            "ModelPackageArn"
        ]
    decision = decide(model, value, described, validation_data)
    arn = register(
        sagemaker, parameters, value=value, decision=decision, model_data_url=model_data_url, job=job
    )
    return decision, arn


def challenge(row, run: Run, label: str, model, outcome: dict) -> None:
    """Train the challenger on the same channels, gate it as the pipeline would: it must be kept out."""
    from sources.training.local import gate_verdict, training_s3

    weaker = model.model_copy(update={"hyperparameters": {**model.hyperparameters, **CHALLENGER_CHANGES}})
    trained = local_training.train_model(weaker, channels=outcome["channels"])
    value = trained.metrics[model.metric]
    threshold = gate_verdict(model, trained.metrics)  # below the threshold: StepFailed, nothing compared
    s3 = training_s3(run, label)
    key = local_training.archive_key(label, trained.archive)
    s3.put_object(Bucket=run.bucket("artifacts"), Key=key, Body=trained.archive)
    url = f"s3://{run.bucket('artifacts')}/{key}"
    decision, arn = compare_and_register(run, label, model, value, url, f"{label}-local-challenger")
    if decision.approved:
        raise StepFailed(
            f"the one-round challenger {decision.reason}: the champion/challenger row shows nothing"
        )
    outcome.update(challenger_url=url, challenger_arn=arn)
    row.metric = f"{model.metric} {value:.4f} vs {float(decision.champion_value):.4f}"
    row.detail = (
        f"the same model with num_round {CHALLENGER_CHANGES['num_round']} instead of "
        f"{model.hyperparameters['num_round']}: {threshold.removesuffix(': deploy')}, "
        f"but {decision.reason} → "
        f"registered {arn} as Rejected with that reason; not deployed (the pipeline's 'Champion kept' fails "
        "with the same cause)"
    )


def still_serving(row, run: Run, label: str, outcome: dict) -> None:
    """The endpoint serves the champion's artifact and the registry's newest Approved package is it."""
    sagemaker = run.clients("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=run.endpoint_name(label))
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    served = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    containers = served.get("Containers") or [served["PrimaryContainer"]]
    urls = [container.get("ModelDataUrl") for container in containers]
    group = register_parameters(run, label)["ModelPackageGroupName"]
    newest = find_champion(sagemaker, group)
    if urls != [outcome["model_data_url"]] or outcome["challenger_url"] in urls:
        raise StepFailed(
            f"{endpoint['EndpointName']} serves {urls}, not the champion's {outcome['model_data_url']}"
        )
    if newest is None or newest["ModelPackageArn"] != outcome["champion_arn"]:
        raise StepFailed(
            f"the newest Approved package of {group} is not the champion {outcome['champion_arn']}"
        )
    row.detail = (
        f"{endpoint['EndpointName']} ({endpoint['EndpointStatus']}) serves {urls[0]}, "
        "the champion's artifact; "
        f"{group}'s newest Approved package is still {outcome['champion_arn']}"
    )
