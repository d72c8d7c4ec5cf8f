"""`make jumpstart`: the real sagemaker-core JumpStart accessor, fed a catalogue by a stubbed S3 client."""

import datetime
import io
import json

import boto3
import pytest
from botocore.config import Config
from botocore.response import StreamingBody
from botocore.stub import Stubber

from sources.jumpstart import resolve as jumpstart
from sources.jumpstart import specs

MODEL, VERSION = "pytorch-ic-mobilenet-v2", "3.0.25"
SPEC_KEY = f"community_models/{MODEL}/specs_v{VERSION}.json"
BUCKET = "jumpstart-cache-prod-us-east-1"
TODAY = datetime.date(2025, 1, 2)


def _images(region_registry: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        region: {
            "cpu_ecr_uri_1": f"{registry}/pytorch-inference:1.10.0-cpu-py38",
            "gpu_ecr_uri_2": f"{registry}/pytorch-inference:1.10.0-gpu-py38",
        }
        for region, registry in region_registry.items()
    }


# The catalogue's pytorch-ic-mobilenet-v2 3.0.25 spec (as copied into aws/sagemaker-python-sdk's
# sagemaker-serve/tests/unit/servers/data/jumpstart_specs), cut to three regions and its hosting keys.
RAW_SPEC = {
    "model_id": MODEL,
    "version": VERSION,
    "min_sdk_version": "2.189.0",
    "default_inference_instance_type": "ml.m5.large",
    "supported_inference_instance_types": [
        "ml.m5.large",
        "ml.m5.xlarge",
        "ml.c5.xlarge",
        "ml.c5.2xlarge",
        "ml.m4.xlarge",
    ],
    "deprecated": False,
    "hosting_artifact_compression_type": "None",
    "hosting_artifact_key": "pytorch-ic/pytorch-ic-mobilenet-v2/artifacts/inference/v2.0.0/",
    "hosting_artifact_s3_data_type": "S3Prefix",
    "hosting_ecr_specs": {"framework": "pytorch", "framework_version": "1.10.0", "py_version": "py38"},
    "hosting_instance_type_variants": {
        "regional_aliases": _images(
            {
                "us-east-1": "763104351884.dkr.ecr.us-east-1.amazonaws.com",
                "cn-north-1": "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "us-iso-east-1": "886529160074.dkr.ecr.us-iso-east-1.c2s.ic.gov",
            }
        ),
        "variants": {
            family: {"regional_properties": {"image_uri": alias}}
            for family, alias in (
                ("c5", "$cpu_ecr_uri_1"),
                ("m4", "$cpu_ecr_uri_1"),
                ("m5", "$cpu_ecr_uri_1"),
                ("g5", "$gpu_ecr_uri_2"),
            )
        },
    },
    "hosting_prepacked_artifact_key": f"pytorch-ic/{MODEL}/artifacts/inference-prepack/v1.0.0/",
    "hosting_prepacked_artifact_version": "1.0.0",
    "hosting_script_key": "source-directory-tarballs/pytorch/inference/ic/v2.0.0/sourcedir.tar.gz",
    "hosting_use_script_uri": False,
    "inference_enable_network_isolation": True,
    "inference_environment_variables": [
        {
            "default": 3600,
            "name": "ENDPOINT_SERVER_TIMEOUT",
            "required_for_model_class": True,
            "scope": "container",
            "type": "int",
        },
        {
            "default": "/opt/ml/model",
            "name": "MODEL_CACHE_ROOT",
            "required_for_model_class": True,
            "scope": "container",
            "type": "text",
        },
        {
            "default": "20",
            "name": "SAGEMAKER_CONTAINER_LOG_LEVEL",
            "required_for_model_class": False,
            "scope": "container",
            "type": "text",
        },
        {
            "default": "1",
            "name": "SAGEMAKER_ENV",
            "required_for_model_class": True,
            "scope": "container",
            "type": "text",
        },
        {
            "default": "3600",
            "name": "SAGEMAKER_MODEL_SERVER_TIMEOUT",
            "required_for_model_class": True,
            "scope": "container",
            "type": "text",
        },
        {
            "default": 1,
            "name": "SAGEMAKER_MODEL_SERVER_WORKERS",
            "required_for_model_class": True,
            "scope": "container",
            "type": "int",
        },
        {
            "default": "inference.py",
            "name": "SAGEMAKER_PROGRAM",
            "required_for_model_class": True,
            "scope": "container",
            "type": "text",
        },
        {
            "default": "/opt/ml/model/code",
            "name": "SAGEMAKER_SUBMIT_DIRECTORY",
            "required_for_model_class": False,
            "scope": "container",
            "type": "text",
        },
    ],
    "inference_vulnerabilities": [],
    "inference_vulnerable": False,
    "predictor_specs": {
        "default_accept_type": "application/json",
        "default_content_type": "application/x-image",
        "supported_accept_types": ["application/json;verbose", "application/json"],
        "supported_content_types": ["application/x-image"],
    },
}
MANIFEST = [{"model_id": MODEL, "version": VERSION, "min_version": "2.189.0", "spec_key": SPEC_KEY}]

