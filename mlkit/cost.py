"""An environment's cost, from its synthesized templates, its config and the price snapshot.

Per model and in total: the idle monthly cost (what runs with no traffic), the cost of 1,000 requests and
the cost of one training or packaging run (an upper bound: instances x max runtime). Templates hold what
`cdk deploy` creates; the config holds what the pipelines create at run time (endpoints of trained and
packaged models, training jobs) and the Bedrock models. A resource priced by neither is listed as unpriced,
never counted as zero. mlkit/cost_report.py prints it (`make cost ENV=...`) and compares it.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from mlkit import prices
from stacks import names

HOURS_PER_MONTH = 730
ROUTER = "router.handler"  # the API stack's Lambda every request passes through
# Assumptions, printed under the estimate.
REQUEST_SECONDS = 1.0  # a serverless endpoint's billed duration per request, and the router's wait
INPUT_TOKENS = 500  # a Bedrock request's prompt
OUTPUT_TOKENS = 250  # a Bedrock answer (at most the model's max_tokens)
ASSUMPTIONS = {
    "hours_per_month": HOURS_PER_MONTH,
    "request_seconds": REQUEST_SECONDS,
    "bedrock_input_tokens": INPUT_TOKENS,
    "bedrock_output_tokens": OUTPUT_TOKENS,
    "state_transitions_per_run": "one per state of the state machine",
}
# Types with no standing charge, or charged only by use the estimate does not model (storage, logs).
NOT_ESTIMATED = re.compile(
    r"^(AWS::IAM::.*|AWS::CDK::Metadata|Custom::.*|AWS::Lambda::(Permission|LayerVersion)"
    r"|AWS::ApiGateway::(Account|Deployment|Method|Model|RequestValidator|Resource|Stage)"
    r"|AWS::S3::Bucket(Policy)?|AWS::Logs::LogGroup|AWS::Events::Rule|AWS::KMS::Alias"
    r"|AWS::Glue::(Database|SecurityConfiguration|Table)|AWS::Budgets::Budget"
    r"|AWS::SageMaker::(Endpoint|Model|ModelPackageGroup)|AWS::ApplicationAutoScaling::.*"
    r"|AWS::SNS::(Topic|TopicPolicy|Subscription)|AWS::SQS::(Queue|QueuePolicy)"
    r"|AWS::CloudFormation::.*|AWS::Bedrock::GuardrailVersion)$"
)


class Unpriced(Exception):
    """A resource or run the snapshot has no price for; the message says which price is missing."""


@dataclass
class Item:
    name: str
    idle_month: float = 0.0
    per_1000_requests: float = 0.0
    per_run: float = 0.0


@dataclass
class Estimate:
    environment: str
    region: str
    snapshot_date: str
    groups: dict[str, list[Item]] = field(default_factory=dict)
    unpriced: list[str] = field(default_factory=list)
    not_estimated: dict[str, int] = field(default_factory=dict)

    def add(self, group: str, item: Item) -> None:
        self.groups.setdefault(group, []).append(item)

    def totals(self, group: str | None = None) -> Item:
        items = self.groups.get(group, []) if group else [i for g in self.groups.values() for i in g]
        return Item(
            "total",
            sum(i.idle_month for i in items),
            sum(i.per_1000_requests for i in items),
            sum(i.per_run for i in items),
        )


@dataclass
class Pricer:
    """The snapshot's prices of one region, raising Unpriced for a figure it lacks."""

    snapshot: dict
    region: str

    def __call__(self, section: str, key: str) -> float:
        price = prices.lookup(self.snapshot, self.region, section, key)
        if price is None:
            raise Unpriced(f"no {section} price for {key} in {self.region}")
        return price


def read_assembly(directory: Path, environment: str) -> dict[str, dict]:
    """Each stack's template by stack name, from a cloud assembly or the stage's nested one."""
    directory = Path(directory)
    nested = directory / f"assembly-{environment}"
    if nested.is_dir():
        directory = nested
    manifest = json.loads((directory / "manifest.json").read_text())
    templates = {}
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "aws:cloudformation:stack":
            properties = artifact["properties"]
            templates[properties["stackName"]] = json.loads(
                (directory / properties["templateFile"]).read_text()
            )
    return templates


def group_of(stack: str, config) -> str:
    """The model a stack belongs to, ``dataset <name>`` for a dataset stack, else ``shared``."""
    part = stack.removeprefix(names.prefix(config.environment) + "-")
    if part in config.models:
        return part
    if part.startswith("dataset-"):
        return part.replace("-", " ", 1)
    return "shared"


