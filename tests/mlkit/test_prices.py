"""`make prices`: the refresh through the Price List API, answered by botocore's Stubber (moto has none)."""

import json

import boto3
from botocore.stub import Stubber

from mlkit import prices


def price_item(attributes: dict, usd: str, unit: str = "Hrs") -> str:
    """A GetProducts PriceList entry as the API sends it: a JSON string, on-demand term, one dimension."""
    return json.dumps(
        {
            "product": {"productFamily": "ML Instance", "attributes": attributes, "sku": "SKU1"},
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    "SKU1.JRTCKXETXF": {
                        "priceDimensions": {
                            "SKU1.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "beginRange": "0",
                                "endRange": "Inf",
                                "pricePerUnit": {"USD": usd},
                                "description": f"${usd} per {unit}",
                            }
                        },
                        "sku": "SKU1",
                        "effectiveDate": "2026-11-01T00:00:00Z",
                    }
                }
            },
            "version": "20261101",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


SNAPSHOT = {
    "date": "2026-01-01",
    "regions": {
        "us-east-1": {
            "sagemaker_hosting": {"source": "written by hand", "prices": {"ml.m5.large": 0.1}},
            "lambda": {"source": "written by hand", "prices": {"request": 0.0000002, "gb_second": 0.00001}},
            "apigateway": {"source": "written by hand", "prices": {"rest_million_requests": 3.0}},
        }
    },
}


def hosting_request(instance: str) -> dict:
    return {
        "ServiceCode": "AmazonSageMaker",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance},
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
        ],
        "FormatVersion": "aws_v1",
    }


def test_refresh_writes_the_prices_the_api_answers(tmp_path):
    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    stub = Stubber(client)
    # Sorted: ml.m5.large (known), then ml.m5.xlarge (in use); the first page of large points to a second.
    hosting = {"component": "Hosting", "regionCode": "us-east-1"}
    stub.add_response("get_products", {"PriceList": [], "NextToken": "page2"}, hosting_request("ml.m5.large"))
    stub.add_response(
        "get_products",
        {"PriceList": [price_item({**hosting, "instanceName": "ml.m5.large"}, "0.1150000000")]},
        {**hosting_request("ml.m5.large"), "NextToken": "page2"},
    )
    stub.add_response(
        "get_products",
        {"PriceList": [price_item({**hosting, "instanceName": "ml.m5.xlarge"}, "0.2300000000")]},
        hosting_request("ml.m5.xlarge"),
    )
    stub.add_response(
        "get_products",
        {"PriceList": [price_item({"group": "AWS-Lambda-Requests"}, "0.0000002000", "Requests")]},
        None,
    )
    stub.add_response(
        "get_products",
        {"PriceList": [price_item({"group": "AWS-Lambda-Duration"}, "0.0000166667", "Lambda-GB-Second")]},
        None,
    )
    stub.add_response("get_products", {"PriceList": []}, None)  # API Gateway: not found, kept as written
    in_use = {"us-east-1": {("sagemaker_hosting", "ml.m5.xlarge")}}

    with stub:
        fresh, missing = prices.refresh_snapshot(SNAPSHOT, client, in_use, "2026-11-30")
    stub.assert_no_pending_responses()

    region = fresh["regions"]["us-east-1"]
    assert fresh["date"] == "2026-11-30"
    assert region["sagemaker_hosting"]["prices"] == {"ml.m5.large": 0.115, "ml.m5.xlarge": 0.23}
    assert region["sagemaker_hosting"]["source"] == "fetched through pricing:GetProducts on 2026-11-30"
    assert region["lambda"]["prices"] == {"request": 0.0000002, "gb_second": 0.0000166667}
    assert region["apigateway"] == SNAPSHOT["regions"]["us-east-1"]["apigateway"]
    assert missing == ["us-east-1 apigateway rest_million_requests"]
    assert SNAPSHOT["regions"]["us-east-1"]["sagemaker_hosting"]["prices"] == {
        "ml.m5.large": 0.1
    }  # untouched
    written = tmp_path / "prices.json"
    written.write_text(json.dumps(fresh))
    assert (
        prices.lookup(prices.load_snapshot(written), "us-east-1", "sagemaker_hosting", "ml.m5.xlarge") == 0.23
    )


def test_tiered_price_takes_the_first_tier():
    item = json.loads(price_item({}, "3.5000000000", "Requests"))
    dimensions = next(iter(item["terms"]["OnDemand"].values()))["priceDimensions"]
    dimensions["second"] = {"beginRange": "333000000", "pricePerUnit": {"USD": "0.0000028"}}
    assert prices.on_demand_usd(json.dumps(item)) == 3.5


def test_committed_snapshot_prices_every_shipped_instance_type():
    snapshot = prices.load_snapshot()
    assert snapshot["date"] and all(
        section["source"] for region in snapshot["regions"].values() for section in region.values()
    )
    for region, pairs in prices.instance_types_in_use(prices.shipped_configs(prices.ROOT / "config")).items():
        for section, instance in pairs:
            assert prices.lookup(snapshot, region, section, instance), f"{region} {section} {instance}"


def test_inference_profile_costs_what_its_model_costs():
    assert (
        prices.bedrock_model("us.anthropic.claude-3-haiku-20240307-v1:0")
        == "anthropic.claude-3-haiku-20240307-v1:0"
    )
    assert prices.bedrock_model("amazon.titan-text-lite-v1") == "amazon.titan-text-lite-v1"