CPU = "pytorch-inference:1.10.0-cpu-py38"
EXPECTED = {
    "format": 1,
    "model_id": MODEL,
    "version": VERSION,
    "provenance": {
        "resolved_by": f"make jumpstart MODEL={MODEL} VERSION={VERSION}",
        "resolved_on": "2025-01-02",
        "sdk": "sagemaker-core 2.27.0",
        "catalogue": f"s3://{BUCKET}/{SPEC_KEY}",
    },
    "artifact": {
        "key": "pytorch-ic/pytorch-ic-mobilenet-v2/artifacts/inference-prepack/v1.0.0/",
        "prepacked": True,
        "compressed": False,
        "gated_bucket": False,
    },
    "script_key": None,
    "environment": {
        "ENDPOINT_SERVER_TIMEOUT": "3600",
        "MODEL_CACHE_ROOT": "/opt/ml/model",
        "SAGEMAKER_ENV": "1",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600",
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
        "SAGEMAKER_PROGRAM": "inference.py",
    },
    "default_instance_type": "ml.m5.large",
    "instance_types": {
        name: {"image": CPU}
        for name in ("ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.c5.2xlarge", "ml.m4.xlarge")
    },
    # us-iso-east-1 is left out: mlkit deploys to the aws, aws-cn and aws-us-gov partitions only.
    "images": {
        CPU: {
            "cn-north-1": "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "us-east-1": "763104351884.dkr.ecr.us-east-1.amazonaws.com",
        }
    },
    "eula": None,
    "network_isolation": True,
    "content_types": ["application/x-image"],
}


def _body(document) -> dict:
    data = json.dumps(document).encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ETag": '"etag"'}


