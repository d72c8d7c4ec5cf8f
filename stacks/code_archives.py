"""Code shipped to SageMaker jobs as archives, byte-for-byte reproducible: the same files give the same
bytes, hence the same asset hash, so an unchanged job never looks changed to `cdk diff`."""

import gzip
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

CACHE = Path(__file__).resolve().parents[1] / ".cache"


def _target(files: list[tuple[str, bytes]], folder: str, file_name: str) -> Path:
    digest = hashlib.sha256(b"".join(name.encode() + body for name, body in files)).hexdigest()[:16]
    return CACHE / folder / digest / file_name


def reproducible_zip(files: list[tuple[str, bytes]], *, folder: str, file_name: str) -> Path:
    """``files`` (archive name, bytes) as a zip under .cache/<folder>/<digest>/<file_name>."""
    target = _target(files, folder, file_name)
    if not target.exists():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, body in files:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                archive.writestr(info, body, zipfile.ZIP_DEFLATED)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(buffer.getvalue())
    return target


def reproducible_tarball(files: list[tuple[str, bytes]], *, folder: str, file_name: str) -> Path:
    """The same as a .tar.gz (SageMaker script mode unpacks its source with tarfile)."""
    target = _target(files, folder, file_name)
    if not target.exists():
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name, body in files:
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(body), 0o644, 0
                archive.addfile(info, io.BytesIO(body))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return target
