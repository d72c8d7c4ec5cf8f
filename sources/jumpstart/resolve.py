"""`make jumpstart MODEL=<id> VERSION=<v>`: resolve a JumpStart model's spec once and commit it.

Usage: python -m sources.jumpstart.resolve MODEL VERSION [--region us-east-1]
       [--catalogue DIR --written-from SOURCE]

Reads the model's spec from the JumpStart catalogue (the jumpstart-cache-prod-<region> bucket)
through sagemaker-core's JumpStart accessor, reduces it to what a SageMaker endpoint needs (image
per region and instance type, artifact, environment, instance types, EULA) and writes
sources/jumpstart/specs/<id>/<version>.json, which synth reads without the SDK or network.
Needs AWS credentials (any principal can read the catalogue) and network access to S3.
--catalogue reads a local copy of the catalogue instead (the SDK's local-metadata mode: DIR holds
models_manifest.json and the spec keys it names); --written-from records where that copy came from.
"""

import argparse
import contextlib
import copy
import datetime
import json
import os
import sys
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from sources.jumpstart.specs import (
    CONTENT_BUCKET,
    EXACT_VERSION,
    FORMAT,
    GATED_BUCKET,
    MODEL_ID,
    resolve_command,
    spec_path,
)

NEEDS = "needs AWS credentials (AWS_PROFILE, ...) and network access to S3"
KEPT_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn")  # the aws, aws-cn and aws-us-gov partitions


class JumpStartError(Exception):
    """Why the spec could not be resolved; the message is one line saying what to do."""


@contextlib.contextmanager
def local_catalogue(directory: Path | None):
    """Point the SDK's local-metadata mode at ``directory`` for the duration, when given."""
    if directory is None:
        yield
        return
    from sagemaker.core.jumpstart import constants

    names = (
        constants.ENV_VARIABLE_JUMPSTART_MANIFEST_LOCAL_ROOT_DIR_OVERRIDE,
        constants.ENV_VARIABLE_JUMPSTART_SPECS_LOCAL_ROOT_DIR_OVERRIDE,
    )
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: str(directory) for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.update({name: value})


def s3_client(region: str):
    """The catalogue's S3 client: short timeouts so an offline run fails in seconds, not minutes."""
    import boto3

    # A fresh session: the default one may hold credentials resolved before the environment changed.
    config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.session.Session().client("s3", region_name=region, config=config)


def fetch_specs(model_id: str, version: str, region: str, client) -> tuple[Any, str]:
    """The SDK's JumpStartModelSpecs for the exact version, and the catalogue key it came from."""
    from sagemaker.core.jumpstart.accessors import JumpStartModelsAccessor

    bucket = CONTENT_BUCKET.format(region=region)
    try:
        specs = JumpStartModelsAccessor.get_model_specs(
            region=region, model_id=model_id, version=version, s3_client=client
        )
        # After get_model_specs, so it reuses that cache (and client) rather than making its own.
        header = JumpStartModelsAccessor.get_model_header(region=region, model_id=model_id, version=version)
    except NoCredentialsError:
        raise JumpStartError(f"reading s3://{bucket} {NEEDS}: no credentials found") from None
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        raise JumpStartError(f"s3://{bucket} refused: {message} ({NEEDS})") from None
    except BotoCoreError as error:
        raise JumpStartError(f"cannot reach s3://{bucket}: {error} ({NEEDS})") from None
    except OSError as error:  # --catalogue: a file the manifest names is missing
        raise JumpStartError(f"local catalogue: {error}") from None
    except KeyError as error:  # the SDK's "no such model or version" answer
        raise JumpStartError(str(error.args[0]) if error.args else "unknown model") from None
    if specs.version != version:
        raise JumpStartError(f"the catalogue answered {model_id} {specs.version} for {version}")
    return specs, header.spec_key


def refuse_unsafe(specs) -> None:
    if specs.deprecated:
        raise JumpStartError(f"{specs.model_id} {specs.version} is deprecated: {specs.deprecated_message}")
    if specs.inference_vulnerable:
        found = ", ".join(specs.inference_vulnerabilities)
        raise JumpStartError(
            f"{specs.model_id} {specs.version} has vulnerable inference dependencies: {found}"
        )


def artifact(specs, instance_types: list[str]) -> dict[str, Any]:
    """The model data the SDK's model_uris would pick, the same for every supported instance type."""
    from sagemaker.core.jumpstart.artifacts import model_uris

    prepacked = specs.supports_prepacked_inference()
    pick = (
        model_uris._retrieve_hosting_prepacked_artifact_key
        if prepacked
        else model_uris._retrieve_hosting_artifact_key
    )
    key = pick(specs, None)
    differing = [t for t in instance_types if pick(specs, t) != key]
    if differing:
        raise JumpStartError(f"{specs.model_id} has instance-specific artifacts for {', '.join(differing)}")
    # The SDK's rule: an S3 prefix is uncompressed data (S3DataSource), anything else a tarball.
    return {
        "key": key,
        "prepacked": prepacked,
        "compressed": not key.endswith("/"),
        "gated_bucket": bool(specs.gated_bucket),
    }


def kept_region(region: str, registry: str, gated: bool) -> bool:
    """A region mlkit can deploy to: a commercial, China or GovCloud one with the model's buckets."""
    from sagemaker.core.jumpstart.constants import JUMPSTART_REGION_NAME_TO_LAUNCHED_REGION_DICT as launched

    info = launched.get(region)
    if info is None or not registry.endswith(KEPT_DOMAINS):
        return False
    if gated and info.gated_content_bucket != GATED_BUCKET.format(region=region):
        return False
    return info.content_bucket == CONTENT_BUCKET.format(region=region)


