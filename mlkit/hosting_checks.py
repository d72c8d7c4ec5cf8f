"""Does the deployed endpoint serve the model as its config says? Read back from the emulator.

The expectations come from the config's own fields, not from the code that builds the endpoint
config, so a construct that drops or mistypes a setting makes the check fail.
"""

import json

from mlkit.report import StepFailed
from stacks import names

MISSING = "missing"


def expected_variant(hosting) -> dict[str, object]:
    """The production variant's settings a hosting entry asks for, as dotted paths."""
    if hosting.type == "serverless":
        expected = {
            "ServerlessConfig.MemorySizeInMB": hosting.memory_mb,
            "ServerlessConfig.MaxConcurrency": hosting.max_concurrency,
        }
        if hosting.provisioned_concurrency:
            expected["ServerlessConfig.ProvisionedConcurrency"] = hosting.provisioned_concurrency
        return expected
    # Async endpoints start on one instance; their autoscaling (checked by the template tests) goes on.
    count = hosting.initial_count if hosting.type == "realtime" else 1
    return {"InstanceType": hosting.instance_type, "InitialInstanceCount": count}


def expected_async(hosting, artifacts_bucket: str, label: str) -> dict[str, object]:
    prefixes = names.async_prefixes(label)
    return {
        "OutputConfig.S3OutputPath": f"s3://{artifacts_bucket}/{prefixes['output']}",
        "OutputConfig.S3FailurePath": f"s3://{artifacts_bucket}/{prefixes['failure']}",
        "ClientConfig.MaxConcurrentInvocationsPerInstance": hosting.max_concurrent_invocations_per_instance,
    }


def dotted(document: dict, path: str) -> object:
    node: object = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def mismatches(document: dict, expected: dict[str, object], where: str) -> list[str]:
    return [
        f"{where}.{path} is {dotted(document, path)!r}, the config says {value!r}"
        for path, value in expected.items()
        if dotted(document, path) != value
    ]


def check_endpoint_config(sagemaker, endpoint: str, model, label: str, artifacts_bucket: str) -> str:
    """The endpoint's config holds the model's hosting; answers a one-line summary of it."""
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variants = config.get("ProductionVariants", [])
    if len(variants) != 1:
        raise StepFailed(f"{config_name} has {len(variants)} production variants, mlkit deploys one")
    hosting = model.hosting
    problems = mismatches(variants[0], expected_variant(hosting), "variant")
    async_config = config.get("AsyncInferenceConfig") or {}
    if hosting.type == "async":
        problems += mismatches(async_config, expected_async(hosting, artifacts_bucket, label), "async")
    elif async_config:
        problems.append(f"{config_name} has an AsyncInferenceConfig, but the config says {hosting.type}")
    if problems:
        raise StepFailed(f"{config_name}: " + "; ".join(problems))
    return f"{config_name}: {describe_hosting(hosting, artifacts_bucket, label)}"


def describe_hosting(hosting, artifacts_bucket: str, label: str) -> str:
    if hosting.type == "serverless":
        return f"serverless, {hosting.memory_mb} MB, concurrency {hosting.max_concurrency}"
    if hosting.type == "realtime":
        return f"real-time, {hosting.initial_count} × {hosting.instance_type}"
    output = names.async_prefixes(label)["output"]
    return f"async, 1 × {hosting.instance_type}, answers under s3://{artifacts_bucket}/{output}"


def template_endpoint(cloudformation, stack_name: str, expected_name: str) -> str:
    """The emulated name of the stack's one endpoint, once its template names it ``expected_name``.

    moto ignores EndpointName and names the endpoint after the stack; AWS uses the template's name,
    which is the one the router calls.
    """
    body = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    resources = (json.loads(body) if isinstance(body, str) else body).get("Resources", {})
    endpoints = [
        (logical_id, resource.get("Properties", {}))
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::SageMaker::Endpoint"
    ]
    if len(endpoints) != 1:
        raise StepFailed(f"{stack_name} declares {len(endpoints)} endpoints, expected one")
    logical_id, properties = endpoints[0]
    if properties.get("EndpointName") != expected_name:
        raise StepFailed(
            f"{stack_name} names its endpoint {properties.get('EndpointName')!r}; "
            f"the router calls {expected_name!r}"
        )
    # DescribeStackResources, not DescribeStackResource: moto's fails on stacks with resources it skipped.
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    arn = next(r["PhysicalResourceId"] for r in resources if r.get("LogicalResourceId") == logical_id)
    return arn.rsplit("/", 1)[-1]
