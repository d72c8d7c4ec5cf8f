"""What IAM checks for each AWS call the kit's runtime code makes: actions, resource ARNs, condition keys.

One entry per (botocore service, operation), read off AWS's Service Authorization Reference (the action's
required resource types and the condition keys it carries) and the services' documented dependent
actions: a SageMaker create with tags also needs AddTags, a role ARN in a request needs iam:PassRole,
an object written to or read from an SSE-KMS bucket needs the caller's GenerateDataKey or Decrypt on the
key (S3 calls KMS on the caller's behalf: s3_requests.py), and an endpoint on a KMS-encrypted volume
needs a grant the caller creates through SageMaker.

A call that is not in the table is refused by the enforcer as "not emulated": a new call must add its
row here before the emulator lets it through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlkit.access import autoscaling
from mlkit.access import s3_requests as s3
from mlkit.access.checks import SAGEMAKER_PRINCIPAL, Check, Lookups, Row, arn, key_arn, via
from sources.bedrock import PROFILE_GEOGRAPHIES, profile_geography

# ---- SageMaker ------------------------------------------------------------------------------


def sagemaker_arn(env: Lookups, kind: str, name: str) -> str:
    return arn(env, "sagemaker", f"{kind}/{name.lower()}")  # SageMaker's ARNs lower-case the name


def tag_context(tags: list[dict] | None) -> dict:
    context: dict[str, Any] = {}
    if tags:
        context["aws:TagKeys"] = [tag["Key"] for tag in tags]
        context.update({f"aws:RequestTag/{tag['Key']}": tag["Value"] for tag in tags})
    return context


def add_tags(resource: str, tags: list[dict] | None, action: str) -> list[Check]:
    """SageMaker authorizes the tags of a Create* request as AddTags on the new resource."""
    if not tags:
        return []
    return [Check("sagemaker:AddTags", resource, {**tag_context(tags), "sagemaker:TaggingAction": action})]


def pass_role(role_arn: str | None, service: str = SAGEMAKER_PRINCIPAL) -> list[Check]:
    return [Check("iam:PassRole", role_arn, {"iam:PassedToService": service})] if role_arn else []


# SageMaker's ARN kinds whose API names are not the kind in PascalCase.
API_NAMES = {"automl-job": "AutoMLJobV2"}


def sagemaker_create(
    kind: str, name_key: str, extra: Callable[[dict, Lookups], dict] = lambda p, e: {}
) -> Row:
    """Create<Kind>: the action on the new resource, AddTags when tagged, PassRole for a role in it."""
    action = "sagemaker:Create" + API_NAMES.get(kind, "".join(part.title() for part in kind.split("-")))

    def row(params: dict, env: Lookups) -> list[Check]:
        resource = sagemaker_arn(env, kind, params[name_key])
        context = {**tag_context(params.get("Tags")), **extra(params, env)}
        checks = [
            Check(action, resource, context),
            *add_tags(resource, params.get("Tags"), action.split(":")[1]),
        ]
        return checks + pass_role(params.get("ExecutionRoleArn") or params.get("RoleArn"))

    return row


def model_context(params: dict, env: Lookups) -> dict:
    context: dict[str, Any] = {"sagemaker:NetworkIsolation": bool(params.get("EnableNetworkIsolation"))}
    vpc = params.get("VpcConfig")
    if vpc:
        context.update(
            {"sagemaker:VpcSubnets": vpc["Subnets"], "sagemaker:VpcSecurityGroupIds": vpc["SecurityGroupIds"]}
        )
    return context


def endpoint_config_context(params: dict, env: Lookups) -> dict:
    return {"sagemaker:VolumeKmsKey": key_arn(env, params["KmsKeyId"])} if params.get("KmsKeyId") else {}


def endpoint_change(action: str) -> Row:
    """CreateEndpoint/UpdateEndpoint: the endpoint and its config; for an encrypted volume, the grant
    SageMaker creates on the key as the caller."""

    def row(params: dict, env: Lookups) -> list[Check]:
        endpoint = sagemaker_arn(env, "endpoint", params["EndpointName"])
        config = sagemaker_arn(env, "endpoint-config", params["EndpointConfigName"])
        checks = [Check(action, endpoint, tag_context(params.get("Tags"))), Check(action, config)]
        checks += add_tags(endpoint, params.get("Tags"), action.split(":")[1])
        checks += volume_grant(env, env.endpoint_config_key(params["EndpointConfigName"]))
        return checks

    return row


def sagemaker_named(action: str, kind: str, name_key: str) -> Row:
    return lambda params, env: [Check(action, sagemaker_arn(env, kind, params[name_key]))]


def invoke_endpoint(action: str) -> Row:
    def row(params: dict, env: Lookups) -> list[Check]:
        context = {"sagemaker:TargetModel": params["TargetModel"]} if params.get("TargetModel") else {}
        return [Check(action, sagemaker_arn(env, "endpoint", params["EndpointName"]), context)]

    return row


def volume_grant(env: Lookups, key: str | None) -> list[Check]:
    """The grant SageMaker creates on a job's or endpoint's volume key, as the caller."""
    if not key:
        return []
    grant = {**via(env, "sagemaker"), "kms:GrantIsForAWSResource": True, "aws:ViaAWSService": True}
    return [Check("kms:CreateGrant", key_arn(env, key), grant, policy="key")]


def job_volume_key(params: dict) -> str | None:
    """The volume key of a training, tuning, processing or AutoML job request."""
    for path in (
        ("ResourceConfig", "VolumeKmsKeyId"),
        ("TrainingJobDefinition", "ResourceConfig", "VolumeKmsKeyId"),
        ("ProcessingResources", "ClusterConfig", "VolumeKmsKeyId"),
        ("SecurityConfig", "VolumeKmsKeyId"),
    ):
        node = params
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node:
            return node
    return None


def sagemaker_job(kind: str, name_key: str) -> Row:
    """Create<Job>: the job, AddTags when tagged, PassRole for its role (a tuning job's is in its
    training job definition).

    Not the grant on the job's volume key: SageMaker's documentation does not say whether it is made
    as the caller or as the job's role (AutoML starts its jobs as its own role), so it is not decided
    here (`make local`'s "what the emulator does not decide" row names it)."""
    create = sagemaker_create(kind, name_key, lambda params, env: job_context(params, env))

    def row(params: dict, env: Lookups) -> list[Check]:
        return [*create(params, env), *pass_role((params.get("TrainingJobDefinition") or {}).get("RoleArn"))]

    return row


def job_context(params: dict, env: Lookups) -> dict:
    key = job_volume_key(params)
    return {"sagemaker:VolumeKmsKey": key_arn(env, key)} if key else {}


def model_package(params: dict, env: Lookups) -> list[Check]:
    # A versioned package's ARN is model-package/<group>/<version>; the first version stands in for it.
    resource = sagemaker_arn(env, "model-package", f"{params['ModelPackageGroupName']}/1")
    create = Check("sagemaker:CreateModelPackage", resource, tag_context(params.get("Tags")))
    return [create, *add_tags(resource, params.get("Tags"), "CreateModelPackage")]


def describe_model_package(params: dict, env: Lookups) -> list[Check]:
    """DescribeModelPackage on the version it names: its ARN, or <group>/<version>."""
    name = params["ModelPackageName"]
    resource = name if name.startswith("arn:") else sagemaker_arn(env, "model-package", name)
    return [Check("sagemaker:DescribeModelPackage", resource)]


def list_model_packages(params: dict, env: Lookups) -> list[Check]:
    # The reference documents no ARN this call is authorized against (it names a group): "*".
    return [Check("sagemaker:ListModelPackages", "*")]


# ---- Bedrock, Lambda, CloudWatch, Glue, EventBridge ------------------------------------------


def bedrock_model_arns(env: Lookups, model_id: str) -> list[str]:
    """InvokeModel's resources for a model id: the foundation model, or an inference profile and the
    foundation model in each region AWS routes that profile's geography to (AWS checks both)."""
    if model_id.startswith("arn:"):
        return [model_id]
    geography = profile_geography(model_id)
    if geography is None:
        return [arn(env, "bedrock", f"foundation-model/{model_id}", account=False)]
    base = model_id.split(".", 1)[1]
    profile = arn(env, "bedrock", f"inference-profile/{model_id}")
    if geography == "global":
        return [profile, f"arn:{env.partition}:bedrock:::foundation-model/{base}"]
    return [
        profile,
        *(
            f"arn:{env.partition}:bedrock:{r}::foundation-model/{base}"
            for r in PROFILE_GEOGRAPHIES[geography]
        ),
    ]


def bedrock_converse(params: dict, env: Lookups) -> list[Check]:
    resources = bedrock_model_arns(env, params["modelId"])
    profile = {"bedrock:InferenceProfileArn": resources[0]} if len(resources) > 1 else {}
    checks = [Check("bedrock:InvokeModel", resource, profile) for resource in resources]
    guardrail = (params.get("guardrailConfig") or {}).get("guardrailIdentifier")
    if guardrail:
        target = guardrail if guardrail.startswith("arn:") else arn(env, "bedrock", f"guardrail/{guardrail}")
        checks.append(Check("bedrock:ApplyGuardrail", target))
    return checks


def lambda_invoke(params: dict, env: Lookups) -> list[Check]:
    name = params["FunctionName"]
    target = name if name.startswith("arn:") else arn(env, "lambda", f"function:{name}")
    if params.get("Qualifier"):
        target = f"{target}:{params['Qualifier']}"
    return [Check("lambda:InvokeFunction", target)]


def put_metric_data(params: dict, env: Lookups) -> list[Check]:
    return [Check("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": params["Namespace"]})]


