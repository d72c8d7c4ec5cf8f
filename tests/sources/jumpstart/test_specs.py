"""Committed JumpStart specs as synth reads them, and the `source: jumpstart` entry checked against them."""

import json

import pytest
from pydantic import ValidationError

from sources.jumpstart import specs
from sources.jumpstart.config import JumpStartModel
from stacks.config.base import format_validation_error
from stacks.images import ImageNotFound

MOBILENET = ("pytorch-ic-mobilenet-v2", "3.0.25")  # image classification, prepacked, uncompressed
BERT = ("huggingface-spc-bert-base-cased", "2.0.3")  # HF text, CPU and GPU images
LLAMA = ("meta-textgeneration-llama-3-1-70b", "2.16.2")  # gated: EULA, private bucket
XGBOOST = ("xgboost-classification-model", "2.1.1")  # script mode, compressed tar.gz
COMMITTED = [MOBILENET, BERT, LLAMA, XGBOOST]


def spec(pair):
    return specs.load_spec(*pair)


def problems(entry: dict) -> str:
    with pytest.raises(ValidationError) as error:
        JumpStartModel.model_validate({"source": "jumpstart", **entry})
    return format_validation_error("config/dev.yaml", error.value)


@pytest.mark.parametrize("pair", COMMITTED, ids=lambda pair: pair[0])
def test_every_committed_spec_loads_and_says_where_it_came_from(pair):
    loaded = spec(pair)
    assert (loaded.model_id, loaded.version) == pair
    assert loaded.default_instance_type in loaded.instance_types
    assert "us-east-1" in specs.regions(loaded)
    assert loaded.provenance["resolved_by"].startswith(f"make jumpstart MODEL={pair[0]} VERSION={pair[1]}")
    assert loaded.provenance["resolved_on"] and loaded.provenance["written_from"]
    raw = json.loads(specs.spec_path(*pair).read_text())
    assert raw["provenance"]["catalogue"].endswith(f"community_models/{pair[0]}/specs_v{pair[1]}.json")


def test_committed_versions_and_the_cache():
    assert specs.committed_versions("pytorch-ic-mobilenet-v2") == ["3.0.25"]
    assert specs.committed_versions("no-such-model") == []
    assert specs.committed_versions("../../images") == []  # an id never leaves the specs folder
    assert spec(MOBILENET) is spec(MOBILENET)


def test_image_per_region_and_instance_type():
    mobilenet, bert = spec(MOBILENET), spec(BERT)
    assert specs.image_uri(mobilenet, "us-east-1") == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:1.10.0-cpu-py38"
    )
    assert specs.image_uri(mobilenet, "af-south-1", "ml.c5.xlarge") == (
        "626614931356.dkr.ecr.af-south-1.amazonaws.com/pytorch-inference:1.10.0-cpu-py38"
    )
    assert specs.image_uri(mobilenet, "cn-north-1").startswith(
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/"
    )
    assert specs.image_uri(bert, "eu-west-1", "ml.m5.large").endswith(
        "transformers4.6.1-cpu-py36-ubuntu18.04"
    )
    assert specs.image_uri(bert, "eu-west-1").endswith("transformers4.6.1-gpu-py36-cu110-ubuntu18.04")
    assert specs.image_uri(spec(LLAMA), "us-west-2", "ml.g5.48xlarge") == (
        "763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124"
    )


def test_image_errors_name_the_region_or_the_instance_type():
    with pytest.raises(ImageNotFound) as error:
        specs.image_uri(spec(MOBILENET), "xx-nowhere-1")
    assert error.value.key == "region"
    assert "has no ml.m5.large image in xx-nowhere-1; regions: af-south-1, ap-east-1" in str(error.value)
    with pytest.raises(ImageNotFound) as error:
        specs.image_uri(spec(MOBILENET), "us-east-1", "ml.p4d.24xlarge")
    assert error.value.key == "hosting.instance_type"
    assert "supported: ml.c5.2xlarge, ml.c5.xlarge, ml.m4.xlarge, ml.m5.large, ml.m5.xlarge" in str(
        error.value
    )


