"""The packaging spec: what the Processing job packages for one hub model, and the key of its S3 prefix.

Stdlib only: the CDK app imports this at synth time to compute `spec_hash` and pass the same JSON to the
job as `--spec`. Shapes (normalized by `packaging_spec`, defaults filled in so equal models hash equal):

    {"format": 1, "source": "pytorch_hub", "repo": "pytorch/vision:v0.20.0", "entrypoint": "resnet50",
     "args": {"weights": "IMAGENET1K_V2"}, "task": "image-classification"}
    {"format": 1, "source": "tensorflow_hub", "handle": "https://www.kaggle.com/models/google/...",
     "task": "image-classification", "image_size": 224}

`format` is the packaging layout's version: bumping it re-packages every model (new hash, new prefix).
"""

import hashlib
import json
import re

from jobs.packaging.tensorflow_hub import download_url

FORMAT = 1
PYTORCH_TASKS = ("image-classification", "object-detection")
TENSORFLOW_TASKS = ("image-classification",)
# "owner/name:tag": torch.hub's GitHub form; the tag pins the code (a branch would drift).
REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:[A-Za-z0-9_./-]+$")
DEFAULT_IMAGE_SIZE = 224  # TF Hub's image-classification convention (224x224, values in [0, 1])


def spec_hash(spec: dict) -> str:
    """First 16 hex digits of the sha256 of the spec's canonical JSON (sorted keys, compact)."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def packaging_spec(source: str, **fields) -> dict:
    """Validate one model's fields and return its normalized spec (raises ValueError with the reason)."""
    if source == "pytorch_hub":
        return _pytorch_spec(**fields)
    if source == "tensorflow_hub":
        return _tensorflow_spec(**fields)
    raise ValueError(f"unknown packaging source {source!r}: expected pytorch_hub or tensorflow_hub")


def checked_spec(spec: dict) -> dict:
    """The spec itself if it is normalized and of this FORMAT; else ValueError (its hash would not match)."""
    fields = {key: value for key, value in spec.items() if key not in ("format", "source")}
    if spec.get("format") != FORMAT:
        raise ValueError(f"packaging spec format {spec.get('format')!r} is not this packager's {FORMAT}")
    normalized = packaging_spec(spec.get("source"), **fields)
    if normalized != spec:
        raise ValueError(f"packaging spec is not normalized: expected {normalized}")
    return spec


def _pytorch_spec(repo: str, entrypoint: str, task: str, args: dict | None = None) -> dict:
    if not REPO_PATTERN.match(repo):
        raise ValueError(f"pytorch_hub repo {repo!r} must be 'owner/name:tag' (a tag pins the code)")
    if task not in PYTORCH_TASKS:
        raise ValueError(f"pytorch_hub task {task!r} must be one of {', '.join(PYTORCH_TASKS)}")
    if not entrypoint.isidentifier():
        raise ValueError(f"pytorch_hub entrypoint {entrypoint!r} must be a hubconf function name")
    return {
        "format": FORMAT,
        "source": "pytorch_hub",
        "repo": repo,
        "entrypoint": entrypoint,
        "args": dict(args or {}),
        "task": task,
    }


def _tensorflow_spec(handle: str, task: str, image_size: int = DEFAULT_IMAGE_SIZE) -> dict:
    download_url(handle)  # validates the handle and its version
    if task not in TENSORFLOW_TASKS:
        raise ValueError(f"tensorflow_hub task {task!r} must be one of {', '.join(TENSORFLOW_TASKS)}")
    if not isinstance(image_size, int) or image_size <= 0:
        raise ValueError(f"tensorflow_hub image_size must be a positive integer, not {image_size!r}")
    return {
        "format": FORMAT,
        "source": "tensorflow_hub",
        "handle": handle,
        "task": task,
        "image_size": image_size,
    }
