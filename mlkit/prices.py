"""The committed price snapshot (config/prices.json): its loader, and `make prices`, which refreshes it.

The estimate (mlkit/cost.py) reads only the snapshot, so it runs offline and gives the same figures until
someone refreshes the snapshot on purpose. The refresh asks the AWS Price List API (`pricing:GetProducts`,
served from us-east-1 only) for the figures it can find there and leaves the others as written by hand.
"""

import argparse
import copy
import datetime
import json
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "config" / "prices.json"
PRICING_REGION = "us-east-1"  # the Price List API's endpoint; it answers for every region
# Bedrock inference profiles prefix a model id with a geography; they cost what the model costs.
PROFILE_GEOGRAPHIES = ("us", "eu", "apac", "us-gov", "global", "jp", "au", "ca")
# SageMaker's instance prices by the Price List API's `component` attribute.
INSTANCE_SECTIONS = {
    "sagemaker_hosting": "Hosting",
    "sagemaker_training": "Training",
    "sagemaker_processing": "Processing",
}
# Other figures the API has under stable attributes: (section, key, service code, filters, multiplier).
# The multiplier turns the API's unit into the snapshot's (API Gateway is quoted per million requests).
SERVICE_QUERIES = (
    ("lambda", "request", "AWSLambda", {"group": "AWS-Lambda-Requests"}, 1.0),
    ("lambda", "gb_second", "AWSLambda", {"group": "AWS-Lambda-Duration"}, 1.0),
    (
        "apigateway",
        "rest_million_requests",
        "AmazonApiGateway",
        {"productFamily": "API Calls", "operation": "ApiGatewayRequest"},
        1_000_000.0,
    ),
)


def load_snapshot(path: Path = SNAPSHOT) -> dict:
    return json.loads(Path(path).read_text())


def lookup(snapshot: dict, region: str, section: str, key: str) -> float | None:
    """One price, or None when the snapshot has none (the caller lists the item as unpriced)."""
    return snapshot["regions"].get(region, {}).get(section, {}).get("prices", {}).get(key)


def bedrock_model(model_id: str) -> str:
    """The model behind an inference profile id: ``us.anthropic.x`` costs what ``anthropic.x`` does."""
    geography, _, rest = model_id.partition(".")
    return rest if geography in PROFILE_GEOGRAPHIES and "." in rest else model_id


def bedrock_key(model_id: str, direction: str) -> str:
    """``direction`` is input or output."""
    return f"{bedrock_model(model_id)} {direction}_1k_tokens"


def on_demand_usd(price_item: str) -> float | None:
    """The on-demand USD price of one GetProducts PriceList entry (a JSON string).

    Tiered prices (Lambda, API Gateway) have one dimension per tier: the first tier (beginRange 0) counts.
    """
    item = json.loads(price_item)
    prices = []
    for term in item.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None:
                prices.append((float(dimension.get("beginRange", "0")), float(usd)))
    return min(prices)[1] if prices else None


def query_price(client, service_code: str, filters: dict[str, str]) -> float | None:
    """The first positive on-demand price of the products matching every filter, through all pages."""
    request = {
        "ServiceCode": service_code,
        "Filters": [
            {"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in filters.items()
        ],
        "FormatVersion": "aws_v1",
    }
    while True:
        answer = client.get_products(**request)
        for item in answer.get("PriceList", []):
            price = on_demand_usd(item)
            if price:
                return price
        if not answer.get("NextToken"):
            return None
        request["NextToken"] = answer["NextToken"]


def _store(snapshot: dict, region: str, section: str, key: str, price: float, today: str) -> None:
    entry = snapshot["regions"].setdefault(region, {}).setdefault(section, {"prices": {}})
    entry["prices"][key] = price
    entry["source"] = f"fetched through pricing:GetProducts on {today}"


def refresh_snapshot(
    snapshot: dict, client, in_use: dict[str, set[tuple[str, str]]], today: str
) -> tuple[dict, list[str]]:
    """A copy of ``snapshot`` with every figure the API has for the regions and instance types in use.

    ``in_use`` maps a region to its (instance section, instance type) pairs. Returns the new snapshot and
    the figures the API did not have (those keep their hand-written value)."""
    fresh = copy.deepcopy(snapshot)
    missing = []
    regions = set(snapshot["regions"]) | set(in_use)
    for region in sorted(regions):
        known = {
            (section, instance)
            for section in INSTANCE_SECTIONS
            for instance in snapshot["regions"].get(region, {}).get(section, {}).get("prices", {})
        }
        for section, instance in sorted(known | in_use.get(region, set())):
            filters = {
                "component": INSTANCE_SECTIONS[section],
                "instanceName": instance,
                "regionCode": region,
            }
            price = query_price(client, "AmazonSageMaker", filters)
            if price is None:
                missing.append(f"{region} {section} {instance}")
            else:
                _store(fresh, region, section, instance, price, today)
        for section, key, service_code, filters, multiplier in SERVICE_QUERIES:
            price = query_price(client, service_code, {**filters, "regionCode": region})
            if price is None:
                missing.append(f"{region} {section} {key}")
            else:
                _store(fresh, region, section, key, round(price * multiplier, 10), today)
    fresh["date"] = today
    return fresh, missing


def instance_types_in_use(configs: Iterable) -> dict[str, set[tuple[str, str]]]:
    """The (section, instance type) pairs each region runs: hosting, training, packaging, datasets."""
    in_use: dict[str, set[tuple[str, str]]] = {}
    for config in configs:
        pairs = in_use.setdefault(config.region, set())
        for model in config.models.values():
            hosting = getattr(model, "hosting", None)
            if getattr(hosting, "instance_type", None):
                pairs.add(("sagemaker_hosting", hosting.instance_type))
            if model.source == "training":
                pairs.add(("sagemaker_training", model.instance_type))
            packaging = getattr(model, "packaging", None)
            if packaging is not None:
                pairs.add(("sagemaker_processing", packaging.instance_type))
        for dataset in config.datasets:
            instance = config.dataset_setting(dataset).resolved_instance_type
            if instance:
                pairs.add(("sagemaker_processing", instance))
    return in_use


def pricing_client():
    """The Price List API client, retrying throttling with backoff (the API allows few calls a second)."""
    import boto3
    from botocore.config import Config

    retries = Config(retries={"max_attempts": 10, "mode": "adaptive"}, connect_timeout=10, read_timeout=30)
    return boto3.client("pricing", region_name=PRICING_REGION, config=retries)


def shipped_configs(folder: Path) -> list:
    from stacks.config import load_config
    from stacks.config.loader import environment_names

    return [load_config(folder / f"{name}.yaml") for name in environment_names(folder)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refresh config/prices.json through the AWS Price List API.")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    parser.add_argument("--config-folder", type=Path, default=ROOT / "config")
    args = parser.parse_args(argv)
    snapshot = load_snapshot(args.snapshot)

    import boto3

    if boto3.Session().get_credentials() is None:
        print(f"no AWS credentials: {args.snapshot} keeps its prices of {snapshot['date']}", file=sys.stderr)
        return 1
    in_use = instance_types_in_use(shipped_configs(args.config_folder))
    today = datetime.date.today().isoformat()
    fresh, missing = refresh_snapshot(snapshot, pricing_client(), in_use, today)
    args.snapshot.write_text(json.dumps(fresh, indent=2) + "\n")
    print(f"wrote {args.snapshot} (prices of {today})")
    for figure in missing:
        print(f"not in the Price List API, kept as written: {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
