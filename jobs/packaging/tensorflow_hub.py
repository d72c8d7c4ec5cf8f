"""Package a TensorFlow Hub model (tfhub.dev or Kaggle Models) for SageMaker's TensorFlow Serving image.

No TensorFlow needed: the compressed SavedModel is downloaded as is (the hub protocol the
tensorflow_hub library uses: the handle plus `?tf-hub-format=compressed`; tfhub.dev handles redirect to
Kaggle Models) and laid out as TF Serving wants it, `model/1/saved_model.pb` + `model/1/variables/`,
beside `code/inference.py` (the pre/post-processing handlers) and `code/serving.json` (labels, image size).
"""

import re
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from jobs.packaging.artifact import add_serving_code, file_sha256, tree_sha256, write_tarball

MODEL_NAME = "model"  # TF Serving's model name, and the directory holding its numbered versions
MODEL_VERSION = "1"
COMPRESSED_QUERY = "tf-hub-format=compressed"
# tfhub.dev/<publisher>/<name...>/<version>
TFHUB_PATH = re.compile(r"^/[^/]+(/[^/]+)+/(?P<version>\d+)/?$")
# kaggle.com/models/<owner>/<model>/<framework>/<variation>/<version>, or the long form with
# frameworks/ variations/ versions/ before those parts.
KAGGLE_PATH = re.compile(
    r"^/models/[^/]+/[^/]+/(frameworks/)?[^/]+/(variations/)?[^/]+/(versions/)?(?P<version>\d+)/?$"
)
LABEL_FILES = ("labels.txt", "label_map.txt", "ImageNetLabels.txt")

Fetch = Callable[[str, Path], None]  # (handle, empty directory) -> the SavedModel's files in it


def download_url(handle: str) -> str:
    """The compressed-SavedModel URL of a versioned tfhub.dev or Kaggle Models handle (ValueError if not)."""
    parsed = urllib.parse.urlparse(handle)
    host = (parsed.hostname or "").lower()
    if parsed.scheme != "https" or parsed.query or parsed.fragment:
        raise ValueError(f"tensorflow_hub handle {handle!r} must be an https URL without query or fragment")
    if host == "tfhub.dev":
        pattern = TFHUB_PATH
    elif host in ("kaggle.com", "www.kaggle.com"):
        pattern = KAGGLE_PATH
    else:
        raise ValueError(f"tensorflow_hub handle {handle!r} must be on tfhub.dev or www.kaggle.com/models")
    if not pattern.match(parsed.path):
        raise ValueError(
            f"tensorflow_hub handle {handle!r} must end with a version number, e.g. "
            "https://www.kaggle.com/models/<owner>/<model>/<framework>/<variation>/<version>"
        )
    return f"{handle.rstrip('/')}?{COMPRESSED_QUERY}"


def http_fetch(handle: str, destination: Path, timeout: float = 600.0) -> None:
    """Download and extract the compressed SavedModel (the Processing job's network)."""
    with tempfile.TemporaryFile() as archive:
        with urllib.request.urlopen(download_url(handle), timeout=timeout) as response:
            shutil.copyfileobj(response, archive)
        archive.seek(0)
        with tarfile.open(fileobj=archive, mode="r:*") as tar:
            safe_extract(tar, destination)


def safe_extract(tar: tarfile.TarFile, destination: Path) -> None:
    """Extract refusing links and paths that leave destination (the archive comes from the internet)."""
    root = destination.resolve()
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()) or not target.is_relative_to(root):
            raise ValueError(f"refusing archive member {member.name!r}: not a plain file inside the model")
    tar.extractall(root)


def local_fetch(saved_model_dir: str | Path) -> Fetch:
    """A SavedModel already on disk: packaging without network (tests, `make local`)."""

    def fetch(handle: str, destination: Path) -> None:
        shutil.copytree(saved_model_dir, destination, dirs_exist_ok=True)

    return fetch


def package(spec: dict, workdir: str | Path, fetch: Fetch = http_fetch) -> tuple[Path, dict]:
    """Fetch the spec's SavedModel once and write workdir/model.tar.gz; returns it and its manifest."""
    url = download_url(spec["handle"])
    workdir = Path(workdir)
    download, model_dir = workdir / "download", workdir / "model"
    for directory in (download, model_dir):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    fetch(spec["handle"], download)
    saved_model = saved_model_root(download)
    version_dir = model_dir / MODEL_NAME / MODEL_VERSION
    shutil.copytree(saved_model, version_dir)
    labels = read_labels(version_dir)
    add_serving_code(
        model_dir,
        "tensorflow_inference.py",
        {"task": spec["task"], "image_size": spec["image_size"], "labels": labels},
    )
    tarball = write_tarball(model_dir, workdir / "model.tar.gz")
    manifest = {
        "spec": spec,
        "handle": spec["handle"],
        "download_url": url,
        "saved_model_sha256": tree_sha256(version_dir),
        "saved_model_pb_sha256": file_sha256(version_dir / "saved_model.pb"),
        "task": spec["task"],
        "labels": len(labels),
        "layout": f"{MODEL_NAME}/{MODEL_VERSION}/saved_model.pb",
    }
    return tarball, manifest


def saved_model_root(download: Path) -> Path:
    """The directory holding saved_model.pb: the archive root, or its single top-level folder."""
    if (download / "saved_model.pb").is_file():
        return download
    children = [child for child in download.iterdir() if child.is_dir()]
    if len(children) == 1 and (children[0] / "saved_model.pb").is_file():
        return children[0]
    raise ValueError("the downloaded archive holds no saved_model.pb: is the handle a TF2 SavedModel?")


def read_labels(saved_model: Path) -> list[str]:
    """Class names from a labels file among the SavedModel's assets; [] means serve class indices."""
    for name in LABEL_FILES:
        path = saved_model / "assets" / name
        if path.is_file():
            return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return []
