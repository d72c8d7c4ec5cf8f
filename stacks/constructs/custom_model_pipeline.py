"""What every custom-trained model's stack shares, whether SageMaker training or Autopilot trains it."""

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import names
from stacks.config import AutopilotModel, TrainingModel
from stacks.constructs.execution_role import ExecutionRole, sagemaker_key_grants
from stacks.constructs.pipeline import PipelineStateMachine, prepare_step, start_when_dataset_prepared
from stacks.nag import acknowledge_wildcard

# CDK leaves a construct named "Default" out of its children's logical ids: built under it, the
# group, state machine, rule and outputs keep the ids they had when each stack built them itself,
# so moving them here replaces nothing that is deployed.
PIPELINE_ID = "Default"


class CustomModelPipeline(Construct):
    """A custom-trained model's pipeline, less the steps that train it: its data, its registry, its
    state machine and what starts it.

    Built at once: the curated and artifacts buckets (imported by name) and the model package group
    ``mlkit-<env>-<model>``. Built by ``add_state_machine`` once the stack has its own steps: the
    PipelineStateMachine (Prepare data? → those steps), created after the group; the state machine
    role's grants to pass the job role to SageMaker and to register versions in the group; with
    ``trigger: on_upload`` the rule that starts it when the dataset is prepared; the outputs
    StateMachineArn and EndpointName.

    Props (keyword-only, all required):
      environment_name, model_label: name the endpoint, group and state machine.
      model: the config entry; its ``dataset`` and ``trigger`` are read here.
      key: the data stack's key.
      bucket_names: the data stack's bucket names by kind ("curated", "artifacts", ...).
      glue_job_name: the dataset's Glue job, which "Prepare data?" runs; None for a dataset its own
        Processing job or Data Wrangler flow prepares (a manual prepare then fails, naming its pipeline).
      curated_prefixes: the dataset's curated prefixes by format.
      package_group_description: what the group holds.

    Build it with the id ``PIPELINE_ID`` (see there). Exposes ``prefix``, ``key``, ``curated``,
    ``artifacts``, ``curated_prefixes``, ``group``, ``package_arn`` (the group's versions); and after
    ``add_state_machine``, ``state_machine``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        model_label: str,
        model: TrainingModel | AutopilotModel,
        key: kms.IKey,
        bucket_names: dict[str, str],
        glue_job_name: str | None,
        curated_prefixes: dict[str, str],
        package_group_description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.environment_name = environment_name
        self.model = model
        self.key = key
        self.glue_job_name = glue_job_name
        self.curated_prefixes = curated_prefixes
        self.prefix = names.endpoint_name(environment_name, model_label)
        self.curated = s3.Bucket.from_bucket_name(self, "Curated", bucket_names["curated"])
        self.artifacts = s3.Bucket.from_bucket_name(self, "Artifacts", bucket_names["artifacts"])
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=self.prefix,
            model_package_group_description=package_group_description,
        )
        self.package_arn = cdk.Stack.of(self).format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{self.prefix.lower()}/*"
        )
        self.state_machine: sfn.StateMachine | None = None

    def add_state_machine(
        self,
        *,
        steps: sfn.IChainable,
        timeout: cdk.Duration,
        job_role: ExecutionRole,
        job_volume_key: kms.IKey | None = None,
        grants: Sequence[iam.PolicyStatement] = (),
    ) -> sfn.StateMachine:
        """The state machine running "Prepare data?" then ``steps``, bounded by ``timeout``.

        ``job_role`` is the role the pipeline's SageMaker job runs as: the state machine may pass it
        to SageMaker. ``job_volume_key`` (default none) is given when the state machine itself
        creates a job with volumes encrypted by that key, so SageMaker creates grants as its role
        (a training job; Autopilot creates its jobs as the job role instead). ``grants`` (default
        none) are what ``steps`` need beyond what their task constructs grant (a raw ASL state's).
        """
        pipeline = PipelineStateMachine(
            self,
            "Pipeline",
            state_machine_name=self.prefix,
            definition=prepare_step(
                self,
                glue_job_name=self.glue_job_name,
                next_step=steps,
                dataset_pipeline=names.dataset_state_machine_name(self.environment_name, self.model.dataset),
            ),
            timeout=timeout,
        )
        self.state_machine = pipeline.state_machine
        self.state_machine.node.add_dependency(self.group)
        statements = [*grants, job_role.pass_to_sagemaker()]
        if job_volume_key is not None:
            statements.append(sagemaker_key_grants(job_volume_key))
        for statement in statements:
            pipeline.role.add_to_principal_policy(statement)
        acknowledge_wildcard(
            pipeline.role.node.find_child("DefaultPolicy"),
            self.package_arn,
            "SageMaker numbers model package versions; the grant covers this model's package group only.",
        )
        if self.model.trigger == "on_upload":
            start_when_dataset_prepared(
                self,
                "OnDatasetPrepared",
                state_machine=self.state_machine,
                environment_name=self.environment_name,
                dataset=self.model.dataset,
            )
        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "EndpointName", value=self.prefix)
        return self.state_machine
