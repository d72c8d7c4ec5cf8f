"""What every model pipeline shares (training, Autopilot, hub packaging): its registry, its state machine,
what starts it and its outputs."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks import names
from stacks.constructs.deploy_steps import DeploySteps
from stacks.constructs.execution_role import ExecutionRole, sagemaker_key_grants
from stacks.constructs.pipeline import PipelineStateMachine, prepare_step, start_when_dataset_prepared
from stacks.nag import acknowledge_wildcard

# CDK leaves a construct named "Default" out of its children's logical ids: built under it, the
# group, state machine, rule and outputs keep the ids they had when each stack built them itself,
# so moving them here replaces nothing that is deployed.
PIPELINE_ID = "Default"
# The stack statuses after which a pipeline with no dataset starts: CloudFormation created or updated it.
STACK_DEPLOYED = ["CREATE_COMPLETE", "UPDATE_COMPLETE"]


@dataclass(frozen=True)
class DatasetStart:
    """A pipeline that starts from one of the config's datasets.

    ``glue_job_name`` is the dataset's Glue job, which "Prepare data?" runs; None for a dataset its own
    Processing job or Data Wrangler flow prepares (a manual prepare then fails, naming its pipeline).
    ``trigger`` on_upload adds the rule that starts the pipeline when the dataset is prepared.
    """

    dataset: str
    curated_bucket_name: str
    curated_prefixes: Mapping[str, str]
    glue_job_name: str | None
    trigger: Literal["on_upload", "manual"]


class ModelPipeline(Construct):
    """A model's pipeline, less the steps that make its model: its buckets, its registry, its state
    machine and what starts it.

    Built at once: the artifacts bucket (imported by name; the curated one too for a ``dataset``) and
    the model package group ``mlkit-<env>-<model>``. Built by ``add_state_machine`` once the stack has
    its own steps: the PipelineStateMachine, created after the group (with a dataset, "Prepare data?"
    runs first); the state machine role's grants to pass the job role to SageMaker and to register
    versions in the group; what starts it (with a dataset and ``trigger: on_upload``, the dataset's
    Dataset Prepared event; without a dataset, CloudFormation finishing this stack's create or update,
    so `cdk deploy` alone ends with the endpoint on its way); the outputs StateMachineArn and EndpointName.

    Props (keyword-only):
      environment_name, model_label: name the endpoint, group and state machine.
      key: the data stack's key.
      artifacts_bucket_name: the data stack's artifacts bucket.
      package_group_description: what the group holds.
      dataset: a DatasetStart, or None (the default) for a pipeline that starts when its stack deploys.

    Build it with the id ``PIPELINE_ID`` (see there). Exposes ``prefix``, ``key``, ``artifacts``,
    ``curated`` (None without a dataset), ``group``, ``package_arn`` (the group's versions); after
    ``add_deploy_steps``, ``deploy``; and after ``add_state_machine``, ``state_machine``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        model_label: str,
        key: kms.IKey,
        artifacts_bucket_name: str,
        package_group_description: str,
        dataset: DatasetStart | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.environment_name = environment_name
        self.model_label = model_label
        self.key = key
        self.dataset = dataset
        self.prefix = names.endpoint_name(environment_name, model_label)
        self.curated = None
        if dataset is not None:
            self.curated = s3.Bucket.from_bucket_name(self, "Curated", dataset.curated_bucket_name)
        self.artifacts = s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name)
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

    def add_deploy_steps(
        self,
        *,
        hosting,
        deployer,
        execution_role: ExecutionRole,
        containers_path: str,
        network_isolation: bool = False,
    ) -> DeploySteps:
        """The steps that deploy the endpoint through the environment's ``deployer`` (DeployStack) with
        the containers at ``containers_path``, hosted as ``hosting`` says, run as ``execution_role``."""
        self.deploy = DeploySteps(
            self,
            "Deploy",
            endpoint_name=self.prefix,
            model_label=self.model_label,
            hosting=hosting,
            deployer=deployer,
            execution_role=execution_role,
            key=self.key,
            artifacts_bucket=self.artifacts,
            containers_path=containers_path,
            network_isolation=network_isolation,
        )
        return self.deploy

    def register_state(
        self,
        *,
        description: str,
        specification: dict,
        metadata: dict | None = None,
        approval: str = "Approved",
        state_name: str = "Register model package",
        result_path: str = "$.package",
    ) -> tasks.CallAwsService:
        """ "Register model package": CreateModelPackage in the group, approved (the pipeline's own steps
        decided), described by ``description`` (a States.Format expression), with the
        InferenceSpecification ``specification`` and, when given, CustomerMetadataProperties ``metadata``.
        ``approval`` (default Approved), ``state_name`` and ``result_path`` (default $.package) let a
        pipeline also record a candidate it kept out (Rejected) in a state of its own."""
        parameters = {
            "ModelPackageGroupName": self.prefix,
            "ModelApprovalStatus": approval,
            "ModelPackageDescription.$": description,
            "InferenceSpecification": specification,
        }
        if metadata:
            parameters["CustomerMetadataProperties"] = metadata
        return tasks.CallAwsService(
            self,
            state_name,
            service="sagemaker",
            action="createModelPackage",
            iam_action="sagemaker:CreateModelPackage",
            iam_resources=[self.package_arn],
            parameters=parameters,
            result_path=result_path,
        )

    def add_state_machine(
        self,
        *,
        steps: sfn.IChainable,
        timeout: cdk.Duration,
        job_role: ExecutionRole,
        job_volume_key: kms.IKey | None = None,
        grants: Sequence[iam.PolicyStatement] = (),
    ) -> sfn.StateMachine:
        """The state machine running ``steps`` (after "Prepare data?" with a dataset), bounded by ``timeout``.

        ``job_role`` is the role the pipeline's SageMaker job runs as: the state machine may pass it
        to SageMaker. ``job_volume_key`` (default none) is given when the state machine itself
        creates a job with volumes encrypted by that key, so SageMaker creates grants as its role
        (a training or processing job; Autopilot creates its jobs as the job role instead). ``grants``
        (default none) are what ``steps`` need beyond what their task constructs grant.
        """
        pipeline = PipelineStateMachine(
            self, "Pipeline", state_machine_name=self.prefix, definition=self._first(steps), timeout=timeout
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
        self._add_start()
        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "EndpointName", value=self.prefix)
        return self.state_machine

    def _first(self, steps: sfn.IChainable) -> sfn.IChainable:
        if self.dataset is None:
            return steps
        return prepare_step(
            self,
            glue_job_name=self.dataset.glue_job_name,
            next_step=steps,
            dataset_pipeline=names.dataset_state_machine_name(self.environment_name, self.dataset.dataset),
        )

    def _add_start(self) -> None:
        if self.dataset is None:
            stack = cdk.Stack.of(self)
            events.Rule(
                self,
                "OnStackDeployed",
                description=f"Package and deploy {self.prefix} when its stack is created or updated",
                event_pattern=events.EventPattern(
                    source=["aws.cloudformation"],
                    detail_type=["CloudFormation Stack Status Change"],
                    detail={"stack-id": [stack.stack_id], "status-details": {"status": STACK_DEPLOYED}},
                ),
                targets=[targets.SfnStateMachine(self.state_machine)],
            )
        elif self.dataset.trigger == "on_upload":
            start_when_dataset_prepared(
                self,
                "OnDatasetPrepared",
                state_machine=self.state_machine,
                environment_name=self.environment_name,
                dataset=self.dataset.dataset,
            )
