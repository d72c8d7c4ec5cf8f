"""``mlkit-<env>-deploy``: the one deploy Lambda every pipeline of an environment invokes."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks import names
from stacks.constructs.execution_role import sagemaker_key_grants
from stacks.constructs.lambda_function import MlKitFunction, dependencies_layer
from stacks.deploy_access import (
    PASS_ROLE,
    PASS_ROLE_CONDITION,
    deploy_grants,
    deploy_policies,
    scaling_statements,
    uses_key_grants,
)
from stacks.nag import accept_checkov, acknowledge, nag_text

SCALING_REASON = (
    "Application Auto Scaling's writes take only a scalable-target ARN whose id the service assigns, and "
    "its Describe calls no resource at all; the writes are limited to SageMaker variants by the "
    "service-namespace and scalable-dimension condition keys."
)
WILDCARD_REASON = (
    "Models and endpoint configs are versioned by a content hash appended to their endpoint's name at "
    "deploy time; each grant covers one configured pipeline model's versions only."
)


class DeployStack(cdk.Stack):
    """The deploy function (lambdas/deploy.py) of every pipeline model of one environment, and its role.

    Pipeline stacks take this stack as ``deployer`` (DeploySteps) and depend on it, so CloudFormation
    creates the function (and its grants for a new model) before any pipeline can call it: a hub
    model's pipeline starts as soon as its stack is deployed. The role may create and update exactly
    the endpoints, endpoint configs and models named for ``models`` (stacks/deploy_access.py), pass
    exactly their roles (named ``names.model_role_name``) to SageMaker, put and delete their
    wake-from-zero alarms, register SageMaker variants with Application Auto Scaling, and, when an
    endpoint has encrypted volumes, let SageMaker create grants on the data ``key``. The per-model grants
    sit in managed policies, split to fit IAM's size.

    Exposes ``function`` (the Lambda), ``role``, ``environment_name``, ``endpoint_names`` (model
    name -> the endpoint it may deploy) and ``function_arn_import``: the function's ARN as the pipeline
    stacks read it, an ``Fn::ImportValue`` of the export CDK would have made for the reference, here
    named at construction, so their cdk-nag acknowledgements can name it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        models: dict,
        key: kms.IKey,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.environment_name = environment_name
        self.endpoint_names = {label: names.endpoint_name(environment_name, label) for label in models}
        deploy = MlKitFunction(
            self,
            "DeployFunction",
            handler="deploy.handler",
            description=f"mlkit {environment_name}: creates or updates the endpoints its pipelines deploy",
            layers=[dependencies_layer(self)],
            timeout_seconds=60,
        )
        accept_checkov(
            deploy.function.node.default_child,
            "CKV_AWS_115",
            "Runs once per pipeline run, and pipeline runs rarely overlap; a reservation would take the "
            "account's unreserved pool for calls a retry absorbs.",
        )
        self.function, self.role = deploy.function, deploy.role
        self.function_arn_import = self.export_value(self.function.function_arn)
        self._grant(list(models))
        self._grant_scaling()
        if uses_key_grants(models):
            # SageMaker creates grants on the key, as the caller, for the endpoint's storage volumes.
            self.role.add_to_principal_policy(sagemaker_key_grants(key))

    def _grant(self, labels: list[str]) -> None:
        """One managed policy per document: together they may exceed a role's 10,240 inline characters."""
        parts = {"partition": self.partition, "account": self.account, "region": self.region}
        documents = deploy_policies(self.environment_name, labels, **parts)
        # The same rows as cdk-nag names their resources, to acknowledge the versioned wildcards.
        texts = {
            row.resource: text.resource
            for row, text in zip(
                deploy_grants(self.environment_name, labels, **parts),
                deploy_grants(
                    self.environment_name,
                    labels,
                    **{part: nag_text(self.resolve(value)) for part, value in parts.items()},
                ),
                strict=True,
            )
        }
        for number, document in enumerate(documents, start=1):
            policy = iam.ManagedPolicy(
                self,
                f"Deploy{number}",
                description=f"mlkit deploy Lambda: its pipelines' endpoints ({number} of {len(documents)})",
                roles=[self.role],
                statements=[self._statement(actions, resources) for actions, resources in document.items()],
            )
            for resource in (r for resources in document.values() for r in resources if r.endswith("*")):
                acknowledge(policy, f"IAM5[Resource::{texts[resource]}]", WILDCARD_REASON)

    def _grant_scaling(self) -> None:
        """Autoscaling of the endpoints once InService (lambdas/shared/scaling.py): an inline policy of
        its own, a fixed size whatever the number of models, holding nothing else."""
        statements = scaling_statements(partition=self.partition, account=self.account)
        policy = iam.Policy(
            self,
            "DeployScaling",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(actions=list(actions), resources=resources, conditions=condition)
                for actions, resources, condition in statements
            ],
        )
        acknowledge(policy, "IAM5[Resource::*]", SCALING_REASON)

    @staticmethod
    def _statement(actions: tuple[str, ...], resources: list[str]) -> iam.PolicyStatement:
        conditions = PASS_ROLE_CONDITION if actions == PASS_ROLE else None
        return iam.PolicyStatement(actions=list(actions), resources=resources, conditions=conditions)
