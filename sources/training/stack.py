"""A custom-trained model: SageMaker training on curated data, a metric gate, the registry, an endpoint."""

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sources.training import champion
from sources.training.algorithms import (
    entry_point,
    serving_environment,
    serving_image,
    source_tarball,
    training_image,
)
from sources.training.champion_steps import champion_states, comparison_metadata, states_format
from sources.training.config import TrainingModel
from sources.training.training_steps import (
    CSV,
    gate_states,
    training_job_definition,
    training_job_state,
)
from sources.training.tuning_steps import (
    acknowledge_tuning_wildcards,
    tuning_grants,
    tuning_job_parameters,
    tuning_job_prefix,
    tuning_states,
)
from stacks import names
from stacks.config.datasets import PROJECT_ROOT
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.pipeline import sync_job_grants
from stacks.model_stack import PipelineStack
from stacks.nag import acknowledge_wildcard

PREPARE_AND_DEPLOY_SECONDS = 7 * 3600
# The state that names the trained model's containers: the local run reads it from the deployed pipeline.
CONTAINERS_STATE = "Model containers"
# "Find champion" (champion_steps.py) is the only call on "*".
LIST_PACKAGES_REASON = (
    "sagemaker:ListModelPackages: the Service Authorization Reference lists model-package only as an "
    "optional resource type of a call that names a group, not a package, and documents no ARN it is "
    "authorized against (AWS's AmazonSageMakerModelRegistryFullAccess grants it on *). It lists versions' "
    "names and statuses; reading a package (DescribeModelPackage) stays scoped to this model's group."
)


