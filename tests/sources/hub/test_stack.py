"""Hub sources (PyTorch Hub, TensorFlow Hub): the packaging job, the trigger, the isolated endpoint, IAM."""

import json

import pytest
from aws_cdk.assertions import Match

from jobs.packaging.spec import packaging_spec, spec_hash
from sources.hub.packaging_job import PACKAGE_STATE
from stacks import names
from stacks.constructs.deploy_steps import DEPLOY_STATE
from stacks.images import framework_inference_uri
from tests.stacks.synth import config_from, render_tokens, synthesize

REGION = "eu-west-1"
MODELS = {
    "resnet": {
        "source": "pytorch_hub",
        "repo": "pytorch/vision:v0.20.0",
        "entrypoint": "resnet18",
        "args": {"weights": "IMAGENET1K_V1"},
        "task": "image-classification",
        "hosting": {"type": "realtime", "instance_type": "ml.m5.large"},
    },
    "detector": {
        "source": "pytorch_hub",
        "repo": "pytorch/vision:v0.20.0",
        "entrypoint": "fasterrcnn_mobilenet_v3_large_fpn",
        "args": {"weights": "DEFAULT"},
        "task": "object-detection",
        "framework_version": "2.5.1",
        "hosting": {"type": "async", "instance_type": "ml.g5.xlarge"},
        "packaging": {"instance_type": "ml.m5.2xlarge", "max_runtime": 1800},
    },
    "mobilenet": {
        "source": "tensorflow_hub",
        "handle": "https://www.kaggle.com/models/google/mobilenet-v2/tensorFlow2/100-224-classification/2",
        "task": "image-classification",
    },
}
CONFIG = {"environment": "hub", "region": REGION, "models": MODELS}


@pytest.fixture(scope="module")
def app():
    return synthesize(config_from(CONFIG))


def state_machine_definition(app, model: str) -> dict:
    (machine,) = app.resources(model, "AWS::StepFunctions::StateMachine").values()
    return json.loads(render_tokens(machine["Properties"]["DefinitionString"]))


def expected_spec(model: str) -> dict:
    fields = {
        k: v
        for k, v in MODELS[model].items()
        if k not in ("source", "hosting", "packaging", "framework_version")
    }
    return packaging_spec(MODELS[model]["source"], **fields)


@pytest.mark.parametrize(
    ("model", "framework", "version"),
    [("resnet", "pytorch", None), ("detector", "pytorch", "2.5.1"), ("mobilenet", "tensorflow", None)],
)
def test_packaging_job_runs_the_spec_on_the_frameworks_inference_image(app, model, framework, version):
    state = state_machine_definition(app, model)["States"][PACKAGE_STATE]
    assert state["Resource"].endswith(":states:::sagemaker:createProcessingJob.sync")
    request = state["Parameters"]
    image = framework_inference_uri(framework, REGION, version=version, gpu=False)
    assert request["AppSpecification"]["ImageUri"] == image
    arguments = request["AppSpecification"]["ContainerArguments"]
    assert json.loads(arguments[arguments.index("--spec") + 1]) == expected_spec(model)
    key = names.packaged_model_key(model, spec_hash(expected_spec(model)))
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"].endswith(key.removesuffix("model.tar.gz"))
    assert request["ProcessingOutputConfig"]["KmsKeyId"]
    assert request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]
    assert request["ProcessingJobName.$"].startswith(f"States.Format('mlkit-hub-{model}-{{}}")


def test_packaging_settings_come_from_config(app):
    request = state_machine_definition(app, "detector")["States"][PACKAGE_STATE]["Parameters"]
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.2xlarge"
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}


@pytest.mark.parametrize(("model", "gpu"), [("resnet", False), ("detector", True), ("mobilenet", False)])
def test_served_model_is_network_isolated_on_the_packaged_artifact(app, model, gpu):
    states = state_machine_definition(app, model)["States"]
    event = states[DEPLOY_STATE]["Parameters"]
    assert event["enable_network_isolation"] is True
    (container,) = states["Model containers"]["Parameters"]["containers"]
    key = names.packaged_model_key(model, spec_hash(expected_spec(model)))
    assert container["ModelDataUrl"].endswith(f"/{key}")
    framework = MODELS[model]["source"].split("_")[0]
    version = MODELS[model].get("framework_version")
    assert container["Image"] == framework_inference_uri(framework, REGION, version=version, gpu=gpu)


def test_unchanged_config_skips_packaging(app):
    states = state_machine_definition(app, "resnet")["States"]
    check = states["Already packaged?"]
    key = names.packaged_model_key("resnet", spec_hash(expected_spec("resnet")))
    assert check["Parameters"]["Prefix"] == key
    choice = states["Package exists?"]
    assert choice["Choices"][0]["Next"] == "Model containers"
    assert choice["Default"] == PACKAGE_STATE


def test_stack_deploy_starts_the_pipeline(app):
    template = app.template("resnet")
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.cloudformation"],
                "detail-type": ["CloudFormation Stack Status Change"],
                "detail": {
                    "stack-id": [{"Ref": "AWS::StackId"}],
                    "status-details": {"status": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]},
                },
            },
            "Targets": [
                Match.object_like({"Arn": {"Ref": Match.string_like_regexp("PipelineStateMachine")}})
            ],
        },
    )


def statements(app, model: str, role_prefix: str) -> list[dict]:
    policies = app.resources(model, "AWS::IAM::Policy")
    found = []
    for logical_id, policy in policies.items():
        if logical_id.startswith(role_prefix):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    assert found, role_prefix
    return found


def s3_resources(found: list[dict], action: str) -> list[str]:
    return sorted(
        render_tokens(resource)
        for statement in found
        if action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        for resource in (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
    )


def test_packaging_role_writes_only_its_config_hash_folder(app):
    found = statements(app, "resnet", "PackagingRole")
    key = names.packaged_model_key("resnet", spec_hash(expected_spec("resnet")))
    bucket = names.bucket_name("hub", "artifacts", "<AWS::AccountId>", REGION)
    folder = key.removesuffix("model.tar.gz")
    assert s3_resources(found, "s3:PutObject") == [f"arn:aws:s3:::{bucket}/{folder}*"]


def test_model_role_reads_only_the_packaged_artifact(app):
    found = statements(app, "resnet", "ModelRole")
    key = names.packaged_model_key("resnet", spec_hash(expected_spec("resnet")))
    reads = s3_resources(found, "s3:GetObject")
    assert reads and all(resource.endswith(key + "*") or resource.endswith(key) for resource in reads)
    assert not s3_resources(found, "s3:PutObject")


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_each_hub_model_has_a_route_for_images(app):
    entries = app.router_registry()["models"]
    for model in MODELS:
        assert entries[model]["source"] == MODELS[model]["source"]
        assert entries[model]["content_types"] == ["image/jpeg", "image/png", "application/x-image"]
        assert entries[model]["endpoint_name"] == names.endpoint_name("hub", model)
