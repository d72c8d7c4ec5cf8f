"""What the environment's one deploy Lambda may do, model by model, and how that fits IAM's size limits.

Every pipeline model (a source with ``has_pipeline``: training, Autopilot, the hub sources) deploys its
endpoint at run time through the one function of ``mlkit-<env>-deploy``. Its grants are a pure function
of the config and the ARN parts, as the router's are (stacks/router_access.py): the deploy stack calls it
with CDK tokens, config validation with the longest values those tokens can take, so a config whose
grants would not fit IAM is refused before any construct is built, and the stack splits its policies at
exactly the places the estimate chose. No CDK import: config validation uses it.
"""

from __future__ import annotations

import json

from lambdas.shared import scaling_requests as scaling
from sources import source_of
from sources.base import Grant
from stacks import names
from stacks.constructs.hosting_settings import uses_kms_storage
from stacks.router_access import LONGEST, MANAGED_POLICIES_PER_ROLE, MANAGED_POLICY_CHARACTERS, pack_policies

# What lambdas/shared/endpoints.py calls (tags on create need AddTags), and what registering a variant
# with Application Auto Scaling needs of its caller on the endpoint (Describe*, UpdateEndpointWeights...:
# https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-prerequisites.html).
DEPLOY_ACTIONS = tuple(
    f"sagemaker:{action}"
    for action in (
        "CreateModel",
        "DescribeModel",
        "CreateEndpointConfig",
        "DescribeEndpointConfig",
        "CreateEndpoint",
        "UpdateEndpoint",
        "DescribeEndpoint",
        "DeleteEndpoint",
        "AddTags",
        "UpdateEndpointWeightsAndCapacities",
    )
)
# lambdas/shared/scaling.py: an async endpoint's wake-from-zero alarm, put and removed by its name.
ALARM_ACTIONS = ("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms")
# Application Auto Scaling's writes take only a scalable-target ARN whose id the service assigns at
# registration, so no grant can name it: they are granted on * for SageMaker variants only (the
# service-namespace and scalable-dimension condition keys). Its reads take no resource at all.
SCALING_WRITES = tuple(
    f"application-autoscaling:{action}"
    for action in (
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "DeleteScalingPolicy",
        "DeregisterScalableTarget",
    )
)
SCALING_READS = (
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
)
SCALING_WRITE_CONDITION = {
    "StringEquals": {
        "application-autoscaling:service-namespace": scaling.SERVICE_NAMESPACE,
        "application-autoscaling:scalable-dimension": scaling.SCALABLE_DIMENSION,
    }
}
# The first SageMaker target of an account makes Application Auto Scaling create its service-linked role.
SERVICE_LINKED_ROLE = ("iam:CreateServiceLinkedRole",)
SERVICE_LINKED_ROLE_CONDITION = {"StringEquals": {"iam:AWSServiceName": scaling.SERVICE_LINKED_ROLE_SERVICE}}
PASS_ROLE = ("iam:PassRole",)
# The models' roles go to SageMaker and to no other service (ExecutionRole.pass_to_sagemaker's condition).
PASS_ROLE_CONDITION = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
# pack_policies counts statements without conditions: each document keeps room for its PassRole one.
CONDITION_CHARACTERS = len(',"Condition":' + json.dumps(PASS_ROLE_CONDITION, separators=(",", ":")))
POLICY_CHARACTERS = MANAGED_POLICY_CHARACTERS - CONDITION_CHARACTERS
# The longest values the deploy stack's partition, account and region tokens can take.
LONGEST_PARTS = {"partition": LONGEST.partition, "account": LONGEST.account, "region": LONGEST.region}


def deployed_models(config) -> dict:
    """The models whose pipeline deploys their endpoint through the shared function, by name."""
    return {label: model for label, model in config.models.items() if source_of(model).has_pipeline}


def uses_key_grants(models: dict) -> bool:
    """Whether any endpoint has storage volumes encrypted with the data key (SageMaker then creates
    grants on it as the deploy function's role)."""
    return any(uses_kms_storage(model.hosting) for model in models.values())


def deploy_grants(environment: str, labels, *, partition: str, account: str, region: str) -> list[Grant]:
    """One row per (actions, resource): each model's endpoint, its versioned models and endpoint configs
    (``<endpoint>-<hash>``, lower-cased as SageMaker's ARNs are), the role its endpoint runs as, and its
    wake-from-zero alarm."""
    sagemaker = f"arn:{partition}:sagemaker:{region}:{account}"
    roles = f"arn:{partition}:iam::{account}:role"
    alarms = f"arn:{partition}:cloudwatch:{region}:{account}:alarm"
    rows = []
    for label in labels:
        endpoint = names.endpoint_name(environment, label)
        name = endpoint.lower()
        rows += [
            Grant(DEPLOY_ACTIONS, f"{sagemaker}:endpoint/{name}"),
            Grant(DEPLOY_ACTIONS, f"{sagemaker}:model/{name}-*"),
            Grant(DEPLOY_ACTIONS, f"{sagemaker}:endpoint-config/{name}-*"),
            Grant(PASS_ROLE, f"{roles}/{names.model_role_name(environment, label)}"),
            Grant(ALARM_ACTIONS, f"{alarms}:{scaling.wake_alarm_name(endpoint)}"),
        ]
    return rows


def scaling_statements(
    *, partition: str, account: str
) -> list[tuple[tuple[str, ...], list[str], dict | None]]:
    """(actions, resources, condition): the environment-wide grants autoscaling needs, one statement each."""
    linked_role = (
        f"arn:{partition}:iam::{account}:role/aws-service-role/{scaling.SERVICE_LINKED_ROLE_SERVICE}/"
        f"{scaling.SERVICE_LINKED_ROLE_NAME}"
    )
    return [
        (SCALING_WRITES, ["*"], SCALING_WRITE_CONDITION),
        (SCALING_READS, ["*"], None),
        (SERVICE_LINKED_ROLE, [linked_role], SERVICE_LINKED_ROLE_CONDITION),
    ]


def deploy_policies(
    environment: str, labels, *, partition: str, account: str, region: str
) -> list[dict[tuple, list[str]]]:
    """The grants as managed-policy documents ({actions: [resources]}), split on their longest values."""
    rows = deploy_grants(environment, labels, partition=partition, account=account, region=region)
    sizes = deploy_grants(environment, labels, **LONGEST_PARTS)
    return pack_policies(rows, sizes, limit=POLICY_CHARACTERS)


def limit_problems(config) -> list[tuple[str, str]]:
    """(key, message) when the deploy function's grants would not fit a role, at their longest."""
    labels = list(deployed_models(config))
    if not labels:
        return []
    documents = deploy_policies(config.environment, labels, **LONGEST_PARTS)
    if len(documents) <= MANAGED_POLICIES_PER_ROLE:
        return []
    return [
        (
            "models",
            f"{len(labels)} pipeline models need {len(documents)} IAM managed policies of "
            f"{MANAGED_POLICY_CHARACTERS} characters for the environment's deploy Lambda, and a role takes "
            f"at most {MANAGED_POLICIES_PER_ROLE}: move some pipeline models to another environment's config",
        )
    ]
