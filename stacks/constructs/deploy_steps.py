"""Deploy a model to its endpoint through the environment's deploy Lambda, then wait until it is InService.

Reused by every pipeline that makes an endpoint at run time (training, Autopilot, hub packaging): each
invokes the one function of ``mlkit-<env>-deploy`` (stacks/deploy_stack.py), whose role names its endpoint.
"""

import math

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks import names
from stacks.constructs.data_capture import capture_for
from stacks.constructs.endpoint_alarms import RollbackAlarms
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.hosting_settings import (
    async_inference_config,
    deployment_config,
    production_variant,
    scaling_settings,
    uses_kms_storage,
)
from stacks.constructs.model_endpoint import AsyncResults
from stacks.deploy_stack import DeployStack
from stacks.nag import acknowledge_wildcard

RETRYABLE_DEPLOY_ERRORS = ["EndpointBusy", "SageMakerUnavailable"]
# The state that calls the deploy Lambda: the local run reads its event from the deployed pipeline.
DEPLOY_STATE = "Deploy endpoint"
# The state that applies the endpoint's autoscaling once it is InService (the deploy Lambda's scale action).
SCALE_STATE = "Apply scaling"
# Endpoint creation (instances, image pull) takes up to ~30 min beyond the update's own bound.
CREATION_MARGIN_SECONDS = 1800


