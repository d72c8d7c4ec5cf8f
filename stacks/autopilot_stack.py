"""An Autopilot model: AutoML V2 on a curated dataset, its best candidate registered and deployed."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks import names
from stacks.config import AutopilotModel
from stacks.constructs.autopilot_steps import MARGIN_SECONDS, AutopilotJob, InferenceOutput, job_name_prefix
from stacks.constructs.deploy_steps import DeploySteps
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.pipeline import PipelineStateMachine, prepare_step, start_when_dataset_prepared
from stacks.images import huggingface_uri, xgboost_uri
from stacks.nag import acknowledge, acknowledge_wildcard

CSV = "text/csv"
# Autopilot's candidates write to the shared SageMaker job log groups, one stream per job.
JOB_LOG_GROUPS = [
    names.PROCESSING_LOG_GROUP,
    names.TRAINING_LOG_GROUP,
    names.TRANSFORM_LOG_GROUP,
]
# What Autopilot runs under the job's role, each named after the AutoML job.
SUB_JOBS = {
    "processing-job": "ProcessingJob",
    "training-job": "TrainingJob",
    "transform-job": "TransformJob",
    "hyper-parameter-tuning-job": "HyperParameterTuningJob",
}
# Beyond Autopilot's own bound: a Glue run when started with {"prepare": true}, and the deploy wait.
EXTRA_RUN_HOURS = 8


class AutopilotModelStack(cdk.Stack):
    """``mlkit-<env>-<model>``: the state machine that turns a curated dataset into an Autopilot endpoint.

    States: Prepare data? (the dataset's Glue job, only for ``{"prepare": true}``) → AutopilotJob
    (name, start, poll until Completed; Failed, Stopped or the bound end in a Fail) → InferenceOutput
    (only when the output is more than Autopilot's default predicted_label) → Register model package
    → DeploySteps (the deploy Lambda with the container list; wait for InService) → Deployed.
    With ``trigger: on_upload`` a rule starts it when the dataset stack announces a prepared dataset.

    Takes the data stack's ``key`` and ``bucket_names``, and the dataset stack's literal
    ``glue_job_name`` and ``curated_prefixes`` (its ``autopilot`` entry is the headered CSV).
    Exposes ``state_machine``, ``job`` (AutopilotJob), ``deploy`` (DeploySteps), ``job_prefix``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        model_label: str,
        model: AutopilotModel,
        key: kms.IKey,
        bucket_names: dict[str, str],
        glue_job_name: str,
        curated_prefixes: dict[str, str],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.prefix = names.endpoint_name(environment_name, model_label)
        self.job_prefix = job_name_prefix(environment_name, model_label)
        self.key = key
        curated = s3.Bucket.from_bucket_name(self, "Curated", bucket_names["curated"])
        artifacts = s3.Bucket.from_bucket_name(self, "Artifacts", bucket_names["artifacts"])
        input_prefix = curated_prefixes["autopilot"]
        self.output_prefix = f"models/{model_label}/autopilot/"

        self._roles(curated, input_prefix, artifacts)
        group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=self.prefix,
            model_package_group_description=f"mlkit {environment_name}: best candidates of {model_label}",
        )
        self.job = AutopilotJob(
            self,
            "Autopilot",
            model=model,
            job_prefix=self.job_prefix,
            role=self.job_role.role,
            input_uri=curated.s3_url_for_object(input_prefix),
            output_uri=artifacts.s3_url_for_object(self.output_prefix),
            key_arn=key.key_arn,
            tags={"project": "mlkit", "model": model_label},
        )
        self.deploy = DeploySteps(
            self,
            "Deploy",
            endpoint_name=self.prefix,
            model_label=model_label,
            hosting=model.hosting,
            execution_role=self.model_role,
            key=key,
            artifacts_bucket=artifacts,
            containers_path="$.best.containers",
        )
        self.state_machine = self._pipeline(model, environment_name, glue_job_name, group)
        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "EndpointName", value=self.prefix)
        cdk.CfnOutput(self, "AutopilotJobPrefix", value=self.job_prefix)

    def _roles(self, curated: s3.IBucket, input_prefix: str, artifacts: s3.IBucket) -> None:
        """The role Autopilot's jobs run as, and the one the endpoint's containers run as."""
        self.job_role = ExecutionRole(self, "AutopilotRole", description=f"Autopilot runs {self.prefix} jobs")
        self._grant_job_role(curated, input_prefix, artifacts)
        self.model_role = ExecutionRole(self, "ModelRole", description=f"SageMaker hosts {self.prefix}")
        self.model_role.allow_prefixes(artifacts, read=[self.output_prefix])
        self.model_role.allow_key_use(self.key)
        self._allow_image_pulls(self.model_role)

    def _pipeline(
        self, model: AutopilotModel, environment_name: str, glue_job_name: str, group: cdk.CfnResource
    ) -> sfn.StateMachine:
        pipeline = PipelineStateMachine(
            self,
            "Pipeline",
            state_machine_name=self.prefix,
            definition=prepare_step(self, glue_job_name=glue_job_name, next_step=self._definition(model)),
            timeout=cdk.Duration.seconds(model.max_total_runtime + MARGIN_SECONDS + EXTRA_RUN_HOURS * 3600),
        )
        pipeline.state_machine.node.add_dependency(group)
        self._acknowledge_state_machine(pipeline.role)
        if model.trigger == "on_upload":
            start_when_dataset_prepared(
                self,
                "OnDatasetPrepared",
                state_machine=pipeline.state_machine,
                environment_name=environment_name,
                dataset=model.dataset,
            )
        return pipeline.state_machine

    def _definition(self, model: AutopilotModel) -> sfn.IChainable:
        register = self._register()
        chain = self.job.chain
        keys = model.resolved_inference_output
        if keys != ["predicted_label"]:  # predicted_label alone is how Autopilot ships its containers
            chain = chain.next(InferenceOutput(self, "InferenceOutput", keys=keys).chain)
        return chain.next(register).next(self.deploy.chain).next(sfn.Succeed(self, "Deployed"))

    def _register(self) -> tasks.CallAwsService:
        """CreateModelPackage with the best candidate's containers, approved: Autopilot chose it."""
        return tasks.CallAwsService(
            self,
            "Register model package",
            service="sagemaker",
            action="createModelPackage",
            iam_action="sagemaker:CreateModelPackage",
            iam_resources=[self._package_arn()],
            parameters={
                "ModelPackageGroupName": self.prefix,
                "ModelApprovalStatus": "Approved",
                "ModelPackageDescription.$": "States.Format('Autopilot job {}, best candidate {}', "
                "$.job.name, $.best.candidate)",
                "InferenceSpecification": {
                    "Containers.$": "$.best.containers",
                    "SupportedContentTypes": [CSV],
                    "SupportedResponseMIMETypes": [CSV],
                },
                "CustomerMetadataProperties": {
                    "automl_job.$": "$.job.name",
                    "candidate.$": "$.best.candidate",
                },
            },
            result_path="$.package",
        )

    def _sagemaker_arn(self, kind: str, name: str) -> str:
        return self.format_arn(service="sagemaker", resource=kind, resource_name=name)

    def _package_arn(self) -> str:
        return self._sagemaker_arn("model-package", f"{self.prefix.lower()}/*")

    def _grant_job_role(self, curated: s3.IBucket, input_prefix: str, artifacts: s3.IBucket) -> None:
        role = self.job_role
        role.allow_prefixes(curated, read=[input_prefix])
        role.allow_prefixes(artifacts, read=[self.output_prefix], write=[self.output_prefix])
        role.allow_key_use(self.key)
        for group in JOB_LOG_GROUPS:
            role.allow_logs(group)
        self._allow_image_pulls(role)
        jobs = [self._sagemaker_arn(kind, f"{self.job_prefix}*") for kind in SUB_JOBS]
        actions = [
            f"sagemaker:{verb}{name}" for name in SUB_JOBS.values() for verb in ("Create", "Describe", "Stop")
        ]
        role.policy.add_statements(
            iam.PolicyStatement(actions=[*actions, "sagemaker:AddTags"], resources=jobs),
            iam.PolicyStatement(  # Autopilot passes its own role on to the jobs it starts
                actions=["iam:PassRole"],
                resources=[role.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            *[
                iam.PolicyStatement(  # S3Prefix data sources list their prefix first
                    actions=["s3:ListBucket"],
                    resources=[bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
                )
                for bucket, prefix in ((curated, input_prefix), (artifacts, self.output_prefix))
            ],
            iam.PolicyStatement(  # encrypted job volumes: SageMaker creates a grant as the role
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[self.key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        )
        for arn in jobs:
            acknowledge_wildcard(
                role.policy,
                arn,
                "Autopilot names the jobs it runs after the AutoML job, whose name starts with this "
                "model's own 10-character prefix; the grant covers this model's jobs only.",
            )

    def _allow_image_pulls(self, role: ExecutionRole) -> None:
        """Pulls from AWS's SageMaker algorithm and framework registries of this region only."""
        registries = {
            uri.split(".")[0]
            for uri in (
                xgboost_uri(self.region, version="3.0-5"),  # also sagemaker-sklearn-automl
                huggingface_uri(self.region, transformers_version=None, pytorch_version=None, gpu=False),
            )
        }  # the framework (DLC) registry also holds autogluon-inference, ensembling's container
        repositories = [
            f"arn:{self.partition}:ecr:{self.region}:{account}:repository/*" for account in sorted(registries)
        ]
        role.policy.add_statements(
            iam.PolicyStatement(
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=repositories,
            ),
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        )
        for arn in repositories:
            acknowledge_wildcard(
                role.policy,
                arn,
                "Autopilot picks its candidates' containers at run time; pulls are limited to AWS's "
                "SageMaker image registries of this region.",
            )
        acknowledge(
            role.policy, "IAM5[Resource::*]", "ecr:GetAuthorizationToken has no resource-level permission."
        )

    def _acknowledge_state_machine(self, role: iam.IRole) -> None:
        policy = role.node.find_child("DefaultPolicy")
        acknowledge_wildcard(
            policy,
            self.job.job_arn_pattern,
            "Each run names its AutoML job <10-character model prefix>-<random>; the grant covers "
            "this model's jobs only.",
        )
        acknowledge_wildcard(
            policy,
            self._package_arn(),
            "Model package versions are numbered by SageMaker; the grant covers this model's group only.",
        )
