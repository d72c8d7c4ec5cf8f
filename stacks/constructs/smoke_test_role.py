"""The role a delivery pipeline's smoke test assumes in an environment's account to call GET /models."""

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks import names


class SmokeTestRole(Construct):
    """``mlkit-<env>-smoke-test``: may call ``GET /models`` on ``api`` and nothing else.

    The API takes IAM (SigV4) auth, and a caller from another account would also need a resource policy
    on the API; a role in the API's own account needs neither. Only ``caller`` (the pipeline's smoke-test
    role in the tooling account) may assume it: its account is the principal, and its ARN the condition,
    so the trust survives the caller's role being re-created.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        api: apigateway.RestApi,
        caller: str,
    ) -> None:
        super().__init__(scope, construct_id)
        caller_account = caller.split(":")[4]  # arn:PARTITION:iam::ACCOUNT:role/NAME
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.smoke_test_role(environment_name),
            description=f"mlkit {environment_name}: the delivery pipeline's smoke test calls GET /models",
            assumed_by=iam.AccountPrincipal(caller_account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": caller}}
            ),
        )
        stage = api.deployment_stage.stage_name
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["execute-api:Invoke"], resources=[api.arn_for_execute_api("GET", "/models", stage)]
            )
        )
