"""One dataset shared by training and Autopilot models: its prepare job runs once per upload."""

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks import names
from stacks.config.datasets import GLUE, DatasetDefinition, DatasetSettings
from stacks.config.flow_file import ANY_BUCKET, check_flow
from stacks.constructs.glue_prepare_job import GluePrepareJob, job_arguments
from stacks.constructs.pipeline import DATASET_EVENT_SOURCE, DATASET_PREPARED, PipelineStateMachine
from stacks.constructs.processing_prepare_job import RESULT_PATH, ProcessingPrepareJob

# Under curated/<dataset>/, as jobs/glue/transform.py writes them (a test keeps the two in step).
CURATED_OUTPUTS = {
    "xgboost_train": "xgboost/train/",
    "xgboost_validation": "xgboost/validation/",
    "autopilot": "autopilot/",
    "parquet": "parquet/",
    "schema": "metadata/schema.json",
}


# A Glue run is short; a Processing run is bounded by its max_runtime, plus this for the rest.
GLUE_TIMEOUT = cdk.Duration.hours(3)
PROCESSING_SLACK_SECONDS = 3600


class DatasetStack(cdk.Stack):
    """``mlkit-<env>-dataset-<dataset>``: the dataset's prepare job and the pipeline that runs it.

    An upload under ``<raw bucket>/<dataset>/`` starts the "prepare" state machine, which runs the
    prepare job and then puts a "Dataset Prepared" event (source ``mlkit.dataset``) on the default bus;
    every on_upload model of the dataset starts from that event (see constructs/pipeline.py).
    ``settings`` (its ``datasets:`` entry; default Glue) picks the job: the Glue job, or Processing jobs
    (constructs/processing_prepare_job.py), for a Data Wrangler flow the flow's S3 sources. Every way
    puts the same event, with the same detail keys: for Processing, ``glue_job_name`` holds the jobs'
    name prefix and ``glue_job_run_id`` the name of the job that wrote the curated layout.

    ``definition`` is what the dataset is (``MlKitConfig.datasets``, on which every model using it
    agrees): its target, column types, features and validation fraction become the job's default
    arguments. ``key`` must be the data stack's own
    ``kms.Key`` (its policy gains CloudWatch Logs' use for Glue log groups). ``workers``
    (default: the settings', 2) bounds the Glue fleet.
    Exposes ``prepare`` (glue, processing or data_wrangler), ``glue_job_name`` (literal; the Glue job
    exists only when ``prepare`` is glue), ``prepare_job_name`` (the Glue job, or the Processing jobs'
    name prefix), ``curated_prefixes`` (kind → key prefix in the curated bucket) and ``state_machine``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        dataset: str,
        definition: DatasetDefinition,
        key: kms.Key,
        bucket_names: dict[str, str],
        database_name: str,
        workers: int | None = None,
        settings: DatasetSettings = GLUE,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.dataset = dataset
        self.prepare = settings.prepare
        self.glue_job_name = names.glue_job_name(environment_name, dataset)
        self.prepare_job_name = self.glue_job_name
        self.curated_prefixes = {kind: f"{dataset}/{path}" for kind, path in CURATED_OUTPUTS.items()}
        raw = s3.Bucket.from_bucket_name(self, "Raw", bucket_names["raw"])
        curated = s3.Bucket.from_bucket_name(self, "Curated", bucket_names["curated"])
        table = dataset.replace("-", "_")
        arguments = job_arguments(
            dataset=dataset,
            raw_bucket=bucket_names["raw"],
            curated_bucket=bucket_names["curated"],
            database=database_name,
            table=table,
            definition=definition,
        )
        run, timeout = self._prepare_job(
            environment_name, key, raw, curated, database_name, table, arguments, workers, settings
        )
        pipeline = PipelineStateMachine(
            self,
            "Prepare",
            state_machine_name=names.dataset_state_machine_name(environment_name, dataset),
            definition=self._definition(environment_name, run, settings.prepare),
            timeout=timeout,
        )
        self.state_machine = pipeline.state_machine
        if settings.prepare != "glue":
            self.job.grant_start(pipeline.role)
        self._upload_rule(bucket_names["raw"])
        output = "GlueJobName" if settings.prepare == "glue" else "ProcessingJobPrefix"
        cdk.CfnOutput(self, output, value=self.prepare_job_name)
        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)

    def _prepare_job(
        self, environment_name, key, raw, curated, database_name, table, arguments, workers, settings
    ) -> tuple[sfn.IChainable, cdk.Duration]:
        """The dataset's preparation job (Glue, or a Processing job) and its run step and timeout."""
        if settings.prepare == "glue":
            self.job = GluePrepareJob(
                self,
                "GlueJob",
                job_name=self.glue_job_name,
                dataset=self.dataset,
                key=key,
                raw_bucket=raw,
                curated_bucket=curated,
                database=database_name,
                table=table,
                arguments=arguments,
                workers=workers or settings.resolved_workers,
            )
            run, timeout = self._glue_run(), GLUE_TIMEOUT
        else:
            self.job = ProcessingPrepareJob(
                self,
                "ProcessingJob",
                environment_name=environment_name,
                dataset=self.dataset,
                key=key,
                raw_bucket=raw,
                curated_bucket=curated,
                arguments=arguments,
                settings=settings,
                flow_sources=self._flow_sources(settings),
            )
            self.prepare_job_name = self.job.job_prefix
            run = self.job.chain
            timeout = cdk.Duration.seconds(self.job.runtime_seconds + PROCESSING_SLACK_SECONDS)
        return run, timeout

    def _flow_sources(self, settings: DatasetSettings) -> list:
        """The flow's S3 sources (the config load checked their bucket; the job reads the raw bucket)."""
        if settings.prepare != "data_wrangler":
            return []
        path, node = settings.flow_path, settings.output_node
        return check_flow(path, output_node=node, dataset=self.dataset, raw_buckets=ANY_BUCKET)

    def _glue_run(self) -> sfn.IChainable:
        run = tasks.GlueStartJobRun(
            self,
            "Run Glue job",
            glue_job_name=self.glue_job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            result_path="$.glue",
            result_selector={"JobRunId.$": "$.Id", "JobRunState.$": "$.JobRunState"},
        )
        run.add_retry(
            errors=["Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException"],
            interval=cdk.Duration.minutes(1),
            backoff_rate=2,
            max_attempts=5,
        )
        return run

    def _definition(self, environment_name: str, run: sfn.IChainable, prepare: str) -> sfn.IChainable:
        """``run`` (the prepare job or jobs), then the one "Dataset Prepared" event, whatever the job."""
        run_id = "$.glue.JobRunId" if prepare == "glue" else f"{RESULT_PATH}.ProcessingJobName"
        announce = tasks.EventBridgePutEvents(
            self,
            "Announce dataset prepared",
            entries=[
                tasks.EventBridgePutEventsEntry(
                    source=DATASET_EVENT_SOURCE,
                    detail_type=DATASET_PREPARED,
                    detail=sfn.TaskInput.from_object(
                        {
                            "environment": environment_name,
                            "dataset": self.dataset,
                            "glue_job_name": self.prepare_job_name,
                            "glue_job_run_id": sfn.JsonPath.string_at(run_id),
                            "curated_prefix": f"{self.dataset}/",
                        }
                    ),
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        return run.next(announce).next(sfn.Succeed(self, "Prepared"))

    def _upload_rule(self, raw_bucket_name: str) -> events.Rule:
        return events.Rule(
            self,
            "OnUpload",
            description=f"Prepare dataset {self.dataset} when an object lands under raw/{self.dataset}/",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [raw_bucket_name]},
                    "object": {"key": [{"prefix": f"{self.dataset}/"}]},
                },
            ),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    input=events.RuleTargetInput.from_object(
                        {"upload": events.EventField.from_path("$.detail.object.key")}
                    ),
                )
            ],
        )