class TrainingModelStack(PipelineStack):
    """``mlkit-<env>-<model>``: the state machine that turns curated data into the model's endpoint.

    States: Prepare data? (the dataset's Glue job, only for ``{"prepare": true}``) → Train model →
    Read metric → Metric reported? → Pick metric → Gate passed? (a failure ends in "Gate failed") →
    the champion/challenger states (champion_steps.py: a candidate that does not beat the model in
    service is registered Rejected and ends in "Champion kept") → Register model package → Model
    containers → DeploySteps (deploy, wait for InService) → Trained.
    With ``trigger: on_upload`` a rule starts it when the dataset stack announces a prepared dataset.

    Takes PipelineStack's props, with a ``dataset``; what it shares with the other pipelines (buckets,
    group, state machine, trigger, outputs) is its ``pipeline``, a ModelPipeline. Exposes
    ``state_machine``, ``deploy``, ``role`` (the ExecutionRole training and hosting run as), ``prefix``.
    """

    holds = "{label} past the gate"

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        model, model_label, key = self.model, self.model_label, self.key
        curated_prefixes = self.pipeline.dataset.curated_prefixes
        self.curated = self.pipeline.curated
        self.image, self.serving_image = self._images(model)
        self.output_prefix = f"models/{model_label}/"
        self.tuning_prefix = tuning_job_prefix(self.environment_name, model_label) if model.tuning else None

        source = self._execution_role(model)
        self.add_deploy_steps(execution_role=self.role, containers_path="$.model.containers")
        self.state_machine = self.pipeline.add_state_machine(
            steps=self._definition(model, curated_prefixes, source),
            # Training (every tuning round) may take max_runtime; Glue and a blue/green deployment a
            # few hours at most.
            timeout=cdk.Duration.seconds(self._training_seconds(model) + PREPARE_AND_DEPLOY_SECONDS),
            job_role=self.role,
            job_volume_key=key,  # CreateTrainingJob with VolumeKmsKeyId: SageMaker grants as the caller
            grants=self._training_job_grants(model),
        )
        policy = self.state_machine.role.node.find_child("DefaultPolicy")
        acknowledge_wildcard(policy, "*", LIST_PACKAGES_REASON)
        if self.tuning_prefix:
            acknowledge_tuning_wildcards(policy, self.tuning_prefix)
        else:
            acknowledge_wildcard(
                policy,
                self._training_jobs(),
                "Each run names its training job <prefix>-<random>; the grant covers this model's jobs only.",
            )

    @staticmethod
    def _training_seconds(model: TrainingModel) -> int:
        return model.tuning.worst_case_seconds(model.max_runtime) if model.tuning else model.max_runtime

    def _images(self, model: TrainingModel) -> tuple[str, str]:
        """(training, serving) images: the table's, or the container model's own (built by CDK from its
        dockerfile at deploy, or its image_uri)."""
        if model.dockerfile:
            self.docker_image = ecr_assets.DockerImageAsset(
                self, "ContainerImage", directory=str(PROJECT_ROOT / model.dockerfile)
            )
            return self.docker_image.image_uri, self.docker_image.image_uri
        self.docker_image = None
        return training_image(model, self.region), serving_image(model, self.region)

    def _container(self, model: TrainingModel, source: s3_assets.Asset | None) -> dict:
        container = {
            "Image": self.serving_image,
            "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts",
        }
        # Script mode serves with the script's model_fn/input_fn/...; a fine-tuned HF model with its task.
        environment = serving_environment(model, source.s3_object_url if source else None, self.region)
        if environment:
            container["Environment"] = environment
        return container

    def _definition(self, model, curated_prefixes, source) -> sfn.IChainable:
        container = self._container(model, source)
        definition = training_job_definition(
            self,
            model=model,
            image=self.image,
            role_arn=self.role.role.role_arn,
            key_arn=self.key.key_arn,
            **self._channels(model, curated_prefixes),
            output_url=self.artifacts.s3_url_for_object(self.output_prefix),
            source_url=source.s3_object_url if source else None,
            environment={"HF_TOKEN_SECRET": self.token_secret_arn} if self.token_secret_arn else None,
        )
        if model.tuning:
            metric, direction = model.tuning.resolved_objective(model.metric, model.gate_lower_is_better)
            parameters = tuning_job_parameters(
                job_prefix=self.tuning_prefix,
                training_job_definition=definition,
                tuning=model.tuning,
                objective_metric=metric,
                direction=direction,
                key_arn=self.key.key_arn,
                model_label=self.model_label,
            )
            train = tuning_states(self, job_prefix=self.tuning_prefix, parameters=parameters)
        else:
            train = training_job_state(
                self, job_prefix=self.prefix, model_label=self.model_label, definition=definition
            )
        channels = self._channels(model, curated_prefixes)
        validation_data = channels["validation_url"] or channels["train_url"]  # HF holds out its own
        register, rejected = self._register_states(model, container, validation_data)
        containers = sfn.Pass(
            self, CONTAINERS_STATE, parameters={"containers": [container]}, result_path="$.model"
        )
        register.next(containers).next(self.deploy.chain).next(sfn.Succeed(self, "Trained"))
        compare = champion_states(
            self,
            model=model,
            group_name=self.prefix,
            package_arn=self.pipeline.package_arn,
            validation_data=validation_data,
            register=register,
            register_rejected=rejected,
        )
        train.next(gate_states(self, model=model, on_pass=compare))
        return train

    def _register_states(self, model: TrainingModel, container: dict, validation_data: str) -> tuple:
        """(Approved, Rejected) registrations of the candidate: the training job, its metric, the data
        it was scored on and the champion it was compared with are its lineage; a Rejected package keeps
        a candidate kept out on record (an operator may still approve it)."""
        specification = {
            "Containers": [container],
            "SupportedContentTypes": [CSV],
            "SupportedResponseMIMETypes": [CSV],
        }
        metadata = {
            "training_job.$": "$.training.TrainingJobName",
            champion.METRIC: model.metric,
            f"{champion.METRIC_VALUE}.$": "States.Format('{}', $.gate.value)",
            champion.VALIDATION_DATA: validation_data,
            champion.MIN_IMPROVEMENT: str(model.min_improvement),
            **comparison_metadata(),
        }
        register = self.pipeline.register_state(
            description="States.Format('Trained by {}; {} = {}', "
            f"$.training.TrainingJobName, '{model.metric}', $.gate.value)",
            specification=specification,
            metadata=metadata,
        )
        rejected = self.pipeline.register_state(
            description=states_format(
                f"Kept out by the gate: {champion.kept_out_template(model)}; trained by {{}}",
                "$.gate.value",
                f"$.comparison.{champion.CHAMPION_METRIC_VALUE}",
                "$.training.TrainingJobName",
            ),
            specification=specification,
            metadata=metadata,
            approval="Rejected",
            state_name="Register rejected package",
            result_path="$.rejected",
        )
        return register, rejected

    def _channels(self, model: TrainingModel, curated_prefixes: dict[str, str]) -> dict[str, str | None]:
        """Tabular algorithms read the encoded train and validation CSVs; a Hugging Face model the
        dataset's headered CSV with its raw text (it holds out its own validation)."""
        if model.algorithm == "huggingface":
            return {
                "train_url": self.curated.s3_url_for_object(curated_prefixes["autopilot"]),
                "validation_url": None,
            }
        return {
            "train_url": self.curated.s3_url_for_object(curated_prefixes["xgboost_train"]),
            "validation_url": self.curated.s3_url_for_object(curated_prefixes["xgboost_validation"]),
        }

    def _sagemaker_arn(self, kind: str, name: str) -> str:
        return self.format_arn(service="sagemaker", resource=kind, resource_name=name)

    def _execution_role(self, model: TrainingModel) -> s3_assets.Asset | None:
        """The role training and hosting run as, and script mode's source, which the role reads."""
        self.role = ExecutionRole(
            self, "ExecutionRole", description=f"SageMaker trains and hosts {self.prefix}"
        )
        source, script = None, entry_point(model)
        if script:
            source = s3_assets.Asset(self, "TrainingSource", path=str(source_tarball(script)))
        self.token_secret_arn = None
        if model.token_secret:
            self.token_secret_arn, _ = self.secret_reference(model.token_secret)
        self._grant_execution_role(model, source)
        return source

    def _grant_execution_role(self, model: TrainingModel, source: s3_assets.Asset | None) -> None:
        role = self.role
        if self.docker_image:
            role.allow_repository_pull(self.docker_image.repository.repository_arn)
        else:
            for image in dict.fromkeys((self.image, self.serving_image)):
                role.allow_image_pull(image)
        if self.token_secret_arn:
            role.allow_secret_read(self.token_secret_arn)
        role.allow_key_use(self.key)
        data_prefix = f"{model.dataset}/{'autopilot' if model.algorithm == 'huggingface' else 'xgboost'}/"
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

    def _training_job_grants(self, model: TrainingModel) -> list[iam.PolicyStatement]:
        """What "Train model" or "Tune model" (raw ASL, so no grant of its own) needs: this model's jobs."""
        if model.tuning:
            return tuning_grants(self, self.tuning_prefix)
        return sync_job_grants(self, job_kind="TrainingJob", jobs_arn=self._training_jobs())


STACK = TrainingModelStack
