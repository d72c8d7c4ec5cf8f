"""Pieces every dataset-driven pipeline (training, Autopilot) shares: its state machine, its
"prepare data?" step, its trigger, and unique job names.

A dataset's Glue job runs once per upload (the dataset stack's own state machine), which then
puts a "Dataset Prepared" event on the default bus; every on_upload model of that dataset starts
from it. A manual run (``{"prepare": true}``) runs the Glue job inside the model's own pipeline,
which puts no such event, so it never starts the other models of the dataset, nor itself again.
"""

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks import names
from stacks.nag import acknowledge

DATASET_EVENT_SOURCE = "mlkit.dataset"
DATASET_PREPARED = "Dataset Prepared"


def unique_name(prefix: str) -> str:
    """A JSONPath intrinsic giving ``<prefix>-<12 hex digits>``, new on every evaluation.

    Twelve random hex digits (48 bits) keep ``mlkit-<env>-<model>-…`` within SageMaker's 63
    characters (a whole UUID would not fit); IAM scopes jobs by ``<prefix>-*``.
    """
    uuid_part = "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), {})"
    return f"States.Format('{prefix}-{{}}{{}}', {uuid_part.format(0)}, {uuid_part.format(1)})"


def sync_job_grants(scope: Construct, *, job_kind: str, jobs_arn: str) -> list[iam.PolicyStatement]:
    """What a state machine needs to run SageMaker jobs of ``job_kind`` ("TrainingJob", "ProcessingJob")
    named ``jobs_arn`` with .sync: create, describe, stop and tag them, and the EventBridge rule Step
    Functions manages to learn that one ended (docs: step-functions/latest/dg/sagemaker-iam)."""
    sync_rule = cdk.Stack.of(scope).format_arn(
        service="events", resource="rule", resource_name=f"StepFunctionsGetEventsForSageMaker{job_kind}sRule"
    )
    verbs = (f"Create{job_kind}", f"Describe{job_kind}", f"Stop{job_kind}", "AddTags")
    return [
        iam.PolicyStatement(actions=[f"sagemaker:{verb}" for verb in verbs], resources=[jobs_arn]),
        iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[sync_rule]
        ),
    ]


def job_failure_states(
    scope: Construct,
    *,
    fail_id: str,
    error: str,
    job: str,
    name_path: str,
    status_path: str,
    reason_path: str,
    no_reason_id: str,
    no_reason: str,
) -> tuple[sfn.Fail, sfn.Pass]:
    """Fail ``fail_id`` whose cause reads "<job> <name> is <status>: <FailureReason>", and the Pass
    ``no_reason_id`` before it that writes ``no_reason`` at ``reason_path``: a stopped SageMaker job may
    carry no FailureReason, and the Fail state's cause needs one."""
    failed = sfn.Fail(
        scope,
        fail_id,
        error=error,
        cause_path=sfn.JsonPath.format(
            f"{job} {{}} is {{}}: {{}}",
            sfn.JsonPath.string_at(name_path),
            sfn.JsonPath.string_at(status_path),
            sfn.JsonPath.string_at(reason_path),
        ),
    )
    filled = sfn.Pass(
        scope, no_reason_id, result=sfn.Result.from_string(no_reason), result_path=reason_path
    ).next(failed)
    return failed, filled


def dataset_prepared_pattern(*, environment_name: str, dataset: str) -> events.EventPattern:
    """The event the dataset stack puts when its Glue job has curated a new upload."""
    return events.EventPattern(
        source=[DATASET_EVENT_SOURCE],
        detail_type=[DATASET_PREPARED],
        detail={"environment": [environment_name], "dataset": [dataset]},
    )


def start_when_dataset_prepared(
    scope: Construct,
    construct_id: str,
    *,
    state_machine: sfn.IStateMachine,
    environment_name: str,
    dataset: str,
) -> events.Rule:
    """A rule that starts ``state_machine`` with ``{"prepare": false, "dataset_run": <detail>}``."""
    return events.Rule(
        scope,
        construct_id,
        description=f"Start {cdk.Names.unique_id(state_machine)} when dataset {dataset} is prepared",
        event_pattern=dataset_prepared_pattern(environment_name=environment_name, dataset=dataset),
        targets=[
            targets.SfnStateMachine(
                state_machine,
                input=events.RuleTargetInput.from_object(
                    {"prepare": False, "dataset_run": events.EventField.from_path("$.detail")}
                ),
            )
        ],
    )


def prepare_step(
    scope: Construct, *, glue_job_name: str | None, next_step: sfn.IChainable, dataset_pipeline: str = ""
) -> sfn.Choice:
    """Choice "Prepare data?": with ``{"prepare": true}`` in the input, run the dataset's Glue job
    (.sync, result at ``$.glue``) before ``next_step``; otherwise go straight to ``next_step``.

    A dataset prepared by a Processing job or a Data Wrangler flow (``glue_job_name`` None) is prepared
    by its own state machine, ``dataset_pipeline``: a manual prepare here ends in a Fail saying so."""
    requested = sfn.Condition.and_(
        sfn.Condition.is_present("$.prepare"), sfn.Condition.boolean_equals("$.prepare", True)
    )
    if glue_job_name is None:
        elsewhere = sfn.Fail(
            scope,
            "Prepared elsewhere",
            error="PreparedByItsOwnPipeline",
            cause=f"This dataset is prepared by its own state machine {dataset_pipeline}: start that one; "
            "its Dataset Prepared event starts this pipeline (trigger: on_upload).",
        )
        return sfn.Choice(scope, "Prepare data?").when(requested, elsewhere).otherwise(next_step)
    run = tasks.GlueStartJobRun(
        scope,
        "Run Glue job",
        glue_job_name=glue_job_name,
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        result_path="$.glue",
        result_selector={"JobRunId.$": "$.Id", "JobRunState.$": "$.JobRunState"},
    )
    return sfn.Choice(scope, "Prepare data?").when(requested, run.next(next_step)).otherwise(next_step)


class PipelineStateMachine(Construct):
    """A state machine with execution logging (level ALL) and X-Ray tracing on.

    ``timeout`` (default 12 hours) bounds a whole run. Exposes ``state_machine`` and ``log_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_name: str,
        definition: sfn.IChainable,
        timeout: cdk.Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=names.state_machine_log_group(state_machine_name),
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=timeout or cdk.Duration.hours(12),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )
        acknowledge(
            self.state_machine.role.node.find_child("DefaultPolicy"),
            "IAM5[Resource::*]",
            "X-Ray trace writes and CloudWatch Logs delivery setup (logs:CreateLogDelivery and related) "
            "have no resource-level permissions; every other grant of this role names its resource.",
        )

    @property
    def role(self) -> iam.IRole:
        return self.state_machine.role
