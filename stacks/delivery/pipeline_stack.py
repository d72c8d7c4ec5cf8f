"""mlkit-delivery: a CDK pipeline in the tooling account that promotes one commit through every environment.

Source → Synth (`make test`, then `cdk synth`) → UpdatePipeline (self-mutation) → Assets → one stage per
environment in order, each into its own account and region, an approval before the protected ones, and a
smoke test (`GET /models` through the kit's own SigV4 client) after each. Failures and approvals are
announced on a KMS-encrypted SNS topic.
"""

import json
import re
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import pipelines
from constructs import Construct

from stacks import names
from stacks.config.delivery import Delivery, DeliveryEnvironment, Source
from stacks.delivery.artifacts import ArtifactStore
from stacks.delivery.nag_reasons import acknowledge_pipeline
from stacks.nag import acknowledge
from stacks.stage import MlKitStage

ROOT = Path(__file__).resolve().parents[2]
ENV = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CI": "true"}
# CodeBuild's standard 7.0 image has them all; mlkit's suite needs Java for Spark (the Glue transform).
RUNTIMES = {"python": "3.11", "nodejs": "20", "java": "corretto17"}
IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
NOTIFY_ON = (
    codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
    codepipeline.PipelineNotificationEvents.ACTION_EXECUTION_FAILED,
    codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED,
    codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_FAILED,
)


def pinned(package: str, requirements: Path = ROOT / "requirements-dev.txt") -> str:
    """``package``'s pinned version in a requirements file: the pipeline installs what the tests use."""
    match = re.search(rf"^{re.escape(package)}(?:\[[^\]]*\])?==([^\s#]+)", requirements.read_text(), re.M)
    if not match:
        raise ValueError(f"{requirements.name} pins no version of {package}")
    return match.group(1)


def npm_pin(package: str) -> str:
    """``package``'s version in package.json: the pipeline's self-mutation and asset publishing use the
    CDK CLI and cdk-assets the repository pins, not whatever npm's latest is on the day."""
    return json.loads((ROOT / "package.json").read_text())["devDependencies"][package]