def instance_images(specs, instance_types: list[str], gated: bool) -> tuple[dict, dict]:
    """Per instance type its image (and variables); per image its registry in each region."""
    variants = specs.hosting_instance_type_variants
    if variants is None or not variants.regional_aliases:
        raise JumpStartError(f"{specs.model_id} {specs.version} has no per-region hosting images")
    images: dict[str, dict[str, str]] = {}
    entries: dict[str, dict[str, Any]] = {}
    for instance_type in instance_types:
        by_path: dict[str, dict[str, str]] = {}
        for region in sorted(variants.regional_aliases):
            uri = variants.get_image_uri(instance_type=instance_type, region=region)
            if uri and kept_region(region, uri.split("/", 1)[0], gated):
                registry, path = uri.split("/", 1)
                by_path.setdefault(path, {})[region] = registry
        if len(by_path) != 1:
            raise JumpStartError(
                f"{instance_type}: expected one image path across regions, found {sorted(by_path)}"
            )
        path, registries = by_path.popitem()
        images.setdefault(path, {}).update(registries)
        entry: dict[str, Any] = {"image": path}
        # The SDK merges into its own dict (family into instance): work on a copy.
        variables = copy.deepcopy(variants).get_instance_specific_environment_variables(instance_type)
        if variables:
            entry["environment"] = {name: str(value) for name, value in sorted(variables.items())}
        entries[instance_type] = entry
    return entries, {path: dict(sorted(r.items())) for path, r in sorted(images.items())}


def eula(specs, region: str) -> dict[str, str] | None:
    from sagemaker.core.jumpstart.utils import get_domain_for_region, get_jumpstart_content_bucket

    if not specs.hosting_eula_key:
        return None
    bucket = get_jumpstart_content_bucket(region)
    url = f"https://{bucket}.s3.{region}.{get_domain_for_region(region)}/{specs.hosting_eula_key}"
    return {"key": specs.hosting_eula_key, "url": url}


def reduce_spec(specs, *, region: str, provenance: dict[str, str]) -> dict[str, Any]:
    """The committed spec: only what synth needs, every value resolved."""
    refuse_unsafe(specs)
    default = specs.default_inference_instance_type
    instance_types = list(dict.fromkeys([*(specs.supported_inference_instance_types or []), default]))
    if not default:
        raise JumpStartError(f"{specs.model_id} {specs.version} names no default inference instance type")
    model_data = artifact(specs, instance_types)
    entries, images = instance_images(specs, instance_types, model_data["gated_bucket"])
    script_key = specs.hosting_script_key if specs.use_inference_script_uri() else None
    predictor = specs.predictor_specs
    return {
        "format": FORMAT,
        "model_id": specs.model_id,
        "version": specs.version,
        "provenance": provenance,
        "artifact": model_data,
        "script_key": script_key,
        # What the SDK's JumpStartModel sets: the variables the spec marks required for the model class.
        "environment": {
            variable.name: str(variable.default)
            for variable in specs.inference_environment_variables
            if variable.required_for_model_class
        },
        "default_instance_type": default,
        "instance_types": entries,
        "images": images,
        "eula": eula(specs, region),
        "network_isolation": bool(specs.inference_enable_network_isolation) and script_key is None,
        "content_types": [t.lower() for t in predictor.supported_content_types] if predictor else None,
    }


def render(reduced: dict[str, Any]) -> str:
    return json.dumps(reduced, indent=1, sort_keys=True) + "\n"


def resolve(
    model_id: str,
    version: str,
    *,
    region: str,
    client,
    catalogue: Path | None = None,
    written_from: str | None = None,
    today: datetime.date | None = None,
) -> dict[str, Any]:
    """Fetch, check and reduce one model's spec (from ``catalogue``, a local copy, when given)."""
    if not MODEL_ID.match(model_id):
        raise JumpStartError(f"{model_id!r} is not a JumpStart model id (lower-case letters, digits, -)")
    if not EXACT_VERSION.match(version):
        raise JumpStartError(f"{version!r} is not an exact version: give digits and dots, e.g. 2.0.3")
    with local_catalogue(catalogue):
        specs, spec_key = fetch_specs(model_id, version, region, client)
    command = resolve_command(model_id, version)
    provenance = {
        "resolved_by": f"{command} --catalogue <a local copy>" if catalogue else command,
        "resolved_on": (today or datetime.date.today()).isoformat(),
        "sdk": f"sagemaker-core {package_version('sagemaker-core')}",
        "catalogue": f"s3://{CONTENT_BUCKET.format(region=region)}/{spec_key}",
    }
    if written_from:
        provenance["written_from"] = written_from
    return reduce_spec(specs, region=region, provenance=provenance)


def main(argv: list[str] | None = None, client=None, today: datetime.date | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="JumpStart model id, e.g. pytorch-ic-mobilenet-v2")
    parser.add_argument("version", help="exact model version, e.g. 3.0.25")
    parser.add_argument("--region", default="us-east-1", help="catalogue region (default us-east-1)")
    parser.add_argument("--catalogue", type=Path, help="a local copy of the catalogue to read instead of S3")
    parser.add_argument("--written-from", help="with --catalogue: the public source of that copy")
    args = parser.parse_args(argv)
    try:
        reduced = resolve(
            args.model,
            args.version,
            region=args.region,
            client=client or s3_client(args.region),
            catalogue=args.catalogue,
            written_from=args.written_from,
            today=today,
        )
    except JumpStartError as error:
        print(f"mlkit jumpstart: {error}", file=sys.stderr)
        return 2
    path = spec_path(args.model, args.version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(reduced))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
