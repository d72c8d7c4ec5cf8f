"""The Processing job's entrypoint: package one hub model into OUTPUT/model.tar.gz and OUTPUT/manifest.json.

    python3 /opt/ml/processing/input/code/jobs/packaging/package.py --spec '<spec JSON>' \
        [--output /opt/ml/processing/output] [--local DIR]

The spec is spec.packaging_spec's JSON (its "source" picks the packager). --local packages from a hub
repo (pytorch_hub) or SavedModel (tensorflow_hub) on disk instead of the network, as `make local` does.
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a file in the job: make the mounted code's root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from jobs.packaging.artifact import file_sha256, write_manifest  # noqa: E402
from jobs.packaging.spec import checked_spec, spec_hash  # noqa: E402


def package(spec: dict, output: Path, local: str | None = None) -> dict:
    """Package one spec into output/; returns the manifest (also written as output/manifest.json)."""
    spec = checked_spec(spec)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        if spec["source"] == "pytorch_hub":
            from jobs.packaging import pytorch_hub  # imports torch: only the PyTorch image has it

            source = pytorch_hub.local_source(local) if local else None
            tarball, manifest = pytorch_hub.package(spec, workdir, source=source)
        elif spec["source"] == "tensorflow_hub":
            from jobs.packaging import tensorflow_hub

            fetch = tensorflow_hub.local_fetch(local) if local else tensorflow_hub.http_fetch
            tarball, manifest = tensorflow_hub.package(spec, workdir, fetch=fetch)
        else:
            raise ValueError(f"unknown packaging source {spec['source']!r}")
        final = output / "model.tar.gz"
        shutil.move(tarball, final)  # the work directory may be on another file system
    manifest = {**manifest, "spec_hash": spec_hash(spec), "model_tar_gz_sha256": file_sha256(final)}
    write_manifest(output, manifest)
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="the packaging spec as JSON")
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--local", help="a hub repo or SavedModel directory to package instead of the hub's")
    arguments = parser.parse_args(argv)
    manifest = package(json.loads(arguments.spec), arguments.output, arguments.local)
    print(json.dumps(manifest, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