@pytest.fixture
def catalogue():
    """An S3 client answering as the JumpStart bucket does: the manifest, then the spec."""
    client = boto3.client("s3", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response("get_object", _body(MANIFEST), {"Bucket": BUCKET, "Key": "models_manifest.json"})
    stubber.add_response("get_object", _body(RAW_SPEC), {"Bucket": BUCKET, "Key": SPEC_KEY})
    with stubber:
        yield client
    stubber.assert_no_pending_responses()


@pytest.fixture
def specs_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(jumpstart, "spec_path", lambda model, version: tmp_path / model / f"{version}.json")
    return tmp_path


def test_the_written_spec_is_the_sdk_spec_reduced(catalogue, specs_directory, capsys):
    assert jumpstart.main([MODEL, VERSION], client=catalogue, today=TODAY) == 0
    written = specs_directory / MODEL / f"{VERSION}.json"
    assert json.loads(written.read_text()) == EXPECTED
    assert written.read_text() == jumpstart.render(EXPECTED)  # sorted keys: reviewable diffs
    assert "wrote" in capsys.readouterr().out


def test_the_written_spec_reads_back_as_synth_sees_it(catalogue, specs_directory):
    assert jumpstart.main([MODEL, VERSION], client=catalogue, today=TODAY) == 0
    path = specs_directory / MODEL / f"{VERSION}.json"
    spec = specs._parse(json.loads(path.read_text()), path)
    assert (
        specs.image_uri(spec, "cn-north-1", "ml.c5.xlarge")
        == f"727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/{CPU}"
    )


def test_network_failure_is_one_line_and_exit_code_2(specs_directory, capsys):
    unreachable = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    assert jumpstart.main([MODEL, VERSION], client=unreachable) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith(f"mlkit jumpstart: cannot reach s3://{BUCKET}: ")
    assert "needs AWS credentials (AWS_PROFILE, ...) and network access to S3" in error
    assert not list(specs_directory.iterdir())


def test_missing_credentials_is_one_line(specs_directory, capsys, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert jumpstart.main([MODEL, VERSION]) == 2
    error = capsys.readouterr().err
    assert error == f"mlkit jumpstart: reading s3://{BUCKET} {jumpstart.NEEDS}: no credentials found\n"


def test_unknown_version_is_the_sdks_answer_in_one_line(specs_directory, capsys):
    client = boto3.client("s3", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response("get_object", _body(MANIFEST), {"Bucket": BUCKET, "Key": "models_manifest.json"})
        assert jumpstart.main([MODEL, "9.9.9"], client=client) == 2
    error = capsys.readouterr().err
    assert error.startswith(
        f"mlkit jumpstart: Unable to find model manifest for '{MODEL}' with version '9.9.9'"
    )
    assert error.count("\n") == 1


@pytest.mark.parametrize("version", ["3.*", "*", "^3.0", ">=3.0.25", "3.0.25-rc"])
def test_only_exact_versions_are_resolved(version, specs_directory, capsys):
    assert jumpstart.main([MODEL, version], client=object()) == 2
    assert "is not an exact version: give digits and dots" in capsys.readouterr().err


def test_a_vulnerable_spec_is_refused(specs_directory, capsys):
    client = boto3.client("s3", region_name="us-east-1")
    vulnerable = {**RAW_SPEC, "inference_vulnerable": True, "inference_vulnerabilities": ["torch==1.10.0"]}
    with Stubber(client) as stubber:
        stubber.add_response("get_object", _body(MANIFEST), {"Bucket": BUCKET, "Key": "models_manifest.json"})
        stubber.add_response("get_object", _body(vulnerable), {"Bucket": BUCKET, "Key": SPEC_KEY})
        assert jumpstart.main([MODEL, VERSION], client=client) == 2
    assert "has vulnerable inference dependencies: torch==1.10.0" in capsys.readouterr().err


def test_a_script_mode_spec_keeps_its_script_and_runs_without_isolation(specs_directory):
    """Without a prepacked artifact the container fetches its script from S3 at start: no isolation."""
    client = boto3.client("s3", region_name="us-east-1")
    script_mode = {key: value for key, value in RAW_SPEC.items() if not key.startswith("hosting_prepacked")}
    with Stubber(client) as stubber:
        stubber.add_response("get_object", _body(MANIFEST), {"Bucket": BUCKET, "Key": "models_manifest.json"})
        stubber.add_response(
            "get_object",
            _body({**script_mode, "hosting_use_script_uri": True}),
            {"Bucket": BUCKET, "Key": SPEC_KEY},
        )
        assert jumpstart.main([MODEL, VERSION], client=client, today=TODAY) == 0
    written = json.loads((specs_directory / MODEL / f"{VERSION}.json").read_text())
    assert written["artifact"] == {
        **EXPECTED["artifact"],
        "key": RAW_SPEC["hosting_artifact_key"],
        "prepacked": False,
    }
    assert written["script_key"] == RAW_SPEC["hosting_script_key"]
    assert written["network_isolation"] is False
