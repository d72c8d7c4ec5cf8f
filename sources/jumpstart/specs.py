"""Committed SageMaker JumpStart model specs: what synth knows about a JumpStart model.

`make jumpstart MODEL=<id> VERSION=<v>` (sources/jumpstart/resolve.py) resolves a spec once through the
sagemaker SDK's JumpStart catalogue and writes specs/<model_id>/<version>.json; synth reads only
those files, like the image table (stacks/images), so it needs neither the SDK nor the network.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.images import ImageNotFound
from stacks.names import partition

SPECS_DIRECTORY = Path(__file__).resolve().parent / "specs"
FORMAT = 1  # bump when the file layout changes; load_spec refuses other formats
EXACT_VERSION = re.compile(r"^\d+(\.\d+)*$")
MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")  # no "/": an id never leaves SPECS_DIRECTORY
CONTENT_BUCKET = "jumpstart-cache-prod-{region}"
GATED_BUCKET = "jumpstart-private-cache-prod-{region}"  # gated (EULA) artifacts live here


class SpecNotFound(ValueError):
    """No committed spec for that model and version. ``key`` is the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Eula:
    """A model's end-user license agreement: CreateModel needs AcceptEula before it serves."""

    key: str
    url: str


@dataclass(frozen=True)
class S3ReadAccess:
    """The least the endpoint's role must read: these objects, and a listing of these prefixes.

    Uncompressed (S3Prefix) model data is listed before it is copied, so it needs s3:ListBucket on
    its bucket limited to its prefix; compressed data and scripts need s3:GetObject only.
    """

    object_arns: tuple[str, ...]
    list_bucket_arns: tuple[str, ...]
    list_prefixes: tuple[str, ...]


@dataclass(frozen=True)
class JumpStartSpec:
    """One committed spec file, as read."""

    model_id: str
    version: str
    artifact_key: str
    prepacked: bool
    compressed: bool
    gated_bucket: bool
    script_key: str | None
    environment: dict[str, str]
    default_instance_type: str
    instance_types: dict[str, dict[str, Any]]
    images: dict[str, dict[str, str]]
    eula: Eula | None
    network_isolation: bool
    content_types: tuple[str, ...] | None
    provenance: dict[str, str]


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def spec_path(model_id: str, version: str) -> Path:
    return SPECS_DIRECTORY / model_id / f"{version}.json"


def committed_versions(model_id: str) -> list[str]:
    """The versions of ``model_id`` with a committed spec, oldest first."""
    if not MODEL_ID.match(model_id):
        return []
    folder = SPECS_DIRECTORY / model_id
    found = [path.stem for path in folder.glob("*.json") if EXACT_VERSION.match(path.stem)]
    return sorted(found, key=version_key)


def resolve_command(model_id: str, version: str) -> str:
    return f"make jumpstart MODEL={model_id} VERSION={version}"


@functools.cache
def load_spec(model_id: str, version: str) -> JumpStartSpec:
    """The committed spec of ``model_id`` at ``version``; SpecNotFound names the command that writes it."""
    if not MODEL_ID.match(model_id) or not EXACT_VERSION.match(version):
        raise SpecNotFound("version", f"{model_id!r} {version!r} is not an exact JumpStart model version")
    path = spec_path(model_id, version)
    if not path.is_file():
        others = committed_versions(model_id)
        listed = f"committed versions: {', '.join(others)}" if others else "no version of it is committed"
        command = resolve_command(model_id, version)
        raise SpecNotFound(
            "version" if others else "model_id",
            f"no committed JumpStart spec for {model_id} {version}: run `{command}` "
            f"and commit {path.relative_to(SPECS_DIRECTORY.parents[2])}; {listed}",
        )
    return _parse(json.loads(path.read_text()), path)


def _parse(data: dict[str, Any], path: Path) -> JumpStartSpec:
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: format {data.get('format')!r} is not {FORMAT}: rerun make jumpstart")
    artifact, eula = data["artifact"], data.get("eula")
    return JumpStartSpec(
        model_id=data["model_id"],
        version=data["version"],
        artifact_key=artifact["key"],
        prepacked=artifact["prepacked"],
        compressed=artifact["compressed"],
        gated_bucket=artifact["gated_bucket"],
        script_key=data.get("script_key"),
        environment=dict(data["environment"]),
        default_instance_type=data["default_instance_type"],
        instance_types=dict(data["instance_types"]),
        images=dict(data["images"]),
        eula=Eula(eula["key"], eula["url"]) if eula else None,
        network_isolation=data["network_isolation"],
        content_types=tuple(data["content_types"]) if data.get("content_types") else None,
        provenance=dict(data["provenance"]),
    )


