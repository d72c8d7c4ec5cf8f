"""`make local`: the operations resources read back from the emulator, and the idle cost estimate.

moto's CloudFormation creates no AWS::CloudWatch::Alarm and no AWS::Budgets::Budget (it warns and
skips them), so those are reported as not emulated; tests/stacks/test_operations_stack.py asserts
their thresholds, filters and actions on the alerts topic.
"""

from mlkit.checks import stack_outputs
from mlkit.report import NotEmulated, StepFailed
from sources import source_of
from stacks import names

ALARMS_NOT_EMULATED = (
    "moto's CloudFormation creates no AWS::CloudWatch::Alarm: tests/stacks/test_operations_stack.py "
    "asserts every alarm's threshold and its action on the alerts topic"
)
CAPTURE_TABLES_NOT_EMULATED = (
    "moto's CloudFormation creates no AWS::Glue::Table: tests/stacks/test_data_capture.py asserts each "
    "capture table's location, columns and JSON SerDe"
)
BUDGET_NOT_EMULATED = (
    "moto's CloudFormation creates no AWS::Budgets::Budget: tests/stacks/test_operations_stack.py "
    "asserts its tag filter, thresholds and topic"
)


def check_monitoring(row, run) -> None:
    """Every operations part deployed with its dashboard page, a dashboard row per model, the KMS-encrypted
    alerts topic, and both failure rules."""
    from stacks.stage import config_operations_parts  # the CDK app's own modules: imported when checked

    environment = run.environment
    cloudformation = run.clients("cloudformation")
    data_outputs = stack_outputs(cloudformation, names.data_stack_name(environment))
    topic = data_outputs["AlertsTopicArn"]
    attributes = run.clients("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    if not attributes.get("KmsMasterKeyId"):
        raise StepFailed(f"{topic} is not KMS-encrypted")
    parts = config_operations_parts(run.config)
    for part in parts:  # raises naming a part that is missing or failed
        stack_outputs(cloudformation, names.operations_part_stack_name(environment, part.number))
    pages = [
        names.dashboard_name(environment, part.number) for part in parts if part.number == 1 or part.page
    ]
    cloudwatch = run.clients("cloudwatch")
    listed = cloudwatch.list_dashboards(DashboardNamePrefix=names.prefix(environment))["DashboardEntries"]
    found = [d["DashboardName"] for d in listed if d["DashboardName"] in pages]
    bodies = "".join(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"] for name in found)
    missing = [
        label
        for label, model in run.config.models.items()
        if names.dashboard_row_title(label, source_of(model).name) not in bodies
    ]
    if found != pages or missing:
        raise StepFailed(f"dashboards {found} (expected {pages}) have no row for {missing}")
    rules = run.clients("events").list_rules(NamePrefix=names.operations_stack_name(environment))["Rules"]
    patterns = " ".join(rule.get("EventPattern", "") for rule in rules)
    if "aws.states" not in patterns or "aws.glue" not in patterns:
        raise StepFailed(f"{len(rules)} failure rules deployed; expected the pipeline and the Glue rule")
    row.detail = (
        f"dashboard {', '.join(found)} in {len(parts)} operations stack(s): a row for each of "
        f"{len(run.config.models)} models; topic {topic.rsplit(':', 1)[1]} KMS-encrypted; failure rules for "
        "pipelines and Glue → the topic"
    )


def check_hardening(row, run) -> None:
    """Every log group of the environment's stacks is encrypted with the data key and kept as configured;
    the router has its reserved concurrency."""
    environment, config = run.environment, run.config
    cloudformation = run.clients("cloudformation")
    key = stack_outputs(cloudformation, names.data_stack_name(environment))["DataKeyArn"]
    logs, groups = run.clients("logs"), []
    for stack in cloudformation.describe_stacks()["Stacks"]:
        if not stack["StackName"].startswith(names.prefix(environment) + "-"):
            continue
        resources = cloudformation.describe_stack_resources(StackName=stack["StackName"])["StackResources"]
        groups += [
            r["PhysicalResourceId"] for r in resources if r.get("ResourceType") == "AWS::Logs::LogGroup"
        ]
    described = {
        group["logGroupName"]: group
        for page in logs.get_paginator("describe_log_groups").paginate()
        for group in page["logGroups"]
    }
    for name in groups:
        group = described.get(name, {})  # missing: (None, None), reported below
        found = (group.get("kmsKeyId"), group.get("retentionInDays"))
        if found != (key, config.logs.retention_days):
            raise StepFailed(f"log group {name} has key and retention {found}")
    router = stack_outputs(cloudformation, names.api_stack_name(environment)).get("RouterFunctionName")
    reserved = (
        run.clients("lambda")
        .get_function_concurrency(FunctionName=router)
        .get("ReservedConcurrentExecutions")
    )
    if reserved != config.api.reserved_concurrency:
        raise StepFailed(f"router {router} reserves {reserved}, not {config.api.reserved_concurrency}")
    row.detail = (
        f"{len(groups)} log groups encrypted with the data key, kept {config.logs.retention_days} days; "
        f"router reserves {reserved}"
    )


def check_capture(row, run, label: str, capture) -> None:
    """The deployed endpoint config captures as configured, into the model's prefix, with the key."""
    sagemaker = run.clients("sagemaker")
    # A pipeline's deploy Lambda names its endpoint; moto names a stack's after the stack.
    pipeline = source_of(run.config.models[label]).has_pipeline
    endpoint = run.endpoint_name(label) if pipeline else run.cloudformation_endpoint_name(label)
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    found = sagemaker.describe_endpoint_config(EndpointConfigName=config_name).get("DataCaptureConfig", {})
    destination = f"s3://{run.bucket('artifacts')}/{names.capture_prefix(label).rstrip('/')}"
    if (found.get("InitialSamplingPercentage"), found.get("DestinationS3Uri")) != (
        capture.sampling_percent,
        destination,
    ) or not found.get("KmsKeyId"):
        raise StepFailed(
            f"{config_name} captures {found or 'nothing'}, not {capture.sampling_percent}% to {destination}"
        )
    row.detail = (
        f"{config_name}: {capture.sampling_percent}% of {capture.mode} to {destination}, KMS-encrypted"
    )


def report_operations(report, run) -> None:
    report.attempt(
        "operations", "dashboard, topic, failure rules", None, lambda row: check_monitoring(row, run)
    )
    report.attempt(
        "operations", "log groups, router concurrency", None, lambda row: check_hardening(row, run)
    )
    captures = run.config.captures
    for label, capture in captures.items():
        report.attempt(
            "operations",
            f"{label} data capture",
            None,
            lambda row, label=label, capture=capture: check_capture(row, run, label, capture),
        )
    if captures:
        with report.step("operations", "capture tables (Athena)"):
            raise NotEmulated(CAPTURE_TABLES_NOT_EMULATED)
    with report.step("operations", "alarms"):
        raise NotEmulated(ALARMS_NOT_EMULATED)
    if run.config.budget:
        with report.step("operations", "budget"):
            raise NotEmulated(BUDGET_NOT_EMULATED)
