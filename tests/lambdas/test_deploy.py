"""The deploy Lambda against moto's SageMaker, called in-process as Step Functions would.

moto 5.2.5 lacks UpdateEndpoint, keeps every endpoint InService, and drops a model's tags
and EnableNetworkIsolation. So: `moto_update_endpoint` adds UpdateEndpoint to moto's
SageMaker (switching the endpoint's config, as SageMaker does once an update ends);
`set_status` forces an endpoint status on moto's backend object; `sent` records requests
as botocore sends them, for what moto accepts but drops; a Stubber stands in for
throttling, which moto cannot produce.
"""

import copy
import io
import json
import logging
import os
import re
from collections import defaultdict

import deploy
import deploy_events as events
import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from shared.aws import client
from shared.endpoints import EndpointBusy, InvalidDeployRequest, SageMakerError, SageMakerUnavailable

NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


@pytest.fixture
def sagemaker(aws):
    return client("sagemaker")


@pytest.fixture
def sent(sagemaker):
    """Parameters of every SageMaker request, by operation name, as the Lambda sent them."""
    requests = defaultdict(list)

    def record(params, model, **_):
        requests[model.name].append(copy.deepcopy(params))

    sagemaker.meta.events.register("before-parameter-build.sagemaker", record)
    return requests


@pytest.fixture
def moto_update_endpoint(monkeypatch):
    """Add UpdateEndpoint to moto; answers the requests it received."""
    received = []

    def update_endpoint(self):
        request = {key: self._get_param(key) for key in ("EndpointName", "EndpointConfigName")}
        request["DeploymentConfig"] = self._get_param("DeploymentConfig")
        received.append(request)
        backend = self.sagemaker_backend
        endpoint = backend.endpoints[request["EndpointName"]]
        config = backend.describe_endpoint_config(request["EndpointConfigName"])
        endpoint.endpoint_config_name = request["EndpointConfigName"]
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        return ActionResult({"EndpointArn": endpoint.arn})

    monkeypatch.setattr(SageMakerResponse, "update_endpoint", update_endpoint, raising=False)
    return received


def moto_backend():
    return sagemaker_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]


def set_status(endpoint_name: str, status: str) -> None:
    """Force a status moto never reaches on its own (its endpoints are InService at once)."""
    moto_backend().endpoints[endpoint_name].endpoint_status = status


def invoke(event: dict) -> dict:
    answer = deploy.handler(event, None)
    json.dumps(answer)  # Step Functions needs plain JSON
    return answer


def counts(sagemaker) -> tuple[int, int]:
    models = sagemaker.list_models()["Models"]
    configs = sagemaker.list_endpoint_configs()["EndpointConfigs"]
    return len(models), len(configs)


# ---- create ----------------------------------------------------------------------------


def test_creates_serverless_endpoint_from_one_container(sagemaker, sent):
    answer = invoke(events.one_container())

    assert answer == {
        "endpoint_name": events.ENDPOINT,
        "endpoint_status": "InService",
        "model_name": answer["model_name"],
        "endpoint_config_name": answer["endpoint_config_name"],
        "changed": True,
        "action": "created",
    }
    model = sagemaker.describe_model(ModelName=answer["model_name"])
    assert model["PrimaryContainer"] == {
        "Image": events.XGBOOST_IMAGE,
        "ModelDataUrl": events.artifact("run-1"),
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
    }
    assert model["ExecutionRoleArn"] == events.ROLE_ARN
    config = sagemaker.describe_endpoint_config(EndpointConfigName=answer["endpoint_config_name"])
    assert config["ProductionVariants"] == [
        {"VariantName": "AllTraffic", "ModelName": answer["model_name"], **events.SERVERLESS}
    ]
    assert "KmsKeyId" not in config  # SageMaker rejects it with serverless variants
    assert "AsyncInferenceConfig" not in config
    endpoint = sagemaker.describe_endpoint(EndpointName=events.ENDPOINT)
    assert endpoint["EndpointConfigName"] == answer["endpoint_config_name"]
    expected_tags = [{"Key": "environment", "Value": "dev"}, {"Key": "project", "Value": "mlkit"}]
    for arn in (endpoint["EndpointArn"], config["EndpointConfigArn"]):
        tags = sagemaker.list_tags(ResourceArn=arn)["Tags"]
        assert sorted(tags, key=lambda tag: tag["Key"]) == expected_tags
    assert sent["CreateModel"][0]["Tags"] == expected_tags  # moto's list_tags misses model tags