class DeploySteps(Construct):
    """States that deploy the containers found in the state and wait for the endpoint.

    Input: the state holds, at ``containers_path`` (default ``$.containers``), a list of SageMaker
    ContainerDefinitions (``Image``, ``ModelDataUrl``, ``Environment``), called in order.

    States (``chain`` starts at "Deploy endpoint" and ends at "Endpoint in service", a Pass that
    callers continue from, e.g. ``.next(sfn.Succeed(...))``):
      Deploy endpoint (the shared deploy Lambda; answer at ``$.deploy``; retries EndpointBusy and
      SageMakerUnavailable) → Already in service? (unchanged and InService: Apply scaling) → Start
      polling (``$.deploy_wait.polls`` = 0) → Wait → Describe endpoint (``$.endpoint``) → Endpoint
      status?: InService on the new config → Apply scaling; InService on another config → Fail
      (rolled back); Failed → Fail with SageMaker's FailureReason; ``max_polls`` reached → Fail;
      otherwise Count poll → Wait. Apply scaling (the deploy Lambda's scale action with the hosting's
      autoscaling, re-applied after every deployment; answer at ``$.scaling``) → Endpoint in service.

    Props:
      endpoint_name: the endpoint's stable name, ``mlkit-<env>-<model>``.
      model_label: the config's model name (tags; async prefixes).
      hosting: the config's hosting entry; the Lambda's event is built from hosting_settings.
      deployer: the environment's DeployStack, whose function the state machine invokes (and nothing
        else); it must cover this model (its role names the endpoint and the execution role).
      execution_role: the role the SageMaker model runs as, the only role of this model the Lambda may
        pass: named ``names.model_role_name`` here, as the deploy role's grant names it. Gets this
        endpoint's log group (and for async hosting its result prefixes and topics); the caller grants
        image pulls and model artifact reads.
      key: the data key (endpoint storage, async results).
      artifacts_bucket: where async results go.
      containers_path: default ``$.containers``.
      poll_seconds: default 30, between DescribeEndpoint calls.
      max_polls: default: the blue/green bound plus 30 minutes of creation, in polls.
      network_isolation: default False; True runs the model's containers with no network at all
        (its artifact must hold everything it loads).

    Exposes ``chain``, ``function`` (the shared deploy Lambda), ``alarms`` (RollbackAlarms, whose
    literal names the deployment config lists) and ``async_results`` (AsyncResults, or None).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        model_label: str,
        hosting,
        deployer: DeployStack,
        execution_role: ExecutionRole,
        key: kms.IKey,
        artifacts_bucket: s3.IBucket,
        containers_path: str = "$.containers",
        poll_seconds: int = 30,
        max_polls: int | None = None,
        network_isolation: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.endpoint_name = endpoint_name
        self.function = self._deploy_function(deployer, model_label, execution_role)
        self.network_isolation = network_isolation
        self.hosting = hosting
        self.alarms = RollbackAlarms(
            self,
            "RollbackAlarms",
            endpoint_name=endpoint_name,
            latency_ms=hosting.updates.rollback_latency_ms,
        )
        execution_role.allow_logs(names.endpoint_log_group(endpoint_name))
        self.async_results = AsyncResults.for_hosting(
            self,
            hosting,
            model_label=model_label,
            key=key,
            bucket=artifacts_bucket,
            execution_role=execution_role,
        )
        event = self._deploy_event(model_label, execution_role.role, key, containers_path)
        capture = capture_for(
            hosting, model_label=model_label, bucket=artifacts_bucket, key=key, execution_role=execution_role
        )
        if capture:
            event["data_capture_config"] = capture
        if max_polls is None:
            bound = deployment_config(hosting, [])["BlueGreenUpdatePolicy"][
                "MaximumExecutionTimeoutInSeconds"
            ]
            max_polls = math.ceil((bound + CREATION_MARGIN_SECONDS) / poll_seconds)
        self.chain = self._states(event, poll_seconds, max_polls)

    def _deploy_function(
        self, deployer: DeployStack, model_label: str, execution_role: ExecutionRole
    ) -> lambda_.IFunction:
        """The shared function, once it is sure to cover this model; names the role it passes."""
        if deployer.endpoint_names.get(model_label) != self.endpoint_name:
            raise ValueError(
                f"{deployer.stack_name} may not deploy {self.endpoint_name}: its grants name the endpoints "
                f"of the config's pipeline models ({', '.join(deployer.endpoint_names.values())})"
            )
        # The deploy role passes this role by name: the name is known before any model stack exists.
        role_name = names.model_role_name(deployer.environment_name, model_label)
        execution_role.role.node.default_child.role_name = role_name
        # Imported through the deploy stack's export, which this stack then depends on: CloudFormation
        # creates the function, and the grants for this model, before the pipeline can call it.
        cdk.Stack.of(self).add_stack_dependency(
            deployer, reason="its pipeline deploys through the deploy Lambda"
        )
        return lambda_.Function.from_function_attributes(
            self, "DeployFunction", function_arn=deployer.function_arn_import, same_environment=True
        )

    def _deploy_event(
        self, model_label: str, model_role: iam.IRole, key: kms.IKey, containers_path: str
    ) -> dict:
        variant = {k: v for k, v in production_variant(self.hosting).items() if k != "VariantName"}
        event = {
            "endpoint_name": self.endpoint_name,
            "execution_role_arn": model_role.role_arn,
            "containers": sfn.JsonPath.list_at(containers_path),
            "variant": variant,
            "deployment_config": deployment_config(self.hosting, self.alarms.alarm_names),
            "tags": names.model_tags(model_label),
            "scaling": scaling_settings(self.hosting),
        }
        if uses_kms_storage(self.hosting):
            event["kms_key_arn"] = key.key_arn
        if self.network_isolation:
            event["enable_network_isolation"] = True
        if self.async_results:
            results = self.async_results
            event["async_config"] = async_inference_config(
                self.hosting,
                output_path=results.location(results.output_prefix),
                failure_path=results.location(results.failure_prefix),
                kms_key_arn=key.key_arn,
                success_topic_arn=results.success_topic.topic_arn,
                error_topic_arn=results.error_topic.topic_arn,
            )
        return event

    def _states(self, event: dict, poll_seconds: int, max_polls: int) -> sfn.Chain:
        deploy = tasks.LambdaInvoke(
            self,
            DEPLOY_STATE,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(event),
            payload_response_only=True,
            result_path="$.deploy",
        )
        # The Lambda task grants the state machine `<function>:*` (versions and aliases) too.
        acknowledge_wildcard(
            cdk.Stack.of(self),
            f"{self.function.function_arn}:*",
            "Step Functions' Lambda task grants the deploy function's versions and aliases; "
            "the wildcard names this one function only.",
        )
        deploy.add_retry(
            errors=RETRYABLE_DEPLOY_ERRORS,
            interval=cdk.Duration.seconds(30),
            backoff_rate=1.5,
            max_attempts=10,
        )
        done = sfn.Pass(self, "Endpoint in service")
        in_service = self._scale(event).next(done)
        wait = sfn.Wait(
            self, "Wait for endpoint", time=sfn.WaitTime.duration(cdk.Duration.seconds(poll_seconds))
        )
        describe = self._describe()
        count = sfn.Pass(
            self,
            "Count poll",
            parameters={"polls.$": "States.MathAdd($.deploy_wait.polls, 1)"},
            result_path="$.deploy_wait",
        ).next(wait)
        wait.next(describe)
        describe.next(self._status_choice(in_service, count, max_polls))
        start_polling = sfn.Pass(
            self, "Start polling", parameters={"polls": 0}, result_path="$.deploy_wait"
        ).next(wait)
        already = sfn.Condition.and_(
            sfn.Condition.string_equals("$.deploy.action", "unchanged"),
            sfn.Condition.string_equals("$.deploy.endpoint_status", "InService"),
        )
        choice = sfn.Choice(self, "Already in service?").when(already, in_service).otherwise(start_polling)
        deploy.next(choice)
        return sfn.Chain.custom(deploy, [done], done)

    def _scale(self, event: dict) -> tasks.LambdaInvoke:
        """The endpoint's autoscaling, applied (or removed) once it is InService, on every run."""
        scale = tasks.LambdaInvoke(
            self,
            SCALE_STATE,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(
                {"action": "scale", "endpoint_name": event["endpoint_name"], "scaling": event["scaling"]}
            ),
            payload_response_only=True,
            result_path="$.scaling",
        )
        scale.add_retry(
            errors=RETRYABLE_DEPLOY_ERRORS,
            interval=cdk.Duration.seconds(30),
            backoff_rate=1.5,
            max_attempts=6,
        )
        return scale

    def _describe(self) -> tasks.CallAwsService:
        stack = cdk.Stack.of(self)
        describe = tasks.CallAwsService(
            self,
            "Describe endpoint",
            service="sagemaker",
            action="describeEndpoint",
            parameters={"EndpointName": self.endpoint_name},
            iam_action="sagemaker:DescribeEndpoint",
            iam_resources=[
                stack.format_arn(
                    service="sagemaker", resource="endpoint", resource_name=self.endpoint_name.lower()
                )
            ],
            result_path="$.endpoint",
        )
        describe.add_retry(
            errors=["SageMaker.ThrottlingException", "SageMaker.AmazonSageMakerException"],
            interval=cdk.Duration.seconds(10),
            max_attempts=3,
        )
        return describe

    def _status_choice(self, in_service: sfn.IChainable, count: sfn.IChainable, max_polls: int) -> sfn.Choice:
        status = "$.endpoint.EndpointStatus"
        new_config = sfn.Condition.string_equals_json_path(
            "$.endpoint.EndpointConfigName", "$.deploy.endpoint_config_name"
        )
        failed = sfn.Fail(
            self,
            "Endpoint failed",
            error="EndpointFailed",
            cause_path=sfn.JsonPath.string_at("$.endpoint.FailureReason"),
        )
        rolled_back = sfn.Fail(
            self,
            "Deployment rolled back",
            error="DeploymentRolledBack",
            cause="The endpoint is InService on its previous config: a rollback alarm fired while the new "
            "model was baking, so SageMaker kept the old one. See the endpoint's alarms and logs.",
        )
        timed_out = sfn.Fail(
            self,
            "Endpoint wait timed out",
            error="EndpointWaitTimedOut",
            cause=f"{self.endpoint_name} did not reach InService within {max_polls} polls.",
        )
        in_service_now = sfn.Condition.string_equals(status, "InService")
        return (
            sfn.Choice(self, "Endpoint status?")
            .when(sfn.Condition.and_(in_service_now, new_config), in_service)
            .when(in_service_now, rolled_back)
            .when(sfn.Condition.string_equals(status, "Failed"), failed)
            .when(sfn.Condition.number_greater_than_equals("$.deploy_wait.polls", max_polls), timed_out)
            .otherwise(count)
        )
