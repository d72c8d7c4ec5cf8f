"""One invoke API for every model: REST API (IAM auth) + router Lambda, scoped to exactly those models."""

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config.environment import ApiSettings
from stacks.constructs.lambda_function import MlKitFunction, dependencies_layer
from stacks.nag import acknowledge, acknowledge_wildcard
from stacks.registry import registry_json


class ApiStack(cdk.Stack):
    """``POST /models/{name}/invoke``, ``GET /models``, ``GET /models/{name}``.

    ``registry`` maps model names to router entries (from the model stacks); ``invoke_grants``
    lists the (actions, resources) the router needs for them; ``key`` encrypts async inputs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        settings: ApiSettings,
        registry: dict[str, dict],
        invoke_grants: list[tuple[list[str], list[str]]],
        key: kms.IKey,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.router = MlKitFunction(
            self,
            "Router",
            handler="router.handler",
            layer=dependencies_layer(self),
            description=f"mlkit {environment_name}: invokes any registered model by name",
            environment={
                "MODEL_REGISTRY": registry_json(self, registry),
                "MAX_BODY_BYTES": str(settings.max_body_kb * 1024),
                "POWERTOOLS_SERVICE_NAME": f"mlkit-{environment_name}-router",
            },
            # botocore's 3 attempts at 8 s reads stay under API Gateway's 29 s integration limit.
            timeout_seconds=28,
            memory_mb=512,
        )
        self._grant(
            invoke_grants, key, async_models=any(e.get("hosting") == "async" for e in registry.values())
        )
        self.api = self._rest_api(environment_name, settings)
        self.url = self.api.url
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)

    def _grant(
        self, invoke_grants: list[tuple[list[str], list[str]]], key: kms.IKey, async_models: bool
    ) -> None:
        if not invoke_grants:
            return  # no models yet: the router only answers GET /models with an empty list
        policy = iam.Policy(self, "RouterInvoke", roles=[self.router.role])
        for actions, resources in invoke_grants:
            policy.add_statements(iam.PolicyStatement(actions=actions, resources=resources))
            for resource in resources:
                if resource.endswith("*"):
                    acknowledge_wildcard(
                        policy,
                        resource,
                        "Async request bodies get a new key per request; "
                        "the grant is PutObject under this model's own async-input prefix.",
                    )
        if async_models:  # async inputs land in the SSE-KMS artifacts bucket
            policy.add_statements(
                iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Encrypt"], resources=[key.key_arn])
            )

    def _rest_api(self, environment_name: str, settings: ApiSettings) -> apigateway.RestApi:
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.THREE_MONTHS)
        api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=f"mlkit-{environment_name}",
            description=f"mlkit {environment_name}: one invoke API for every model",
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN,
            default_method_options=apigateway.MethodOptions(
                authorization_type=apigateway.AuthorizationType.IAM,
                api_key_required=settings.api_keys is not None,
            ),
            deploy_options=apigateway.StageOptions(
                stage_name="v1",
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                throttling_rate_limit=settings.throttle_rate,
                throttling_burst_limit=settings.throttle_burst,
            ),
        )
        self._routes(api)
        if settings.api_keys:
            self._usage_plan(api, settings)
        self._acknowledge(api)
        return api

    def _routes(self, api: apigateway.RestApi) -> None:
        integration = apigateway.LambdaIntegration(self.router.function)
        validate_all = api.add_request_validator(
            "ValidateRequest", validate_request_body=True, validate_request_parameters=True
        )
        name_required = {"method.request.path.name": True}
        models = api.root.add_resource("models")
        models.add_method("GET", integration, request_validator=validate_all)
        model = models.add_resource("{name}")
        model.add_method("GET", integration, request_validator=validate_all, request_parameters=name_required)
        body = api.add_model(
            "InvokeJson",
            content_type="application/json",
            schema=apigateway.JsonSchema(
                schema=apigateway.JsonSchemaVersion.DRAFT4, type=apigateway.JsonSchemaType.OBJECT
            ),
        )
        model.add_resource("invoke").add_method(
            "POST",
            integration,
            request_validator=validate_all,
            request_parameters={**name_required, "method.request.header.Content-Type": True},
            request_models={"application/json": body},
        )

    def _usage_plan(self, api: apigateway.RestApi, settings: ApiSettings) -> None:
        keys = settings.api_keys
        plan = api.add_usage_plan(
            "UsagePlan",
            throttle=apigateway.ThrottleSettings(rate_limit=keys.rate, burst_limit=keys.burst),
            quota=apigateway.QuotaSettings(limit=keys.quota_per_day, period=apigateway.Period.DAY)
            if keys.quota_per_day
            else None,
        )
        plan.add_api_stage(stage=api.deployment_stage)
        plan.add_api_key(api.add_api_key("ApiKey"))

    def _acknowledge(self, api: apigateway.RestApi) -> None:
        acknowledge(
            api,
            "APIG3",
            "Every method requires SigV4-signed IAM credentials, so anonymous traffic is "
            "refused before the router runs; a WAF web ACL is an account-level choice left to the deployer.",
        )
        acknowledge(
            api,
            "COG4",
            "The API authorizes with IAM (SigV4) by design: callers are AWS principals, "
            "services and pipelines, not Cognito users.",
        )
        role = api.node.find_child("CloudWatchRole")
        acknowledge(
            role,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-wide logging role; this AWS-managed policy is the documented one.",
        )
