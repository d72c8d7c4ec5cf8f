"""What IAM checks for the deploy Lambda's autoscaling calls (lambdas/shared/scaling.py).

Read off the Service Authorization Reference and the services' documented prerequisites:
- Application Auto Scaling's writes take a scalable-target ARN whose id the service assigns, so they are
  checked on ``*`` with the service-namespace and scalable-dimension keys the request sets; its reads
  take no resource;
- registering a SageMaker variant also needs, of the caller, sagemaker:DescribeEndpoint and
  sagemaker:UpdateEndpointWeightsAndCapacities on the endpoint, and iam:CreateServiceLinkedRole for
  Application Auto Scaling's SageMaker role (created on the account's first target; checked on every
  registration, as the emulator cannot tell the first)
  (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-prerequisites.html);
- CloudWatch's alarm calls take the alarm's ARN, by name.
Not checked: sagemaker:DescribeEndpointConfig on the endpoint's current config (the prerequisites list
it; the request does not name the config, and the deploy role's grant covers every version of it).
"""

from __future__ import annotations

from lambdas.shared import scaling_requests as contract
from mlkit.access.checks import Check, Lookups, Row, arn

AUTOSCALING = "application-autoscaling"


def target_context(params: dict) -> dict:
    return {
        f"{AUTOSCALING}:service-namespace": params["ServiceNamespace"],
        f"{AUTOSCALING}:scalable-dimension": params.get("ScalableDimension", ""),
    }


def autoscaling_write(action: str) -> Row:
    return lambda params, env: [Check(f"{AUTOSCALING}:{action}", "*", target_context(params))]


def autoscaling_read(action: str) -> Row:
    return lambda params, env: [Check(f"{AUTOSCALING}:{action}", "*")]


def register_scalable_target(params: dict, env: Lookups) -> list[Check]:
    checks = autoscaling_write("RegisterScalableTarget")(params, env)
    if params["ServiceNamespace"] == contract.SERVICE_NAMESPACE:
        endpoint = params["ResourceId"].split("/")[1]
        resource = arn(env, "sagemaker", f"endpoint/{endpoint.lower()}")
        linked = arn(
            env,
            "iam",
            f"role/aws-service-role/{contract.SERVICE_LINKED_ROLE_SERVICE}/{contract.SERVICE_LINKED_ROLE_NAME}",
            region=False,
        )
        checks += [
            Check("sagemaker:DescribeEndpoint", resource),
            Check("sagemaker:UpdateEndpointWeightsAndCapacities", resource),
            Check(
                "iam:CreateServiceLinkedRole",
                linked,
                {"iam:AWSServiceName": contract.SERVICE_LINKED_ROLE_SERVICE},
            ),
        ]
    return checks


def alarms(action: str, key: str) -> Row:
    def row(params: dict, env: Lookups) -> list[Check]:
        named = params[key] if isinstance(params[key], list) else [params[key]]
        return [Check(action, arn(env, "cloudwatch", f"alarm:{name}")) for name in named]

    return row


ROWS: dict[tuple[str, str], Row] = {
    (AUTOSCALING, "RegisterScalableTarget"): register_scalable_target,
    (AUTOSCALING, "DeregisterScalableTarget"): autoscaling_write("DeregisterScalableTarget"),
    (AUTOSCALING, "PutScalingPolicy"): autoscaling_write("PutScalingPolicy"),
    (AUTOSCALING, "DeleteScalingPolicy"): autoscaling_write("DeleteScalingPolicy"),
    (AUTOSCALING, "DescribeScalableTargets"): autoscaling_read("DescribeScalableTargets"),
    (AUTOSCALING, "DescribeScalingPolicies"): autoscaling_read("DescribeScalingPolicies"),
    ("cloudwatch", "PutMetricAlarm"): alarms("cloudwatch:PutMetricAlarm", "AlarmName"),
    ("cloudwatch", "DeleteAlarms"): alarms("cloudwatch:DeleteAlarms", "AlarmNames"),
}