def variant_items(variant: dict, minimum: int, price: Pricer) -> list[Item]:
    """An endpoint's production variant: serverless by memory and duration, instances by the hour."""
    serverless = variant.get("ServerlessConfig")
    if serverless:
        gigabytes = serverless["MemorySizeInMB"] / 1024
        items = [
            Item(
                f"serverless endpoint {serverless['MemorySizeInMB']} MB",
                per_1000_requests=1000
                * REQUEST_SECONDS
                * gigabytes
                * price("sagemaker_serverless", "gb_second"),
            )
        ]
        provisioned = serverless.get("ProvisionedConcurrency", 0)
        if provisioned:
            seconds = HOURS_PER_MONTH * 3600
            rate = price("sagemaker_serverless", "provisioned_gb_second")
            items.append(
                Item(f"provisioned concurrency {provisioned}", provisioned * gigabytes * seconds * rate)
            )
        return items
    instance = variant["InstanceType"]
    hourly = price("sagemaker_hosting", instance)
    return [Item(f"endpoint {minimum} x {instance} (minimum)", minimum * HOURS_PER_MONTH * hourly)]


def endpoint_config_items(resource: dict, stack: dict, price: Pricer) -> list[Item]:
    # The stack's scalable target, when it has one, sets the idle floor (0 for async endpoints).
    targets = [
        r["Properties"] for r in stack.values() if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    ]
    items = []
    for variant in resource["Properties"]["ProductionVariants"]:
        minimum = targets[0]["MinCapacity"] if targets else variant.get("InitialInstanceCount", 0)
        items.extend(variant_items(variant, minimum, price))
    return items


def join_text(value) -> str:
    """A template string value as text, each token as ``token`` (enough to count states)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(join_text(part) for part in parts)
    return "token"


def resource_items(logical_id: str, resource: dict, stack: dict, price: Pricer) -> list[Item] | None:
    """Items of one template resource; None when its type is not priced here."""
    kind, properties = resource["Type"], resource.get("Properties", {})
    if kind == "AWS::SageMaker::EndpointConfig":
        return endpoint_config_items(resource, stack, price)
    if kind == "AWS::KMS::Key":
        return [Item(f"KMS key {logical_id}", price("kms", "key_month"))]
    if kind == "AWS::CloudWatch::Alarm":
        # Billed per metric: an alarm on a metric math expression pays for each metric it reads.
        metrics = sum("MetricStat" in m for m in properties.get("Metrics", [])) or 1
        name = properties.get("AlarmName", logical_id)
        return [Item(f"alarm {name} ({metrics} metrics)", metrics * price("cloudwatch", "alarm_month"))]
    if kind == "AWS::CloudWatch::Dashboard":
        return [Item(f"dashboard {logical_id}", price("cloudwatch", "dashboard_month"))]
    if kind == "AWS::Glue::Job":
        dpus = (
            properties["NumberOfWorkers"]
            * {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}[properties["WorkerType"]]
        )
        rate = price("glue", "flex_dpu_hour" if properties.get("ExecutionClass") == "FLEX" else "dpu_hour")
        hours = properties.get("Timeout", 2880) / 60
        return [Item(f"Glue job {dpus} DPU x {hours:g} h (timeout)", per_run=dpus * hours * rate)]
    if kind == "AWS::StepFunctions::StateMachine":
        states = len(re.findall(r'"Type"\s*:\s*"', join_text(properties.get("DefinitionString", ""))))
        return [
            Item(
                f"state machine {logical_id} ({states} states)",
                per_run=states * price("stepfunctions", "state_transition"),
            )
        ]
    return None


def request_overhead(templates: dict[str, dict], config, price: Pricer) -> list[Item]:
    """What every request pays on its way to a model: API Gateway and the router Lambda."""
    api = templates.get(names.api_stack_name(config.environment), {}).get("Resources", {})
    items = []
    for resource in api.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::ApiGateway::RestApi":
            items.append(
                Item(
                    "API Gateway", per_1000_requests=1000 * price("apigateway", "rest_million_requests") / 1e6
                )
            )
        if resource["Type"] == "AWS::Lambda::Function" and properties.get("Handler") == ROUTER:
            gigabytes = properties.get("MemorySize", 128) / 1024
            per_request = price("lambda", "request") + REQUEST_SECONDS * gigabytes * price(
                "lambda", "gb_second"
            )
            items.append(
                Item(
                    f"router Lambda {properties.get('MemorySize', 128)} MB",
                    per_1000_requests=1000 * per_request,
                )
            )
    return items


def alarm_group(resource: dict, config) -> str | None:
    """The model an alarm named ``mlkit-<env>-<model>-...`` watches (the longest such model name)."""
    name = resource.get("Properties", {}).get("AlarmName")
    if not isinstance(name, str):
        return None
    watched = [
        label
        for label in config.models
        if name.startswith(names.endpoint_name(config.environment, label) + "-")
    ]
    return max(watched, key=len, default=None)


def add_templates(estimate: Estimate, templates: dict[str, dict], config, price: Pricer) -> None:
    for stack_name, template in sorted(templates.items()):
        stack_group = group_of(stack_name, config)
        stack = template.get("Resources", {})
        for logical_id, resource in stack.items():
            kind = resource["Type"]
            # A Bedrock model's alarms sit in the operations stack: they are still that model's cost.
            group = (kind == "AWS::CloudWatch::Alarm" and alarm_group(resource, config)) or stack_group
            if kind == "AWS::ApiGateway::RestApi" or resource.get("Properties", {}).get("Handler") == ROUTER:
                continue  # paid per request: in request_overhead
            if kind == "AWS::Lambda::Function" or NOT_ESTIMATED.match(kind):
                estimate.not_estimated[kind] = estimate.not_estimated.get(kind, 0) + 1
                continue
            try:
                items = resource_items(logical_id, resource, stack, price)
            except Unpriced as missing:
                estimate.unpriced.append(f"unpriced: {logical_id} ({kind}) in {stack_name}: {missing}")
                continue
            if items is None:
                estimate.unpriced.append(f"unpriced: {logical_id} ({kind}) in {stack_name}")
                continue
            for item in items:
                estimate.add(group, item)


def bedrock_items(model, price: Pricer) -> list[Item]:
    output_tokens = min(OUTPUT_TOKENS, model.inference.max_tokens)
    per_request = INPUT_TOKENS / 1000 * price("bedrock", prices.bedrock_key(model.model_id, "input"))
    per_request += output_tokens / 1000 * price("bedrock", prices.bedrock_key(model.model_id, "output"))
    return [Item(f"Bedrock {model.model_id}", per_1000_requests=1000 * per_request)]


def hosting_items(hosting, price: Pricer) -> list[Item]:
    """An endpoint a pipeline creates at run time, from the config's hosting."""
    from stacks.constructs.hosting_settings import production_variant

    minimum = 0 if hosting.type == "async" else getattr(hosting, "initial_count", 0)
    if getattr(hosting, "autoscaling", None):
        minimum = hosting.autoscaling.min
    return variant_items(production_variant(hosting), minimum, price)


