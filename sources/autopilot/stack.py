"""An Autopilot model: AutoML V2 on a curated dataset, its best candidate registered and deployed."""

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sources.autopilot.config import AutopilotModel
from sources.autopilot.steps import MARGIN_SECONDS, AutopilotJob, InferenceOutput, job_name_prefix
from stacks import names
from stacks.constructs.execution_role import ExecutionRole
from stacks.images import huggingface_uri, xgboost_uri
from stacks.model_stack import PipelineStack
from stacks.nag import acknowledge_wildcard

CSV = "text/csv"
# Autopilot's candidates write to the shared SageMaker job log groups, one stream per job.
JOB_LOG_GROUPS = [
    names.PROCESSING_LOG_GROUP,
    names.TRAINING_LOG_GROUP,
    names.TRANSFORM_LOG_GROUP,
]
# What Autopilot runs under the job's role, each named after the AutoML job.
SUB_JOBS = ["ProcessingJob", "TrainingJob", "TransformJob", "HyperParameterTuningJob"]
# Beyond Autopilot's own bound: a Glue run when started with {"prepare": true}, and the deploy wait.
EXTRA_RUN_HOURS = 8


class AutopilotModelStack(PipelineStack):
    """``mlkit-<env>-<model>``: the state machine that turns a curated dataset into an Autopilot endpoint.

    States: Prepare data? (the dataset's Glue job, only for ``{"prepare": true}``) → AutopilotJob
    (name, start, poll until Completed; Failed, Stopped or the bound end in a Fail) → InferenceOutput
    (only when the output is more than Autopilot's default predicted_label) → Register model package
    → DeploySteps (the deploy Lambda with the container list; wait for InService) → Deployed.
    With ``trigger: on_upload`` a rule starts it when the dataset stack announces a prepared dataset.

    Takes PipelineStack's props, with a ``dataset`` (its ``autopilot`` curated prefix is the headered
    CSV); what it shares with the other pipelines (buckets, group, state machine, trigger, outputs) is
    its ``pipeline``, a ModelPipeline. Exposes ``state_machine``, ``job`` (AutopilotJob), ``deploy``
    (DeploySteps), ``job_prefix``, ``prefix``, ``job_role`` and ``model_role`` (ExecutionRoles).
    """

    holds = "best candidates of {label}"

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        model, model_label, key = self.model, self.model_label, self.key
        curated_prefixes = self.pipeline.dataset.curated_prefixes
        self.job_prefix = job_name_prefix(self.environment_name, model_label)
        curated, artifacts = self.pipeline.curated, self.pipeline.artifacts
        input_prefix = curated_prefixes["autopilot"]
        self.output_prefix = f"models/{model_label}/autopilot/"
        self._roles(curated, input_prefix, artifacts)
        self.job = AutopilotJob(
            self,
            "Autopilot",
            model=model,
            job_prefix=self.job_prefix,
            role=self.job_role.role,
            input_uri=curated.s3_url_for_object(input_prefix),
            output_uri=artifacts.s3_url_for_object(self.output_prefix),
            key_arn=key.key_arn,
            tags=names.model_tags(model_label),
        )
        self.add_deploy_steps(execution_role=self.model_role, containers_path="$.best.containers")
        self.state_machine = self.pipeline.add_state_machine(
            steps=self._definition(model),
            timeout=cdk.Duration.seconds(model.max_total_runtime + MARGIN_SECONDS + EXTRA_RUN_HOURS * 3600),
            job_role=self.job_role,  # Autopilot creates its jobs, and their volume grants, as this role
        )
        self._acknowledge_automl_jobs()
        cdk.CfnOutput(self, "AutopilotJobPrefix", value=self.job_prefix)

    def _acknowledge_automl_jobs(self) -> None:
        """The state machine's grant on AutoML jobs (from AutopilotJob's tasks) is by name prefix."""
        acknowledge_wildcard(
            self.state_machine.role.node.find_child("DefaultPolicy"),
            self.job.job_arn_pattern,
            "Each run names its AutoML job <10-character model prefix>-<random>; the grant covers "
            "this model's jobs only.",
        )

    def _roles(self, curated: s3.IBucket, input_prefix: str, artifacts: s3.IBucket) -> None:
        """The role Autopilot's jobs run as, and the one the endpoint's containers run as."""
        self.job_role = ExecutionRole(self, "AutopilotRole", description=f"Autopilot runs {self.prefix} jobs")
        self._grant_job_role(curated, input_prefix, artifacts)
        self.model_role = ExecutionRole(self, "ModelRole", description=f"SageMaker hosts {self.prefix}")
        self.model_role.allow_prefixes(artifacts, read=[self.output_prefix])
        self.model_role.allow_key_use(self.key)
        self.model_role.allow_registry_pulls(self._candidate_images())

    def _definition(self, model: AutopilotModel) -> sfn.IChainable:
        register = self._register()
        chain = self.job.chain
        keys = model.resolved_inference_output
        if keys != ["predicted_label"]:  # predicted_label alone is how Autopilot ships its containers
            chain = chain.next(InferenceOutput(self, "InferenceOutput", keys=keys).chain)
        return chain.next(register).next(self.deploy.chain).next(sfn.Succeed(self, "Deployed"))

    def _register(self) -> tasks.CallAwsService:
        """CreateModelPackage with the best candidate's containers, approved: Autopilot chose it."""
        return self.pipeline.register_state(
            description="States.Format('Autopilot job {}, best candidate {}', $.job.name, $.best.candidate)",
            specification={
                "Containers.$": "$.best.containers",
                "SupportedContentTypes": [CSV],
                "SupportedResponseMIMETypes": [CSV],
            },
            metadata={"automl_job.$": "$.job.name", "candidate.$": "$.best.candidate"},
        )

    def _grant_job_role(self, curated: s3.IBucket, input_prefix: str, artifacts: s3.IBucket) -> None:
        role = self.job_role
        role.allow_prefixes(curated, read=[input_prefix])
        role.allow_prefixes(artifacts, read=[self.output_prefix], write=[self.output_prefix])
        role.allow_key_use(self.key)
        for group in JOB_LOG_GROUPS:
            role.allow_logs(group)
        role.allow_registry_pulls(self._candidate_images())
        role.allow_sagemaker_jobs(SUB_JOBS, name_prefix=self.job_prefix)
        role.allow_passing_itself()  # Autopilot passes its own role on to the jobs it starts
        role.allow_listing(curated, input_prefix)
        role.allow_listing(artifacts, self.output_prefix)
        role.allow_job_volume_key_grants(self.key)

    def _candidate_images(self) -> list[str]:
        """One image of each AWS registry Autopilot's candidates come from, in this region."""
        return [
            xgboost_uri(self.region, version="3.0-5"),  # its registry also holds sagemaker-sklearn-automl
            # The framework (DLC) registry also holds autogluon-inference, ensembling's container.
            huggingface_uri(self.region, transformers_version=None, pytorch_version=None, gpu=False),
        ]


STACK = AutopilotModelStack
