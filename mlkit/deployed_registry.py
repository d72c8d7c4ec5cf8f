"""The router's registry file as deployed: read from the registry layer the API stack attached.

The emulator does not hand layer contents back (GetLayerVersion has no download location), so the
file is read from the asset the deploy uploaded, at the S3 location the deployed template names,
and accepted only if its SHA-256 is the one the attached layer version reports.
"""

import base64
import hashlib
import io
import tempfile
import zipfile
from pathlib import Path

from lambdas.shared import registry as registry_contract
from mlkit.report import StepFailed

REGISTRY_LAYER_DESCRIPTION = "mlkit router registry"


def registry_file(clients, api_stack: str, function: dict, account: str, region: str) -> str:
    """A local copy of the registry the deployed ``function`` (GetFunctionConfiguration) reads."""
    template = clients("cloudformation").get_template(StackName=api_stack)["TemplateBody"]
    layers = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::LayerVersion"
        and resource["Properties"].get("Description", "").startswith(REGISTRY_LAYER_DESCRIPTION)
    ]
    if len(layers) != 1:
        raise StepFailed(f"{api_stack} has {len(layers)} registry layers; expected one")
    content = layers[0]["Content"]
    bucket = content["S3Bucket"]
    if isinstance(bucket, dict):  # the bootstrap bucket: Fn::Sub over account and region
        bucket = bucket["Fn::Sub"].replace("${AWS::AccountId}", account).replace("${AWS::Region}", region)
    archive = clients("s3").get_object(Bucket=bucket, Key=content["S3Key"])["Body"].read()
    _check_attached(clients("lambda"), function, archive)
    with zipfile.ZipFile(io.BytesIO(archive)) as layer:
        inside = f"{registry_contract.LAYER_DIRECTORY}/{registry_contract.FILE_NAME}"
        text = layer.read(inside).decode("utf-8")
    path = Path(tempfile.mkdtemp(prefix="mlkit-local-registry-")) / registry_contract.FILE_NAME
    path.write_text(text)
    return str(path)


def _check_attached(lambda_client, function: dict, archive: bytes) -> None:
    digest = base64.b64encode(hashlib.sha256(archive).digest()).decode()
    attached = []
    for layer in function.get("Layers", []):
        # arn:...:layer:NAME:VERSION; the emulator has GetLayerVersion but not GetLayerVersionByArn.
        name, version = layer["Arn"].rsplit(":", 2)[-2:]
        described = lambda_client.get_layer_version(LayerName=name, VersionNumber=int(version))
        attached.append(described["Content"]["CodeSha256"])
    if digest not in attached:
        raise StepFailed("the router's attached layers do not include the registry the template names")
