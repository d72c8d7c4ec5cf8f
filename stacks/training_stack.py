"""A custom-trained model: SageMaker training on curated data, a metric gate, the registry, an endpoint."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import names
from stacks.config import TrainingModel
from stacks.constructs.deploy_steps import DeploySteps
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.pipeline import PipelineStateMachine, prepare_step, start_when_dataset_prepared
from stacks.constructs.training_steps import (
    TRAIN_SCRIPT,
    gate_states,
    register_state,
    source_tarball,
    training_job_state,
)
from stacks.images import xgboost_uri
from stacks.nag import acknowledge, acknowledge_wildcard

TRAINING_LOG_GROUP = names.TRAINING_LOG_GROUP
PREPARE_AND_DEPLOY_SECONDS = 7 * 3600
# The state that names the trained model's containers: the local run reads it from the deployed pipeline.
CONTAINERS_STATE = "Model containers"


class TrainingModelStack(cdk.Stack):
    """``mlkit-<env>-<model>``: the state machine that turns curated data into the model's endpoint.

    States: Prepare data? (the dataset's Glue job, only for ``{"prepare": true}``) → Train model →
    Read metric → Metric reported? → Pick metric → Gate passed? (a failure ends in "Gate failed") →
    Register model package → Model containers → DeploySteps (deploy, wait for InService) → Trained.
    With ``trigger: on_upload`` a rule starts it when the dataset stack announces a prepared dataset.

    Takes the data stack's ``key`` and ``bucket_names``, and the dataset stack's literal
    ``glue_job_name`` and ``curated_prefixes``. Exposes ``state_machine`` and ``deploy``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        model_label: str,
        model: TrainingModel,
        key: kms.IKey,
        bucket_names: dict[str, str],
        glue_job_name: str,
        curated_prefixes: dict[str, str],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.model_label = model_label
        self.prefix = names.endpoint_name(environment_name, model_label)
        self.key = key
        self.curated = s3.Bucket.from_bucket_name(self, "Curated", bucket_names["curated"])
        self.artifacts = s3.Bucket.from_bucket_name(self, "Artifacts", bucket_names["artifacts"])
        self.image = xgboost_uri(self.region, version=model.xgboost_version)
        self.output_prefix = f"models/{model_label}/"

        self.role = ExecutionRole(
            self, "ExecutionRole", description=f"SageMaker trains and hosts {self.prefix}"
        )
        source = None
        if model.algorithm == "script":
            source = s3_assets.Asset(self, "TrainingSource", path=str(source_tarball()))
        self._grant_execution_role(model, curated_prefixes, source)

        group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=self.prefix,
            model_package_group_description=f"mlkit {environment_name}: {model_label} past the gate",
        )
        self.deploy = DeploySteps(
            self,
            "Deploy",
            endpoint_name=self.prefix,
            model_label=model_label,
            hosting=model.hosting,
            execution_role=self.role,
            key=key,
            artifacts_bucket=self.artifacts,
            containers_path="$.model.containers",
        )
        definition = self._definition(model, glue_job_name, curated_prefixes, source)
        pipeline = PipelineStateMachine(
            self,
            "Pipeline",
            state_machine_name=self.prefix,
            definition=definition,
            # Training may take max_runtime; Glue and a blue/green deployment take a few hours at most.
            timeout=cdk.Duration.seconds(model.max_runtime + PREPARE_AND_DEPLOY_SECONDS),
        )
        pipeline.state_machine.node.add_dependency(group)
        self.state_machine = pipeline.state_machine
        self._grant_state_machine(pipeline.role)
        if model.trigger == "on_upload":
            start_when_dataset_prepared(
                self,
                "OnDatasetPrepared",
                state_machine=self.state_machine,
                environment_name=environment_name,
                dataset=model.dataset,
            )
        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "EndpointName", value=self.prefix)

    def _container(self, source: s3_assets.Asset | None) -> dict:
        container = {"Image": self.image, "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"}
        if source:
            # The XGBoost framework container serves with train.py's model_fn/input_fn/... functions.
            container["Environment"] = {
                "SAGEMAKER_PROGRAM": TRAIN_SCRIPT.name,
                "SAGEMAKER_SUBMIT_DIRECTORY": source.s3_object_url,
                "SAGEMAKER_REGION": self.region,
            }
        return container

    def _definition(self, model, glue_job_name, curated_prefixes, source) -> sfn.IChainable:
        container = self._container(source)
        train = training_job_state(
            self,
            job_prefix=self.prefix,
            model_label=self.model_label,
            model=model,
            image=self.image,
            role_arn=self.role.role.role_arn,
            key_arn=self.key.key_arn,
            train_url=self.curated.s3_url_for_object(curated_prefixes["xgboost_train"]),
            validation_url=self.curated.s3_url_for_object(curated_prefixes["xgboost_validation"]),
            output_url=self.artifacts.s3_url_for_object(self.output_prefix),
            source_url=source.s3_object_url if source else None,
        )
        register = register_state(
            self,
            group_name=self.prefix,
            package_resources=[self._sagemaker_arn("model-package", f"{self.prefix.lower()}/*")],
            container=container,
            metric=model.metric,
        )
        containers = sfn.Pass(
            self, CONTAINERS_STATE, parameters={"containers": [container]}, result_path="$.model"
        )
        register.next(containers).next(self.deploy.chain).next(sfn.Succeed(self, "Trained"))
        train.next(gate_states(self, model=model, on_pass=register))
        return prepare_step(self, glue_job_name=glue_job_name, next_step=train)

    def _sagemaker_arn(self, kind: str, name: str) -> str:
        return self.format_arn(service="sagemaker", resource=kind, resource_name=name)

    def _grant_execution_role(self, model, curated_prefixes, source) -> None:
        role = self.role
        role.allow_image_pull(self.image)
        role.allow_key_use(self.key)
        data_prefix = f"{model.dataset}/xgboost/"
        role.allow_prefixes(self.curated, read=[data_prefix])
        role.allow_prefixes(self.artifacts, read=[self.output_prefix], write=[self.output_prefix])
        statements = [
            iam.PolicyStatement(  # S3Prefix channels list the prefix before downloading it
                actions=["s3:ListBucket"],
                resources=[self.curated.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [data_prefix, f"{data_prefix}*"]}},
            ),
            iam.PolicyStatement(  # encrypted training volumes: SageMaker creates a grant as the role
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[self.key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self._training_logs(f"log-stream:{self.prefix}-*")],
            ),
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                resources=[self._training_logs("*")],
            ),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
        ]
        if source:
            statements.append(
                iam.PolicyStatement(
                    actions=["s3:GetObject"], resources=[source.bucket.arn_for_objects(source.s3_object_key)]
                )
            )
        role.policy.add_statements(*statements)
        acknowledge_wildcard(
            role.policy,
            self._training_logs(f"log-stream:{self.prefix}-*"),
            "SageMaker names training log streams <job name>/algo-N-<time>: this model's jobs only.",
        )
        acknowledge_wildcard(
            role.policy,
            self._training_logs("*"),
            "Create and describe the shared training log group; no writes to other jobs' streams.",
        )
        acknowledge(
            role.policy,
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level permissions; "
            "metrics are held to SageMaker's namespaces by condition.",
        )

    def _training_logs(self, suffix: str) -> str:
        return self.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{TRAINING_LOG_GROUP}:{suffix}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def _grant_state_machine(self, role: iam.IRole) -> None:
        jobs = self._sagemaker_arn("training-job", f"{self.prefix.lower()}-*")
        sync_rule = self.format_arn(
            service="events",
            resource="rule",
            resource_name="StepFunctionsGetEventsForSageMakerTrainingJobsRule",
        )
        for statement in (
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[jobs],
            ),
            # .sync waits on the training job through this rule, which Step Functions manages.
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[sync_rule]
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[self.key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ):
            role.add_to_principal_policy(statement)
        policy = role.node.find_child("DefaultPolicy")
        acknowledge_wildcard(
            policy,
            jobs,
            "Each run names its training job <prefix>-<random>; the grant covers this model's jobs only.",
        )
        acknowledge_wildcard(
            policy,
            self._sagemaker_arn("model-package", f"{self.prefix.lower()}/*"),
            "SageMaker numbers model package versions; the grant covers this model's package group only.",
        )
