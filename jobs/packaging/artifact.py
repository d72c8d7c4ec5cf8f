"""What every packager shares: the model.tar.gz, its manifest, the serving code it carries, digests."""

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

SERVING_DIR = Path(__file__).resolve().parents[1] / "serving"
SERVING_CONFIG = "serving.json"  # labels and preprocessing, read by code/inference.py


def add_serving_code(model_dir: Path, handler_file: str, serving_config: dict) -> None:
    """Copy one jobs/serving handler in as code/inference.py, the name both serving containers look for."""
    code = model_dir / "code"
    code.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SERVING_DIR / handler_file, code / "inference.py")
    (code / SERVING_CONFIG).write_text(json.dumps(serving_config, indent=1, sort_keys=True))


def write_tarball(model_dir: Path, tarball: Path) -> Path:
    """Tar model_dir's contents at the archive root (SageMaker extracts it into /opt/ml/model)."""
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted(model_dir.rglob("*")):
            # Fixed owner and mode bits: the same files give the same members wherever the job ran.
            archive.add(path, arcname=str(path.relative_to(model_dir)), recursive=False, filter=_owner_free)
    return tarball


def _owner_free(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(root: Path) -> str:
    """Digest of a directory's files (relative paths and contents), skipping caches and VCS metadata."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if {"__pycache__", ".git"} & set(relative.parts):
            continue
        digest.update(str(relative.as_posix()).encode() + b"\0" + file_sha256(path).encode() + b"\n")
    return digest.hexdigest()


def write_manifest(output_dir: Path, manifest: dict) -> Path:
    path = Path(output_dir) / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return path
