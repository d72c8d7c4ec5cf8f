"""A hub model (PyTorch Hub, TensorFlow Hub), packaged once in the account and served isolated."""

import json

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from jobs.packaging.spec import spec_hash
from stacks import names
from stacks.constructs.deploy_steps import DeploySteps
from stacks.constructs.execution_role import ExecutionRole, sagemaker_key_grants
from stacks.constructs.packaging_job import packaging_code_archive, processing_job_state
from stacks.constructs.pipeline import PipelineStateMachine
from stacks.deploy_stack import DeployStack
from stacks.images import framework_inference_uri
from stacks.nag import acknowledge_wildcard
from stacks.training_stack import CONTAINERS_STATE

# Packaging takes max_runtime; a blue/green deployment and endpoint creation take a few hours at most.
DEPLOY_SECONDS = 4 * 3600
STACK_DEPLOYED = ["CREATE_COMPLETE", "UPDATE_COMPLETE"]


class HubModelStack(cdk.Stack):
    """``mlkit-<env>-<model>``: the packaging pipeline of one hub model and its endpoint.

    States: Already packaged? (the config hash's model.tar.gz exists) → Package model (a Processing
    job on the framework's inference DLC) → Register model package → Model containers → DeploySteps
    (the deploy Lambda, blue/green, network isolation on) → Deployed.
    A rule starts it whenever CloudFormation finishes creating or updating this stack, so
    `cdk deploy` alone ends with the endpoint on its way; an unchanged config skips the packaging.

    Takes the data stack's ``key`` and ``artifacts_bucket_name``, the ``framework`` of its inference
    DLC ("pytorch", "tensorflow"), the packaging ``spec`` (jobs/packaging/spec.py), the serving
    container's ``serving_environment`` and the environment's ``deployer`` (DeployStack, whose one
    Lambda deploys the endpoint: it exists before this stack, whose deploy starts the pipeline).
    Exposes ``state_machine``, ``deploy``, ``model_data_url``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        model_label: str,
        model,
        key: kms.IKey,
        artifacts_bucket_name: str,
        framework: str,
        spec: dict,
        serving_environment: dict[str, str],
        deployer: DeployStack,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.prefix = names.endpoint_name(environment_name, model_label)
        self.key = key
        self.artifacts = s3.Bucket.from_bucket_name(self, "Artifacts", artifacts_bucket_name)
        self.image = framework_inference_uri(
            framework, self.region, version=model.framework_version, gpu=model.gpu
        )
        # Packaged on the serving image itself: the weights are written by the framework that loads them.
        packaging_image = framework_inference_uri(
            framework, self.region, version=model.framework_version, gpu=False
        )
        self.model_key = names.packaged_model_key(model_label, spec_hash(spec))
        self.package_folder = self.model_key.rsplit("/", 1)[0] + "/"
        self.model_data_url = self.artifacts.s3_url_for_object(self.model_key)
        code = s3_assets.Asset(self, "PackagingCode", path=str(packaging_code_archive()))
        self._roles(packaging_image, code)
        group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=self.prefix,
            model_package_group_description=f"mlkit {environment_name}: packagings of {model_label}",
        )
        self.deploy = DeploySteps(
            self,
            "Deploy",
            endpoint_name=self.prefix,
            model_label=model_label,
            hosting=model.hosting,
            deployer=deployer,
            execution_role=self.model_role,
            key=key,
            artifacts_bucket=self.artifacts,
            containers_path="$.model.containers",
            network_isolation=True,
        )
        container = {
            "Image": self.image,
            "ModelDataUrl": self.model_data_url,
            "Environment": serving_environment,
        }
        package = processing_job_state(
            self,
            job_prefix=self.prefix,
            model_label=model_label,
            image=packaging_image,
            role_arn=self.packaging_role.role.role_arn,
            key_arn=key.key_arn,
            code=code,
            spec=json.dumps(spec, sort_keys=True, separators=(",", ":")),
            output_url=self.artifacts.s3_url_for_object(self.package_folder),
            settings=model.packaging,
        )
        self._pipeline(self._definition(package, container, model), model, group)
        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "EndpointName", value=self.prefix)
        cdk.CfnOutput(self, "ModelDataUrl", value=self.model_data_url)

    def _roles(self, packaging_image: str, code: s3_assets.Asset) -> None:
        """The packaging job's role (writes its config hash's folder); the model's (reads the artifact)."""
        self.packaging_role = ExecutionRole(
            self, "PackagingRole", description=f"The packaging job of {self.prefix} runs as this role"
        )
        self._grant_packaging_role(packaging_image, code)
        self.model_role = ExecutionRole(self, "ModelRole", description=f"SageMaker hosts {self.prefix}")
        self.model_role.allow_image_pull(self.image)
        self.model_role.allow_key_use(self.key)
        self.model_role.allow_prefixes(self.artifacts, read=[self.model_key])

    def _pipeline(self, definition: sfn.IChainable, model, group: cdk.CfnResource) -> None:
        pipeline = PipelineStateMachine(
            self,
            "Pipeline",
            state_machine_name=self.prefix,
            definition=definition,
            timeout=cdk.Duration.seconds(model.packaging.max_runtime + DEPLOY_SECONDS),
        )
        pipeline.state_machine.node.add_dependency(group)
        self.state_machine = pipeline.state_machine
        self._grant_state_machine(pipeline.role)
        self._start_on_deploy()

    def _definition(self, package: sfn.IChainable, container: dict, model) -> sfn.IChainable:
        check = tasks.CallAwsService(
            self,
            "Already packaged?",
            service="s3",
            action="listObjectsV2",
            parameters={"Bucket": self.artifacts.bucket_name, "Prefix": self.model_key, "MaxKeys": 1},
            iam_action="s3:ListBucket",
            iam_resources=[self.artifacts.bucket_arn],
            result_selector={"KeyCount.$": "$.KeyCount"},
            result_path="$.packaged",
        )
        register = self._register(container, model)
        containers = sfn.Pass(
            self, CONTAINERS_STATE, parameters={"containers": [container]}, result_path="$.model"
        )
        containers.next(self.deploy.chain).next(sfn.Succeed(self, "Deployed"))
        package.next(register).next(containers)
        exists = sfn.Condition.number_greater_than("$.packaged.KeyCount", 0)
        return check.next(sfn.Choice(self, "Package exists?").when(exists, containers).otherwise(package))

    def _register(self, container: dict, model) -> tasks.CallAwsService:
        """CreateModelPackage, approved: a hub model has no gate, its hub reference is its lineage."""
        return tasks.CallAwsService(
            self,
            "Register model package",
            service="sagemaker",
            action="createModelPackage",
            iam_action="sagemaker:CreateModelPackage",
            iam_resources=[self._sagemaker_arn("model-package", f"{self.prefix.lower()}/*")],
            parameters={
                "ModelPackageGroupName": self.prefix,
                "ModelApprovalStatus": "Approved",
                "ModelPackageDescription.$": "States.Format('Packaged by {}', $.packaging.ProcessingJobName)",
                "InferenceSpecification": {
                    "Containers": [container],
                    "SupportedContentTypes": model.resolved_content_types,
                    "SupportedResponseMIMETypes": ["application/json"],
                },
            },
            result_path="$.package",
        )

    def _start_on_deploy(self) -> None:
        """CloudFormation announces this stack's own create and update: that starts the pipeline."""
        events.Rule(
            self,
            "OnStackDeployed",
            description=f"Package and deploy {self.prefix} when its stack is created or updated",
            event_pattern=events.EventPattern(
                source=["aws.cloudformation"],
                detail_type=["CloudFormation Stack Status Change"],
                detail={"stack-id": [self.stack_id], "status-details": {"status": STACK_DEPLOYED}},
            ),
            targets=[targets.SfnStateMachine(self.state_machine)],
        )

    def _sagemaker_arn(self, kind: str, name: str) -> str:
        return self.format_arn(service="sagemaker", resource=kind, resource_name=name)

    def _grant_packaging_role(self, image: str, code: s3_assets.Asset) -> None:
        role = self.packaging_role
        role.allow_image_pull(image)
        role.allow_key_use(self.key)
        role.allow_job_log_streams(names.PROCESSING_LOG_GROUP, job_prefix=self.prefix)
        role.allow_prefixes(self.artifacts, write=[self.package_folder])
        role.allow_object_read(code.bucket.arn_for_objects(code.s3_object_key))
        role.allow_job_volume_key_grants(self.key)

    def _grant_state_machine(self, role: iam.IRole) -> None:
        jobs = self._sagemaker_arn("processing-job", f"{self.prefix.lower()}-*")
        sync_rule = self.format_arn(
            service="events",
            resource="rule",
            resource_name="StepFunctionsGetEventsForSageMakerProcessingJobsRule",
        )
        for statement in (
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:AddTags",
                ],
                resources=[jobs],
            ),
            # .sync waits on the processing job through this rule, which Step Functions manages.
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[sync_rule]
            ),
            self.packaging_role.pass_to_sagemaker(),
            sagemaker_key_grants(self.key),
        ):
            role.add_to_principal_policy(statement)
        policy = role.node.find_child("DefaultPolicy")
        acknowledge_wildcard(
            policy,
            jobs,
            "Each run names its processing job <prefix>-<random>; the grant covers this model's jobs only.",
        )
        acknowledge_wildcard(
            policy,
            self._sagemaker_arn("model-package", f"{self.prefix.lower()}/*"),
            "SageMaker numbers model package versions; the grant covers this model's package group only.",
        )