def default_instance_type(spec: JumpStartSpec) -> str:
    return spec.default_instance_type


def supported_instance_types(spec: JumpStartSpec) -> list[str]:
    return list(spec.instance_types)


def eula(spec: JumpStartSpec) -> Eula | None:
    return spec.eula


def network_isolation(spec: JumpStartSpec) -> bool:
    """True when the container needs no network at serving: everything it loads is in its model data.

    Script-mode models download their inference script from S3 when the container starts, so they
    cannot run isolated; prepacked artifacts carry the script and can.
    """
    return spec.network_isolation


def regions(spec: JumpStartSpec) -> list[str]:
    """Regions with an image for every supported instance type (and the model's buckets)."""
    per_image = [set(spec.images[entry["image"]]) for entry in spec.instance_types.values()]
    return sorted(set.intersection(*per_image))


def image_uri(spec: JumpStartSpec, region: str, instance_type: str | None = None) -> str:
    """The hosting image for ``instance_type`` (default: the spec's) in ``region``."""
    chosen = instance_type or spec.default_instance_type
    entry = spec.instance_types.get(chosen)
    if entry is None:
        raise ImageNotFound(
            "hosting.instance_type",
            f"{spec.model_id} {spec.version} has no image for {chosen}; "
            f"supported: {', '.join(spec.instance_types)}",
        )
    registries = spec.images[entry["image"]]
    registry = registries.get(region)
    if registry is None:
        raise ImageNotFound(
            "region",
            f"JumpStart model {spec.model_id} {spec.version} has no {chosen} image in {region}; "
            f"regions: {', '.join(registries)}",
        )
    return f"{registry}/{entry['image']}"


def artifact_bucket(spec: JumpStartSpec, region: str) -> str:
    return (GATED_BUCKET if spec.gated_bucket else CONTENT_BUCKET).format(region=region)


def model_data(spec: JumpStartSpec, region: str, *, accept_eula: bool = False) -> dict[str, Any]:
    """The model data keys of an AWS::SageMaker::Model container.

    Compressed artifacts (a .tar.gz, prepacked or not) are a ModelDataUrl; uncompressed ones (an S3
    prefix) a ModelDataSource with CompressionType None, which is also the only way to accept a EULA.
    """
    uri = f"s3://{artifact_bucket(spec, region)}/{spec.artifact_key}"
    if spec.compressed:
        if spec.eula:
            raise ValueError(f"{spec.model_id}: a compressed artifact cannot carry EULA acceptance")
        return {"ModelDataUrl": uri}
    source: dict[str, Any] = {"S3Uri": uri, "S3DataType": "S3Prefix", "CompressionType": "None"}
    if spec.eula:
        if not accept_eula:
            raise ValueError(f"{spec.model_id} has a EULA ({spec.eula.url}): accept_eula is required")
        source["ModelAccessConfig"] = {"AcceptEula": True}
    return {"ModelDataSource": {"S3DataSource": source}}


def environment(spec: JumpStartSpec, region: str, instance_type: str | None = None) -> dict[str, str]:
    """The container's variables: the spec's, the instance type's, and script mode's S3 script."""
    chosen = instance_type or spec.default_instance_type
    variables = {**spec.environment, **spec.instance_types.get(chosen, {}).get("environment", {})}
    if spec.script_key:
        # What the SDK's script-mode Model sets: the container fetches and unpacks this at start.
        variables["SAGEMAKER_SUBMIT_DIRECTORY"] = (
            f"s3://{CONTENT_BUCKET.format(region=region)}/{spec.script_key}"
        )
        variables["SAGEMAKER_REGION"] = region
    return variables


def s3_read_resources(spec: JumpStartSpec, region: str) -> S3ReadAccess:
    """Exactly the artifact (and script) the endpoint's role must read in ``region``."""
    arn = f"arn:{partition(region)}:s3:::"
    bucket = artifact_bucket(spec, region)
    objects = [f"{arn}{bucket}/{spec.artifact_key}" + ("" if spec.compressed else "*")]
    if spec.script_key:
        objects.append(f"{arn}{CONTENT_BUCKET.format(region=region)}/{spec.script_key}")
    if spec.compressed:
        return S3ReadAccess(tuple(objects), (), ())
    return S3ReadAccess(tuple(objects), (f"{arn}{bucket}",), (spec.artifact_key,))