class DeliveryPipelineStack(cdk.Stack):
    """The pipeline over ``delivery``'s environments; ``delivery_file`` is the delivery file's path
    relative to the repository, which the synth step passes to ``cdk synth`` again.

    ``publish_assets_in_parallel`` is off: each stage's Lambda code, layers and job scripts are assets,
    and one CodeBuild project per asset would run dozens of builds at once, beyond the CodeBuild
    concurrency of a new account (builds then fail to start) and the 50 actions a CodePipeline stage
    holds. One project per asset type publishes them in turn: slower, but it never fails for that.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, delivery: Delivery, delivery_file: str, **kwargs
    ):
        super().__init__(scope, construct_id, **kwargs)
        settings = delivery.settings.pipeline
        self.source = source_of(settings.source, self)
        self.artifacts = ArtifactStore(self, "Artifacts")
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=names.PIPELINE_NAME,
            synth=self._synth_step(delivery_file),
            artifact_bucket=self.artifacts.bucket,
            cross_account_keys=True,
            enable_key_rotation=True,
            self_mutation=True,
            publish_assets_in_parallel=False,
            cli_version=npm_pin("aws-cdk"),
            cdk_assets_cli_version=npm_pin("cdk-assets"),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=IMAGE),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {"phases": {"install": {"runtime-versions": RUNTIMES}}}
                ),
            ),
        )
        tooling = settings.tooling
        # Literal, not the role's token: the environments' stacks trust it from other accounts.
        self.smoke_test_caller = names.role_arn(
            tooling.account, tooling.region, names.pipeline_smoke_test_role()
        )
        self.smoke_test_role = iam.Role(
            self,
            "SmokeTestRole",
            role_name=names.pipeline_smoke_test_role(),
            description="mlkit delivery: smoke tests each environment's API after its stage deploys",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
        )
        self.stages = [self._add_stage(environment) for environment in delivery.environments]
        self.pipeline.build_pipeline()
        if settings.source.connection:
            self._allow_connection(settings.source.connection.arn)
        self.topic = self._notifications(settings.notifications.emails)
        acknowledge_pipeline(self)
        for support in self.pipeline.pipeline.cross_region_support.values():
            acknowledge(
                support.replication_bucket,
                "S1",
                "CodePipeline's replication bucket carries the same artifacts to another region's stages; "
                "the artifact bucket they come from is access-logged, and only the pipeline reads this copy.",
            )

    def _synth_step(self, delivery_file: str) -> pipelines.CodeBuildStep:
        # `make test` installs what .ci/run installs (the pinned venv and `npm ci`) and runs the suite, so
        # the tests guard every promotion; the synth makes no AWS lookups and needs no credentials.
        return pipelines.CodeBuildStep(
            "Synth",
            input=self.source,
            env=ENV,
            commands=["make test", f"npx --no-install cdk synth -q -c delivery={delivery_file}"],
            primary_output_directory="cdk.out",
            # `make test` runs pytest on every core; LARGE has 8, the default 2 (about 3 minutes here).
            build_environment=codebuild.BuildEnvironment(
                build_image=IMAGE, compute_type=codebuild.ComputeType.LARGE
            ),
            timeout=cdk.Duration.minutes(60),
        )

    def _add_stage(self, environment: DeliveryEnvironment) -> MlKitStage:
        stage = MlKitStage(
            self,
            environment.name,
            config=environment.config,
            env=cdk.Environment(account=environment.account, region=environment.region),
            smoke_test_caller=self.smoke_test_caller,
        )
        approval = pipelines.ManualApprovalStep(
            "Approve", comment=f"Promote this commit to {environment.name} ({environment.account})?"
        )
        self.pipeline.add_stage(
            stage,
            pre=[approval] if environment.approval else [],
            post=[self._smoke_test(stage, environment)],
        )
        return stage

    def _smoke_test(self, stage: MlKitStage, environment: DeliveryEnvironment) -> pipelines.CodeBuildStep:
        """`GET /models` through mlkit.client, signed as the environment's smoke-test role."""
        target = names.role_arn(
            environment.account, environment.region, names.smoke_test_role(environment.name)
        )
        self.smoke_test_role.add_to_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[target])
        )
        return pipelines.CodeBuildStep(
            "SmokeTest",
            input=self.source,
            role=self.smoke_test_role,
            env={**ENV, "SMOKE_TEST_ROLE_ARN": target},
            env_from_cfn_outputs={"API_URL": stage.api.node.find_child("ApiUrl")},
            install_commands=[f"python3 -m pip install --quiet boto3=={pinned('boto3')}"],
            commands=[
                # CodeBuild's own credentials come from its container endpoint; the profile assumes the role.
                'printf "[profile smoke]\\nrole_arn = %s\\ncredential_source = EcsContainer\\n" '
                '"$SMOKE_TEST_ROLE_ARN" > smoke-aws-config',
                "AWS_CONFIG_FILE=smoke-aws-config AWS_PROFILE=smoke "
                'python3 -m mlkit.client list --url "$API_URL"',
            ],
        )

    def _allow_connection(self, connection_arn: str) -> None:
        """codeconnections:UseConnection for a connection under that prefix, beside CDK's grant.

        CDK's source action grants codestar-connections:UseConnection only. Connections made since July
        2024 have codeconnections ARNs, and IAM needs the action's prefix to match the resource's
        (dtconsole/latest/userguide/security-iam), so CDK's grant alone never applies to them."""
        prefix = connection_arn.split(":")[2]
        if prefix == "codestar-connections":
            return
        source = self.pipeline.pipeline.node.find_child("Source")
        for role in (child for child in source.node.find_all() if isinstance(child, iam.Role)):
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=[f"{prefix}:UseConnection"], resources=[connection_arn])
            )

    def _notifications(self, emails: list[str]) -> sns.Topic:
        key = kms.Key(
            self,
            "NotificationKey",
            description="mlkit delivery: encrypts the pipeline's notification topic",
            enable_key_rotation=True,
        )
        # CodeStar Notifications publishes to the topic, so it must be able to use the topic's key.
        key.grant(
            iam.ServicePrincipal("codestar-notifications.amazonaws.com"),
            "kms:GenerateDataKey*",
            "kms:Decrypt",
        )
        topic = sns.Topic(
            self, "Notifications", topic_name=names.notification_topic(), master_key=key, enforce_ssl=True
        )
        for email in emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        self.pipeline.pipeline.notify_on("Notify", topic, events=list(NOTIFY_ON))
        return topic


def source_of(source: Source, scope: Construct) -> pipelines.CodePipelineSource:
    """The pipeline's source action: a CodeConnections repository, or CodeCommit in the tooling account."""
    if source.connection:
        connection = source.connection
        return pipelines.CodePipelineSource.connection(
            connection.repository, connection.branch, connection_arn=connection.arn
        )
    repository = codecommit.Repository.from_repository_name(scope, "Repository", source.codecommit.repository)
    return pipelines.CodePipelineSource.code_commit(repository, source.codecommit.branch)
