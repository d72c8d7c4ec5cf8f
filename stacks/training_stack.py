"""A custom-trained model: SageMaker training on curated data, a metric gate, the registry, an endpoint."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import names
from stacks.config import TrainingModel
from stacks.constructs.custom_model_pipeline import PIPELINE_ID, CustomModelPipeline
from stacks.constructs.deploy_steps import DeploySteps
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.training_steps import (
    TRAIN_SCRIPT,
    gate_states,
    register_state,
    source_tarball,
    training_job_state,
)
from stacks.images import xgboost_uri
from stacks.nag import acknowledge_wildcard

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
    ``glue_job_name`` and ``curated_prefixes``; what it shares with the Autopilot stack (buckets,
    group, state machine, trigger, outputs) is its ``pipeline``, a CustomModelPipeline. Exposes
    ``state_machine``, ``deploy``, ``role`` (the ExecutionRole training and hosting run as), ``prefix``.
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
        glue_job_name: str | None,
        curated_prefixes: dict[str, str],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.pipeline = CustomModelPipeline(
            self,
            PIPELINE_ID,
            environment_name=environment_name,
            model_label=model_label,
            model=model,
            key=key,
            bucket_names=bucket_names,
            glue_job_name=glue_job_name,
            curated_prefixes=curated_prefixes,
            package_group_description=f"mlkit {environment_name}: {model_label} past the gate",
        )
        self.model_label = model_label
        self.prefix = self.pipeline.prefix
        self.key = key
        self.curated, self.artifacts = self.pipeline.curated, self.pipeline.artifacts
        self.image = xgboost_uri(self.region, version=model.xgboost_version)
        self.output_prefix = f"models/{model_label}/"

        source = self._execution_role(model)
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
        self.state_machine = self.pipeline.add_state_machine(
            steps=self._definition(model, curated_prefixes, source),
            # Training may take max_runtime; Glue and a blue/green deployment take a few hours at most.
            timeout=cdk.Duration.seconds(model.max_runtime + PREPARE_AND_DEPLOY_SECONDS),
            job_role=self.role,
            job_volume_key=key,  # CreateTrainingJob with VolumeKmsKeyId: SageMaker grants as the caller
            grants=self._training_job_grants(),
        )
        acknowledge_wildcard(
            self.state_machine.role.node.find_child("DefaultPolicy"),
            self._training_jobs(),
            "Each run names its training job <prefix>-<random>; the grant covers this model's jobs only.",
        )

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

    def _definition(self, model, curated_prefixes, source) -> sfn.IChainable:
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
            package_resources=[self.pipeline.package_arn],
            container=container,
            metric=model.metric,
        )
        containers = sfn.Pass(
            self, CONTAINERS_STATE, parameters={"containers": [container]}, result_path="$.model"
        )
        register.next(containers).next(self.deploy.chain).next(sfn.Succeed(self, "Trained"))
        train.next(gate_states(self, model=model, on_pass=register))
        return train

    def _sagemaker_arn(self, kind: str, name: str) -> str:
        return self.format_arn(service="sagemaker", resource=kind, resource_name=name)

    def _execution_role(self, model: TrainingModel) -> s3_assets.Asset | None:
        """The role training and hosting run as, and script mode's source, which the role reads."""
        self.role = ExecutionRole(
            self, "ExecutionRole", description=f"SageMaker trains and hosts {self.prefix}"
        )
        source = None
        if model.algorithm == "script":
            source = s3_assets.Asset(self, "TrainingSource", path=str(source_tarball()))
        self._grant_execution_role(model, source)
        return source

    def _grant_execution_role(self, model: TrainingModel, source: s3_assets.Asset | None) -> None:
        role = self.role
        role.allow_image_pull(self.image)
        role.allow_key_use(self.key)
        data_prefix = f"{model.dataset}/xgboost/"
        role.allow_prefixes(self.curated, read=[data_prefix])
        role.allow_prefixes(self.artifacts, read=[self.output_prefix], write=[self.output_prefix])
        role.allow_listing(self.curated, data_prefix)
        role.allow_job_volume_key_grants(self.key)  # the training job's encrypted volume
        role.allow_job_log_streams(names.TRAINING_LOG_GROUP, job_prefix=self.prefix)
        role.allow_sagemaker_metrics()
        if source:
            role.allow_object_read(source.bucket.arn_for_objects(source.s3_object_key))

    def _training_jobs(self) -> str:
        return self._sagemaker_arn("training-job", f"{self.prefix.lower()}-*")

    def _training_job_grants(self) -> list[iam.PolicyStatement]:
        """What "Train model" (raw ASL, so no grant of its own) needs: this model's jobs only."""
        sync_rule = self.format_arn(
            service="events",
            resource="rule",
            resource_name="StepFunctionsGetEventsForSageMakerTrainingJobsRule",
        )
        return [
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[self._training_jobs()],
            ),
            # .sync waits on the training job through this rule, which Step Functions manages.
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[sync_rule]
            ),
        ]
