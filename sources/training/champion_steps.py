"""The training pipeline's champion/challenger states, after the threshold gate (training_steps).

Find champion (ListModelPackages: the group's newest Approved package) → Champion in service? → none:
No champion → the candidate registers as the first. Otherwise Describe champion → Champion comparable?
(its registered metric and validation data are the candidate's; if not, "Champion not comparable" fails
and nothing is registered) → Read champion → Beats the champion? → the candidate registers Approved, or
registers Rejected with the reason and "Champion kept" fails with it (the failure notification's cause).

"Beats the champion?" is the one JSONata state: the champion's score plus min_improvement is a sum,
and JSONPath's only arithmetic (States.MathAdd) rounds its arguments to integers.
"""

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sources.training import champion
from sources.training.config import TrainingModel

__all__ = [
    "CHAMPION_PATH",
    "COMPARISON_PATH",
    "beats_condition",
    "states_format",
    "champion_states",
    "comparison_metadata",
]

CHAMPION_PATH = "$.champion"  # ListModelPackages' summaries (packages) and the champion's description
COMPARISON_PATH = "$.comparison"  # what the candidate's package records about the champion
DESCRIBED = f"{CHAMPION_PATH}.package"
PROPERTIES = f"{DESCRIBED}.CustomerMetadataProperties"


def comparison_metadata() -> dict[str, str]:
    """The candidate's CustomerMetadataProperties that name the champion it was compared with."""
    return {
        f"{champion.CHAMPION}.$": f"{COMPARISON_PATH}.{champion.CHAMPION}",
        f"{champion.CHAMPION_METRIC_VALUE}.$": f"{COMPARISON_PATH}.{champion.CHAMPION_METRIC_VALUE}",
    }


def beats_condition(model: TrainingModel) -> str:
    """JSONata: the candidate's value beats the champion's by min_improvement (champion.beats)."""
    operator, sign = ("<", "-") if model.gate_lower_is_better else (">", "+")
    return (
        f"{{% $states.input.gate.value {operator} "
        f"$number($states.input.comparison.{champion.CHAMPION_METRIC_VALUE}) {sign} "
        f"{model.min_improvement!r} %}}"
    )


def states_format(template: str, *paths: str) -> str:
    """States.Format of ``template`` (quotes escaped as the intrinsic grammar wants) over ``paths``."""
    escaped = template.replace("\\", "\\\\").replace("'", "\\'")
    return f"States.Format('{escaped}', {', '.join(paths)})"


def _registry_reads(scope: Construct, *, group_name: str, package_arn: str) -> tuple:
    """ "Find champion" (the newest Approved version) and "Describe champion" (that version, by ARN)."""
    find = tasks.CallAwsService(
        scope,
        "Find champion",
        service="sagemaker",
        action="listModelPackages",
        iam_action="sagemaker:ListModelPackages",
        iam_resources=["*"],  # see the stack's acknowledgement: no ARN documented for this call
        parameters={
            "ModelPackageGroupName": group_name,
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
        },
        result_selector={"packages.$": "$.ModelPackageSummaryList"},
        result_path=CHAMPION_PATH,
    )
    version_arn = cdk.Stack.of(scope).format_arn(
        service="sagemaker", resource="model-package", resource_name=f"{group_name.lower()}/{{}}"
    )
    describe = tasks.CallAwsService(
        scope,
        "Describe champion",
        service="sagemaker",
        action="describeModelPackage",
        iam_action="sagemaker:DescribeModelPackage",
        iam_resources=[package_arn],
        parameters={
            "ModelPackageName.$": states_format(
                version_arn, f"{CHAMPION_PATH}.packages[0].ModelPackageVersion"
            )
        },
        result_path=DESCRIBED,
    )
    return find, describe


def _comparable(model: TrainingModel, validation_data: str) -> sfn.Condition:
    """champion.comparable, on the described champion's CustomerMetadataProperties."""
    value = f"{PROPERTIES}.{champion.METRIC_VALUE}"
    metric, data = f"{PROPERTIES}.{champion.METRIC}", f"{PROPERTIES}.{champion.VALIDATION_DATA}"
    return sfn.Condition.and_(
        sfn.Condition.is_present(metric),
        sfn.Condition.string_equals(metric, model.metric),
        sfn.Condition.is_present(data),
        sfn.Condition.string_equals(data, validation_data),
        sfn.Condition.is_present(value),
    )


def _fail_states(
    scope: Construct, *, model: TrainingModel, validation_data: str
) -> tuple[sfn.Fail, sfn.Fail]:
    """ "Champion not comparable" and "Champion kept", each with its reason as the cause."""
    not_comparable = sfn.Fail(
        scope,
        "Champion not comparable",
        error="ChampionNotComparable",
        cause_path=states_format(
            f"The champion {{}} was not scored as this candidate is ({model.metric} on {validation_data}), "
            "so the two are not compared and the candidate is not registered or deployed. Re-score the "
            "champion that way, or set its ModelApprovalStatus to Rejected so that the next run starts "
            "as the first model.",
            f"{DESCRIBED}.ModelPackageArn",
        ),
    )
    kept = sfn.Fail(
        scope,
        "Champion kept",
        error="ChampionNotBeaten",
        cause_path=states_format(
            champion.kept_out_template(model)
            + ": the champion {} stays in service; this candidate is registered as Rejected ({}).",
            "$.gate.value",
            f"{COMPARISON_PATH}.{champion.CHAMPION_METRIC_VALUE}",
            f"{COMPARISON_PATH}.{champion.CHAMPION}",
            "$.rejected.ModelPackageArn",
        ),
    )
    return not_comparable, kept


def champion_states(
    scope: Construct,
    *,
    model: TrainingModel,
    group_name: str,
    package_arn: str,
    validation_data: str,
    register: sfn.IChainable,
    register_rejected: sfn.INextable,
) -> sfn.IChainable:
    """The states between the threshold gate and ``register`` (the Approved registration, which reads
    ``comparison_metadata``). ``register_rejected`` registers a candidate kept out, then "Champion kept"
    fails with the reason. ``package_arn`` covers the group's versions; ``validation_data`` names the data
    the candidate's metric was computed on, which the champion's must match."""
    find, describe = _registry_reads(scope, group_name=group_name, package_arn=package_arn)
    first = sfn.Pass(
        scope,
        "No champion",
        parameters={
            champion.CHAMPION: champion.NO_CHAMPION,
            champion.CHAMPION_METRIC_VALUE: champion.NO_CHAMPION,
        },
        result_path=COMPARISON_PATH,
    )
    read = sfn.Pass(
        scope,
        "Read champion",
        parameters={
            f"{champion.CHAMPION}.$": f"{DESCRIBED}.ModelPackageArn",
            f"{champion.CHAMPION_METRIC_VALUE}.$": f"{PROPERTIES}.{champion.METRIC_VALUE}",
        },
        result_path=COMPARISON_PATH,
    )
    not_comparable, kept = _fail_states(scope, model=model, validation_data=validation_data)
    register_rejected.next(kept)
    beats = (
        sfn.Choice.jsonata(scope, "Beats the champion?")
        .when(sfn.Condition.jsonata(beats_condition(model)), register)
        .otherwise(register_rejected)
    )
    comparable = (
        sfn.Choice(scope, "Champion comparable?")
        .when(_comparable(model, validation_data), read.next(beats))
        .otherwise(not_comparable)
    )
    in_service = (
        sfn.Choice(scope, "Champion in service?")
        .when(sfn.Condition.is_present(f"{CHAMPION_PATH}.packages[0]"), describe.next(comparable))
        .otherwise(first.next(register))
    )
    return find.next(in_service)