def test_uncompressed_model_data_is_an_s3_prefix_data_source():
    assert specs.model_data(spec(MOBILENET), "eu-west-1") == {
        "ModelDataSource": {
            "S3DataSource": {
                "S3Uri": "s3://jumpstart-cache-prod-eu-west-1/pytorch-ic/pytorch-ic-mobilenet-v2/artifacts/"
                "inference-prepack/v1.0.0/",
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        }
    }


def test_compressed_model_data_is_a_model_data_url():
    assert specs.model_data(spec(XGBOOST), "eu-west-1") == {
        "ModelDataUrl": "s3://jumpstart-cache-prod-eu-west-1/xgboost-infer/infer-xgboost-classification-model.tar.gz"
    }


def test_gated_model_data_comes_from_the_private_bucket_with_the_eula_accepted():
    source = specs.model_data(spec(LLAMA), "us-east-1", accept_eula=True)["ModelDataSource"]["S3DataSource"]
    assert source["S3Uri"] == (
        "s3://jumpstart-private-cache-prod-us-east-1/meta-textgeneration/meta-textgeneration-llama-3-1-70b/"
        "artifacts/inference-prepack/v2.0.0/"
    )
    assert source["ModelAccessConfig"] == {"AcceptEula": True}
    with pytest.raises(ValueError, match="has a EULA"):
        specs.model_data(spec(LLAMA), "us-east-1")


def test_environment_prepacked_script_mode_and_per_instance_type():
    assert specs.environment(spec(MOBILENET), "us-east-1")["SAGEMAKER_PROGRAM"] == "inference.py"
    assert "SAGEMAKER_SUBMIT_DIRECTORY" not in specs.environment(spec(MOBILENET), "us-east-1")
    script_mode = specs.environment(spec(XGBOOST), "eu-west-1")
    assert script_mode["SAGEMAKER_SUBMIT_DIRECTORY"] == (
        "s3://jumpstart-cache-prod-eu-west-1/source-directory-tarballs/xgboost/inference/classification/"
        "v1.1.0/sourcedir.tar.gz"
    )
    assert script_mode["SAGEMAKER_REGION"] == "eu-west-1"
    assert specs.environment(spec(LLAMA), "us-east-1")["OPTION_TENSOR_PARALLEL_DEGREE"] == "8"
    assert (
        specs.environment(spec(LLAMA), "us-east-1", "ml.p5.48xlarge")["OPTION_TENSOR_PARALLEL_DEGREE"] == "4"
    )


def test_s3_read_resources_are_the_artifact_and_script_only():
    assert specs.s3_read_resources(spec(MOBILENET), "us-east-1") == specs.S3ReadAccess(
        object_arns=(
            "arn:aws:s3:::jumpstart-cache-prod-us-east-1/pytorch-ic/pytorch-ic-mobilenet-v2/artifacts/"
            "inference-prepack/v1.0.0/*",
        ),
        list_bucket_arns=("arn:aws:s3:::jumpstart-cache-prod-us-east-1",),
        list_prefixes=("pytorch-ic/pytorch-ic-mobilenet-v2/artifacts/inference-prepack/v1.0.0/",),
    )
    assert specs.s3_read_resources(spec(XGBOOST), "cn-north-1") == specs.S3ReadAccess(
        object_arns=(
            "arn:aws-cn:s3:::jumpstart-cache-prod-cn-north-1/xgboost-infer/infer-xgboost-classification-model.tar.gz",
            "arn:aws-cn:s3:::jumpstart-cache-prod-cn-north-1/source-directory-tarballs/xgboost/inference/"
            "classification/v1.1.0/sourcedir.tar.gz",
        ),
        list_bucket_arns=(),
        list_prefixes=(),
    )
    gated = specs.s3_read_resources(spec(LLAMA), "us-gov-west-1")
    assert gated.list_bucket_arns == ("arn:aws-us-gov:s3:::jumpstart-private-cache-prod-us-gov-west-1",)


def test_network_isolation_is_on_unless_the_container_fetches_its_script():
    assert specs.network_isolation(spec(MOBILENET)) and specs.network_isolation(spec(LLAMA))
    assert not specs.network_isolation(spec(XGBOOST))


def test_eula_and_instance_type_accessors():
    assert specs.eula(spec(MOBILENET)) is None
    assert specs.eula(spec(LLAMA)).key == "fmhMetadata/eula/llama3_1Eula.txt"
    assert specs.default_instance_type(spec(LLAMA)) == "ml.p4d.24xlarge"
    assert sorted(specs.supported_instance_types(spec(LLAMA))) == [
        "ml.g5.48xlarge",
        "ml.g6.48xlarge",
        "ml.p4d.24xlarge",
        "ml.p5.48xlarge",
    ]


# The config entry.


def test_hosting_defaults_to_realtime_on_the_specs_default_instance_type():
    model = JumpStartModel.model_validate(
        {"source": "jumpstart", "model_id": MOBILENET[0], "version": "3.0.25"}
    )
    assert (model.hosting.type, model.hosting.instance_type) == ("realtime", "ml.m5.large")
    assert model.resolved_content_types == ["application/x-image"]
    assert model.network_isolation
    asynchronous = JumpStartModel.model_validate(
        {"source": "jumpstart", "model_id": BERT[0], "version": "2.0.3", "hosting": {"type": "async"}}
    )
    assert asynchronous.hosting.instance_type == "ml.p3.2xlarge"
    chosen = JumpStartModel.model_validate(
        {
            "source": "jumpstart",
            "model_id": BERT[0],
            "version": "2.0.3",
            "hosting": {"type": "realtime", "instance_type": "ml.m5.xlarge"},
            "content_types": ["application/json"],
        }
    )
    assert chosen.hosting.instance_type == "ml.m5.xlarge"
    assert chosen.resolved_content_types == ["application/json"]


def test_a_gated_model_validates_once_its_eula_is_accepted():
    model = JumpStartModel.model_validate(
        {"source": "jumpstart", "model_id": LLAMA[0], "version": LLAMA[1], "accept_eula": True}
    )
    assert model.hosting.instance_type == "ml.p4d.24xlarge"


def test_missing_spec_names_the_command_and_the_committed_versions():
    message = problems({"model_id": MOBILENET[0], "version": "3.0.24"})
    assert message == (
        "config/dev.yaml: version: no committed JumpStart spec for pytorch-ic-mobilenet-v2 3.0.24: run "
        "`make jumpstart MODEL=pytorch-ic-mobilenet-v2 VERSION=3.0.24` and commit "
        "sources/jumpstart/specs/pytorch-ic-mobilenet-v2/3.0.24.json; committed versions: 3.0.25"
    )


def test_a_model_with_no_spec_at_all_is_a_model_id_error():
    message = problems({"model_id": "huggingface-text2text-flan-t5-small", "version": "1.3.2"})
    assert message.startswith("config/dev.yaml: model_id: no committed JumpStart spec for ")
    assert "run `make jumpstart MODEL=huggingface-text2text-flan-t5-small VERSION=1.3.2`" in message
    assert message.endswith("no version of it is committed")


def test_missing_eula_acceptance_names_the_model_and_its_eula():
    assert problems({"model_id": LLAMA[0], "version": LLAMA[1]}) == (
        "config/dev.yaml: accept_eula: meta-textgeneration-llama-3-1-70b has an end-user license agreement: "
        "read https://jumpstart-cache-prod-us-east-1.s3.us-east-1.amazonaws.com/fmhMetadata/eula/"
        "llama3_1Eula.txt and set accept_eula: true to accept it"
    )


def test_unsupported_instance_type_lists_the_supported_ones():
    message = problems(
        {
            "model_id": XGBOOST[0],
            "version": "2.1.1",
            "hosting": {"type": "realtime", "instance_type": "ml.g5.xlarge"},
        }
    )
    assert message == (
        "config/dev.yaml: hosting.instance_type: 'ml.g5.xlarge' is not supported by "
        "xgboost-classification-model 2.1.1; supported: ml.c4.8xlarge, ml.c5.18xlarge, ml.c5.2xlarge, "
        "ml.c5.4xlarge, ml.c5.9xlarge, "
        "ml.m5.12xlarge, ml.m5.24xlarge, ml.m5.2xlarge, ml.m5.4xlarge, ml.m5.xlarge"
    )


@pytest.mark.parametrize(
    ("pair", "reason"),
    [
        (
            LLAMA,
            "serverless has no GPU and meta-textgeneration-llama-3-1-70b supports only GPU instance types",
        ),
        (
            MOBILENET,
            "serverless endpoints cannot run with network isolation, which pytorch-ic-mobilenet-v2 runs",
        ),
        (XGBOOST, "JumpStart validates xgboost-classification-model on instance types only"),
    ],
    ids=lambda value: value[0] if isinstance(value, tuple) else "",
)
def test_serverless_is_refused_with_the_reason(pair, reason):
    message = problems(
        {"model_id": pair[0], "version": pair[1], "accept_eula": True, "hosting": {"type": "serverless"}}
    )
    assert message.startswith(f"config/dev.yaml: hosting.type: {reason}")
    assert "use hosting.type realtime or async" in message


@pytest.mark.parametrize("version", ["3.*", "*", "^3.0.25", ">=3.0", "3.0.25-beta", "latest"])
def test_only_an_exact_version_is_allowed(version):
    message = problems({"model_id": MOBILENET[0], "version": version})
    assert message.startswith(f"config/dev.yaml: version: {version!r} is not allowed: String should match")
    assert "no committed JumpStart spec" not in message  # one error, not two


def test_unknown_keys_and_bad_ids_are_refused():
    assert "unknown key (did you mean 'accept_eula'?)" in problems(
        {"model_id": MOBILENET[0], "version": "3.0.25", "accept_license": True}
    )
    assert "model_id: '../images' is not allowed" in problems({"model_id": "../images", "version": "1.0.0"})
