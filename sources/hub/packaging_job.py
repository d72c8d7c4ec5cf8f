"""The hub sources' packaging job: a SageMaker Processing job that fetches a hub model once and writes
a self-contained model.tar.gz (weights and serving code) for an isolated endpoint.

The job's code (jobs/packaging and jobs/serving) ships as one zipapp, which python3 runs as it is
(Processing inputs are downloaded, never unpacked, so a zip asset would not do) and which unpacks
itself first, since the packager copies the serving code into model.tar.gz as files.
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import names
from stacks.code_archives import reproducible_zip
from stacks.constructs.pipeline import unique_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("jobs/__init__.py", "jobs/packaging", "jobs/serving")
CODE_DIRECTORY = "/opt/ml/processing/input/code"
OUTPUT_DIRECTORY = "/opt/ml/processing/output"
# The packager copies the serving code as files, so the archive unpacks itself before it runs.
MAIN = """import sys, tempfile, zipfile

unpacked = tempfile.mkdtemp(prefix="mlkit-packaging-")
zipfile.ZipFile(sys.argv[0]).extractall(unpacked)
sys.path.insert(0, unpacked)
from jobs.packaging.package import main

main(sys.argv[1:])
"""
# The state that runs the job: tests and the local run read its request from the template.
PACKAGE_STATE = "Package model"


def _sources() -> list[tuple[str, bytes]]:
    files = []
    for entry in PACKAGES:
        path = ROOT / entry
        found = [path] if path.is_file() else sorted(path.rglob("*.py"))
        files += [(str(file.relative_to(ROOT)), file.read_bytes()) for file in found]
    return [*files, ("__main__.py", MAIN.encode())]


def packaging_code_archive() -> Path:
    """The packaging code as a zipapp, byte-for-byte reproducible (a stable asset hash)."""
    return reproducible_zip(_sources(), folder="packaging-code", file_name="packaging.pyz")


def processing_job_state(
    scope: Construct,
    *,
    job_prefix: str,
    model_label: str,
    image: str,
    role_arn: str,
    key_arn: str,
    code: s3_assets.Asset,
    spec: str,
    output_url: str,
    settings,
) -> sfn.CustomState:
    """CreateProcessingJob (.sync) as raw ASL: CDK has no task for it. Its IAM is the stack's own
    prefix-scoped policy. ``code`` is the packaging zipapp's asset, ``spec`` the packaging spec's JSON,
    ``settings`` the config's packaging section."""
    parameters = {
        "ProcessingJobName.$": unique_name(job_prefix),
        "RoleArn": role_arn,
        "AppSpecification": {
            "ImageUri": image,
            "ContainerEntrypoint": ["python3", f"{CODE_DIRECTORY}/{code.s3_object_key}"],
            "ContainerArguments": ["--spec", spec, "--output", OUTPUT_DIRECTORY],
        },
        "ProcessingInputs": [_code_input(code.s3_object_url)],
        "ProcessingOutputConfig": {"Outputs": [_model_output(output_url)], "KmsKeyId": key_arn},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": settings.instance_type,
                "VolumeSizeInGB": settings.volume_gb,
                "VolumeKmsKeyId": key_arn,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime},
        # The job is the one place that reaches the hub: the endpoint runs isolated.
        "NetworkConfig": {"EnableNetworkIsolation": False},
        "Tags": names.job_tags(model_label),
    }
    return sfn.CustomState(
        scope,
        PACKAGE_STATE,
        state_json={
            "Type": "Task",
            "Resource": f"arn:{cdk.Aws.PARTITION}:states:::sagemaker:createProcessingJob.sync",
            "Parameters": parameters,
            "ResultPath": "$.packaging",
            "ResultSelector": {"ProcessingJobName.$": "$.ProcessingJobName"},
        },
    )


def _code_input(url: str) -> dict:
    source = {"S3Uri": url, "LocalPath": CODE_DIRECTORY, "S3DataType": "S3Prefix", "S3InputMode": "File"}
    return {"InputName": "code", "S3Input": source}


def _model_output(url: str) -> dict:
    destination = {"S3Uri": url, "LocalPath": OUTPUT_DIRECTORY, "S3UploadMode": "EndOfJob"}
    return {"OutputName": "model", "S3Output": destination}
