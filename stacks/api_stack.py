"""One invoke API for every model: REST API (IAM auth) + router Lambda, scoped to exactly those models."""

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from lambdas.shared import registry as registry_contract
from stacks import names
from stacks.config.environment import ApiSettings
from stacks.constructs.lambda_function import MlKitFunction, dependencies_layer, registry_layer
from stacks.nag import acknowledge, acknowledge_wildcard
from stacks.router_access import router_environment

# Sent and answered as bytes: API Gateway base64-encodes them for the router, and decodes its answers
# when the request's Accept names one of them. Models may declare more (their content_types).
BINARY_MEDIA_TYPES = ("image/*", "audio/*", "video/*", "application/octet-stream")


class ApiStack(cdk.Stack):
    """``POST /models/{name}/invoke``, ``GET /models``, ``GET /models/{name}``.

    ``registry`` is the router's registry file (stacks/registry.py); ``guardrails`` maps Bedrock
    models to the ids of the guardrails their stacks created; ``invoke_policies`` are the router's
    grants, already split to fit IAM's managed-policy size (stacks/router_access.py);
    ``artifacts_bucket_name`` holds async inputs; ``content_types`` are every media type a model
    declares (binary ones join the API's binary media types).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        settings: ApiSettings,
        registry: str,
        guardrails: dict[str, dict[str, str]],
        invoke_policies: list[dict[tuple[str, ...], list[str]]],
        artifacts_bucket_name: str,
        content_types: list[str],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.router = MlKitFunction(
            self,
            "Router",
            handler="router.handler",
            layers=[dependencies_layer(self), registry_layer(self, registry)],
            description=f"mlkit {environment_name}: invokes any registered model by name",
            environment=router_environment(
                environment_name,
                artifacts_bucket=artifacts_bucket_name,
                guardrails=registry_contract.guardrails_variable(guardrails),
                max_body_bytes=settings.max_body_kb * 1024,
            ),
            # botocore's 3 attempts at 8 s reads stay under API Gateway's 29 s integration limit.
            timeout_seconds=28,
            memory_mb=512,
            reserved_concurrency=settings.reserved_concurrency,
        )
        self._grant(invoke_policies)
        self.api = self._rest_api(environment_name, settings, content_types)
        self.url = self.api.url
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)
        cdk.CfnOutput(self, "RouterFunctionName", value=self.router.function.function_name)

    def _grant(self, invoke_policies: list[dict[tuple[str, ...], list[str]]]) -> None:
        """One managed policy per document: together they may exceed a role's 10,240 inline characters."""
        for number, document in enumerate(invoke_policies, start=1):
            policy = iam.ManagedPolicy(
                self,
                f"RouterInvoke{number}",
                description=f"mlkit router: invoke its models ({number} of {len(invoke_policies)})",
                roles=[self.router.role],
                statements=[
                    iam.PolicyStatement(actions=list(actions), resources=resources)
                    for actions, resources in document.items()
                ],
            )
            for resources in document.values():
                for resource in (r for r in resources if r.endswith("*")):
                    acknowledge_wildcard(
                        policy,
                        resource,
                        "Async request bodies get a new key per request; "
                        "the grant is PutObject under this model's own async-input prefix.",
                    )

    def _rest_api(
        self, environment_name: str, settings: ApiSettings, content_types: list[str]
    ) -> apigateway.RestApi:
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.THREE_MONTHS)
        api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=names.rest_api_name(environment_name),
            binary_media_types=binary_media_types(content_types),
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


def binary_media_types(content_types: list[str]) -> list[str]:
    """The API's binary media types: the defaults, and every non-text type a model declares."""
    declared = [
        kind
        for kind in dict.fromkeys(content_types)
        if not registry_contract.is_text_media_type(kind) and not _covered(kind, BINARY_MEDIA_TYPES)
    ]
    return [*BINARY_MEDIA_TYPES, *declared]


def _covered(kind: str, patterns: tuple[str, ...]) -> bool:
    return any(kind == p or p.endswith("/*") and kind.startswith(p[:-1]) for p in patterns)