def run_items(model, price: Pricer) -> list[Item]:
    """One training or packaging run, bounded by its max runtime."""
    if model.source == "autopilot":
        raise Unpriced("Autopilot picks its training instances: no price for its run")
    if model.source == "training":
        jobs = model.tuning.max_jobs if model.tuning else 1
        hours = model.max_runtime / 3600
        rate = price("sagemaker_training", model.instance_type)
        return [Item(f"training {jobs} x {model.instance_type} x {hours:g} h", per_run=jobs * hours * rate)]
    packaging = getattr(model, "packaging", None)
    if packaging is not None:
        hours = packaging.max_runtime / 3600
        rate = price("sagemaker_processing", packaging.instance_type)
        return [Item(f"packaging {packaging.instance_type} x {hours:g} h", per_run=hours * rate)]
    return []


def config_items(estimate: Estimate, name: str, model, has_endpoint: bool, price: Pricer) -> None:
    """What the config says a model runs that its templates do not create; each part priced apart."""
    hosting = getattr(model, "hosting", None)
    parts = [lambda: run_items(model, price)]
    if model.source == "bedrock":
        parts.append(lambda: bedrock_items(model, price))
    if hosting is not None and not has_endpoint:
        parts.append(lambda: hosting_items(hosting, price))
    estimate.groups.setdefault(name, [])
    for part in parts:
        try:
            estimate.groups[name].extend(part())
        except Unpriced as missing:
            estimate.unpriced.append(f"unpriced: model {name} ({model.source}): {missing}")


def add_config(estimate: Estimate, templates: dict[str, dict], config, price: Pricer) -> None:
    overhead = request_overhead(templates, config, price)
    for name, model in config.models.items():
        stack = templates.get(names.model_stack_name(config.environment, name), {}).get("Resources", {})
        has_endpoint = any(r["Type"] == "AWS::SageMaker::EndpointConfig" for r in stack.values())
        config_items(estimate, name, model, has_endpoint, price)
        estimate.groups[name].extend(Item(i.name, per_1000_requests=i.per_1000_requests) for i in overhead)
    for dataset in config.datasets:
        settings = config.dataset_setting(dataset)
        if settings.prepare != "glue":  # a Glue job is in the dataset's template
            hours = settings.resolved_max_runtime / 3600
            instance = settings.resolved_instance_type
            try:
                rate = price("sagemaker_processing", instance)
            except Unpriced as missing:
                estimate.unpriced.append(f"unpriced: dataset {dataset} ({settings.prepare}): {missing}")
                continue
            estimate.add(
                f"dataset {dataset}",
                Item(f"{settings.prepare} {instance} x {hours:g} h", per_run=hours * rate),
            )


def estimate_cost(assembly: Path, config, snapshot: dict) -> Estimate:
    return estimate_templates(read_assembly(assembly, config.environment), config, snapshot)


def estimate_templates(templates: dict[str, dict], config, snapshot: dict) -> Estimate:
    """The estimate of ``templates`` (stack name → template), as ``config`` deploys them."""
    price = Pricer(snapshot, config.region)
    estimate = Estimate(config.environment, config.region, snapshot["date"])
    add_config(estimate, templates, config, price)
    add_templates(estimate, templates, config, price)
    return estimate