def test_creates_instance_endpoint_with_kms_async_and_network_settings(sagemaker, sent):
    vpc = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}
    event = events.one_container(
        variant={"InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 2},
        async_config=events.ASYNC_CONFIG,
        vpc_config=vpc,
        enable_network_isolation=True,
    )

    answer = invoke(event)

    config = sagemaker.describe_endpoint_config(EndpointConfigName=answer["endpoint_config_name"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 2
    assert config["KmsKeyId"] == events.KMS_KEY_ARN
    assert config["AsyncInferenceConfig"] == events.ASYNC_CONFIG
    assert sagemaker.describe_model(ModelName=answer["model_name"])["VpcConfig"] == vpc
    assert sent["CreateModel"][0]["EnableNetworkIsolation"] is True  # moto stores it as False
    endpoint = sagemaker.describe_endpoint(EndpointName=events.ENDPOINT)
    assert endpoint["ProductionVariants"][0]["CurrentInstanceCount"] == 2


def test_data_capture_reaches_the_endpoint_config_and_versions_it(sagemaker, sent, moto_update_endpoint):
    plain = invoke(events.one_container(variant=events.INSTANCE))
    captured = invoke(events.one_container(variant=events.INSTANCE, data_capture_config=events.CAPTURE))

    assert sent["CreateEndpointConfig"][-1]["DataCaptureConfig"] == events.CAPTURE
    assert "DataCaptureConfig" not in sent["CreateEndpointConfig"][0]
    # Turning capture on is a new config version: the endpoint is updated, not left as it was.
    assert captured["endpoint_config_name"] != plain["endpoint_config_name"]


def test_instance_count_defaults_to_one(sagemaker):
    answer = invoke(events.one_container(variant={"InstanceType": "ml.m5.large"}))

    config = sagemaker.describe_endpoint_config(EndpointConfigName=answer["endpoint_config_name"])
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 1


def test_autopilot_containers_become_an_inference_pipeline_in_order(sagemaker):
    answer = invoke(events.autopilot())

    model = sagemaker.describe_model(ModelName=answer["model_name"])
    assert model["Containers"] == events.autopilot_containers()
    assert [c["Environment"]["SAGEMAKER_INFERENCE_OUTPUT"] for c in model["Containers"][2:]] == [
        "predicted_label"
    ]
    assert not model.get("PrimaryContainer")
    assert sagemaker.describe_endpoint(EndpointName="mlkit-dev-churn-automl")["EndpointStatus"] == "InService"


def test_a_single_listed_container_is_the_primary_container(sagemaker):
    container = events.autopilot_containers()[1]

    answer = invoke(events.autopilot(containers=[container]))

    model = sagemaker.describe_model(ModelName=answer["model_name"])
    assert model["PrimaryContainer"] == container
    assert not model.get("Containers")


# ---- names -----------------------------------------------------------------------------


def test_names_are_versioned_by_content_within_sagemaker_limits(aws, moto_update_endpoint):
    long_name = "mlkit-production-customer-churn-prediction-model-endpoint-v2x"  # 62 characters
    first = invoke(events.one_container("run-1", endpoint_name=long_name))
    second = invoke(events.one_container("run-2", endpoint_name=long_name, variant=events.INSTANCE))

    for answer in (first, second):
        for name in (answer["model_name"], answer["endpoint_config_name"]):
            assert len(name) <= 63 and NAME_PATTERN.fullmatch(name), name
            assert name.startswith(long_name[:40])
    assert first["model_name"] != second["model_name"]
    assert first["endpoint_config_name"] != second["endpoint_config_name"]


def test_a_new_variant_on_the_same_artifact_reuses_the_model(sagemaker, moto_update_endpoint):
    first = invoke(events.one_container())
    second = invoke(events.one_container(variant=events.INSTANCE))

    assert second["model_name"] == first["model_name"]
    assert second["endpoint_config_name"] != first["endpoint_config_name"]
    assert second["action"] == "updated"
    assert counts(sagemaker) == (1, 2)


# ---- update and rerun ------------------------------------------------------------------


def test_new_artifact_makes_new_model_and_config_and_updates_endpoint(sagemaker, moto_update_endpoint):
    first = invoke(events.one_container("run-1", deployment_config=events.BLUE_GREEN))

    second = invoke(events.one_container("run-2", deployment_config=events.BLUE_GREEN))

    assert second["action"] == "updated" and second["changed"] is True
    assert second["model_name"] != first["model_name"]
    endpoint = sagemaker.describe_endpoint(EndpointName=events.ENDPOINT)
    assert endpoint["EndpointConfigName"] == second["endpoint_config_name"] != first["endpoint_config_name"]
    new_model = sagemaker.describe_model(ModelName=second["model_name"])
    assert new_model["PrimaryContainer"]["ModelDataUrl"] == events.artifact("run-2")
    old_model = sagemaker.describe_model(ModelName=first["model_name"])  # kept for rollback
    assert old_model["PrimaryContainer"]["ModelDataUrl"] == events.artifact("run-1")
    assert counts(sagemaker) == (2, 2)
    assert moto_update_endpoint == [
        {
            "EndpointName": events.ENDPOINT,
            "EndpointConfigName": second["endpoint_config_name"],
            "DeploymentConfig": events.BLUE_GREEN,
        }
    ]


def test_rerun_on_the_same_artifact_changes_nothing(sagemaker, sent, moto_update_endpoint):
    first = invoke(events.one_container())
    before = sagemaker.describe_endpoint(EndpointName=events.ENDPOINT)

    again = invoke(events.one_container())

    assert again == {**first, "changed": False, "action": "unchanged"}
    assert counts(sagemaker) == (1, 1)
    assert moto_update_endpoint == []
    after = sagemaker.describe_endpoint(EndpointName=events.ENDPOINT)
    assert after["LastModifiedTime"] == before["LastModifiedTime"]
    assert len(sent["CreateModel"]) == len(sent["CreateEndpointConfig"]) == len(sent["CreateEndpoint"]) == 1


def test_existing_model_and_config_are_reused_when_the_endpoint_is_new(sagemaker, sent):
    first = invoke(events.one_container())
    sagemaker.delete_endpoint(EndpointName=events.ENDPOINT)

    again = invoke(events.one_container())

    assert again["action"] == "created"
    assert again["endpoint_config_name"] == first["endpoint_config_name"]
    assert len(sent["CreateModel"]) == len(sent["CreateEndpointConfig"]) == 1


# ---- endpoint states -------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"])
def test_busy_endpoint_raises_endpoint_busy_and_creates_nothing(sagemaker, status):
    invoke(events.one_container("run-1"))
    set_status(events.ENDPOINT, status)

    with pytest.raises(EndpointBusy, match=f"{events.ENDPOINT} is {status}"):
        invoke(events.one_container("run-2"))

    assert counts(sagemaker) == (1, 1)


def test_failed_endpoint_is_deleted_then_recreated_on_retry(sagemaker):
    invoke(events.one_container("run-1"))
    set_status(events.ENDPOINT, "Failed")

    with pytest.raises(EndpointBusy, match="was Failed"):
        invoke(events.one_container("run-2"))
    assert sagemaker.list_endpoints()["Endpoints"] == []

    retried = invoke(events.one_container("run-2"))
    assert retried["action"] == "created"
    endpoint = sagemaker.describe_endpoint(EndpointName=events.ENDPOINT)
    assert endpoint["EndpointConfigName"] == retried["endpoint_config_name"]


def test_status_action_answers_the_endpoint_status(aws):
    deployed = invoke(events.one_container())
    set_status(events.ENDPOINT, "Updating")

    assert invoke(events.status()) == {
        "endpoint_name": events.ENDPOINT,
        "endpoint_status": "Updating",
        "endpoint_config_name": deployed["endpoint_config_name"],
        "failure_reason": None,
        "action": "status",
    }


def test_status_of_a_missing_endpoint_is_not_found(aws):
    answer = invoke(events.status("mlkit-dev-nothing"))

    assert answer["endpoint_status"] == "NotFound" and answer["endpoint_config_name"] is None


# ---- AWS failures ----------------------------------------------------------------------


def test_sagemaker_refusal_is_a_named_error_with_code_and_message(aws):
    event = events.one_container(variant={"InstanceType": "ml.not-a-type", "InitialInstanceCount": 1})

    expected = r"create_endpoint_config: ValidationException: .*ml\.not-a-type"
    with pytest.raises(SageMakerError, match=expected):
        invoke(event)


def test_throttling_after_botocore_retries_is_sagemaker_unavailable(sagemaker):
    with Stubber(sagemaker) as stub:
        stub.add_client_error("describe_endpoint", "ThrottlingException", "Rate exceeded", 400)
        expected = "describe_endpoint: ThrottlingException: Rate exceeded"
        with pytest.raises(SageMakerUnavailable, match=expected):
            invoke(events.one_container())
        stub.assert_no_pending_responses()


# ---- bad events ------------------------------------------------------------------------

BAD_EVENTS = {
    "endpoint_name": events.without(events.one_container(), "endpoint_name"),
    "endpoint_name: expected": events.one_container(endpoint_name="churn_endpoint!"),
    "execution_role_arn": events.without(events.one_container(), "execution_role_arn"),
    "execution_role_arn: expected": events.one_container(execution_role_arn="mlkit-role"),
    "image, containers": events.without(events.one_container(), "image"),
    "image, containers: give": events.one_container(containers=events.autopilot_containers()),
    "model_data_url": events.without(events.one_container(), "model_data_url"),
    "model_data_url: expected": events.one_container(model_data_url="/tmp/model.tar.gz"),
    "environment.SAGEMAKER_PROGRAM": events.one_container(environment={"SAGEMAKER_PROGRAM": 1}),
    "containers: expected": events.autopilot(containers=[]),
    "containers[1].Image": events.autopilot(containers=[{"Image": "a"}, {"ModelDataUrl": "s3://b/m"}]),
    "containers[0].Environment.X": events.autopilot(containers=[{"Image": "a", "Environment": {"X": None}}]),
    "variant": events.without(events.one_container(), "variant"),
    "variant: give exactly one": events.one_container(variant={**events.SERVERLESS, **events.INSTANCE}),
    "variant.ModelName": events.one_container(variant={**events.INSTANCE, "ModelName": "x"}),
    "variant.ServerlessConfig.MemorySizeInMB": events.one_container(
        variant={"ServerlessConfig": {"MemorySizeInMB": "2048", "MaxConcurrency": 5}}
    ),
    "async_config: not with variant.ServerlessConfig": events.one_container(async_config=events.ASYNC_CONFIG),
    "containers: not with variant.ServerlessConfig": events.autopilot(variant=events.SERVERLESS),
    "data_capture_config: not with variant.ServerlessConfig": events.one_container(
        data_capture_config=events.CAPTURE
    ),
    "data_capture_config: expected": events.one_container(variant=events.INSTANCE, data_capture_config=[1]),
    "vpc_config: expected": events.one_container(vpc_config=["subnet-1"]),
    "deployment_config": events.one_container(deployment_config={"BlueGreen": {}}),
    "enable_network_isolation": events.one_container(variant=events.INSTANCE, enable_network_isolation="yes"),
    "tags.owner": events.one_container(tags={"owner": ["data-team"]}),
    "kms_key: unknown field": {**events.one_container(), "kms_key": events.KMS_KEY_ARN},
    "action": events.one_container(action="delete"),
    "event": ["not", "an", "object"],
}


@pytest.mark.parametrize("field, event", BAD_EVENTS.items(), ids=list(BAD_EVENTS))
def test_bad_event_is_invalid_deploy_request_naming_the_field(aws, field, event):
    with pytest.raises(InvalidDeployRequest) as raised:
        invoke(event)

    assert field in str(raised.value)
    # Nothing half-made (read from moto's backend: a client costs ~0.2 s per test).
    assert not moto_backend()._models and not moto_backend().endpoint_configs


def test_status_event_needs_an_endpoint_name(aws):
    with pytest.raises(InvalidDeployRequest, match="^endpoint_name: missing"):
        invoke({"action": "status"})


# ---- logging ---------------------------------------------------------------------------


def test_every_log_line_names_the_endpoint(aws, moto_update_endpoint):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(deploy.logger.registered_formatter)
    service_logger = logging.getLogger(deploy.logger.service)
    service_logger.addHandler(handler)
    try:
        invoke(events.one_container("run-1"))
        invoke(events.one_container("run-2"))
        with pytest.raises(InvalidDeployRequest):
            invoke(events.one_container(model_data_url=None))
    finally:
        service_logger.removeHandler(handler)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {line["message"] for line in lines} >= {"model created", "endpoint created", "endpoint updated"}
    assert {line["endpoint_name"] for line in lines} == {events.ENDPOINT}
    assert lines[-1]["error"] == "InvalidDeployRequest"