def glue_job(action: str) -> Row:
    return lambda params, env: [Check(action, arn(env, "glue", f"job/{params['JobName']}"))]


def put_events(params: dict, env: Lookups) -> list[Check]:
    buses = {entry.get("EventBusName") or "default" for entry in params["Entries"]}
    return [
        Check("events:PutEvents", bus if bus.startswith("arn:") else arn(env, "events", f"event-bus/{bus}"))
        for bus in sorted(buses)
    ]


# (botocore service name, operation name) -> its checks.
OPERATIONS: dict[tuple[str, str], Row] = {
    **s3.ROWS,
    **autoscaling.ROWS,
    ("sagemaker-runtime", "InvokeEndpoint"): invoke_endpoint("sagemaker:InvokeEndpoint"),
    ("sagemaker-runtime", "InvokeEndpointAsync"): invoke_endpoint("sagemaker:InvokeEndpointAsync"),
    ("sagemaker", "DescribeEndpoint"): sagemaker_named(
        "sagemaker:DescribeEndpoint", "endpoint", "EndpointName"
    ),
    ("sagemaker", "DeleteEndpoint"): sagemaker_named("sagemaker:DeleteEndpoint", "endpoint", "EndpointName"),
    ("sagemaker", "DescribeEndpointConfig"): sagemaker_named(
        "sagemaker:DescribeEndpointConfig", "endpoint-config", "EndpointConfigName"
    ),
    ("sagemaker", "DescribeModel"): sagemaker_named("sagemaker:DescribeModel", "model", "ModelName"),
    ("sagemaker", "CreateModel"): sagemaker_create("model", "ModelName", model_context),
    ("sagemaker", "CreateEndpointConfig"): sagemaker_create(
        "endpoint-config", "EndpointConfigName", endpoint_config_context
    ),
    ("sagemaker", "CreateEndpoint"): endpoint_change("sagemaker:CreateEndpoint"),
    ("sagemaker", "UpdateEndpoint"): endpoint_change("sagemaker:UpdateEndpoint"),
    ("sagemaker", "CreateTrainingJob"): sagemaker_job("training-job", "TrainingJobName"),
    ("sagemaker", "CreateProcessingJob"): sagemaker_job("processing-job", "ProcessingJobName"),
    ("sagemaker", "CreateHyperParameterTuningJob"): sagemaker_job(
        "hyper-parameter-tuning-job", "HyperParameterTuningJobName"
    ),
    ("sagemaker", "CreateAutoMLJobV2"): sagemaker_job("automl-job", "AutoMLJobName"),
    ("sagemaker", "DescribeAutoMLJobV2"): sagemaker_named(
        "sagemaker:DescribeAutoMLJobV2", "automl-job", "AutoMLJobName"
    ),
    ("sagemaker", "StopAutoMLJob"): sagemaker_named("sagemaker:StopAutoMLJob", "automl-job", "AutoMLJobName"),
    ("sagemaker", "DescribeTrainingJob"): sagemaker_named(
        "sagemaker:DescribeTrainingJob", "training-job", "TrainingJobName"
    ),
    ("sagemaker", "CreateModelPackage"): model_package,
    ("sagemaker", "DescribeModelPackage"): describe_model_package,
    ("sagemaker", "ListModelPackages"): list_model_packages,
    ("glue", "StartJobRun"): glue_job("glue:StartJobRun"),
    ("events", "PutEvents"): put_events,
    ("bedrock-runtime", "Converse"): bedrock_converse,
    ("lambda", "Invoke"): lambda_invoke,
    ("cloudwatch", "PutMetricData"): put_metric_data,
}


def checks_for(service: str, operation: str, params: dict, env: Lookups) -> list[Check] | None:
    """The authorizations ``operation`` needs, or None when the table has no row for it."""
    row = OPERATIONS.get((service, operation))
    return None if row is None else row(params, env)
