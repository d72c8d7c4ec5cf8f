"""JumpStart source: the spec's image and model data, isolation where the model allows it, EULA, IAM."""

import pytest

from sources.jumpstart import specs
from stacks import names
from tests.stacks.synth import config_from, render_tokens, synthesize

REGION = "us-east-1"
MODELS = {
    # Prepacked and uncompressed: ModelDataSource, served isolated.
    "mobilenet": {"source": "jumpstart", "model_id": "pytorch-ic-mobilenet-v2", "version": "3.0.25"},
    # Gated: the EULA is accepted in ModelAccessConfig.
    "llama": {
        "source": "jumpstart",
        "model_id": "meta-textgeneration-llama-3-1-70b",
        "version": "2.16.2",
        "accept_eula": True,
    },
    # Script mode: a compressed artifact and a script the container downloads (network on).
    "xgb": {
        "source": "jumpstart",
        "model_id": "xgboost-classification-model",
        "version": "2.1.1",
        "hosting": {"type": "async"},
    },
}
CONFIG = {"environment": "js", "region": REGION, "models": MODELS}


@pytest.fixture(scope="module")
def app():
    return synthesize(config_from(CONFIG))


def model_resource(app, label: str) -> dict:
    (model,) = app.resources(label, "AWS::SageMaker::Model").values()
    return model["Properties"]


def spec_of(label: str):
    return specs.load_spec(MODELS[label]["model_id"], MODELS[label]["version"])


@pytest.mark.parametrize("label", list(MODELS))
def test_model_runs_the_specs_image_and_artifact(app, label):
    spec = spec_of(label)
    container = model_resource(app, label)["PrimaryContainer"]
    assert container["Image"] == specs.image_uri(spec, REGION, spec.default_instance_type)
    expected = specs.model_data(spec, REGION, accept_eula=MODELS[label].get("accept_eula", False))
    assert {key: container[key] for key in expected} == expected


def test_uncompressed_and_gated_models_use_model_data_source(app):
    source = model_resource(app, "llama")["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]
    assert source["CompressionType"] == "None"
    assert source["ModelAccessConfig"] == {"AcceptEula": True}
    assert source["S3Uri"].startswith(f"s3://jumpstart-private-cache-prod-{REGION}/")
    assert "ModelDataUrl" in model_resource(app, "xgb")["PrimaryContainer"]


@pytest.mark.parametrize(("label", "isolated"), [("mobilenet", True), ("llama", True), ("xgb", False)])
def test_network_isolation_where_the_model_needs_no_network(app, label, isolated):
    assert model_resource(app, label).get("EnableNetworkIsolation", False) is isolated


def test_script_mode_container_gets_its_script(app):
    environment = model_resource(app, "xgb")["PrimaryContainer"]["Environment"]
    assert environment["SAGEMAKER_SUBMIT_DIRECTORY"].startswith(f"s3://jumpstart-cache-prod-{REGION}/")
    assert environment["SAGEMAKER_REGION"] == REGION


@pytest.mark.parametrize("label", list(MODELS))
def test_role_reads_only_this_models_objects(app, label):
    policies = app.resources(label, "AWS::IAM::Policy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    reads = sorted(
        render_tokens(resource)
        for statement in statements
        if statement["Action"] == "s3:GetObject"
        for resource in (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
    )
    # Beside its own async inputs (xgb), the role reads only this model's JumpStart objects.
    jumpstart_reads = [arn for arn in reads if "/async-input/" not in arn]
    assert jumpstart_reads == sorted(specs.s3_read_resources(spec_of(label), REGION).object_arns)
    listings = [s for s in statements if s["Action"] == "s3:ListBucket"]
    access = specs.s3_read_resources(spec_of(label), REGION)
    assert [render_tokens(s["Resource"]) for s in listings] == list(access.list_bucket_arns)


def test_each_model_has_a_route(app):
    entries = app.router_registry()["models"]
    for label in MODELS:
        assert entries[label]["source"] == "jumpstart"
        assert entries[label]["endpoint_name"] == names.endpoint_name("js", label)
    assert entries["mobilenet"]["content_types"] == ["application/x-image"]
